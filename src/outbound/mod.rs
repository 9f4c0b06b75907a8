//! The one guarded HTTP client: everything the server fetches from outside goes
//! through `fetch` (a `private_key_jwt` client's `jwks_uri`, back-channel logout tokens,
//! and an upstream identity provider's discovery document, JWKS, token endpoint and
//! userinfo). The URLs are others' to choose, so fetching must not become a way to
//! reach what only this server can reach (server-side request forgery), to hang a
//! request, or to exhaust memory:
//!
//! - https only; http only when `allow_private` (development and tests);
//! - the host is resolved here, every address it resolves to must be public (not
//!   loopback, private, link-local, CGNAT, unspecified, multicast, broadcast or
//!   documentation) unless `allow_private`, and the connection goes to an address so
//!   checked (never a second resolution that could answer differently);
//! - one request, no redirects (a 3xx is the caller's to refuse: `Response::status`),
//!   `Limits::timeout` for all of it (resolution, connection, TLS, request and
//!   response), at most `Limits::max_body` bytes of body.

mod tls;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use url::Url;

/// Longest response head (status line and headers) read.
const MAX_HEAD: usize = 16 * 1024;

/// What went wrong with one exchange. The messages name no URL, header or body, so
/// they may be logged and shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the URL is not an allowed URL")]
    Url,
    #[error("the host resolves to a non-public address")]
    Address,
    #[error("the host could not be reached: {0}")]
    Connect(String),
    #[error("the answer took too long")]
    Timeout,
    #[error("the answer was {0}; only 200 is accepted (redirects are not followed)")]
    Status(u16),
    #[error("the answer is larger than allowed")]
    TooLarge,
    #[error("the answer is not a usable document")]
    Document,
    #[error("the answer is malformed HTTP")]
    Http,
}

/// The caps on one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// For the whole exchange, from resolving the host to the last byte.
    pub timeout: Duration,
    /// Longest body read (after de-chunking); a longer one is `TooLarge`.
    pub max_body: usize,
}

/// One request: `headers` are name/value pairs (no CR or LF in them; the caller's
/// constants and base64/URL-encoded values).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    pub fn get(url: &'a str, headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
        Request {
            method: "GET",
            url,
            headers,
            body: b"",
        }
    }
}

/// A response read whole: its status, `Content-Type` and body (at most the cap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    /// The body, if the status is 200; a 3xx (no redirect is followed) or any other
    /// status is `Status`.
    pub fn ok(self) -> Result<Vec<u8>, FetchError> {
        match self.status {
            200 => Ok(self.body),
            other => Err(FetchError::Status(other)),
        }
    }

    /// Is the media type `essence` (`application/json`), parameters aside?
    pub fn is(&self, essence: &str) -> bool {
        self.content_type.as_deref().is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(essence))
        })
    }
}

/// RFC 6890 special-purpose addresses, and the others nothing fetched should live at.
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

/// One exchange under the rules of the module comment, within `limits`.
pub async fn fetch(
    request: Request<'_>,
    allow_private: bool,
    limits: Limits,
) -> Result<Response, FetchError> {
    let raw = tokio::time::timeout(limits.timeout, send(&request, allow_private, limits))
        .await
        .map_err(|_| FetchError::Timeout)??;
    parse_response(&raw, limits.max_body)
}

/// Sends `request`; the whole response as read to the connection's end.
async fn send(
    request: &Request<'_>,
    allow_private: bool,
    limits: Limits,
) -> Result<Vec<u8>, FetchError> {
    // A header cannot smuggle a second header or request; checked before any lookup.
    if request.headers.iter().any(|(name, value)| {
        [name, value]
            .iter()
            .any(|s| s.bytes().any(|b| b == b'\r' || b == b'\n'))
    }) {
        return Err(FetchError::Url);
    }
    let url = Url::parse(request.url).map_err(|_| FetchError::Url)?;
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
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nHost: {host_header}\r\n",
        request.method
    );
    for (name, value) in request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !request.body.is_empty() || request.method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", request.body.len()));
    }
    head.push_str("User-Agent: gatehouse\r\nConnection: close\r\n\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(request.body);
    let cap = MAX_HEAD + limits.max_body + 8 * 1024;
    if tls {
        let stream = tls::connect(&host, stream)
            .await
            .map_err(FetchError::Connect)?;
        exchange(stream, &bytes, cap).await
    } else {
        exchange(stream, &bytes, cap).await
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
    cap: usize,
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
        if raw.len() > cap {
            return Err(FetchError::TooLarge);
        }
    }
    Ok(raw)
}

