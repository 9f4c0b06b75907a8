//! The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2) as a
//! pipeline of named checks in a fixed, visible order. The first two decide
//! whether the client and its redirect URI can be trusted: until then an error is
//! rendered as a page; after, it goes back to the client.

use serde::{Deserialize, Serialize};

use super::params::Params;
use super::pkce::CodeChallenge;
use super::reply::{ReplyTarget, ResponseMode};
use super::scope::Scope;
use super::{ErrorCode, OAuthError};
use crate::clock::UnixTime;
use crate::store::Client;

/// Longest `state` echoed back (bytes); a 4 KB state fits with room.
pub const MAX_STATE: usize = 8 * 1024;
/// Longest `nonce` copied into ID tokens.
pub const MAX_NONCE: usize = 1024;
/// Longest `login_hint` used to fill in the sign-in form.
pub const MAX_LOGIN_HINT: usize = 256;

/// A request that passed every check: what the sign-in page waits on and the code
/// is issued from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub server_id: String,
    pub client_id: String,
    pub reply: ReplyTarget,
    pub scope: Scope,
    pub nonce: Option<String>,
    pub code_challenge: Option<CodeChallenge>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// RFC 9449 §10: the DPoP key thumbprint the code will be bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// OpenID Connect Core §3.1.2.1: the `sub` of a verified `id_token_hint`; only that
    /// user may be signed in by this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_sub: Option<String>,
    /// OpenID Connect Core §3.1.2.1 `acr_values`, in order of preference (voluntary:
    /// values the server does not know are kept and ignored by `flows::assurance`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    /// Ask for consent again, even for scopes the user has granted.
    #[serde(default)]
    pub consent: bool,
}

/// Why a request was refused, and therefore how to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The client or redirect URI is not trusted: render an error page, never redirect.
    Render(OAuthError),
    /// Trusted: send the error back to the client.
    Redirect(ReplyTarget, OAuthError),
}

/// Runs the checks in order. `client` is what the store holds for the request's
/// `client_id` (looked up by the caller); `offered` the names of the server's scopes.
pub fn validate(
    params: &Params,
    server_id: &str,
    issuer: &str,
    client: Option<&Client>,
    offered: &[&str],
) -> Result<AuthorizationRequest, Rejection> {
    let client = check_client(params, client).map_err(Rejection::Render)?;
    let redirect_uri = check_redirect_uri(params, client).map_err(Rejection::Render)?;
    let target = reply_target(params, redirect_uri, issuer);
    let fail = |e: OAuthError| Rejection::Redirect(target.clone(), e);

    check_no_repeats(params).map_err(fail)?;
    check_response_mode(params).map_err(fail)?;
    check_unsupported_features(params).map_err(fail)?;
    check_response_type(params, client).map_err(fail)?;
    let scope = check_scope(params, client, offered).map_err(fail)?;
    let code_challenge = check_pkce(params, client).map_err(fail)?;
    let (prompt, max_age) = check_prompt(params).map_err(fail)?;
    let nonce = check_nonce(params).map_err(fail)?;
    let acr_values = check_acr_values(params).map_err(fail)?;
    let dpop_jkt = check_dpop_jkt(params).map_err(fail)?;
    let login_hint = params
        .one("login_hint")
        .map_err(fail)?
        .filter(|h| h.len() <= MAX_LOGIN_HINT)
        .map(str::to_string);

    Ok(AuthorizationRequest {
        server_id: server_id.to_string(),
        client_id: client.client_id.clone(),
        reply: target,
        scope,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint,
        dpop_jkt,
        hint_sub: None,
        acr_values,
    })
}

/// The claims of an `id_token_hint` read after its signature verified with a key of
/// this server (`flows::authorize` verifies it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdTokenHint {
    pub iss: String,
    pub sub: String,
    pub aud: String,
}

fn invalid_id_token_hint() -> OAuthError {
    OAuthError::invalid_request(
        "The id_token_hint is not a valid ID token issued by this authorization server to this client.",
    )
}

