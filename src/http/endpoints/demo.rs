//! The demo app: a sign-in seen end to end without writing an app. `gatehouse demo`
//! registers a confidential client named `DEMO_APP_NAME` whose only redirect URI is
//! this server's `/demo/callback` and prints `/demo?client_id=…`. That page links to
//! `/demo/start`, which begins an authorization code flow on the `default` server as
//! a careful app would (PKCE S256, `state`, `nonce`, kept in a cookie sealed with the
//! master key); `/demo/callback` checks `state` and `iss`, redeems the code itself at
//! the token endpoint with a `client_secret_jwt` assertion, verifies the ID token
//! (signature, `iss`, `aud`, `nonce`) and the access token, and shows their headers
//! and claims, decoded here: the page runs no script. The refresh token is never
//! shown in full.
//!
//! What must not be possible: the callback redeems only for a client that is the demo
//! app (`is_demo_app`: its name, its single redirect URI, `client_secret_jwt`,
//! ACTIVE) and only the client, state, nonce and verifier of the flow this browser
//! started (the sealed cookie, single use, ten minutes). The demo app's secret is never
//! shown to anyone: only a process holding the master key can unseal it, so no one can
//! redeem a demo code but this callback.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::authorize::redirect;
use crate::admin::apps::{self, NewApp};
use crate::crypto::{b64url, b64url_decode, constant_time_eq, random_token, sha256};
use crate::http::extract::{Body, PeerAddr, ServerId, query_params};
use crate::http::{AppState, SharedState};
use crate::http::{cookies, error, pages};
use crate::store::{AuthMethod, AuthServer, Client, DEFAULT_SERVER_ID, Status};

/// The demo app's name; with its redirect URI and method it marks the demo app.
pub const DEMO_APP_NAME: &str = "Gatehouse demo";
pub const CALLBACK_PATH: &str = "/demo/callback";
/// The scopes the demo asks for: the ID token's, and a refresh token.
pub const SCOPES: &str = "openid profile email offline_access";
/// The cookie that carries the flow in progress, sealed; only under `/demo`.
const FLOW_COOKIE: &str = "gh_demo";
const FLOW_CONTEXT: &[u8] = b"gatehouse demo flow v1";
/// How long a started sign-in may take.
const FLOW_SECONDS: i64 = 600;
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The demo app's redirect URI on a server whose public URL is `base`.
pub fn callback_uri(base: &str) -> String {
    format!("{base}{CALLBACK_PATH}")
}

/// The demo app's settings: confidential (`client_secret_jwt`, so the server can
/// unseal its secret and nobody else needs it), code and refresh grants, one redirect
/// URI: this server's callback.
pub fn new_app(base: &str) -> NewApp {
    NewApp {
        name: DEMO_APP_NAME.into(),
        redirect_uris: vec![callback_uri(base)],
        auth_method: Some("client_secret_jwt".into()),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        ..NewApp::default()
    }
}

/// Is `client` the demo app of a server at `base`? Only such a client's codes are
/// redeemed by the callback.
pub fn is_demo_app(client: &Client, base: &str) -> bool {
    client.name == DEMO_APP_NAME
        && client.auth_method == AuthMethod::ClientSecretJwt
        && client.redirect_uris == [callback_uri(base)]
        && client.status == Status::Active
}

/// The flow this browser started: sealed into the cookie.
#[derive(Serialize, Deserialize)]
struct Flow {
    client_id: String,
    state: String,
    nonce: String,
    verifier: String,
    started: i64,
}

fn seal(state: &AppState, flow: &Flow) -> String {
    let json = serde_json::to_vec(flow).expect("the flow serialises");
    b64url(&state.master.encrypt(&json, FLOW_CONTEXT))
}

fn unseal(state: &AppState, headers: &HeaderMap) -> Option<Flow> {
    let sealed = b64url_decode(&cookies::get(headers, FLOW_COOKIE)?)?;
    let json = state.master.decrypt(&sealed, FLOW_CONTEXT).ok()?;
    serde_json::from_slice(&json).ok()
}

fn flow_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let mut cookie =
        format!("{FLOW_COOKIE}={value}; Path=/demo; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if state.config.secure_cookies() {
        cookie.push_str("; Secure");
    }
    cookie
}

