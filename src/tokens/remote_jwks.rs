//! Fetching a `private_key_jwt` client's `jwks_uri` (RFC 7591 §2, OpenID Connect Core
//! §9), carefully: the URL is the client's, so fetching it must not become a way to
//! reach what only this server can reach (server-side request forgery), to hang a
//! token request, or to exhaust memory. The same guarded client POSTs back-channel
//! logout tokens to an app's `backchannel_logout_uri` (`post_form`).
//!
//! - https only; http only when `allow_private` (development and tests);
//! - the host is resolved here, every address it resolves to must be public (not
//!   loopback, private, link-local, CGNAT, unspecified, multicast, broadcast or
//!   documentation) unless `allow_private`, and the connection goes to an address so
//!   checked (never a second resolution that could answer differently);
//! - one request, no redirects (a 3xx is a failure), `FETCH_TIMEOUT` for all of it,
//!   at most `MAX_BODY` bytes of body;
//! - keys are cached per URI for `CACHE_TTL`; one fetch per URI is in flight at a time
//!   (the others wait for its result); an unknown `kid` may force a fetch at most once
//!   per `REFETCH_INTERVAL` per URI, and a failure is answered again for that long
//!   without a new fetch; the last good keys serve while refetches fail, up to
//!   `STALE_LIMIT`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;
use url::Url;

use super::jose::{self, PublicJwk};

pub const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
pub const MAX_BODY: usize = 64 * 1024;
pub const CACHE_TTL: Duration = Duration::from_secs(300);
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long after a good fetch its keys still serve while refetches fail.
pub const STALE_LIMIT: Duration = Duration::from_secs(2 * 300);
/// Longest response head (status line and headers) read.
const MAX_HEAD: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the jwks_uri is not an allowed URL")]
    Url,
    #[error("the jwks_uri host resolves to a non-public address")]
    Address,
    #[error("the jwks_uri could not be reached: {0}")]
    Connect(String),
    #[error("the jwks_uri took too long")]
    Timeout,
    #[error("the jwks_uri answered {0}; only 200 is accepted (redirects are not followed)")]
    Status(u16),
    #[error("the jwks_uri response is larger than 64 KiB")]
    TooLarge,
    #[error("the jwks_uri response is not a usable JWKS")]
    Document,
    #[error("the jwks_uri response is malformed HTTP")]
    Http,
}

/// RFC 6890 special-purpose addresses, and the others no JWKS should live at.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, CGNAT (RFC 6598)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24, IETF protocol assignments
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15, benchmarking
                || o[0] >= 240) // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // ::/96, IPv4-compatible (deprecated, RFC 4291 §2.5.5.1: [::127.0.0.1])
                || s[..6].iter().all(|&x| x == 0)
                // ::ffff:0:0:0/96, SIIT (RFC 6145 §2.1: IPv4-translated)
                || (s[..4].iter().all(|&x| x == 0) && s[4] == 0xffff && s[5] == 0)
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated, RFC 3879)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x2001 && s[1] == 0) // Teredo (RFC 4380): tunnels to an IPv4
                || s[0] == 0x2002 // 6to4 (RFC 3056): embeds an IPv4
                || (s[0] == 0x100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // 100::/64, discard-only (RFC 6666)
                || (s[0] == 0x64 && s[1] == 0xff9b)) // NAT64 (maps onto IPv4)
        }
    }
}

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
        let body = tokio::time::timeout(FETCH_TIMEOUT, get(uri, self.allow_private))
            .await
            .map_err(|_| FetchError::Timeout)??;
        let text = std::str::from_utf8(&body).map_err(|_| FetchError::Document)?;
        jose::parse_jwks(text).map_err(|_| FetchError::Document)
    }
}

/// One GET of `uri`, following the rules in the module comment; the body.
async fn get(uri: &str, allow_private: bool) -> Result<Vec<u8>, FetchError> {
    let accept = "Accept: application/jwk-set+json, application/json\r\n";
    let raw = send(uri, allow_private, "GET", accept, b"").await?;
    parse_response(&raw)
}

/// How long a POST (`post_form`) may take, all of it.
pub const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// One POST of a form (`application/x-www-form-urlencoded`) to `uri`, under the rules
/// of the module comment (the address checks, no redirects), in at most
/// `POST_TIMEOUT`: what a back-channel logout is (Back-Channel Logout 1.0 §2.5). Done
/// when the answer is 200, or 204 (§2.8 notes some frameworks answer that).
pub async fn post_form(uri: &str, form: &str, allow_private: bool) -> Result<(), FetchError> {
    let headers = format!(
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nCache-Control: no-store\r\n",
        form.len()
    );
    let raw = tokio::time::timeout(
        POST_TIMEOUT,
        send(uri, allow_private, "POST", &headers, form.as_bytes()),
    )
    .await
    .map_err(|_| FetchError::Timeout)??;
    match status_of(&raw)? {
        200 | 204 => Ok(()),
        other => Err(FetchError::Status(other)),
    }
}

