//! The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2): validate
//! with `oauth::authorize`, then answer from the browser's session, send the browser
//! to the sign-in page, or answer the client. `complete` is the step the sign-in and
//! consent pages end with too.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::factors::Proof;
use crate::flows::Services;
use crate::flows::assurance;
use crate::flows::request_object;
use crate::flows::sessions;
use crate::flows::settings::{ClientCache, Settings, Subject, check_assigned};
use crate::identity::session::{self, Device};
use crate::oauth::authorize::{self, AuthorizationRequest, IdTokenHint, Next, Rejection};
use crate::oauth::consent;
use crate::oauth::grants::authorization_code;
use crate::oauth::par;
use crate::oauth::params::Params;
use crate::oauth::pkce::Method;
use crate::oauth::reply::Reply;
use crate::oauth::sign_on::Verdict;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::{AuthServer, Client, Group, LogEvent, PendingAuthorization, Session, User};
use crate::tokens::jwt;

/// How long the sign-in page waits for the user.
pub const SIGN_IN_TTL: i64 = 600;

/// An authorization request to `server` as the browser sent it.
pub struct AuthorizeRequest<'a> {
    pub server: &'a AuthServer,
    /// The query (GET) or form (POST) parameters.
    pub params: Params,
    /// The value of the browser's session cookie, if it sent one.
    pub session_cookie: Option<&'a str>,
    /// The browser's address, for the System Log and a session a `sessionToken` starts.
    pub ip: Option<String>,
    /// The browser's `User-Agent`, for a session a `sessionToken` starts.
    pub user_agent: Option<String>,
}

/// What the browser gets.
#[derive(Debug)]
pub enum Outcome {
    /// An error page: the client or its redirect URI cannot be trusted with the answer.
    Page(OAuthError),
    /// The answer for the client at its redirect URI: a code or an error.
    Reply(Reply),
    /// One of this server's pages (sign-in, consent) at this address.
    Redirect(String),
}

impl From<OAuthError> for Outcome {
    fn from(e: OAuthError) -> Self {
        Outcome::Page(e)
    }
}

/// The outcome, and the cookie value of a session this request started (from a
/// `sessionToken`), which the browser must be given.
pub async fn authorize(
    services: &Services,
    request: AuthorizeRequest<'_>,
    now: UnixTime,
) -> (Outcome, Option<String>) {
    let mut new_session = None;
    match answer(services, request, now, &mut new_session).await {
        Ok(outcome) | Err(outcome) => (outcome, new_session),
    }
}

