//! Fetching a JWKS document from a URL outside this server: a `private_key_jwt`
//! client's `jwks_uri` (RFC 7591 §2, OpenID Connect Core §9), or an upstream identity
//! provider's `jwks_uri` (`upstream`). The URL is another party's, so it is fetched
//! through the one guarded client (`outbound`: https, public addresses only, the
//! checked address connected to, no redirects), within `FETCH_TIMEOUT` and `MAX_BODY`.
//! The same guarded client POSTs back-channel logout tokens to an app's
//! `backchannel_logout_uri` (`post_form`).
//!
//! - keys are cached per URI for `CACHE_TTL`; one fetch per URI is in flight at a time
//!   (the others wait for its result); an unknown `kid` may force a fetch at most once
//!   per `REFETCH_INTERVAL` per URI, and a failure is answered again for that long
//!   without a new fetch; the last good keys serve while refetches fail, up to
//!   `STALE_LIMIT`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::jose::{self, PublicJwk};
use crate::outbound::{self, Limits, Request};
pub use crate::outbound::{FetchError, is_public};

pub const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
pub const MAX_BODY: usize = 64 * 1024;
pub const CACHE_TTL: Duration = Duration::from_secs(300);
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long after a good fetch its keys still serve while refetches fail.
pub const STALE_LIMIT: Duration = Duration::from_secs(2 * 300);

/// The caps on one `jwks_uri` fetch.
pub const LIMITS: Limits = Limits {
    timeout: FETCH_TIMEOUT,
    max_body: MAX_BODY,
};

/// What is known about one URI.
#[derive(Default)]
struct Entry {
    /// The last keys fetched successfully, and when.
    good: Option<(Instant, Arc<Vec<PublicJwk>>)>,
    /// When an unknown `kid` last made this URI be fetched again (recorded before the
    /// fetch starts).
    forced: Option<Instant>,
    /// When the last fetch failed, and how: answered again (no new fetch) for
    /// `REFETCH_INTERVAL`.
    failed: Option<(Instant, FetchError)>,
}

/// Per-process cache of fetched client JWKS, by URI. Each URI has its own lock, held
/// across its fetch: one fetch in flight per URI (single-flight); the requests that
/// arrive meanwhile wait for it and take its result.
pub struct RemoteJwks {
    allow_private: bool,
    entries: std::sync::Mutex<HashMap<String, Arc<Mutex<Entry>>>>,
}

impl RemoteJwks {
    pub fn new(allow_private: bool) -> Self {
        RemoteJwks {
            allow_private,
            entries: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The keys at `uri`: cached ones while fresh (`CACHE_TTL`), unless `kid` names a
    /// key they lack (a key the client rotated in) and no such forced fetch started in
    /// the last `REFETCH_INTERVAL` — so a stream of made-up `kid`s cannot make this
    /// server hammer the client's host. A failed fetch is not retried for
    /// `REFETCH_INTERVAL` either (its error is answered again), and while fetches fail
    /// the last good keys still serve, up to `STALE_LIMIT` after they were fetched
    /// (stale-while-error), so a client's brief outage is not ours.
    pub async fn keys(
        &self,
        uri: &str,
        kid: Option<&str>,
    ) -> Result<Arc<Vec<PublicJwk>>, FetchError> {
        let slot = self
            .entries
            .lock()
            .expect("jwks cache lock")
            .entry(uri.to_string())
            .or_default()
            .clone();
        let mut entry = slot.lock().await;
        let usable = |e: &Entry, within: Duration| {
            e.good
                .as_ref()
                .filter(|(at, _)| at.elapsed() < within)
                .map(|(_, k)| k.clone())
        };
        let recent = |at: &Instant| at.elapsed() < REFETCH_INTERVAL;
        if let Some(keys) = usable(&entry, CACHE_TTL) {
            let knows_kid =
                kid.is_none_or(|kid| keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
            if knows_kid
                || entry.forced.as_ref().is_some_and(recent)
                || entry.failed.as_ref().is_some_and(|(at, _)| recent(at))
            {
                return Ok(keys);
            }
            entry.forced = Some(Instant::now());
        } else if let Some((at, e)) = &entry.failed
            && recent(at)
        {
            return usable(&entry, STALE_LIMIT).ok_or_else(|| e.clone());
        }
        match self.fetch(uri).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                entry.good = Some((Instant::now(), keys.clone()));
                entry.failed = None;
                Ok(keys)
            }
            Err(e) => {
                tracing::warn!(uri, error = %e, "jwks_uri fetch failed");
                entry.failed = Some((Instant::now(), e.clone()));
                usable(&entry, STALE_LIMIT).ok_or(e)
            }
        }
    }

    async fn fetch(&self, uri: &str) -> Result<Vec<PublicJwk>, FetchError> {
        let accept = [("Accept", "application/jwk-set+json, application/json")];
        let body = outbound::fetch(Request::get(uri, &accept), self.allow_private, LIMITS)
            .await?
            .ok()?;
        let text = std::str::from_utf8(&body).map_err(|_| FetchError::Document)?;
        jose::parse_jwks(text).map_err(|_| FetchError::Document)
    }
}

/// How long a POST (`post_form`) may take, all of it.
pub const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// One POST of a form (`application/x-www-form-urlencoded`) to `uri`, through the
/// guarded client (`outbound`: the address checks, no redirects), in at most
/// `POST_TIMEOUT`: what a back-channel logout is (Back-Channel Logout 1.0 §2.5). Done
/// when the answer is 200, or 204 (§2.8 notes some frameworks answer that).
pub async fn post_form(uri: &str, form: &str, allow_private: bool) -> Result<(), FetchError> {
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cache-Control", "no-store"),
    ];
    let request = Request {
        method: "POST",
        url: uri,
        headers: &headers,
        body: form.as_bytes(),
    };
    let limits = Limits {
        timeout: POST_TIMEOUT,
        max_body: MAX_BODY,
    };
    match outbound::fetch(request, allow_private, limits)
        .await?
        .status
    {
        200 | 204 => Ok(()),
        other => Err(FetchError::Status(other)),
    }
}