#[derive(Template)]
#[template(path = "demo.html")]
struct StartPage<'a> {
    app_name: &'a str,
    client_id: &'a str,
    issuer: &'a str,
    callback: &'a str,
}

/// One token, decoded.
pub struct Decoded {
    pub header: String,
    pub claims: String,
}

#[derive(Template)]
#[template(path = "demo_tokens.html")]
struct TokensPage<'a> {
    client_id: &'a str,
    issuer: &'a str,
    id_token: &'a Decoded,
    access_token: &'a Decoded,
    refresh_token: Option<String>,
    scope: &'a str,
    expires_in: i64,
    checks: &'a [String],
}

fn not_demo() -> Response {
    pages::error(
        StatusCode::NOT_FOUND,
        "No demo app",
        "There is no demo app with this client_id. Run `gatehouse demo`: it registers the demo app and prints the address to open.",
        None,
    )
}

fn demo_failed(description: &str) -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "Demo sign-in failed",
        description,
        None,
    )
}

/// The demo app named by `?client_id=`, if it is one, and the `default` server.
async fn demo_app(state: &AppState, query: Option<&str>) -> Result<(Client, AuthServer), Response> {
    let params = query_params(query).map_err(|e| error::page(&e))?;
    let client_id = params
        .one("client_id")
        .map_err(|e| error::page(&e))?
        .ok_or_else(not_demo)?;
    let client = state
        .store
        .get_client(client_id)
        .await
        .map_err(|e| pages::unavailable(&e))?
        .filter(|c| is_demo_app(c, &state.config.base_url()))
        .ok_or_else(not_demo)?;
    let server = super::find_server(state, DEFAULT_SERVER_ID)
        .await
        .map_err(super::ServerLookup::page)?;
    Ok((client, server))
}

/// `/demo?client_id=…`: what the demo does, and a link that starts it.
pub async fn start_page(State(state): State<SharedState>, RawQuery(query): RawQuery) -> Response {
    match demo_app(&state, query.as_deref()).await {
        Ok((client, server)) => pages::render(
            StatusCode::OK,
            &StartPage {
                app_name: &client.name,
                client_id: &client.client_id,
                issuer: &state.issuer(&server),
                callback: &callback_uri(&state.config.base_url()),
            },
        ),
        Err(response) => response,
    }
}