async fn answer(
    services: &Services,
    request: AuthorizeRequest<'_>,
    now: UnixTime,
    new_session: &mut Option<String>,
) -> Result<Outcome, Outcome> {
    let AuthorizeRequest {
        server,
        params,
        session_cookie,
        ip,
        user_agent,
    } = request;
    let (params, pushed) = resolve_pushed(services, &server.id, params, now).await?;
    // The client is looked up only for a single, present client_id; the pipeline
    // renders the error for any other case.
    let client = match params.get("client_id") {
        Ok(Some(id)) => ClientCache::load(services, server, id)
            .await
            .map_err(OAuthError::from)?,
        _ => None,
    };
    let settings = Settings::load(services, server).await?;
    let offered = super::okta_scopes::offered(
        services,
        server,
        client.as_ref().map(|c| c.client_id.as_str()),
        &settings.scopes,
    )
    .await?;
    // RFC 9101: a request object of a known client replaces the parameters.
    let (params, signed) = match (&client, params.get("request")) {
        (Some(c), Ok(Some(object))) => {
            match request_object::resolve(services, server, c, object, &params, now).await {
                Ok(inner) => (inner, true),
                Err(e) => {
                    let target = request_object::refused_target(services, server, c, &params);
                    return Ok(match target.filter(|_| e.status() != 503) {
                        Some(target) => Outcome::Reply(target.error(&e)),
                        None => Outcome::Page(e),
                    });
                }
            }
        }
        _ => (params, false),
    };
    let mut request = match authorize::validate(
        &params,
        &server.id,
        &services.issuer(server),
        client.as_ref(),
        &offered,
    ) {
        Ok(request) => request,
        Err(Rejection::Render(e)) => return Ok(Outcome::Page(e)),
        Err(Rejection::Redirect(target, e)) => return Ok(Outcome::Reply(target.error(&e))),
    };
    // RFC 9126 §6: the client and redirect URI are trusted by now, so the error goes back.
    if !pushed
        && client
            .as_ref()
            .is_some_and(|c| c.require_pushed_authorization_requests)
    {
        return Ok(Outcome::Reply(request.reply.error(&par::par_required())));
    }
    // RFC 9101 §10.5; a pushed request had its object checked at PAR.
    if !pushed
        && !signed
        && client
            .as_ref()
            .is_some_and(|c| c.require_signed_request_object)
    {
        return Ok(Outcome::Reply(
            request.reply.error(&request_object::required()),
        ));
    }
    // Okta's `idp`: a sign-in this request needs happens at that identity provider,
    // without the sign-in page. The client and redirect URI are trusted by now, so an
    // unknown or inactive provider is an error for the client.
    let idp = match params.one("idp") {
        Ok(None) => None,
        Ok(Some(id)) => match active_idp(services, id).await? {
            Some(id) => Some(id),
            None => {
                return Ok(Outcome::Reply(request.reply.error(
                    &OAuthError::invalid_request(
                        "The identity provider (idp) is not known or not active.",
                    ),
                )));
            }
        },
        Err(e) => return Ok(Outcome::Reply(request.reply.error(&e))),
    };
    let (mut session, mut request) = match params.get("sessionToken") {
        Ok(None) => {
            let session = signed_in(services, session_cookie, now).await?;
            if let Some((live, _)) = &session {
                services
                    .store
                    .touch_session(&live.id_hash, now)
                    .await
                    .map_err(OAuthError::from)?;
            }
            (session, request)
        }
        token => {
            let value = token.ok().flatten().unwrap_or("");
            let device = Device::new(user_agent.as_deref(), ip.clone());
            let session =
                from_session_token(services, value, session_cookie, &device, now, new_session)
                    .await?;
            // The token is the user's fresh sign-in: it answers `prompt=login` too.
            request.prompt.login = false;
            (session, request)
        }
    };
    if request
        .code_challenge
        .as_ref()
        .is_some_and(|c| c.method == Method::Plain)
    {
        record_plain_pkce(services, client.as_ref(), ip.clone(), now).await;
    }
    // OpenID Connect Core §3.1.2.1: the session answers only for the user the client
    // names with `id_token_hint`; anyone else signs in again, as that user.
    if let Ok(Some(hint)) = params.one("id_token_hint") {
        let sub = match verify_id_token_hint(services, server, &request.client_id, hint, now).await
        {
            Ok(sub) => sub,
            Err(e) => return Ok(Outcome::Reply(request.reply.error(&e))),
        };
        if session.as_ref().is_some_and(|(s, _)| s.user_id != sub) {
            if request.prompt.none {
                return Ok(Outcome::Reply(request.reply.error(&OAuthError::new(
                    ErrorCode::LoginRequired,
                    "The signed-in user is not the one the id_token_hint names.",
                ))));
            }
            session = None;
        }
        if session.is_none()
            && let Some(user) = services
                .store
                .get_user(&sub)
                .await
                .map_err(OAuthError::from)?
        {
            request.login_hint = Some(user.login);
        }
        request.hint_sub = Some(sub);
    }
    Ok(
        match authorize::decide(&request, session.as_ref().map(|(s, _)| s.auth_time), now) {
            Next::IssueCode { auth_time } => {
                let (session, user) = session.expect("IssueCode comes from a session");
                // The user's groups, read once for the sign-on policy here and the
                // access policy in `complete`; the settings are this request's too.
                let groups = services
                    .store
                    .user_groups(&user.id)
                    .await
                    .map_err(OAuthError::from)?;
                let subject = Subject { user, groups };
                // The session may not have proved what this request needs (a second
                // factor for `acr_values`, say): the person proves it first.
                let requirement = assurance::requirement_of(
                    services,
                    &settings,
                    &subject,
                    &request,
                    ip.as_deref(),
                )
                .await?;
                // A policy's re-authentication frequency, or `urn:okta:loa:1fa:pwd`
                // for a session begun without a password: the password again, as for
                // `max_age` (OpenID Connect Core §3.1.2.1).
                if requirement.password_again(&session, now) {
                    if request.prompt.none {
                        return Ok(Outcome::Reply(request.reply.error(&OAuthError::new(
                            ErrorCode::LoginRequired,
                            "The request asks for the password again.",
                        ))));
                    }
                    return Ok(Outcome::Redirect(
                        start_sign_in(services, &request, now).await?,
                    ));
                }
                if !requirement.met_by(&session, now) {
                    if request.prompt.none {
                        return Ok(Outcome::Reply(request.reply.error(&OAuthError::new(
                            ErrorCode::InteractionRequired,
                            "The session does not meet the authentication the request requires.",
                        ))));
                    }
                    let proof = Proof {
                        auth_time: session.auth_time,
                        amr: session.amr.clone(),
                        mfa_at: session.mfa_at,
                    };
                    let location = assurance::start(
                        services,
                        &request,
                        &subject.user,
                        &proof,
                        requirement,
                        now,
                    )
                    .await?;
                    return Ok(Outcome::Redirect(location));
                }
                let known = Known {
                    ip,
                    client: client.as_ref(),
                    settings: Some(settings.clone()),
                    user: Some(subject.user),
                    groups: Some(subject.groups),
                    amr: session.amr.clone(),
                    session_hash: Some(session.id_hash.clone()),
                };
                complete(services, &request, &session.user_id, auth_time, now, known).await
            }
            Next::Fail(e) => Outcome::Reply(request.reply.error(&e)),
            Next::SignIn => {
                let tx = store_pending(services, &request, now).await?;
                Outcome::Redirect(match idp {
                    Some(idp) => format!("/sso/idps/{idp}?tx={tx}"),
                    None => format!("/login?tx={tx}"),
                })
            }
        },
    )
}

