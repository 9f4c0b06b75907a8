//! OpenID Connect RP-Initiated Logout 1.0: what to do with a request to the end
//! session endpoint. Pure: the caller verifies the hint's signature against the
//! server's keys, looks up the client and the browser's session, and passes `now`.
//!
//! Decision, in order (the first that applies wins):
//!
//! | request | outcome |
//! | --- | --- |
//! | a parameter repeated, `state` too long | `Error` (invalid_request) |
//! | `id_token_hint` not verified (not a JWT, forged, another server's key) | `Error` |
//! | hint: `iss` not this server, an access token, `client_id` ≠ `aud`, `aud` not an active client | `Error` |
//! | hint expired and the browser's session is not the hint's `sub` | `Error` |
//! | no hint, `client_id` given but not an active client | `Error` |
//! | `post_logout_redirect_uri` without a valid hint | `Error` |
//! | `post_logout_redirect_uri` not registered exactly for the hint's client | `Error` |
//! | no hint, a valid hint for another user than the browser's session, or an expired hint: GET | `Confirm` |
//! | the same, POST (the confirmation form) with a valid CSRF token | `SignedOut` |
//! | the same, POST without a valid CSRF token | `Error` (access_denied, 403) |
//! | valid hint and `post_logout_redirect_uri` | `Redirect` (with `state`) |
//! | valid hint | `SignedOut` |
//!
//! `Redirect` and `SignedOut` end the browser's session; `Confirm` and `Error` change
//! nothing.

use serde::Deserialize;
use url::Url;

use super::authorize::MAX_STATE;
use super::params::Params;
use super::{ErrorCode, OAuthError};
use crate::clock::UnixTime;
use crate::store::Client;

/// The parameters of a logout request (RP-Initiated Logout §2). `logout_hint` and
/// `ui_locales` are accepted and not used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

impl LogoutParams {
    /// RFC 6749 §3.1 (which OpenID Connect follows): no parameter more than once.
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        if let Some(name) = params.first_repeated() {
            return Err(OAuthError::invalid_request(format!(
                "The '{}' parameter was given more than once.",
                name.chars().take(64).collect::<String>()
            )));
        }
        let text = |name: &str| params.one(name).map(|v| v.map(str::to_string));
        let state = text("state")?;
        if state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
            return Err(OAuthError::invalid_request(
                "The state parameter is too long.",
            ));
        }
        Ok(LogoutParams {
            id_token_hint: text("id_token_hint")?,
            post_logout_redirect_uri: text("post_logout_redirect_uri")?,
            state,
            client_id: text("client_id")?,
        })
    }
}

/// The claims of an ID token used as a hint, after its signature was verified.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HintClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: UnixTime,
}

/// A hint whose signature a key of this server verified, with its JOSE `typ`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHint {
    pub typ: Option<String>,
    pub claims: HintClaims,
}

/// The hint's signature did not verify with this server's keys, or it is not a JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HintUnverified;

/// How a POST proved (or failed to prove) it came from the confirmation form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    /// `csrf_ok`: the form's token matched the browser's CSRF cookie.
    Post {
        csrf_ok: bool,
    },
}

/// What the caller gathered for the decision.
pub struct LogoutInput<'a> {
    pub params: &'a LogoutParams,
    /// `None` without `id_token_hint`; `Err` when its signature did not verify.
    pub hint: Option<Result<VerifiedHint, HintUnverified>>,
    /// This server's issuer.
    pub issuer: &'a str,
    /// The client named by the hint's `aud`, else by `client_id`, as the store has it.
    pub client: Option<&'a Client>,
    /// The user of the browser's live session, if any.
    pub session_user: Option<&'a str>,
    pub method: Method,
    pub now: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// End the session, then send the browser to this URL.
    Redirect { uri: String },
    /// End the session and say so.
    SignedOut,
    /// Ask the user, with a CSRF-protected form.
    Confirm,
    /// Change nothing; render an error page with the error's status.
    Error(OAuthError),
}

fn invalid_hint() -> OAuthError {
    OAuthError::invalid_request(
        "The id_token_hint is not a valid ID token from this authorization server.",
    )
}

/// RP-Initiated Logout §2 and §4: the decision the module comment tabulates.
pub fn decide(input: &LogoutInput<'_>) -> LogoutOutcome {
    match decide_inner(input) {
        Ok(outcome) => outcome,
        Err(e) => LogoutOutcome::Error(e),
    }
}