/// OpenID Connect Core §3.1.2.1: an `id_token_hint` must be an ID token this server
/// issued (`iss`, and a signature its keys verified: `verified` is `None` otherwise) to
/// the client making the request (`aud`), never an access token (`typ` `at+jwt`). It
/// may have expired: the spec asks only that the server issued it, and a client
/// typically sends the ID token it kept from an earlier sign-in. Answers its `sub`.
pub fn check_id_token_hint(
    verified: Option<(Option<String>, IdTokenHint)>,
    issuer: &str,
    client_id: &str,
) -> Result<String, OAuthError> {
    let (typ, hint) = verified.ok_or_else(invalid_id_token_hint)?;
    let access_token = typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    });
    if access_token || hint.iss != issuer || hint.aud != client_id || hint.sub.is_empty() {
        return Err(invalid_id_token_hint());
    }
    Ok(hint.sub)
}

/// RFC 9449 §10: `dpop_jkt`, a JWK SHA-256 thumbprint (RFC 7638): 43 base64url
/// characters.
pub fn check_dpop_jkt(params: &Params) -> Result<Option<String>, OAuthError> {
    match params.one("dpop_jkt")? {
        None => Ok(None),
        Some(jkt)
            if jkt.len() == 43
                && jkt
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Some(jkt.to_string()))
        }
        Some(_) => Err(OAuthError::invalid_request(
            "The dpop_jkt parameter is not a JWK SHA-256 thumbprint.",
        )),
    }
}

/// RFC 6749 §4.1.2.1: an unknown, missing or repeated `client_id` is not redirected.
/// A deactivated client is treated as unknown.
pub fn check_client<'c>(
    params: &Params,
    client: Option<&'c Client>,
) -> Result<&'c Client, OAuthError> {
    let client_id = params.required("client_id")?;
    match client {
        Some(c) if c.client_id == client_id && c.is_active() => Ok(c),
        _ => Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "The client_id is not registered or not active.",
        )),
    }
}

/// RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: the `redirect_uri` must equal one registered
/// for the client, compared as exact strings. OpenID Connect requires it. The one
/// exception is RFC 8252 §7.3 (see `loopback_matches`). Returns the URI replies go to:
/// the one given, which equals a registered one but for a loopback port.
pub fn check_redirect_uri<'p>(params: &'p Params, client: &Client) -> Result<&'p str, OAuthError> {
    let given = params.required("redirect_uri")?;
    let native = client.application_type == "native";
    if client.redirect_uris.iter().any(|registered| {
        registered.as_str() == given || (native && loopback_matches(registered, given))
    }) {
        return Ok(given);
    }
    Err(OAuthError::invalid_request(
        "The redirect_uri is not registered for this client. \
         It must match a registered URI exactly.",
    ))
}

/// RFC 8252 §7.3: for a native app, a loopback IP redirect URI (`http://127.0.0.1…` or
/// `http://[::1]…`) matches whatever port the request names, since the app listens on
/// an ephemeral port. Everything else must be the same string: the scheme (`http`),
/// the literal address, path and query. `localhost` is not relaxed: RFC 8252 §8.3 says
/// it is NOT RECOMMENDED (the name may resolve elsewhere, and a firewall may treat it
/// apart), so a registered `http://localhost…` matches only exactly.
pub fn loopback_matches(registered: &str, given: &str) -> bool {
    match (
        without_loopback_port(registered),
        without_loopback_port(given),
    ) {
        (Some(r), Some(g)) => r == g,
        _ => false,
    }
}