/// A complete HTTP/1.1 response read to the connection's end: the status, the
/// `Content-Type`, then the body (by `Content-Length`, chunked, or to the end), at
/// most `max_body`.
fn parse_response(raw: &[u8], max_body: usize) -> Result<Response, FetchError> {
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
    let mut chunked = false;
    let mut length = None;
    let mut content_type = None;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(FetchError::Http)?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| FetchError::Http)?);
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_string());
        }
    }
    let body = if chunked {
        dechunk(body, max_body)?
    } else if let Some(n) = length {
        if n > max_body {
            return Err(FetchError::TooLarge);
        }
        body.get(..n).ok_or(FetchError::Http)?.to_vec()
    } else {
        body.to_vec()
    };
    if body.len() > max_body {
        return Err(FetchError::TooLarge);
    }
    Ok(Response {
        status,
        content_type,
        body,
    })
}

fn dechunk(mut data: &[u8], max_body: usize) -> Result<Vec<u8>, FetchError> {
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
        if size > max_body - out.len() {
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

    const MAX_BODY: usize = 64 * 1024;

    fn body(raw: &[u8]) -> Result<Vec<u8>, FetchError> {
        parse_response(raw, MAX_BODY)?.ok()
    }

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
            body(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap(),
            b"{}"
        );
        assert_eq!(body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n").unwrap(), b"{}");
        assert_eq!(
            body(b"HTTP/1.1 302 Found\r\nLocation: http://x\r\n\r\n"),
            Err(FetchError::Status(302))
        );
        let big = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert_eq!(body(big.as_bytes()), Err(FetchError::TooLarge));
        // Chunk sizes near usize::MAX overflow nothing (debug builds would panic).
        let huge = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{{}}\r\n0\r\n\r\n",
            usize::MAX
        );
        assert_eq!(body(huge.as_bytes()), Err(FetchError::TooLarge));
        let after_one = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{{\r\n{:x}\r\n}}\r\n0\r\n\r\n",
            usize::MAX
        );
        assert_eq!(body(after_one.as_bytes()), Err(FetchError::TooLarge));
        let fits = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{{}}",
            MAX_BODY
        );
        assert_eq!(
            body(fits.as_bytes()),
            Err(FetchError::Http),
            "a chunk longer than the data"
        );
    }

    #[test]
    fn an_error_answer_keeps_its_status_type_and_body() {
        let r = parse_response(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}",
            16,
        )
        .unwrap();
        assert_eq!(r.status, 400);
        assert!(r.is("application/json"));
        assert!(!r.is("application/jwt"));
        assert_eq!(r.body, b"{}");
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\n\r\n0123456789abcdefX", 16),
            Err(FetchError::TooLarge),
            "the cap is the caller's"
        );
    }

    #[tokio::test]
    async fn what_is_refused_is_refused_before_any_connection() {
        let limits = Limits {
            timeout: Duration::from_secs(2),
            max_body: MAX_BODY,
        };
        let get = |url: &'static str| Request::get(url, &[]);
        // Plain http, and a loopback address, only when private addresses are allowed.
        assert_eq!(
            fetch(get("http://example.com/"), false, limits).await,
            Err(FetchError::Url)
        );
        assert_eq!(
            fetch(get("https://127.0.0.1:1/"), false, limits).await,
            Err(FetchError::Address)
        );
        assert_eq!(
            fetch(get("https://[::ffff:10.0.0.1]:1/"), false, limits).await,
            Err(FetchError::Address)
        );
        assert_eq!(
            fetch(get("file:///etc/passwd"), true, limits).await,
            Err(FetchError::Url)
        );
        // A header value cannot smuggle a second header or request.
        let headers = [("Authorization", "Bearer x\r\nX-Evil: 1")];
        assert_eq!(
            fetch(Request::get("http://127.0.0.1:1/", &headers), true, limits).await,
            Err(FetchError::Url)
        );
    }
}
