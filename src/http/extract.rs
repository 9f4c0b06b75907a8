//! Extractors whose failures are protocol errors, not a framework's plain-text
//! rejections.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::oauth::OAuthError;
use crate::oauth::params::{MAX_PARAMS_BYTES, Params};
use crate::store::ORG_SERVER_ID;

/// The authorization server named in the path (`/oauth2/{server_id}/...`), or the org
/// server for `/oauth2/v1/...` and the root discovery documents.
pub struct ServerId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ServerId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let id = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(k, _)| *k == "server_id")
                    .map(|(_, v)| v.to_string())
            });
        Ok(ServerId(id.unwrap_or_else(|| ORG_SERVER_ID.to_string())))
    }
}

/// The client's address: the TCP peer, or what a trusted proxy says it is
/// (`http::client_ip`: `X-Forwarded-For` only from a peer in `trusted_proxies`), when
/// the server records it.
pub struct PeerAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let decided = parts
            .extensions
            .get::<super::client_ip::ClientIp>()
            .map(|c| c.0.to_string());
        Ok(PeerAddr(decided.or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_canonical().to_string())
        })))
    }
}

/// Parameters from a query string.
pub fn query_params(query: Option<&str>) -> Result<Params, OAuthError> {
    Params::parse(query.unwrap_or("").as_bytes())
}

/// Parameters from a POST body, which must be `application/x-www-form-urlencoded`
/// (RFC 6749 §3.2). The router's body limit sits just above `MAX_PARAMS_BYTES`, so a
/// larger body arrives cut and is refused here as too large.
pub fn form_params(headers: &HeaderMap, body: &Bytes) -> Result<Params, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "The request body must be application/x-www-form-urlencoded.",
        ));
    }
    if body.len() > MAX_PARAMS_BYTES {
        return Err(OAuthError::invalid_request(
            "The request parameters are too large.",
        ));
    }
    Params::parse(body)
}

/// The body of a POST, as bytes, with an oversized body answered as `invalid_request`
/// rather than axum's plain-text 413.
pub struct Body(pub Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = OAuthRejection;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|_| {
                OAuthRejection(OAuthError::invalid_request(
                    "The request parameters are too large.",
                ))
            })
    }
}

/// A body that could not be read, answered as JSON `invalid_request`.
pub struct OAuthRejection(pub OAuthError);

impl axum::response::IntoResponse for OAuthRejection {
    fn into_response(self) -> axum::response::Response {
        super::error::json(&self.0)
    }
}

/// The request's `User-Agent`, when it is visible ASCII (a session keeps it to tell
/// devices apart; `identity::session::Device` cuts it to length).
pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}