/// `uri` with the port of its loopback IP authority removed, if it is `http://127.0.0.1`
/// or `http://[::1]`, then an optional `:port` (1–65535, decimal, no leading zero),
/// then a path, a query or nothing (a `#`, `@`, `\\` or anything else: not loopback).
fn without_loopback_port(uri: &str) -> Option<String> {
    for host in ["http://127.0.0.1", "http://[::1]"] {
        let Some(rest) = uri.strip_prefix(host) else {
            continue;
        };
        let rest = match rest.strip_prefix(':') {
            Some(port_and_rest) => {
                let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
                let port = &port_and_rest[..digits];
                if port.is_empty() || port.starts_with('0') || port.parse::<u16>().is_err() {
                    return None;
                }
                &port_and_rest[digits..]
            }
            None => rest,
        };
        return (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
            .then(|| format!("{host}{rest}"));
    }
    None
}

/// Where replies go. A repeated or oversized `state` is not echoed; the request then
/// fails in `check_no_repeats` or here.
fn reply_target(params: &Params, redirect_uri: &str, issuer: &str) -> ReplyTarget {
    let mode = params
        .get("response_mode")
        .ok()
        .flatten()
        .and_then(ResponseMode::parse)
        .unwrap_or(ResponseMode::Query);
    let state = params
        .get("state")
        .ok()
        .flatten()
        .filter(|s| s.len() <= MAX_STATE)
        .map(str::to_string);
    ReplyTarget {
        redirect_uri: redirect_uri.to_string(),
        mode,
        state,
        issuer: issuer.to_string(),
    }
}

/// RFC 6749 §3.1: parameters must not be included more than once.
pub fn check_no_repeats(params: &Params) -> Result<(), OAuthError> {
    if let Some(name) = params.first_repeated() {
        return Err(OAuthError::invalid_request(format!(
            "The '{}' parameter was given more than once.",
            name.chars().take(64).collect::<String>()
        )));
    }
    if params.one("state")?.is_some_and(|s| s.len() > MAX_STATE) {
        return Err(OAuthError::invalid_request(
            "The state parameter is too long.",
        ));
    }
    Ok(())
}

/// OAuth 2.0 Multiple Response Types §2.1: `query`, `fragment` or `form_post`.
pub fn check_response_mode(params: &Params) -> Result<(), OAuthError> {
    match params.one("response_mode")? {
        Some(mode) if ResponseMode::parse(mode).is_none() => Err(OAuthError::invalid_request(
            "The response_mode is not supported; use query, fragment or form_post.",
        )),
        _ => Ok(()),
    }
}

/// OpenID Connect Core §6: a `request_uri` is never fetched. The `request_uri` values
/// this server issued at its PAR endpoint (RFC 9126) are resolved before this pipeline
/// runs and never reach it: the pushed parameters it then checks cannot hold one
/// (`oauth::par::pushed_params`). A request object (`request`, RFC 9101) of a known
/// client is resolved before too (`flows::request_object`); one that still reaches
/// this check (inside nothing else) is refused.
pub fn check_unsupported_features(params: &Params) -> Result<(), OAuthError> {
    if params.one("request")?.is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "Request objects are not supported.",
        ));
    }
    if params.one("request_uri")?.is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "The request_uri parameter is not supported.",
        ));
    }
    Ok(())
}

/// RFC 6749 §4.1.1: `response_type=code`, for a client allowed the code grant.
pub fn check_response_type(params: &Params, client: &Client) -> Result<(), OAuthError> {
    let response_type = params.required("response_type")?;
    if response_type != "code" {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            "The response_type is not supported; use code.",
        ));
    }
    if !client.response_types.iter().any(|r| r == "code")
        || !client.grant_types.iter().any(|g| g == "authorization_code")
    {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "The client is not allowed the authorization code grant.",
        ));
    }
    Ok(())
}

/// RFC 6749 §3.3: scopes must be given and offered by the server. OpenID Connect
/// Core §11: `offline_access` asks for a refresh token, which only an app with the
/// refresh_token grant can get.
pub fn check_scope(
    params: &Params,
    client: &Client,
    offered: &[&str],
) -> Result<Scope, OAuthError> {
    let text = params.one("scope")?.ok_or_else(|| {
        OAuthError::invalid_scope("The authorization request must include scopes.")
    })?;
    let scope = Scope::parse(text)?;
    scope.check_supported(offered)?;
    if scope.contains("offline_access") && !client.grant_types.iter().any(|g| g == "refresh_token")
    {
        return Err(OAuthError::invalid_scope(
            "The offline_access scope requires the app to have the refresh_token grant.",
        ));
    }
    Ok(scope)
}