fn decide_inner(input: &LogoutInput<'_>) -> Result<LogoutOutcome, OAuthError> {
    let params = input.params;
    let hint = match &input.hint {
        None => None,
        Some(hint) => Some(check_hint(
            hint.as_ref().map_err(|_| invalid_hint())?,
            input,
        )?),
    };
    let client = match (hint, &params.client_id) {
        (Some(_), _) => input.client,
        (None, Some(_)) => Some(check_client_id(input)?),
        (None, None) => None,
    };
    let redirect = check_post_logout_redirect_uri(params, hint, client)?;

    // An expired hint proves less (it may have leaked from anywhere since): even from
    // its user's own browser, ask first.
    let needs_confirmation = match hint {
        None => true,
        Some(claims) => {
            input.session_user.is_some_and(|user| user != claims.sub) || input.now >= claims.exp
        }
    };
    if needs_confirmation {
        return match input.method {
            Method::Get => Ok(LogoutOutcome::Confirm),
            Method::Post { csrf_ok: true } => Ok(LogoutOutcome::SignedOut),
            Method::Post { csrf_ok: false } => Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "The sign-out form could not be verified. Go back, reload the page and try again.",
            )),
        };
    }
    Ok(match redirect {
        Some(uri) => LogoutOutcome::Redirect {
            uri: with_state(uri, params.state.as_deref())?,
        },
        None => LogoutOutcome::SignedOut,
    })
}

/// RP-Initiated Logout §2: the OP must have issued the hint (its key and its `iss`),
/// to a client it knows, and `client_id`, when given, must be the hint's `aud`. An
/// expired hint is accepted only from the browser whose session is the hint's user.
pub fn check_hint<'h>(
    hint: &'h VerifiedHint,
    input: &LogoutInput<'_>,
) -> Result<&'h HintClaims, OAuthError> {
    let claims = &hint.claims;
    let access_token = hint.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    });
    if access_token || claims.iss != input.issuer {
        return Err(invalid_hint());
    }
    if input
        .params
        .client_id
        .as_ref()
        .is_some_and(|id| *id != claims.aud)
    {
        return Err(OAuthError::invalid_request(
            "The client_id is not the audience of the id_token_hint.",
        ));
    }
    match input.client {
        Some(client) if client.client_id == claims.aud && client.is_active() => {}
        _ => return Err(invalid_hint()),
    }
    if input.now >= claims.exp && input.session_user != Some(claims.sub.as_str()) {
        return Err(OAuthError::invalid_request(
            "The id_token_hint has expired and does not match the current session.",
        ));
    }
    Ok(claims)
}

/// Without a hint, a `client_id` must still name an active client.
fn check_client_id<'c>(input: &LogoutInput<'c>) -> Result<&'c Client, OAuthError> {
    match (input.client, &input.params.client_id) {
        (Some(client), Some(id)) if client.client_id == *id && client.is_active() => Ok(client),
        _ => Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "The client_id is not registered or not active.",
        )),
    }
}

/// RP-Initiated Logout §3: the URI must have been registered for the client, compared
/// as exact strings, and the client must be proven by a valid hint.
pub fn check_post_logout_redirect_uri<'c>(
    params: &LogoutParams,
    hint: Option<&HintClaims>,
    client: Option<&'c Client>,
) -> Result<Option<&'c str>, OAuthError> {
    let Some(given) = params.post_logout_redirect_uri.as_deref() else {
        return Ok(None);
    };
    let (Some(_), Some(client)) = (hint, client) else {
        return Err(OAuthError::invalid_request(
            "A post_logout_redirect_uri needs a valid id_token_hint from the same client.",
        ));
    };
    client
        .post_logout_redirect_uris
        .iter()
        .find(|registered| registered.as_str() == given)
        .map(|registered| Some(registered.as_str()))
        .ok_or_else(|| {
            OAuthError::invalid_request(
                "The post_logout_redirect_uri is not registered for this client.",
            )
        })
}

