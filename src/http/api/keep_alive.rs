//! A management API request refused before its body was read (401 without a token, 404
//! for an unknown path, 405) must leave its keep-alive connection usable. HTTP/1.1 has
//! no way to skip an unread body: unless the server reads it, the next request on the
//! connection cannot be found, and hyper then closes the connection after answering,
//! without `Connection: close`, so a client that reuses it fails its next request.
//!
//! So every API request's body is handed to the handler behind a slot it takes on
//! first read. After the handler answered, a body still in the slot (never read) is
//! read and dropped, at most `MAX_DRAIN_BYTES` within `DRAIN_TIME`; a larger or slower
//! one, one sent after `Expect: 100-continue` (the client is waiting to hear whether to
//! send it), and one the handler stopped reading at its size limit (413) get
//! `Connection: close` instead, so the client knows to open a new connection.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// The most of an unread body read to keep the connection (the largest body the API
/// accepts, an image upload, is 100 kB).
pub const MAX_DRAIN_BYTES: usize = 128 * 1024;
/// How long the rest of an unread body may take to arrive.
pub const DRAIN_TIME: Duration = Duration::from_secs(5);

type Slot = Arc<Mutex<Option<Body>>>;

/// The request body as the handler sees it: empty until first polled, when it takes
/// the real body out of the slot.
struct Taken {
    slot: Slot,
    body: Option<Body>,
}

impl HttpBody for Taken {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.body.is_none() {
            this.body = this.slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        match this.body.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }
}

/// The middleware (see the module comment).
pub async fn layer(request: Request, next: Next) -> Response {
    let expects_continue = request.headers().contains_key(header::EXPECT);
    let (parts, body) = request.into_parts();
    if body.size_hint().exact() == Some(0) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let slot: Slot = Arc::new(Mutex::new(Some(body)));
    let taken = Body::new(Taken {
        slot: slot.clone(),
        body: None,
    });
    let mut response = next.run(Request::from_parts(parts, taken)).await;
    let unread = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    let keep = match unread {
        Some(body) => !expects_continue && drained(body).await,
        None => response.status() != StatusCode::PAYLOAD_TOO_LARGE,
    };
    if !keep {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads `body` to its end, if it ends within the bounds.
async fn drained(body: Body) -> bool {
    matches!(
        tokio::time::timeout(DRAIN_TIME, axum::body::to_bytes(body, MAX_DRAIN_BYTES)).await,
        Ok(Ok(_))
    )
}