/// RFC 9126 §4: a request with a `request_uri` this server issued is the pushed
/// request, taken once (atomically) for the `client_id` given with it; every other
/// parameter of this request is ignored. Nothing is trusted when the lookup fails, so
/// that error is a page. Any other `request_uri` is never fetched: without a
/// `redirect_uri` to answer to it is refused here as a page; with one, the pipeline
/// refuses it (`request_uri_not_supported`) once the redirect URI is trusted. True
/// when the parameters were pushed.
async fn resolve_pushed(
    services: &Services,
    server_id: &str,
    params: Params,
    now: UnixTime,
) -> Result<(Params, bool), OAuthError> {
    let Ok(Some(value)) = params.get("request_uri") else {
        return Ok((params, false));
    };
    let Some(id_hash) = par::our_request_uri(value) else {
        if matches!(params.get("redirect_uri"), Ok(None)) {
            return Err(OAuthError::new(
                ErrorCode::RequestUriNotSupported,
                "The request_uri parameter is not supported.",
            ));
        }
        return Ok((params, false));
    };
    let client_id = params.required("client_id")?;
    let taken = services
        .store
        .take_pushed(&id_hash, client_id, server_id, now)
        .await?
        .ok_or_else(par::unusable_request_uri)?;
    // Stored as `Params::to_form` wrote them: they parse.
    let pushed = Params::parse(taken.params.as_bytes()).map_err(|e| OAuthError::internal(&e))?;
    Ok((pushed, true))
}

/// Okta's `sessionToken` at /authorize (from `/api/v1/authn`): redeemed once, it
/// starts a new session (ending the browser's old one) and the request goes on as
/// signed in, without the sign-in page. An unknown, expired, replayed or repeated
/// token is no session at all, whatever the browser's cookie says: the caller meant
/// the token's user, so another session must not answer for them. The request then
/// goes to the sign-in page, or gets `login_required` with `prompt=none`.
async fn from_session_token(
    services: &Services,
    value: &str,
    session_cookie: Option<&str>,
    device: &Device,
    now: UnixTime,
    new_session: &mut Option<String>,
) -> Result<Option<(Session, User)>, OAuthError> {
    let Some((token, user)) = sessions::redeem_token(services, value, now).await? else {
        return Ok(None);
    };
    let (cookie, session) = sessions::start(
        services,
        &user.id,
        token.auth_time,
        now,
        session_cookie,
        device,
    )
    .await?;
    *new_session = Some(cookie);
    Ok(Some((session, user)))
}