/// RP-Initiated Logout §3: `state` goes back as a query parameter, after any query the
/// registered URI has.
fn with_state(uri: &str, state: Option<&str>) -> Result<String, OAuthError> {
    let Some(state) = state else {
        return Ok(uri.to_string());
    };
    let mut url = Url::parse(uri).map_err(|_| OAuthError::server_error())?;
    url.query_pairs_mut().append_pair("state", state);
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuthMethod, Status};

    const NOW: UnixTime = 1_800_000_000;
    const ISSUER: &str = "https://id.example.com/oauth2/default";
    const BYE: &str = "https://app.example.com/bye?tenant=1";

    fn client(id: &str) -> Client {
        Client {
            client_id: id.into(),
            name: "t".into(),
            secrets: vec![],
            jwks: None,
            jwks_uri: None,
            dpop_bound_access_tokens: false,
            auth_method: AuthMethod::None,
            application_type: "browser".into(),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            post_logout_redirect_uris: vec![BYE.into()],
            grant_types: vec!["authorization_code".into()],
            response_types: vec!["code".into()],
            refresh_token_leeway: 0,
            require_pushed_authorization_requests: false,
            request_object_signing_alg: None,
            require_signed_request_object: false,
            pkce_required: false,
            pkce_allow_plain: false,
            logout: Default::default(),
            status: Status::Active,
            created_at: 0,
            updated_at: 0,
            version: 0,
        }
    }

    fn hint(exp: UnixTime) -> Option<Result<VerifiedHint, HintUnverified>> {
        Some(Ok(VerifiedHint {
            typ: Some("JWT".into()),
            claims: HintClaims {
                iss: ISSUER.into(),
                sub: "00uALICE".into(),
                aud: "0oaA".into(),
                exp,
            },
        }))
    }

    fn params(pairs: &[(&str, &str)]) -> LogoutParams {
        LogoutParams::parse(&Params::from_pairs(pairs.iter().copied())).unwrap()
    }

    struct Case<'a> {
        params: LogoutParams,
        hint: Option<Result<VerifiedHint, HintUnverified>>,
        client: Option<&'a Client>,
        session_user: Option<&'a str>,
        method: Method,
    }

    impl Case<'_> {
        fn decide(&self) -> LogoutOutcome {
            decide(&LogoutInput {
                params: &self.params,
                hint: self.hint.clone(),
                issuer: ISSUER,
                client: self.client,
                session_user: self.session_user,
                method: self.method,
                now: NOW,
            })
        }
    }

    fn with_hint<'a>(c: &'a Client, pairs: &[(&str, &str)]) -> Case<'a> {
        Case {
            params: params(&[[("id_token_hint", "t")].as_slice(), pairs].concat()),
            hint: hint(NOW + 3600),
            client: Some(c),
            session_user: Some("00uALICE"),
            method: Method::Get,
        }
    }

    fn error_code(outcome: LogoutOutcome) -> &'static str {
        match outcome {
            LogoutOutcome::Error(e) => e.code(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_hint_redirects_with_state_after_the_registered_query() {
        let c = client("0oaA");
        let case = with_hint(&c, &[("post_logout_redirect_uri", BYE), ("state", "a b&c")]);
        assert_eq!(
            case.decide(),
            LogoutOutcome::Redirect {
                uri: "https://app.example.com/bye?tenant=1&state=a+b%26c".into()
            }
        );
        let no_state = with_hint(&c, &[("post_logout_redirect_uri", BYE)]);
        assert_eq!(
            no_state.decide(),
            LogoutOutcome::Redirect { uri: BYE.into() }
        );
        let mut post = with_hint(
            &c,
            &[("post_logout_redirect_uri", BYE), ("client_id", "0oaA")],
        );
        post.method = Method::Post { csrf_ok: false };
        assert!(
            matches!(post.decide(), LogoutOutcome::Redirect { .. }),
            "the hint is the proof, not a CSRF token"
        );
    }

    #[test]
    fn a_valid_hint_without_a_uri_signs_out() {
        let c = client("0oaA");
        assert_eq!(with_hint(&c, &[]).decide(), LogoutOutcome::SignedOut);
        let mut no_session = with_hint(&c, &[]);
        no_session.session_user = None;
        assert_eq!(no_session.decide(), LogoutOutcome::SignedOut);
    }

    #[test]
    fn the_uri_must_be_registered_exactly_for_the_hints_client() {
        let c = client("0oaA");
        for bad in [
            "https://app.example.com/bye",
            "https://app.example.com/bye?tenant=1&x=2",
            "https://APP.example.com/bye?tenant=1",
            "https://evil.example.com/bye?tenant=1",
        ] {
            assert_eq!(
                error_code(with_hint(&c, &[("post_logout_redirect_uri", bad)]).decide()),
                "invalid_request",
                "{bad}"
            );
        }
    }

    #[test]
    fn a_uri_without_a_valid_hint_is_refused_even_with_client_id() {
        let c = client("0oaA");
        let case = Case {
            params: params(&[("client_id", "0oaA"), ("post_logout_redirect_uri", BYE)]),
            hint: None,
            client: Some(&c),
            session_user: Some("00uALICE"),
            method: Method::Get,
        };
        assert_eq!(error_code(case.decide()), "invalid_request");
    }

    #[test]
    fn invalid_hints_are_errors() {
        let c = client("0oaA");
        let mut forged = with_hint(&c, &[]);
        forged.hint = Some(Err(HintUnverified));
        assert_eq!(error_code(forged.decide()), "invalid_request");

        let mut other_issuer = with_hint(&c, &[]);
        if let Some(Ok(h)) = &mut other_issuer.hint {
            h.claims.iss = "https://id.example.com".into();
        }
        assert_eq!(error_code(other_issuer.decide()), "invalid_request");

        let mut access_token = with_hint(&c, &[]);
        if let Some(Ok(h)) = &mut access_token.hint {
            h.typ = Some("at+jwt".into());
        }
        assert_eq!(error_code(access_token.decide()), "invalid_request");

        let other_client = with_hint(&c, &[("client_id", "0oaB")]);
        assert_eq!(error_code(other_client.decide()), "invalid_request");

        let mut unknown_client = with_hint(&c, &[]);
        unknown_client.client = None;
        assert_eq!(error_code(unknown_client.decide()), "invalid_request");

        let mut inactive = client("0oaA");
        inactive.status = Status::Inactive;
        assert_eq!(
            error_code(with_hint(&inactive, &[]).decide()),
            "invalid_request"
        );
    }

    #[test]
    fn an_expired_hint_needs_the_hints_users_session() {
        let c = client("0oaA");
        let mut case = with_hint(&c, &[("post_logout_redirect_uri", BYE)]);
        case.hint = hint(NOW);
        assert_eq!(
            case.decide(),
            LogoutOutcome::Confirm,
            "same user's session: asked first"
        );
        case.session_user = None;
        assert_eq!(error_code(case.decide()), "invalid_request");
        case.session_user = Some("00uMALLORY");
        assert_eq!(error_code(case.decide()), "invalid_request");
        case.hint = hint(NOW + 1);
        case.session_user = None;
        assert!(
            matches!(case.decide(), LogoutOutcome::Redirect { .. }),
            "not yet expired"
        );
    }

    #[test]
    fn a_hint_for_another_user_than_the_session_asks_first() {
        let c = client("0oaA");
        let mut case = with_hint(&c, &[("post_logout_redirect_uri", BYE)]);
        case.session_user = Some("00uBOB");
        assert_eq!(case.decide(), LogoutOutcome::Confirm);
        case.method = Method::Post { csrf_ok: false };
        assert_eq!(error_code(case.decide()), "access_denied");
    }

    #[test]
    fn without_a_hint_the_user_confirms_with_a_csrf_token() {
        let mut case = Case {
            params: params(&[]),
            hint: None,
            client: None,
            session_user: Some("00uALICE"),
            method: Method::Get,
        };
        assert_eq!(case.decide(), LogoutOutcome::Confirm);
        case.method = Method::Post { csrf_ok: true };
        assert_eq!(case.decide(), LogoutOutcome::SignedOut);
        case.method = Method::Post { csrf_ok: false };
        let LogoutOutcome::Error(e) = case.decide() else {
            panic!()
        };
        assert_eq!((e.code(), e.status()), ("access_denied", 403));
    }

    #[test]
    fn a_client_id_without_a_hint_must_exist() {
        let c = client("0oaA");
        let known = Case {
            params: params(&[("client_id", "0oaA")]),
            hint: None,
            client: Some(&c),
            session_user: None,
            method: Method::Get,
        };
        assert_eq!(known.decide(), LogoutOutcome::Confirm);
        let unknown = Case {
            params: params(&[("client_id", "0oaZ")]),
            hint: None,
            client: None,
            session_user: None,
            method: Method::Get,
        };
        assert_eq!(error_code(unknown.decide()), "invalid_client");
    }

    #[test]
    fn parameters_must_not_repeat_and_state_is_bounded() {
        let repeated = Params::from_pairs([("state", "a"), ("state", "b")]);
        assert_eq!(
            LogoutParams::parse(&repeated).unwrap_err().code(),
            "invalid_request"
        );
        let long = "s".repeat(MAX_STATE + 1);
        assert!(LogoutParams::parse(&Params::from_pairs([("state", long.as_str())])).is_err());
        let ignored = params(&[("logout_hint", "alice"), ("ui_locales", "fr en")]);
        assert_eq!(ignored, LogoutParams::default());
    }
}
