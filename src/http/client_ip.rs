//! Who the client is, by IP address: the TCP peer, unless the peer is one of the
//! configured `trusted_proxies`; then the rightmost `X-Forwarded-For` hop that is not a
//! trusted proxy. Everything to the left of that hop was written by the client (or by
//! proxies it chose) and can be anything, so it is never believed. Without
//! `trusted_proxies` no header is read at all. The public URL never comes from a
//! request either (`Host`, `X-Forwarded-Host`, `X-Forwarded-Proto` are ignored): it is
//! `public_url` from the configuration.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::http::SharedState;

/// The client's address as decided here; `PeerAddr` hands it to handlers (the System
/// Log's `client.ipAddress`, throttling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Walks `X-Forwarded-For` from the right, starting at the TCP `peer`: while the
/// current hop is trusted, the hop it names (the next entry to the left) replaces it.
/// Stops at the first untrusted hop, at an entry that is not an IP address (then the
/// last trusted hop stands: a proxy we trust would not have written it), or when the
/// list runs out. Several `X-Forwarded-For` headers count as one list, in order. The
/// entries are read from the raw bytes, one by one, so bytes that are not UTF-8 to the
/// left (written by the client) do not hide the entries our proxies appended.
/// IPv4-mapped IPv6 addresses are taken as the IPv4 address.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: impl Fn(IpAddr) -> bool) -> IpAddr {
    let mut current = peer.to_canonical();
    if !trusted(current) {
        return current;
    }
    let mut hops: Vec<&[u8]> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        hops.extend(value.as_bytes().split(|&b| b == b','));
    }
    for hop in hops.iter().rev().take(64) {
        match std::str::from_utf8(hop).ok().and_then(parse_hop) {
            Some(ip) => current = ip.to_canonical(),
            None => return current,
        }
        if !trusted(current) {
            break;
        }
    }
    current
}

/// An `X-Forwarded-For` entry: an address, perhaps with a port (`1.2.3.4:5`,
/// `[::1]:5`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// A peer on a private or loopback network that sends `X-Forwarded-For` is most likely
/// a reverse proxy nobody listed in `trusted_proxies`: then every client seems to come
/// from the proxy's address, in the System Log and in throttling (one counter for all).
fn looks_like_unlisted_proxy(peer: IpAddr, headers: &HeaderMap) -> bool {
    let local = match peer.to_canonical() {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        // fc00::/7 unique local (RFC 4193), fe80::/10 link-local.
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    local && headers.contains_key("x-forwarded-for")
}

/// Set once the warning about an unlisted proxy was logged: once per process.
static WARNED_UNLISTED_PROXY: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Middleware: records `ClientIp` for the request, from the connection and the
/// configuration.
pub async fn layer(State(state): State<SharedState>, mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
    {
        let ip = if state.config.trusted_proxies.is_empty() {
            if looks_like_unlisted_proxy(peer.ip(), request.headers())
                && !WARNED_UNLISTED_PROXY.swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::warn!(
                    peer = %peer.ip(),
                    "a request from a private or loopback address carries X-Forwarded-For, but trusted_proxies is empty: \
                     the System Log and brute-force throttling see the proxy's address for every client \
                     (list your reverse proxies in trusted_proxies); logged once"
                );
            }
            peer.ip().to_canonical()
        } else {
            client_ip(peer.ip(), request.headers(), |ip| {
                state.config.is_trusted_proxy(ip)
            })
        };
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IpNet;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn decide(peer: &str, values: &[&str]) -> IpAddr {
        let nets = [
            IpNet::parse("10.0.0.0/8").unwrap(),
            IpNet::parse("::1").unwrap(),
        ];
        client_ip(ip(peer), &headers(values), |a| {
            nets.iter().any(|n| n.contains(a))
        })
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        assert_eq!(decide("203.0.113.9", &["198.51.100.1"]), ip("203.0.113.9"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        assert_eq!(decide("10.0.0.2", &["198.51.100.1"]), ip("198.51.100.1"));
        // The client wrote 1.1.1.1 itself; its real address is the hop our proxy saw.
        assert_eq!(
            decide("10.0.0.2", &["1.1.1.1, 198.51.100.1, 10.0.0.5"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            decide("10.0.0.2", &["1.1.1.1", "198.51.100.1"]),
            ip("198.51.100.1"),
            "several headers are one list"
        );
        assert_eq!(decide("::1", &["[2001:db8::1]:4711"]), ip("2001:db8::1"));
    }

    #[test]
    fn garbage_or_no_header_leaves_the_last_trusted_hop() {
        assert_eq!(decide("10.0.0.2", &[]), ip("10.0.0.2"));
        assert_eq!(decide("10.0.0.2", &["1.1.1.1, nonsense"]), ip("10.0.0.2"));
        assert_eq!(
            decide("10.0.0.2", &["10.0.0.3, 10.0.0.4"]),
            ip("10.0.0.3"),
            "all trusted: the leftmost"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_stop_the_walk_only_where_they_are() {
        let nets = [IpNet::parse("10.0.0.0/8").unwrap()];
        let trusted = |a: IpAddr| nets.iter().any(|n| n.contains(a));
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe, 198.51.100.1, 10.0.0.5").unwrap(),
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), &h, trusted),
            ip("198.51.100.1"),
            "the entries our proxies appended count"
        );
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"198.51.100.1, 10.0.0.5, \xff").unwrap(),
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), &h, trusted),
            ip("10.0.0.2"),
            "garbage at the right: the proxy"
        );
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_static("198.51.100.1"));
        h.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"10.0.0.7, \xe9t\xe9, 10.0.0.5").unwrap(),
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), &h, trusted),
            ip("10.0.0.5"),
            "the last parsed entry right of the garbage"
        );
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        assert_eq!(
            decide("::ffff:10.0.0.2", &["::ffff:198.51.100.1"]),
            ip("198.51.100.1")
        );
        assert_eq!(decide("::ffff:203.0.113.9", &[]), ip("203.0.113.9"));
    }

    #[test]
    fn a_private_peer_sending_x_forwarded_for_looks_like_an_unlisted_proxy() {
        assert!(looks_like_unlisted_proxy(
            ip("127.0.0.1"),
            &headers(&["203.0.113.7"])
        ));
        assert!(looks_like_unlisted_proxy(
            ip("10.1.2.3"),
            &headers(&["203.0.113.7"])
        ));
        assert!(looks_like_unlisted_proxy(
            ip("fd00::1"),
            &headers(&["203.0.113.7"])
        ));
        assert!(!looks_like_unlisted_proxy(ip("127.0.0.1"), &headers(&[])));
        assert!(
            !looks_like_unlisted_proxy(ip("203.0.113.9"), &headers(&["198.51.100.1"])),
            "a public peer is a client"
        );
    }
}