/// `/demo/start?client_id=…`: to `/authorize` with a fresh state, nonce and PKCE pair,
/// kept (sealed) in this browser's cookie.
pub async fn start(State(state): State<SharedState>, RawQuery(query): RawQuery) -> Response {
    let (client, server) = match demo_app(&state, query.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let flow = Flow {
        client_id: client.client_id.clone(),
        state: random_token(),
        nonce: random_token(),
        verifier: random_token(),
        started: state.clock.now(),
    };
    let challenge = b64url(&sha256(flow.verifier.as_bytes()));
    let query = serde_urlencoded::to_string([
        ("client_id", flow.client_id.as_str()),
        ("response_type", "code"),
        ("scope", SCOPES),
        ("redirect_uri", &callback_uri(&state.config.base_url())),
        ("state", &flow.state),
        ("nonce", &flow.nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ])
    .expect("strings encode");
    let location = format!("{}/authorize?{query}", state.endpoint_base(&server));
    let mut response = redirect(&location, false);
    cookies::append(
        &mut response,
        flow_cookie(&state, &seal(&state, &flow), FLOW_SECONDS),
    );
    response
}

/// `/demo/callback`: checks the response, redeems the code, verifies and shows the
/// tokens. The flow cookie is cleared whatever happens: it is good for one answer.
pub async fn callback(
    State(state): State<SharedState>,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut response = match finish(&state, ip, &headers, query.as_deref()).await {
        Ok(response) => response,
        Err(response) => response,
    };
    cookies::append(&mut response, flow_cookie(&state, "", 0));
    response
}

/// The authorization response's parameters (each at most once).
struct Answer {
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    code: Option<String>,
}

impl Answer {
    fn parse(params: &crate::oauth::params::Params) -> Result<Answer, crate::oauth::OAuthError> {
        let one = |name: &str| params.one(name).map(|v| v.map(str::to_string));
        Ok(Answer {
            state: one("state")?,
            iss: one("iss")?,
            error: one("error")?,
            error_description: one("error_description")?,
            code: one("code")?,
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
            demo_failed("This demo sign-in was not started in this browser, has expired, or was already finished. Start it again from the demo page.")
        })?;
    // RFC 6749 §10.12: the answer must belong to the request this browser made.
    let returned_state = answer.state.unwrap_or_default();
    if !constant_time_eq(returned_state.as_bytes(), flow.state.as_bytes()) {
        return Err(demo_failed(
            "The state parameter does not match the sign-in this browser started.",
        ));
    }
    let client = state
        .store
        .get_client(&flow.client_id)
        .await
        .map_err(|e| pages::unavailable(&e))?
        .filter(|c| is_demo_app(c, &state.config.base_url()))
        .ok_or_else(not_demo)?;
    let server = super::find_server(state, DEFAULT_SERVER_ID)
        .await
        .map_err(super::ServerLookup::page)?;
    let issuer = state.issuer(&server);
    // RFC 9207: the answer comes from the server the request went to.
    if answer.iss.is_some_and(|iss| iss != issuer) {
        return Err(demo_failed(
            "The iss parameter is not the issuer the sign-in went to.",
        ));
    }
    if let Some(code) = answer.error {
        let description = answer.error_description.unwrap_or_default();
        return Err(demo_failed(&format!(
            "The authorization server answered {code}: {description}"
        )));
    }
    let code = answer
        .code
        .ok_or_else(|| demo_failed("The answer has no code."))?;
    let tokens = redeem(state, &server, &client, &flow, &code, ip).await?;
    let id_token = tokens["id_token"]
        .as_str()
        .ok_or_else(|| demo_failed("The token response has no ID token."))?;
    let access_token = tokens["access_token"]
        .as_str()
        .ok_or_else(|| demo_failed("The token response has no access token."))?;
    let mut checks = vec![
        "state matched the one this browser sent".to_string(),
        "iss in the answer is the issuer (RFC 9207)".to_string(),
        "the code was redeemed with the PKCE verifier (S256) and a client_secret_jwt assertion"
            .to_string(),
    ];
    checks.extend(verify_id_token(state, &server, &client, &flow, id_token, now).await?);
    checks.push(verify_access_token(state, &server, access_token, now).await?);
    let refresh_token = tokens["refresh_token"].as_str().map(|r| {
        format!(
            "{}… ({} characters; not shown: it is a credential)",
            r.chars().take(4).collect::<String>(),
            r.len()
        )
    });
    Ok(pages::render(
        StatusCode::OK,
        &TokensPage {
            client_id: &client.client_id,
            issuer: &issuer,
            id_token: &decode(id_token),
            access_token: &decode(access_token),
            refresh_token,
            scope: tokens["scope"].as_str().unwrap_or_default(),
            expires_in: tokens["expires_in"].as_i64().unwrap_or_default(),
            checks: &checks,
        },
    ))
}

/// The token request a confidential app makes, answered by this server's own token
/// endpoint (the same handler, in process): client authentication, code binding,
/// PKCE, policies and the System Log all apply.
async fn redeem(
    state: &SharedState,
    server: &AuthServer,
    client: &Client,
    flow: &Flow,
    code: &str,
    ip: Option<String>,
) -> Result<Value, Response> {
    let secret = apps::jwt_secrets(client, &state.master)
        .into_iter()
        .next()
        .ok_or_else(|| {
            demo_failed("The demo app has no usable client secret: run `gatehouse demo` again.")
        })?;
    let now = state.clock.now();
    let assertion = hs256(
        &secret,
        &json!({
            "iss": client.client_id,
            "sub": client.client_id,
            "aud": format!("{}/token", state.endpoint_base(server)),
            "jti": random_token(),
            "iat": now,
            "exp": now + 60,
        }),
    );
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &callback_uri(&state.config.base_url())),
        ("code_verifier", &flow.verifier),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", &assertion),
    ])
    .expect("strings encode");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let response = super::token::post(
        State(state.clone()),
        ServerId(server.id.clone()),
        PeerAddr(ip),
        headers,
        Ok(Body(Bytes::from(form))),
    )
    .await;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .map_err(|_| demo_failed("The token response could not be read."))?;
    let tokens: Value = serde_json::from_slice(&body)
        .map_err(|_| demo_failed("The token response is not JSON."))?;
    if status != StatusCode::OK {
        return Err(demo_failed(&format!(
            "The token endpoint answered {}: {} {}",
            status.as_u16(),
            tokens["error"].as_str().unwrap_or_default(),
            tokens["error_description"].as_str().unwrap_or_default()
        )));
    }
    Ok(tokens)
}

