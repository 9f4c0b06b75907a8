//! Signing in to the account page: the code flow of the built-in account app on the
//! org server, as a careful app does it (PKCE S256, `state`, `nonce`, kept in a cookie
//! sealed with the master key, ten minutes, single use). `/account/signin` starts it
//! (`?again=SECTION` with `prompt=login`, for a change that needs a recent sign-in);
//! `/account/callback` checks `state` and `iss`, redeems the code at the org server's
//! token endpoint in process (so PKCE, code binding, assignments and the System Log
//! all apply), verifies the ID token (signature, `iss`, `aud`, `exp`, `nonce`), and
//! binds the page to the browser's session, which must be the ID token's subject's.
//! Anything wrong is an error page, never a redirect.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::authorize::redirect;
use super::{account_cookie, bind};
use crate::admin::account_app::{ACCOUNT_CLIENT_ID, callback_uri};
use crate::crypto::{b64url, b64url_decode, constant_time_eq, random_token, sha256};
use crate::http::extract::{Body, PeerAddr, ServerId, query_params};
use crate::http::{AppState, SharedState, cookies, error, pages};
use crate::identity::session;
use crate::oauth::OAuthError;
use crate::oauth::params::Params;
use crate::store::ORG_SERVER_ID;

const FLOW_COOKIE: &str = "gh_account_flow";
const FLOW_CONTEXT: &[u8] = b"gatehouse account sign-in v1";
/// How long a started sign-in may take.
const FLOW_SECONDS: i64 = 600;

/// The sections of the page a sign-in may return to (`#id` on the page).
const SECTIONS: &[&str] = &["profile", "password", "sessions"];

/// The account's own pages beside `/account` a sign-in may return to (`?to=NAME`):
/// they answer under the same binding.
pub const PAGES: &[(&str, &str)] = &[
    ("passkeys", "/account/passkeys"),
    ("factors", "/account/factors"),
];

/// The sign-in this browser started: sealed into the cookie.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    started: i64,
    /// The section of the page to return to.
    section: Option<String>,
    /// The page to return to instead of `/account` (one of `PAGES`).
    #[serde(default)]
    page: Option<String>,
}

/// `/account/signin[?again=SECTION][&to=PAGE]`.
pub async fn start(State(state): State<SharedState>, RawQuery(query): RawQuery) -> Response {
    let params = match query_params(query.as_deref()) {
        Ok(params) => params,
        Err(e) => return error::page(&e),
    };
    let again = params.one("again").ok().flatten();
    let section = again.and_then(|s| SECTIONS.iter().find(|k| **k == s).copied());
    let to = params.one("to").ok().flatten();
    let page = to.and_then(|t| PAGES.iter().find(|(name, _)| *name == t).map(|(_, p)| *p));
    begin_for(&state, again.is_some(), section, page)
}

/// To the org server's `/authorize` for the account app, with a fresh state, nonce and
/// PKCE pair kept (sealed) in this browser's cookie; `again`: `prompt=login`, the
/// password asked even with a live session.
pub fn begin(state: &AppState, again: bool, section: Option<&str>) -> Response {
    begin_for(state, again, section, None)
}

/// `begin`, returning to `page` (one of `PAGES`) instead of `/account`.
pub fn begin_for(
    state: &AppState,
    again: bool,
    section: Option<&str>,
    page: Option<&str>,
) -> Response {
    let flow = Flow {
        state: random_token(),
        nonce: random_token(),
        verifier: random_token(),
        started: state.clock.now(),
        section: section.map(str::to_string),
        page: page
            .filter(|p| PAGES.iter().any(|(_, known)| known == p))
            .map(str::to_string),
    };
    let challenge = b64url(&sha256(flow.verifier.as_bytes()));
    let redirect_uri = callback_uri(&state.config.base_url());
    let mut pairs = vec![
        ("client_id", ACCOUNT_CLIENT_ID),
        ("response_type", "code"),
        ("scope", "openid"),
        ("redirect_uri", &redirect_uri),
        ("state", &flow.state),
        ("nonce", &flow.nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    if again {
        pairs.push(("prompt", "login"));
    }
    let query = serde_urlencoded::to_string(pairs).expect("strings encode");
    let location = format!("{}/oauth2/v1/authorize?{query}", state.config.base_url());
    let json = serde_json::to_vec(&flow).expect("the flow serialises");
    let sealed = b64url(&state.master.encrypt(&json, FLOW_CONTEXT));
    let mut response = redirect(&location, false);
    cookies::append(
        &mut response,
        account_cookie(state, FLOW_COOKIE, &sealed, FLOW_SECONDS),
    );
    response
}

fn unseal(state: &AppState, headers: &HeaderMap) -> Option<Flow> {
    let sealed = b64url_decode(&cookies::get(headers, FLOW_COOKIE)?)?;
    let json = state.master.decrypt(&sealed, FLOW_CONTEXT).ok()?;
    serde_json::from_slice(&json).ok()
}

fn failed(description: &str) -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "Sign-in to your account failed",
        description,
        None,
    )
}

/// `/account/callback`. The flow cookie is cleared whatever happens: it is good for
/// one answer.
pub async fn callback(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut response = finish(&state, ip, &headers, query.as_deref())
        .await
        .unwrap_or_else(|r| r);
    cookies::append(&mut response, account_cookie(&state, FLOW_COOKIE, "", 0));
    response
}

