//! CORS (the Fetch standard's CORS protocol) for the endpoints a browser app calls with
//! `fetch`: token, userinfo, keys, revoke, introspect and the discovery documents. Only
//! origins listed in `cors_allowed_origins` (Okta's Trusted Origins for CORS) are
//! echoed in `Access-Control-Allow-Origin`; never `*`, never credentials (these
//! endpoints authenticate with the request's own parameters or a bearer token, not
//! cookies). Authorize, sign-in, consent, logout and the management API get no CORS
//! headers at all: they are navigations or server-to-server calls, and a cross-origin
//! script must not read them.
//!
//! Three endpoints are Okta's cookie-based ones that a page of a trusted origin calls
//! with `credentials: 'include'` (okta-auth-js does): `/api/v1/authn` (its answer may
//! carry a session token) and `/api/v1/sessions/me` with its refresh. For exactly
//! those, a listed origin also gets `Access-Control-Allow-Credentials: true` (and
//! DELETE, to close the session); an unlisted origin gets nothing, so no other site's
//! script can read a user's session or a session token.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::SharedState;

const ALLOW_METHODS: &str = "GET, POST";
/// `DPoP` (RFC 9449 §4) for clients that send proofs.
/// `X-Okta-User-Agent-Extended`: okta-auth-js sends it with every request.
const ALLOW_HEADERS: &str = "Authorization, Content-Type, DPoP, X-Okta-User-Agent-Extended";
/// The cookie-based endpoints (`is_credentialed_endpoint`).
const CREDENTIALED_METHODS: &str = "GET, POST, DELETE";
const CREDENTIALED_HEADERS: &str = "Accept, Content-Type, X-Okta-User-Agent-Extended";
const EXPOSE_HEADERS: &str = "WWW-Authenticate, DPoP-Nonce";
/// How long a browser may cache a preflight answer (seconds).
const MAX_AGE: &str = "600";

/// Whether `path` is one of the endpoints that answer cross-origin requests:
/// `[/oauth2[/{server}]]/v1/{token,userinfo,keys,revoke,introspect}` and
/// `[/oauth2[/{server}]]/.well-known/{openid-configuration,oauth-authorization-server}`.
pub fn is_cors_endpoint(path: &str) -> bool {
    const TAILS: [&str; 7] = [
        "/v1/token",
        "/v1/userinfo",
        "/v1/keys",
        "/v1/revoke",
        "/v1/introspect",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ];
    let Some(tail) = path.strip_prefix("/oauth2") else {
        return path.starts_with("/.well-known/") && TAILS.contains(&path);
    };
    if TAILS.contains(&tail) {
        return true;
    }
    let Some(after) = tail.strip_prefix('/') else {
        return false;
    };
    let Some((server, _)) = after.split_once('/') else {
        return false;
    };
    !server.is_empty() && TAILS.contains(&&after[server.len()..])
}

/// Whether `path` is one of Okta's cookie-based endpoints a trusted origin may call
/// with credentials: `/api/v1/authn`, `/api/v1/sessions/me` and its refresh.
pub fn is_credentialed_endpoint(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/authn" | "/api/v1/sessions/me" | "/api/v1/sessions/me/lifecycle/refresh"
    )
}

/// The request's `Origin`, when it is one of `allowed` (exact string comparison).
fn allowed_origin<'h>(headers: &'h HeaderMap, allowed: &[String]) -> Option<&'h HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    allowed.iter().any(|a| a == text).then_some(origin)
}

pub async fn layer(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let credentialed = is_credentialed_endpoint(request.uri().path());
    if !credentialed && !is_cors_endpoint(request.uri().path()) {
        return next.run(request).await;
    }
    let origin = allowed_origin(request.headers(), &state.config.cors_allowed_origins).cloned();
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        // Answered here: the endpoints themselves only know GET and POST.
        let status = if origin.is_some() {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::FORBIDDEN
        };
        status.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if credentialed {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if preflight {
            let (methods, allowed_headers) = if credentialed {
                (CREDENTIALED_METHODS, CREDENTIALED_HEADERS)
            } else {
                (ALLOW_METHODS, ALLOW_HEADERS)
            };
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(methods),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(allowed_headers),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE),
            );
        } else {
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSE_HEADERS),
            );
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::is_cors_endpoint;

    #[test]
    fn only_the_fetchable_endpoints() {
        for yes in [
            "/oauth2/v1/token",
            "/oauth2/default/v1/token",
            "/oauth2/aus123/v1/userinfo",
            "/oauth2/v1/keys",
            "/oauth2/default/v1/revoke",
            "/oauth2/v1/introspect",
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
            "/oauth2/default/.well-known/openid-configuration",
            "/oauth2/.well-known/openid-configuration",
        ] {
            assert!(is_cors_endpoint(yes), "{yes}");
        }
        for no in [
            "/oauth2/v1/authorize",
            "/oauth2/default/v1/logout",
            "/login",
            "/consent",
            "/api/v1/users",
            "/v1/token",
            "/oauth2/a/b/v1/token",
            "/oauth2//v1/token",
            "/oauth2/default/v1/token/",
            "/x/.well-known/openid-configuration",
        ] {
            assert!(!is_cors_endpoint(no), "{no}");
        }
    }

    #[test]
    fn credentials_only_for_authn_and_the_own_session() {
        use super::is_credentialed_endpoint;
        for yes in [
            "/api/v1/authn",
            "/api/v1/sessions/me",
            "/api/v1/sessions/me/lifecycle/refresh",
        ] {
            assert!(is_credentialed_endpoint(yes), "{yes}");
        }
        for no in [
            "/api/v1/sessions/102abc",
            "/api/v1/users",
            "/api/v1/authn/",
            "/oauth2/v1/token",
            "/login/sessionCookieRedirect",
        ] {
            assert!(!is_credentialed_endpoint(no), "{no}");
        }
    }
}