/// OpenID Connect Core §3.1.3.7: the ID token's signature by a key of the server, its
/// issuer, its audience (this client), its expiry, and the nonce this browser sent.
async fn verify_id_token(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    flow: &Flow,
    id_token: &str,
    now: i64,
) -> Result<Vec<String>, Response> {
    let claims = verified_claims(state, server, id_token, now, "ID token").await?;
    let aud_ok = match &claims["aud"] {
        Value::String(aud) => *aud == client.client_id,
        Value::Array(list) => list.iter().any(|a| a == client.client_id.as_str()),
        _ => false,
    };
    let nonce = claims["nonce"].as_str().unwrap_or_default();
    if claims["iss"] != state.issuer(server).as_str()
        || !aud_ok
        || claims["exp"].as_i64().is_none_or(|exp| exp <= now)
        || !constant_time_eq(nonce.as_bytes(), flow.nonce.as_bytes())
    {
        return Err(demo_failed(
            "The ID token's issuer, audience, expiry or nonce is not right.",
        ));
    }
    Ok(vec![
        format!(
            "ID token: signature verified with key {}",
            crate::tokens::jwt::header_kid(id_token).unwrap_or_default()
        ),
        "ID token: iss, aud (this client) and exp checked; nonce matched".to_string(),
    ])
}

/// The claims of `token` once its signature by one of `server`'s keys is verified.
async fn verified_claims(
    state: &AppState,
    server: &AuthServer,
    token: &str,
    now: i64,
    what: &str,
) -> Result<Value, Response> {
    let ring = state
        .keys
        .for_token(&server.id, token, now)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "the demo could not read the signing keys");
            demo_failed("The server's signing keys could not be read.")
        })?;
    let (_, claims): (_, Value) = crate::tokens::jwt::verify(token, &ring)
        .map_err(|_| demo_failed(&format!("The {what}'s signature did not verify.")))?;
    Ok(claims)
}

/// RFC 9068 §4, as an API would check the access token: signed by the server, its
/// issuer, its audience, an access token (`at+jwt`-shaped `AT.` id), not expired.
async fn verify_access_token(
    state: &AppState,
    server: &AuthServer,
    token: &str,
    now: i64,
) -> Result<String, Response> {
    let claims = verified_claims(state, server, token, now, "access token").await?;
    let audience = state.audience(server);
    if claims["iss"] != state.issuer(server).as_str()
        || claims["aud"] != audience.as_str()
        || !claims["jti"].as_str().is_some_and(|j| j.starts_with("AT."))
        || claims["exp"].as_i64().is_none_or(|exp| exp <= now)
    {
        return Err(demo_failed(
            "The access token's issuer, audience or expiry is not right.",
        ));
    }
    Ok(format!(
        "access token: signature, iss, aud {audience} and expiry verified"
    ))
}

/// A compact JWS with HS256 (RFC 7515, RFC 7518 §3.2): the client assertion.
fn hs256(secret: &[u8], claims: &Value) -> String {
    let header = b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64url(claims.to_string().as_bytes());
    let input = format!("{header}.{payload}");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64url(tag.as_ref()))
}

/// A verified JWT's header and claims, pretty-printed for the page (escaped there).
fn decode(token: &str) -> Decoded {
    let part = |i: usize| -> String {
        token
            .split('.')
            .nth(i)
            .and_then(b64url_decode)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_default()
    };
    Decoded {
        header: part(0),
        claims: part(1),
    }
}
