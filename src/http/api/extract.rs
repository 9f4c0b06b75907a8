//! What every `/api/v1` handler takes: the caller (an API token or an access token,
//! authorized for the operation), a JSON body and
//! query parameters whose failures are Okta errors naming the field, the peer
//! address; and what list handlers give back: Okta's `Link` headers.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::admin::Actor;
use crate::admin::permissions::Need;
use crate::flows::api_caller::{self, CallerError, Presented, Principal};
use crate::http::SharedState;
pub use crate::http::extract::PeerAddr;

/// The largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What an operation asks of its caller, declared beside it in `operations()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No management credential: Okta's Authentication API and the Sessions API's
    /// `/sessions/me` (the end user's own session, by its cookie).
    Public,
    /// An API token or an org server access token allowed this (see
    /// `flows::api_caller`).
    Needs(Need),
}

/// The caller of an operation, authenticated and authorized for what the operation
/// declared (`Access`, put in the request by its route): `Authorization: SSWS
/// {token}` or `Bearer {access token}`, never a cookie. No credential or a bad one:
/// 401 `E0000011`; a token without the scope: 403 `E0000006` with `insufficient_scope`;
/// roles that do not allow it: 403 `E0000006`.
pub struct Authorized(pub Principal);

/// The caller as the actor of what the request changes (see `Authorized`).
pub struct Caller(pub Actor);

impl FromRequestParts<SharedState> for Authorized {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        // Fail closed: an operation that declared nothing is refused.
        let need = match parts.extensions.get::<Access>() {
            Some(Access::Needs(need)) => *need,
            Some(Access::Public) | None => return Err(ApiError::forbidden()),
        };
        let PeerAddr(ip) = PeerAddr::from_request_parts(parts, state)
            .await
            .unwrap_or(PeerAddr(None));
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::invalid_token)?;
        let (token, ssws) = match (ssws_token(header), bearer_token(header)) {
            (Some(token), _) => (token, true),
            (None, Some(token)) => (token, false),
            (None, None) => return Err(ApiError::invalid_token()),
        };
        let presented = if ssws {
            Presented::Ssws(&token)
        } else {
            Presented::Bearer(&token)
        };
        let now = state.clock.now();
        match api_caller::authorize(state, presented, ip, need, now).await {
            Ok(principal) => Ok(Authorized(principal)),
            Err(CallerError::Unauthenticated) => Err(ApiError::invalid_token()),
            Err(CallerError::InsufficientScope(scope)) => Err(ApiError::insufficient_scope(&scope)),
            Err(CallerError::Forbidden) => Err(ApiError::forbidden()),
            Err(CallerError::Failed(e)) => Err(e.into()),
        }
    }
}

impl FromRequestParts<SharedState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let Authorized(principal) = Authorized::from_request_parts(parts, state).await?;
        Ok(Caller(principal.actor))
    }
}

/// The token of a `Bearer {token}` header (RFC 6750 §2.1; the scheme is
/// case-insensitive).
pub fn bearer_token(header: &str) -> Option<String> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("Bearer")
        && !token.is_empty()
        && !token.contains(char::is_whitespace))
    .then(|| token.to_string())
}

/// The token of an `SSWS {token}` header. The scheme is case-insensitive and the
/// space after it optional: Okta's Python SDK (3.4) sends `SSWS{token}`, and Okta
/// accepts it.
pub fn ssws_token(header: &str) -> Option<String> {
    let value = header.trim();
    let scheme = value.get(..4)?;
    let token = value.get(4..)?.trim();
    (scheme.eq_ignore_ascii_case("SSWS")
        && !token.is_empty()
        && !token.contains(char::is_whitespace))
    .then(|| token.to_string())
}

/// A JSON body. Not JSON, or a field of the wrong type: 400 `E0000003` with the field
/// in `errorCauses`. Unknown fields are ignored.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let body = Bytes::from_request(req, state).await.map_err(|_| {
            ApiError::malformed(format!("the body must be at most {MAX_BODY_BYTES} bytes"))
        })?;
        parse_json(&body).map(ApiJson)
    }
}

/// A JSON body that may be left out (no bytes, or only white space: `None`), as Okta's
/// SDKs send a factor challenge (`verify` without a body). Otherwise as `ApiJson`.
pub struct OptionalApiJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let body = Bytes::from_request(req, state).await.map_err(|_| {
            ApiError::malformed(format!("the body must be at most {MAX_BODY_BYTES} bytes"))
        })?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalApiJson(None));
        }
        parse_json(&body).map(|v| OptionalApiJson(Some(v)))
    }
}

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            ApiError::malformed(format!(
                "the body is not a JSON object of the expected shape: {}",
                short(&inner)
            ))
        } else {
            ApiError::malformed(format!("{path}: {}", short(&inner)))
        }
    })?;
    de.end().map_err(|e| {
        ApiError::malformed(format!(
            "the body has text after the JSON value: {}",
            short(&e)
        ))
    })?;
    Ok(value)
}

