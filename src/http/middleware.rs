//! Headers every response gets, and those every HTML page gets: no framing (CSP
//! `frame-ancestors 'none'` and `X-Frame-Options: DENY`), no caching, no referrer.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                        form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            );
        }
    }
    response
}

/// Gives every request an id (echoed as `X-Request-Id`, attached to every log line the
/// request causes) and logs one line when it ends: method, path, status, duration.
/// Never the query string or body: they carry codes, state and credentials.
pub async fn request_log(request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let id = crate::crypto::okta_id("req");
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let span = tracing::info_span!("request", id = %id);
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            path = %path,
            status,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Counts every request for `/metrics` by its route template (bounded), never its path.
pub async fn metrics(
    State(state): State<crate::http::SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(crate::metrics::UNMATCHED, |p| p.as_str())
        .to_string();
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state.metrics.request(
        &endpoint,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