/// A request used the `plain` PKCE method, which its app is set to allow: each use is a
/// warning in the System Log (`app.oauth2.authorize.pkce_plain`), so an admin sees who
/// still depends on it (RFC 9700 §2.1.1: only S256 keeps the verifier secret).
async fn record_plain_pkce(
    services: &Services,
    client: Option<&Client>,
    ip: Option<String>,
    now: UnixTime,
) {
    let Some(client) = client else { return };
    let mut event = Event::success(
        "app.oauth2.authorize.pkce_plain",
        "Authorization request with the plain PKCE method",
        vec![Target::app(client)],
    )
    .with_debug("codeChallengeMethod", "plain");
    event.severity = "WARN";
    event.reason = Some("PKCE_PLAIN: the app allows the plain method; use S256".into());
    let actor = Actor::client(&client.client_id, &client.name, ip);
    syslog::record(&services.store, &actor, event, now).await;
}

/// The `sub` of an `id_token_hint` sent with a request of `client_id`: verified with
/// this server's keys (by `kid`, the key's own algorithm; see `tokens::jwt`), then
/// checked by `oauth::authorize::check_id_token_hint`. `exp` is not checked (an expired
/// ID token is a good hint), but every time claim must be a NumericDate.
async fn verify_id_token_hint(
    services: &Services,
    server: &AuthServer,
    client_id: &str,
    token: &str,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let ring = services.keys.for_token(&server.id, token, now).await?;
    let verified = jwt::verify::<IdTokenHint>(token, &ring).ok();
    authorize::check_id_token_hint(verified, &services.issuer(server), client_id)
}

/// The browser's live session (from its session cookie's value) and its user, if the
/// user is still active.
pub async fn signed_in(
    services: &Services,
    session_cookie: Option<&str>,
    now: UnixTime,
) -> Result<Option<(Session, User)>, OAuthError> {
    let Some(cookie) = session_cookie else {
        return Ok(None);
    };
    let Some(session) = services
        .store
        .live_session(&session::id_hash(cookie), now)
        .await?
    else {
        return Ok(None);
    };
    match services.store.get_user(&session.user_id).await? {
        Some(user) if user.keeps_sign_in() => Ok(Some((session, user))),
        _ => Ok(None),
    }
}

/// Stores the request while the user signs in; returns the sign-in page's address.
async fn start_sign_in(
    services: &Services,
    request: &AuthorizationRequest,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let tx = store_pending(services, request, now).await?;
    Ok(format!("/login?tx={tx}"))
}

/// The identity provider `id` names (its id), if it exists and is active. An id is
/// Okta's shape (letters and digits); anything else is no provider.
async fn active_idp(services: &Services, id: &str) -> Result<Option<String>, OAuthError> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let found = services.store.get_idp(id).await?;
    Ok(found.filter(|p| p.is_active()).map(|p| p.id))
}

/// Stores the request while the user signs in; returns its sign-in `tx`.
async fn store_pending(
    services: &Services,
    request: &AuthorizationRequest,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let tx = random_token();
    let pending = PendingAuthorization {
        id_hash: sha256(tx.as_bytes()),
        request: serde_json::to_string(request).map_err(|e| OAuthError::internal(&e))?,
        created_at: now,
        expires_at: now + SIGN_IN_TTL,
    };
    services.store.insert_pending(&pending).await?;
    Ok(tx)
}

/// What the caller of `complete` knows of this request: the peer's address (for the
/// System Log), and the client row and server settings it has read already, so they
/// are not read again (`None`: `complete` reads them).
#[derive(Default)]
pub struct Known<'a> {
    pub ip: Option<String>,
    pub client: Option<&'a Client>,
    pub settings: Option<Arc<Settings>>,
    /// The user, read (and found active) in this request.
    pub user: Option<User>,
    /// With `user`, the user's groups, when this request has read them.
    pub groups: Option<Vec<Group>>,
    /// What the sign-in proved (RFC 8176 `amr`), carried into the code and its ID
    /// token; empty: the password alone.
    pub amr: Vec<String>,
    /// The stored hash of the session the request is answered from: the code records
    /// it (the ID token's `sid`), and the session the app (to be told of its end).
    pub session_hash: Option<Vec<u8>>,
}

