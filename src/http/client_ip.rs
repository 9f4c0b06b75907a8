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

use crate::app::SharedState;

/// The client's address as decided here; `PeerAddr` hands it to handlers (the System
/// Log's `client.ipAddress`, throttling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Walks `X-Forwarded-For` from the right, starting at the TCP `peer`: while the
/// current hop is trusted, the hop it names (the next entry to the left) replaces it.
/// Stops at the first untrusted hop, at an entry that is not an IP address (then the
/// last trusted hop stands: a proxy we trust would not have written it), or when the
/// list runs out. Several `X-Forwarded-For` headers count as one list, in order.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: impl Fn(IpAddr) -> bool) -> IpAddr {
    let mut current = peer;
    if !trusted(current) {
        return current;
    }
    let mut hops: Vec<&str> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else { return current };
        hops.extend(text.split(','));
    }
    for hop in hops.iter().rev().take(64) {
        match parse_hop(hop) {
            Some(ip) => current = ip,
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

/// Middleware: records `ClientIp` for the request, from the connection and the
/// configuration.
pub async fn layer(State(state): State<SharedState>, mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let ip = if state.config.trusted_proxies.is_empty() {
            peer.ip()
        } else {
            client_ip(peer.ip(), request.headers(), |ip| state.config.is_trusted_proxy(ip))
        };
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IpNet;

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
        let nets = [IpNet::parse("10.0.0.0/8").unwrap(), IpNet::parse("::1").unwrap()];
        client_ip(ip(peer), &headers(values), |a| nets.iter().any(|n| n.contains(a)))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        assert_eq!(decide("203.0.113.9", &["198.51.100.1"]), ip("203.0.113.9"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        assert_eq!(decide("10.0.0.2", &["198.51.100.1"]), ip("198.51.100.1"));
        // The client wrote 1.1.1.1 itself; its real address is the hop our proxy saw.
        assert_eq!(decide("10.0.0.2", &["1.1.1.1, 198.51.100.1, 10.0.0.5"]), ip("198.51.100.1"));
        assert_eq!(decide("10.0.0.2", &["1.1.1.1", "198.51.100.1"]), ip("198.51.100.1"), "several headers are one list");
        assert_eq!(decide("::1", &["[2001:db8::1]:4711"]), ip("2001:db8::1"));
    }

    #[test]
    fn garbage_or_no_header_leaves_the_last_trusted_hop() {
        assert_eq!(decide("10.0.0.2", &[]), ip("10.0.0.2"));
        assert_eq!(decide("10.0.0.2", &["1.1.1.1, nonsense"]), ip("10.0.0.2"));
        assert_eq!(decide("10.0.0.2", &["10.0.0.3, 10.0.0.4"]), ip("10.0.0.3"), "all trusted: the leftmost");
    }
}
