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

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::body::Bytes;

use crate::clock::UnixTime;

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
    }
}