/// The status code of a response.
fn status_of(raw: &[u8]) -> Result<u16, FetchError> {
    let line_end = raw
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or(FetchError::Http)?;
    std::str::from_utf8(&raw[..line_end])
        .ok()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or(FetchError::Http)
}

/// One request to `uri` (`headers`: each line with its CRLF), following the rules in
/// the module comment; the whole response as read to the connection's end.
async fn send(
    uri: &str,
    allow_private: bool,
    method: &str,
    headers: &str,
    body: &[u8],
) -> Result<Vec<u8>, FetchError> {
    let url = Url::parse(uri).map_err(|_| FetchError::Url)?;
    let tls = match url.scheme() {
        "https" => true,
        "http" if allow_private => false,
        _ => return Err(FetchError::Url),
    };
    let host = url.host_str().ok_or(FetchError::Url)?.to_string();
    let port = url.port_or_known_default().ok_or(FetchError::Url)?;
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host.as_str(), port))
        .await
        .map_err(|e| FetchError::Connect(e.to_string()))?
        .collect();
    // Every address must be allowed, so no answer of a later resolution can differ.
    if addrs.is_empty() || (!allow_private && addrs.iter().any(|a| !is_public(a.ip()))) {
        return Err(FetchError::Address);
    }
    let stream = tokio::net::TcpStream::connect(addrs[0])
        .await
        .map_err(|e| FetchError::Connect(e.to_string()))?;
    let peer = stream
        .peer_addr()
        .map_err(|e| FetchError::Connect(e.to_string()))?;
    if !allow_private && !is_public(peer.ip()) {
        return Err(FetchError::Address);
    }
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let host_header = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host_header}\r\n{headers}User-Agent: gatehouse\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(body);
    if tls {
        let stream = super::tls::connect(&host, stream)
            .await
            .map_err(FetchError::Connect)?;
        exchange(stream, &request).await
    } else {
        exchange(stream, &request).await
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
) -> Result<Vec<u8>, FetchError> {
    stream
        .write_all(request)
        .await
        .map_err(|e| FetchError::Connect(e.to_string()))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| FetchError::Connect(e.to_string()))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() > MAX_HEAD + MAX_BODY + 8 * 1024 {
            return Err(FetchError::TooLarge);
        }
    }
    Ok(raw)
}

/// A complete HTTP/1.1 response read to the connection's end: status 200, then the
/// body (by `Content-Length`, chunked, or to the end), at most `MAX_BODY`.
fn parse_response(raw: &[u8]) -> Result<Vec<u8>, FetchError> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(FetchError::Http)?;
    if end > MAX_HEAD {
        return Err(FetchError::Http);
    }
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| FetchError::Http)?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or(FetchError::Http)?;
    if status != 200 {
        return Err(FetchError::Status(status));
    }
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(FetchError::Http)?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| FetchError::Http)?);
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(n) = length {
        if n > MAX_BODY {
            return Err(FetchError::TooLarge);
        }
        body.get(..n).ok_or(FetchError::Http)?.to_vec()
    } else {
        body.to_vec()
    };
    if body.len() > MAX_BODY {
        return Err(FetchError::TooLarge);
    }
    Ok(body)
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(FetchError::Http)?;
        let size_text = std::str::from_utf8(&data[..line_end]).map_err(|_| FetchError::Http)?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| FetchError::Http)?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if size > MAX_BODY - out.len() {
            return Err(FetchError::TooLarge);
        }
        out.extend_from_slice(data.get(..size).ok_or(FetchError::Http)?);
        data = data
            .get(size.checked_add(2).ok_or(FetchError::Http)?..)
            .ok_or(FetchError::Http)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::8.8.8.8",
            "::ffff:0:127.0.0.1",
            "::ffff:0:808:808",
            "2002:7f00:1::1",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fec0::1",
            "feff::1",
            "100::1",
            "64:ff9b::7f00:1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:2800:220:1:248:1893:25c8:1946",
            "100.128.0.1",
            "2001:4860:4860::8888",
            "2a00:1450::1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn responses_are_read_strictly() {
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap(),
            b"{}"
        );
        assert_eq!(parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n").unwrap(), b"{}");
        assert_eq!(
            parse_response(b"HTTP/1.1 302 Found\r\nLocation: http://x\r\n\r\n"),
            Err(FetchError::Status(302))
        );
        let big = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert_eq!(parse_response(big.as_bytes()), Err(FetchError::TooLarge));
        // Chunk sizes near usize::MAX overflow nothing (debug builds would panic).
        let huge = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{{}}\r\n0\r\n\r\n",
            usize::MAX
        );
        assert_eq!(parse_response(huge.as_bytes()), Err(FetchError::TooLarge));
        let after_one = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{{\r\n{:x}\r\n}}\r\n0\r\n\r\n",
            usize::MAX
        );
        assert_eq!(
            parse_response(after_one.as_bytes()),
            Err(FetchError::TooLarge)
        );
        let fits = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{{}}",
            MAX_BODY
        );
        assert_eq!(
            parse_response(fits.as_bytes()),
            Err(FetchError::Http),
            "a chunk longer than the data"
        );
    }
}