/// Finishes a request for a signed-in user: checks the user is assigned to the app
/// (when it has assignments), applies the server's access policy (Okta evaluates both
/// at /authorize too: such a user gets `access_denied` back at the app, not a code),
/// asks for consent to the scopes that need it, then issues the code. Errors go back
/// to the client: the outcome is a `Reply` or a `Redirect` to the consent page.
pub async fn complete(
    services: &Services,
    request: &AuthorizationRequest,
    user_id: &str,
    auth_time: UnixTime,
    now: UnixTime,
    known: Known<'_>,
) -> Outcome {
    let outcome = async {
        let subject = match (known.user, known.groups) {
            (Some(user), Some(groups)) if user.id == user_id && user.keeps_sign_in() => {
                Some(Subject { user, groups })
            }
            (Some(user), None) if user.id == user_id && user.keeps_sign_in() => {
                Subject::with_groups(services, user).await?
            }
            _ => Subject::load(services, user_id).await?,
        }
        .ok_or_else(|| OAuthError::new(ErrorCode::AccessDenied, "The user is not active."))?;
        check_assigned(services, &request.client_id, user_id).await?;
        let settings = match known.settings {
            Some(settings) => settings,
            None => Settings::load_by_id(services, &request.server_id).await?,
        };
        settings.decide(
            &request.client_id,
            "authorization_code",
            &request.scope,
            Some(&subject),
        )?;
        // Okta's sign-on policies: a rule that denies (or none that matches) refuses
        // the sign-in to this app as the access policy does.
        if let Verdict::Deny { rule_id } =
            settings.sign_on(&subject, &request.client_id, known.ip.as_deref())
        {
            tracing::info!(client = %request.client_id, rule = ?rule_id, "a sign-on policy denied the sign-in");
            return Err(OAuthError::policy_denied());
        }
        let granted = services
            .store
            .granted_scopes(user_id, &request.client_id, &request.server_id)
            .await?;
        let needed = consent::needed(
            &request.scope,
            &settings.scopes,
            &granted,
            request.prompt.consent,
        );
        if needed.is_empty() {
            let session_hash = known.session_hash.as_deref();
            let event = sso_event(
                services,
                &Actor::user(&subject.user, known.ip.clone()),
                known.client,
                &request.client_id,
                now,
            )
            .await;
            let reply = issue_code(
                services,
                request,
                user_id,
                auth_time,
                &known.amr,
                session_hash,
                &event,
                now,
            )
            .await?;
            return Ok(Outcome::Reply(reply));
        }
        // OpenID Connect Core §3.1.2.6.
        if request.prompt.none {
            return Err(OAuthError::new(
                ErrorCode::ConsentRequired,
                "The user has not consented to the requested scopes.",
            ));
        }
        let proof = Proof {
            auth_time,
            amr: known.amr,
            mfa_at: None,
        };
        let location = start_consent(services, request, user_id, &proof, needed, now).await?;
        Ok(Outcome::Redirect(location))
    }
    .await;
    outcome.unwrap_or_else(|e| Outcome::Reply(request.reply.error(&e)))
}

/// Issues a code and builds the success reply. With the session it was issued in, the
/// code carries the session's public id (the ID token's `sid`), and the session records
/// the app, which is told when the session ends (Front- and Back-Channel Logout). The
/// code and the session's record are written at once, and the System Log `event` before
/// the reply (`AuthorizationStore::issue_code`).
#[allow(clippy::too_many_arguments)]
pub async fn issue_code(
    services: &Services,
    request: &AuthorizationRequest,
    user_id: &str,
    auth_time: UnixTime,
    amr: &[String],
    session_hash: Option<&[u8]>,
    event: &LogEvent,
    now: UnixTime,
) -> Result<Reply, OAuthError> {
    let (code, mut row) = authorization_code::issue(request, user_id, auth_time, amr, now);
    row.sid = session_hash.map(session::public_id);
    services
        .store
        .issue_code(&row, session_hash, Some(event))
        .await?;
    Ok(request.reply.success(&code))
}

/// `user.authentication.sso` (the user reached an app), for the System Log; `client`
/// when the request has read it already.
pub async fn sso_event(
    services: &Services,
    actor: &Actor,
    client: Option<&Client>,
    client_id: &str,
    now: UnixTime,
) -> LogEvent {
    let target = match client {
        Some(client) => Target::app(client),
        None => match services.store.get_client(client_id).await {
            Ok(Some(client)) => Target::app(&client),
            _ => Target::new(client_id, "AppInstance", client_id),
        },
    };
    let event = Event::success(
        "user.authentication.sso",
        "User single sign on to app",
        vec![target],
    );
    syslog::row(actor, &event, now)
}

/// How long the consent page waits.
pub const CONSENT_TTL: i64 = 600;