/// RFC 7636 §4.4.1 and RFC 9700 §2.1.1: a challenge must be S256 unless the app is
/// set to allow `plain` (never a public one); public clients and apps with Okta's
/// `pkce_required` must send one, other confidential clients may.
pub fn check_pkce(params: &Params, client: &Client) -> Result<Option<CodeChallenge>, OAuthError> {
    let method = params.one("code_challenge_method")?;
    let allow_plain = client.pkce_allow_plain && !client.is_public();
    match params.one("code_challenge")? {
        Some(challenge) => CodeChallenge::parse(challenge, method, allow_plain).map(Some),
        None if method.is_some() => Err(OAuthError::invalid_request(
            "A code_challenge_method was given without a code_challenge.",
        )),
        None if client.is_public() => Err(OAuthError::invalid_request(
            "PKCE code challenge is required when the token endpoint authentication method is 'NONE'.",
        )),
        None if client.pkce_required => Err(OAuthError::invalid_request(
            "PKCE code challenge is required by this client's settings (pkce_required).",
        )),
        None => Ok(None),
    }
}

/// OpenID Connect Core §3.1.2.1: `prompt` and `max_age`. `select_account` is accepted
/// and needs nothing: a session holds one account.
pub fn check_prompt(params: &Params) -> Result<(Prompt, Option<i64>), OAuthError> {
    let mut prompt = Prompt::default();
    if let Some(text) = params.one("prompt")? {
        let values: Vec<&str> = text.split(' ').filter(|v| !v.is_empty()).collect();
        for value in &values {
            match *value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => {
                    return Err(OAuthError::invalid_request(
                        "The prompt value is not supported.",
                    ));
                }
            }
        }
        if prompt.none && values.len() > 1 {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with other prompt values.",
            ));
        }
    }
    let max_age = match params.one("max_age")? {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .ok_or_else(|| {
                    OAuthError::invalid_request("max_age must be a non-negative integer.")
                })?,
        ),
    };
    Ok((prompt, max_age))
}

/// Longest `acr_values` read (bytes).
pub const MAX_ACR_VALUES: usize = 1024;

/// OpenID Connect Core §3.1.2.1: `acr_values`, a space-separated list of requested
/// Authentication Context Class References in order of preference.
pub fn check_acr_values(params: &Params) -> Result<Vec<String>, OAuthError> {
    match params.one("acr_values")? {
        Some(text) if text.len() > MAX_ACR_VALUES => Err(OAuthError::invalid_request(
            "The acr_values parameter is too long.",
        )),
        Some(text) => Ok(text
            .split(' ')
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()),
        None => Ok(Vec::new()),
    }
}

/// OpenID Connect Core §3.1.2.1: `nonce` is copied into the ID token unchanged.
pub fn check_nonce(params: &Params) -> Result<Option<String>, OAuthError> {
    match params.one("nonce")? {
        Some(nonce) if nonce.len() > MAX_NONCE => Err(OAuthError::invalid_request(
            "The nonce parameter is too long.",
        )),
        other => Ok(other.map(str::to_string)),
    }
}

/// What to do with a valid request, given the browser's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The session satisfies the request: issue a code for it.
    IssueCode { auth_time: UnixTime },
    /// Show the sign-in page.
    SignIn,
    /// OpenID Connect Core §3.1.2.6: `prompt=none` and the user would have to sign in.
    Fail(OAuthError),
}

/// OpenID Connect Core §3.1.2.1: a session may answer a request with `max_age` only
/// while fewer than `max_age` seconds have elapsed since its `auth_time`. Times are
/// whole seconds, so a sign-in at second `t` and a request at second `now` may be up
/// to `now - t + 1` seconds apart: the session is too old once `auth_time + max_age
/// <= now` (at equality the elapsed time may exceed `max_age`). `max_age=0` therefore
/// always asks again, even within the sign-in's own second (the OpenID working group's
/// reading: `max_age=0` is `prompt=login`).
pub fn fresh_enough(auth_time: UnixTime, max_age: i64, now: UnixTime) -> bool {
    max_age > 0 && now < auth_time.saturating_add(max_age)
}

