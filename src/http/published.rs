//! The documents every relying party fetches, discovery metadata (OpenID Connect
//! Discovery §4, RFC 8414 §3) and the JWKS (RFC 7517 §5), kept in memory for
//! `PUBLISHED_TTL`, so a flood of them costs no database read.
//!
//! What it holds: per server id (as the path names it), the serialized document this
//! process last built from the store. How long: `PUBLISHED_TTL` (1 second). Why it
//! cannot grant anything the database would deny: neither document grants anything;
//! both are public and answered with `Cache-Control: max-age=300`, so relying parties
//! may use them five minutes anyway. What matters is that a key signs only once every
//! instance publishes it: a key is published as NEXT before it is promoted, for one
//! hour at least by automatic rotation (`NEXT_KEY_MIN_AGE`) and for
//! `NEXT_KEY_MIN_PUBLISHED` (2 s) at least by a manual one, which waits if needed; so
//! the JWKS every instance serves, at most one second old, has every key that signs.
//! A new NEXT key (which signs nothing yet) appears within that second.
//!
//! Stale while the database fails: when a document cannot be built because the store
//! is unavailable (a 503), the last copy this process built is served instead, however
//! old, marked `Gatehouse-Stale: true` with its `Age` in seconds (RFC 9111 §5.1). Relying
//! parties keep verifying tokens and discovering endpoints through an outage; nothing
//! that grants access is ever served this way (tokens, userinfo, introspection and
//! sign-in still answer 503). Without a copy (no request since the process started),
//! the 503 stands.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::clock::UnixTime;

/// Marks a document served from memory because the database failed.
pub const STALE: HeaderName = HeaderName::from_static("gatehouse-stale");

/// How long a process serves a document it built.
pub const PUBLISHED_TTL: Duration = Duration::from_secs(1);

// A rotation promotes a NEXT key only after every JWKS served has had time to show it.
const _: () =
    assert!(PUBLISHED_TTL.as_secs() < crate::tokens::keys::NEXT_KEY_MIN_PUBLISHED.unsigned_abs());

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Document {
    Discovery,
    Jwks,
}

/// A document, when it was built (the monotonic clock, for the TTL) and the
/// application clock's second it was built for (what is published depends on it: a
/// retired key leaves the JWKS at a given time).
struct Entry {
    built: Instant,
    at: UnixTime,
    body: Bytes,
}

#[derive(Default)]
pub struct Published {
    entries: RwLock<HashMap<(Document, String), Entry>>,
}

impl Published {
    /// The document if it was built less than `PUBLISHED_TTL` ago, for this second.
    pub fn get(&self, document: Document, server_id: &str, now: UnixTime) -> Option<Bytes> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(&(document, server_id.to_string()))?;
        (entry.built.elapsed() < PUBLISHED_TTL && entry.at == now).then(|| entry.body.clone())
    }

    pub fn put(&self, document: Document, server_id: &str, now: UnixTime, body: Bytes) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.insert(
            (document, server_id.to_string()),
            Entry {
                built: Instant::now(),
                at: now,
                body,
            },
        );
    }

    /// The last copy built, however old, and its age in seconds.
    pub fn last_good(&self, document: Document, server_id: &str) -> Option<(Bytes, u64)> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(&(document, server_id.to_string()))?;
        Some((entry.body.clone(), entry.built.elapsed().as_secs()))
    }

    /// `refused` unless it is a 503 and a copy was built before: then that copy,
    /// rendered by `respond` and marked stale (see the module's documentation).
    pub fn or_stale(
        &self,
        document: Document,
        server_id: &str,
        refused: Response,
        respond: fn(Bytes) -> Response,
    ) -> Response {
        if refused.status() != StatusCode::SERVICE_UNAVAILABLE {
            return refused;
        }
        let Some((body, age)) = self.last_good(document, server_id) else {
            return refused;
        };
        tracing::warn!(
            server = server_id,
            ?document,
            age,
            "the database is unavailable; serving the last good copy"
        );
        let mut response = respond(body);
        let headers = response.headers_mut();
        headers.insert(STALE, HeaderValue::from_static("true"));
        headers.insert(header::AGE, HeaderValue::from(age));
        response
    }

    /// Drops a server's documents (after this process changed its keys).
    pub fn forget(&self, server_id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(_, id), _| id != server_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_a_document_for_the_ttl_and_its_second_only() {
        let published = Published::default();
        assert!(published.get(Document::Jwks, "default", 5).is_none());
        published.put(Document::Jwks, "default", 5, Bytes::from_static(b"{}"));
        assert_eq!(
            published.get(Document::Jwks, "default", 5).unwrap(),
            Bytes::from_static(b"{}")
        );
        assert!(
            published.get(Document::Jwks, "default", 6).is_none(),
            "built for another second"
        );
        assert!(
            published.get(Document::Discovery, "default", 5).is_none(),
            "per document"
        );
        assert!(
            published.get(Document::Jwks, "aus1", 5).is_none(),
            "per server"
        );
        published.forget("default");
        assert!(published.get(Document::Jwks, "default", 5).is_none());
        let old = Entry {
            built: Instant::now() - PUBLISHED_TTL,
            at: 5,
            body: Bytes::new(),
        };
        published
            .entries
            .write()
            .unwrap()
            .insert((Document::Jwks, "old".into()), old);
        assert!(published.get(Document::Jwks, "old", 5).is_none(), "expired");
        assert_eq!(
            published.last_good(Document::Jwks, "old"),
            Some((Bytes::new(), PUBLISHED_TTL.as_secs())),
            "but still the last good copy"
        );
    }

    #[test]
    fn only_a_503_is_answered_with_the_last_good_copy() {
        use axum::response::IntoResponse;
        let published = Published::default();
        let respond = |body: Bytes| body.into_response();
        let unavailable = || StatusCode::SERVICE_UNAVAILABLE.into_response();
        let r = published.or_stale(Document::Jwks, "default", unavailable(), respond);
        assert_eq!(r.status(), 503, "no copy yet");
        published.put(Document::Jwks, "default", 5, Bytes::from_static(b"{}"));
        let r = published.or_stale(Document::Jwks, "default", unavailable(), respond);
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[STALE], "true");
        assert_eq!(r.headers()[header::AGE], "0");
        let missing = StatusCode::NOT_FOUND.into_response();
        let r = published.or_stale(Document::Jwks, "default", missing, respond);
        assert_eq!(r.status(), 404, "only an unavailable database");
    }
}