/// A request waiting for consent. Its shape differs from a request waiting for
/// sign-in (`consent` is not a field of `AuthorizationRequest`), so the sign-in page
/// can never take one for the other.
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingConsent {
    pub consent: AuthorizationRequest,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub scopes: Vec<String>,
    /// What the sign-in proved (RFC 8176 `amr`); empty: the password alone.
    #[serde(default)]
    pub amr: Vec<String>,
}

/// Stores the request until the user answers on the consent page (`flows::consent`);
/// returns the page's address.
pub async fn start_consent(
    services: &Services,
    request: &AuthorizationRequest,
    user_id: &str,
    proof: &Proof,
    scopes: Vec<String>,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let tx = random_token();
    let pending = PendingConsent {
        consent: request.clone(),
        user_id: user_id.to_string(),
        auth_time: proof.auth_time,
        scopes,
        amr: proof.amr.clone(),
    };
    let row = PendingAuthorization {
        id_hash: sha256(tx.as_bytes()),
        request: serde_json::to_string(&pending).map_err(|e| OAuthError::internal(&e))?,
        created_at: now,
        expires_at: now + CONSENT_TTL,
    };
    services.store.insert_pending(&row).await?;
    Ok(format!("/consent?tx={tx}"))
}

#[cfg(test)]
mod tests {
    use super::{AuthorizeRequest, Outcome, authorize};
    use crate::flows::client_auth::Credentials;
    use crate::flows::testing::{REDIRECT_URI, fixture};
    use crate::flows::token::{TokenRequest, exchange};
    use crate::identity::session;
    use crate::oauth::params::Params;
    use crate::oauth::reply::Reply;

    fn query(client_id: &str) -> Params {
        Params::from_pairs([
            ("client_id", client_id),
            ("response_type", "code"),
            ("scope", "openid"),
            ("redirect_uri", REDIRECT_URI),
            ("state", "xyz"),
        ])
    }

    #[tokio::test]
    async fn without_a_session_the_browser_goes_to_sign_in() {
        let f = fixture().await;
        let (client, _) = f.app(&["authorization_code"]).await;
        let request = AuthorizeRequest {
            server: &f.server,
            params: query(&client.client_id),
            session_cookie: None,
            user_agent: None,
            ip: None,
        };
        match authorize(&f.services, request, f.now).await.0 {
            Outcome::Redirect(location) => assert!(location.starts_with("/login?tx=")),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unknown_client_gets_an_error_page_never_a_redirect() {
        let f = fixture().await;
        let request = AuthorizeRequest {
            server: &f.server,
            params: query("0oa_unknown"),
            session_cookie: None,
            user_agent: None,
            ip: None,
        };
        match authorize(&f.services, request, f.now).await.0 {
            // Rendered as a 400 page (a page is never an authentication challenge).
            Outcome::Page(e) => assert_eq!(e.code(), "invalid_client", "{e}"),
            other => panic!("{other:?}"),
        }
    }

    /// The whole code flow, without a server: a session answers /authorize with a
    /// code, which the token flow exchanges.
    #[tokio::test]
    async fn a_signed_in_user_gets_a_code_the_token_flow_redeems() {
        let f = fixture().await;
        let (client, secret) = f.app(&["authorization_code"]).await;
        let user = f.user("alan@example.com").await;
        let (cookie, row) = session::start(&user.id, f.now, 3600);
        f.services.store.insert_session(&row).await.unwrap();
        let request = AuthorizeRequest {
            server: &f.server,
            params: query(&client.client_id),
            session_cookie: Some(&cookie),
            user_agent: None,
            ip: None,
        };
        let (Outcome::Reply(Reply::Redirect(url)), None) =
            authorize(&f.services, request, f.now).await
        else {
            panic!("a redirect to the client");
        };
        let url = url::Url::parse(&url).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("state"), "xyz");
        let code = get("code");
        let params = Params::from_pairs([
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", client.client_id.as_str()),
            ("client_secret", secret.as_str()),
        ]);
        let token = TokenRequest {
            server: &f.server,
            params: &params,
            credentials: Credentials::default(),
            dpop: Default::default(),
        };
        let granted = exchange(&f.services, &token, f.now + 1).await.unwrap();
        assert_eq!(granted.user.unwrap().id, user.id);
        assert!(granted.tokens.id_token.is_some());
    }
}