/// OpenID Connect Core §3.1.2.3: decide between the session, the sign-in page, or
/// `login_required`. `session_auth_time` is the live session's `auth_time`, if any.
pub fn decide(
    request: &AuthorizationRequest,
    session_auth_time: Option<UnixTime>,
    now: UnixTime,
) -> Next {
    let fresh = |auth_time: UnixTime| {
        request
            .max_age
            .is_none_or(|max| fresh_enough(auth_time, max, now))
    };
    match session_auth_time {
        Some(auth_time) if !request.prompt.login && fresh(auth_time) => {
            Next::IssueCode { auth_time }
        }
        _ if request.prompt.none => Next::Fail(OAuthError::new(
            ErrorCode::LoginRequired,
            "The user is not signed in.",
        )),
        _ => Next::SignIn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuthMethod, Status};

    fn client(public: bool) -> Client {
        Client {
            client_id: "0oaTEST".into(),
            name: "t".into(),
            secrets: vec![],
            jwks: None,
            jwks_uri: None,
            dpop_bound_access_tokens: false,
            auth_method: if public {
                AuthMethod::None
            } else {
                AuthMethod::ClientSecretBasic
            },
            application_type: "web".into(),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            response_types: vec!["code".into()],
            refresh_token_leeway: 0,
            require_pushed_authorization_requests: false,
            request_object_signing_alg: None,
            require_signed_request_object: false,
            pkce_required: false,
            pkce_allow_plain: false,
            status: Status::Active,
            created_at: 0,
            updated_at: 0,
            version: 0,
        }
    }

    fn params(extra: &[(&str, &str)]) -> Params {
        let mut pairs = vec![
            ("client_id", "0oaTEST"),
            ("redirect_uri", "https://app.example.com/cb"),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s1"),
        ];
        for (k, v) in extra {
            pairs.retain(|(name, _)| name != k);
            pairs.push((k, v));
        }
        Params::from_pairs(pairs)
    }

    fn run(p: &Params, c: &Client) -> Result<AuthorizationRequest, Rejection> {
        validate(
            p,
            "default",
            "https://id.example.com/oauth2/default",
            Some(c),
            &["openid", "email", "offline_access"],
        )
    }

    fn redirected_code(r: Result<AuthorizationRequest, Rejection>) -> &'static str {
        match r {
            Err(Rejection::Redirect(target, e)) => {
                assert_eq!(target.state.as_deref(), Some("s1"));
                e.code()
            }
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request_passes() {
        let r = run(&params(&[("nonce", "n")]), &client(false)).unwrap();
        assert_eq!(r.scope.to_string(), "openid");
        assert_eq!(r.reply.mode, ResponseMode::Query);
        assert_eq!(r.nonce.as_deref(), Some("n"));
    }

    #[test]
    fn untrusted_client_or_redirect_uri_renders() {
        let c = client(false);
        assert!(matches!(
            validate(&params(&[]), "d", "i", None, &["openid"]),
            Err(Rejection::Render(_))
        ));
        for bad in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://app.example.com:8443/cb",
            "http://app.example.com/cb",
            "https://evil.com@app.example.com/cb",
            "https://APP.example.com/cb",
        ] {
            assert!(
                matches!(
                    run(&params(&[("redirect_uri", bad)]), &c),
                    Err(Rejection::Render(_))
                ),
                "{bad}"
            );
        }
        let mut inactive = c.clone();
        inactive.status = Status::Inactive;
        assert!(matches!(
            run(&params(&[]), &inactive),
            Err(Rejection::Render(_))
        ));
    }

    #[test]
    fn native_loopback_redirect_uris_match_any_port_and_nothing_else() {
        let mut c = client(true);
        c.application_type = "native".into();
        c.redirect_uris = vec![
            "http://127.0.0.1/cb".into(),
            "http://[::1]:8080/cb?x=1".into(),
            "http://localhost/cb".into(),
        ];
        for good in [
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51004/cb",
            "http://127.0.0.1:65535/cb",
            "http://[::1]/cb?x=1",
            "http://[::1]:1/cb?x=1",
        ] {
            let p = params(&[
                ("redirect_uri", good),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "S256"),
            ]);
            assert_eq!(
                run(&p, &c).map(|r| r.reply.redirect_uri),
                Ok(good.to_string()),
                "{good}"
            );
        }
        for bad in [
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:65536/cb",
            "http://127.0.0.1:080/cb",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1:8080/cb/",
            "http://127.0.0.1:8080/CB",
            "https://127.0.0.1:8080/cb",
            "http://127.0.0.1:8080@evil.example/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://127.0.0.2:8080/cb",
            "http://[::1]:8080/cb",
            "http://localhost:8080/cb",
            "http://127.0.0.1:8080#/cb",
        ] {
            let p = params(&[
                ("redirect_uri", bad),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "S256"),
            ]);
            assert!(matches!(run(&p, &c), Err(Rejection::Render(_))), "{bad}");
        }
        // A web app's loopback URI stays exact.
        let mut web = client(false);
        web.redirect_uris = vec!["http://127.0.0.1/cb".into()];
        assert!(matches!(
            run(
                &params(&[("redirect_uri", "http://127.0.0.1:9000/cb")]),
                &web
            ),
            Err(Rejection::Render(_))
        ));
    }

    #[test]
    fn trusted_errors_redirect_with_state() {
        let c = client(false);
        assert_eq!(
            redirected_code(run(&params(&[("response_type", "token")]), &c)),
            "unsupported_response_type"
        );
        assert_eq!(
            redirected_code(run(&params(&[("scope", "openid admin")]), &c)),
            "invalid_scope"
        );
        assert_eq!(
            redirected_code(run(&params(&[("scope", "openid offline_access")]), &c)),
            "invalid_scope",
            "no refresh_token grant"
        );
        assert_eq!(
            redirected_code(run(&params(&[("prompt", "none login")]), &c)),
            "invalid_request"
        );
        assert_eq!(
            redirected_code(run(&params(&[("max_age", "-1")]), &c)),
            "invalid_request"
        );
        assert_eq!(
            redirected_code(run(&params(&[("response_mode", "jwt")]), &c)),
            "invalid_request"
        );
        assert_eq!(
            redirected_code(run(&params(&[("request", "x")]), &c)),
            "request_not_supported"
        );
        assert_eq!(
            redirected_code(run(&client_pkce_missing(), &client(true))),
            "invalid_request"
        );
    }

    fn client_pkce_missing() -> Params {
        params(&[])
    }

    #[test]
    fn decide_follows_prompt_and_max_age() {
        let mut r = run(&params(&[]), &client(false)).unwrap();
        assert_eq!(decide(&r, None, 100), Next::SignIn);
        assert_eq!(decide(&r, Some(50), 100), Next::IssueCode { auth_time: 50 });
        r.max_age = Some(10);
        assert_eq!(decide(&r, Some(50), 100), Next::SignIn);
        // Second granularity: at auth_time + max_age the session may be older than
        // max_age, so it asks again; a second earlier it is surely younger.
        assert_eq!(decide(&r, Some(90), 100), Next::SignIn);
        assert_eq!(decide(&r, Some(91), 100), Next::IssueCode { auth_time: 91 });
        // max_age=0 is prompt=login, also within the sign-in's own second.
        r.max_age = Some(0);
        assert_eq!(decide(&r, Some(100), 100), Next::SignIn);
        assert!(
            !fresh_enough(101, 0, 100),
            "max_age=0 whatever the clocks say"
        );
        r.max_age = Some(10);
        r.prompt.none = true;
        assert!(matches!(decide(&r, Some(50), 100), Next::Fail(e) if e.code() == "login_required"));
        r.max_age = None;
        r.prompt = Prompt {
            none: false,
            login: true,
            consent: false,
        };
        assert_eq!(decide(&r, Some(50), 100), Next::SignIn);
    }
}