/// The authorization response's parameters (each at most once).
struct Answer<'a> {
    state: Option<&'a str>,
    iss: Option<&'a str>,
    error: Option<&'a str>,
    error_description: Option<&'a str>,
    code: Option<&'a str>,
}

impl<'a> Answer<'a> {
    fn parse(params: &'a Params) -> Result<Answer<'a>, OAuthError> {
        Ok(Answer {
            state: params.one("state")?,
            iss: params.one("iss")?,
            error: params.one("error")?,
            error_description: params.one("error_description")?,
            code: params.one("code")?,
        })
    }
}

async fn finish(
    state: &SharedState,
    ip: Option<String>,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, Response> {
    let now = state.clock.now();
    let params = query_params(query).map_err(|e| error::page(&e))?;
    let answer = Answer::parse(&params).map_err(|e| error::page(&e))?;
    let flow = unseal(state, headers)
        .filter(|f| now - f.started <= FLOW_SECONDS)
        .ok_or_else(|| {
            failed("This sign-in was not started in this browser, has expired, or was already finished. Open your account page again.")
        })?;
    // RFC 6749 §10.12: the answer must belong to the request this browser made.
    if !constant_time_eq(answer.state.unwrap_or("").as_bytes(), flow.state.as_bytes()) {
        return Err(failed(
            "The answer does not belong to the sign-in this browser started. Open your account page again.",
        ));
    }
    // RFC 9207: the answer comes from the org server.
    let issuer = state.config.base_url();
    if answer.iss.is_some_and(|iss| iss != issuer) {
        return Err(failed("The answer did not come from this server."));
    }
    if let Some(code) = answer.error {
        // The authorization server refused (e.g. the person may not use the account
        // page): said as a page; the description is the server's own text.
        let description = answer.error_description.unwrap_or("");
        return Err(pages::error(
            StatusCode::FORBIDDEN,
            "You cannot open your account page",
            description,
            Some(code),
        ));
    }
    let code = answer
        .code
        .ok_or_else(|| failed("The answer has no code."))?;
    let id_token = redeem(state, &flow, code, ip).await?;
    let user_id = verify_id_token(state, &flow, &id_token, now).await?;
    // The session the sign-in ended in is this browser's, and it is the subject's.
    let cookie = cookies::get(headers, cookies::SESSION).unwrap_or_default();
    let id_hash = session::id_hash(&cookie);
    match state.store.live_session(&id_hash, now).await {
        Ok(Some(s)) if s.user_id == user_id => {}
        Ok(_) => {
            return Err(failed(
                "This browser is not signed in as the person the sign-in was for. Open your account page again.",
            ));
        }
        Err(e) => return Err(pages::unavailable(&e)),
    }
    let section = flow.section.map(|s| format!("#{s}")).unwrap_or_default();
    let target = match flow.page {
        Some(page) if PAGES.iter().any(|(_, known)| *known == page) => page,
        _ => format!("/account{section}"),
    };
    let mut response = redirect(&target, false);
    bind(state, &mut response, &id_hash);
    Ok(response)
}

/// The code, redeemed at the org server's token endpoint (the same handler, in
/// process): the ID token.
async fn redeem(
    state: &SharedState,
    flow: &Flow,
    code: &str,
    ip: Option<String>,
) -> Result<String, Response> {
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &callback_uri(&state.config.base_url())),
        ("code_verifier", &flow.verifier),
        ("client_id", ACCOUNT_CLIENT_ID),
    ])
    .expect("strings encode");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let response = super::super::token::post(
        State(state.clone()),
        ServerId(ORG_SERVER_ID.into()),
        PeerAddr(ip),
        headers,
        Ok(Body(Bytes::from(form))),
    )
    .await;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .map_err(|_| failed("The token response could not be read."))?;
    let tokens: Value =
        serde_json::from_slice(&body).map_err(|_| failed("The token response is not JSON."))?;
    if status != StatusCode::OK {
        tracing::warn!(
            error = tokens["error"].as_str().unwrap_or_default(),
            "the account page's code was not redeemed"
        );
        return Err(failed(
            "The sign-in could not be completed. Open your account page again.",
        ));
    }
    tokens["id_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| failed("The token response has no ID token."))
}

/// OpenID Connect Core §3.1.3.7: signed by an org server key, issued by the org
/// server to the account app, not expired, with the nonce this browser sent. The
/// subject (the user's id).
async fn verify_id_token(
    state: &AppState,
    flow: &Flow,
    id_token: &str,
    now: i64,
) -> Result<String, Response> {
    let not_right = || failed("The ID token did not verify.");
    let ring = state
        .keys
        .for_token(ORG_SERVER_ID, id_token, now)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "the account page could not read the signing keys");
            not_right()
        })?;
    let (_, claims): (_, Value) =
        crate::tokens::jwt::verify(id_token, &ring).map_err(|_| not_right())?;
    let nonce = claims["nonce"].as_str().unwrap_or_default();
    if claims["iss"] != state.config.base_url().as_str()
        || claims["aud"] != ACCOUNT_CLIENT_ID
        || claims["exp"].as_i64().is_none_or(|exp| exp <= now)
        || !constant_time_eq(nonce.as_bytes(), flow.nonce.as_bytes())
    {
        return Err(not_right());
    }
    claims["sub"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(not_right)
}