/// serde's message without the line and column.
fn short(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Query parameters. A value of the wrong type: 400 `E0000001` naming it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                let message = e.into_inner().to_string();
                ApiError::invalid(if field == "." { "query" } else { &field }, &message)
            })
    }
}

/// Okta's pagination headers: `Link: <...>; rel="self"`, and `rel="next"` with the
/// `after` cursor when there may be more. `base` is the public URL, `path` the
/// request's below `/api/v1` (as the nested router sees it), `query` its parameters.
pub fn link_headers(
    base: &str,
    path: &str,
    query: &[(String, String)],
    next: Option<&str>,
) -> HeaderMap {
    let url = |pairs: &[(String, String)]| {
        let mut url = format!("{base}{}{path}", super::PREFIX);
        if !pairs.is_empty() {
            url.push('?');
            url.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish(),
            );
        }
        url
    };
    let mut headers = HeaderMap::new();
    let mut add = |target: String, rel: &str| {
        if let Ok(v) = HeaderValue::from_str(&format!("<{target}>; rel=\"{rel}\"")) {
            headers.append(header::LINK, v);
        }
    };
    add(url(query), "self");
    if let Some(cursor) = next {
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k != "after")
            .cloned()
            .collect();
        pairs.push(("after".into(), cursor.into()));
        add(url(&pairs), "next");
    }
    headers
}

/// `limit` and `after` of a list Okta pages.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The cursor from the `next` link.
    pub after: Option<String>,
    /// How many items a page holds at most.
    pub limit: Option<i64>,
}

/// One page of a list held in memory (`admin::filter::page_of`), as JSON with Okta's
/// `Link` headers. `limit` defaults to `default` and may be 1 to `max`.
pub fn paged<T>(
    base: &str,
    uri: &axum::http::Uri,
    items: Vec<T>,
    id: impl Fn(&T) -> &str,
    params: &PageParams,
    (default, max): (i64, i64),
    to_json: impl Fn(&T) -> serde_json::Value,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let limit = crate::admin::filter::limit(params.limit, default, max)?;
    let (page, next) = crate::admin::filter::page_of(items, id, params.after.as_deref(), limit)?;
    let headers = link_headers(base, uri.path(), &query_pairs(uri.query()), next.as_deref());
    let body: Vec<serde_json::Value> = page.iter().map(to_json).collect();
    Ok((headers, axum::Json(body)).into_response())
}

/// The request's query parameters, in order.
pub fn query_pairs(parts_query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(parts_query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_of_the_wrong_type() {
        #[derive(serde::Deserialize, Debug)]
        struct Inner {
            #[allow(dead_code)]
            login: Option<String>,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Outer {
            #[allow(dead_code)]
            profile: Option<Inner>,
        }
        let e = parse_json::<Outer>(br#"{"profile": {"login": 5}, "extra": true}"#).unwrap_err();
        assert_eq!(
            (
                e.code,
                e.causes[0].starts_with("profile.login: invalid type")
            ),
            ("E0000003", true),
            "{e:?}"
        );
        assert!(
            parse_json::<Outer>(br#"{"profile": {}, "unknown": [1]}"#).is_ok(),
            "unknown fields are ignored"
        );
        assert_eq!(parse_json::<Outer>(b"{").unwrap_err().code, "E0000003");
        assert_eq!(parse_json::<Outer>(b"[]").unwrap_err().code, "E0000003");
    }

    #[test]
    fn reads_ssws_tokens() {
        assert_eq!(ssws_token("SSWS 00abc").as_deref(), Some("00abc"));
        assert_eq!(ssws_token("ssws   00abc ").as_deref(), Some("00abc"));
        assert_eq!(
            ssws_token("SSWS00abc").as_deref(),
            Some("00abc"),
            "as Okta's Python SDK sends it"
        );
        for bad in [
            "",
            "SSWS",
            "SSWS ",
            "Bearer 00abc",
            "SSW",
            "SSWS 00a bc",
            "Basic YWJj",
        ] {
            assert_eq!(ssws_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn links_self_and_next() {
        let q = vec![
            ("limit".to_string(), "2".to_string()),
            ("after".to_string(), "00u1".to_string()),
        ];
        let h = link_headers("http://h", "/users", &q, Some("00u3"));
        let links: Vec<&str> = h
            .get_all(header::LINK)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            links,
            [
                "<http://h/api/v1/users?limit=2&after=00u1>; rel=\"self\"",
                "<http://h/api/v1/users?limit=2&after=00u3>; rel=\"next\""
            ]
        );
        assert_eq!(
            link_headers("http://h", "/x", &[], None)
                .get_all(header::LINK)
                .iter()
                .count(),
            1
        );
    }
}
