//! RP-Initiated Logout 1.0: verify the `id_token_hint` with this server's keys, look up
//! the client and the browser's session, let `oauth::logout::decide` choose, and end
//! the session when the outcome signs the user out (which stores the back-channel
//! logouts its apps are owed, and answers the front-channel URIs to load: see
//! `flows::app_logout`).

use crate::clock::UnixTime;
use crate::flows::authorize::signed_in;
use crate::flows::{Services, app_logout, federation};
use crate::identity::session;
use crate::oauth::OAuthError;
use crate::oauth::logout::{
    self, HintClaims, HintUnverified, LogoutInput, LogoutOutcome, LogoutParams, Method,
    VerifiedHint,
};
use crate::oauth::params::Params;
use crate::store::{AuthServer, Client, User};
use crate::tokens::jwt;

/// A logout request to `server` as the browser sent it.
pub struct LogoutRequest<'a> {
    pub server: &'a AuthServer,
    /// The query (GET) or form (POST) parameters.
    pub params: &'a Params,
    /// The value of the browser's session cookie, if it sent one.
    pub session_cookie: Option<&'a str>,
    /// GET, or POST with whether its CSRF token matched the cookie.
    pub method: Method,
}

/// What `decide` chose, with the client it was about and the user signed in on this
/// browser before it (for the pages).
pub struct Answer {
    pub outcome: LogoutOutcome,
    pub client: Option<Client>,
    pub user: Option<User>,
    /// Front-Channel Logout 1.0: the URIs the signed-out page loads in iframes, one
    /// per app signed in through the session that ended (empty when none ended).
    pub frontchannel: Vec<String>,
    /// The session was signed in at an identity provider that is to be signed out of
    /// too: its logout URL, where the browser goes next (it comes back to
    /// `/sso/logout/callback`, which continues to the outcome's redirect).
    pub upstream: Option<String>,
}

/// Whether the outcome ends the browser's session (its cookie is then cleared).
pub fn signs_out(outcome: &LogoutOutcome) -> bool {
    matches!(
        outcome,
        LogoutOutcome::Redirect { .. } | LogoutOutcome::SignedOut
    )
}

pub async fn logout(
    services: &Services,
    request: &LogoutRequest<'_>,
    now: UnixTime,
) -> Result<Answer, OAuthError> {
    let server = request.server;
    let params = LogoutParams::parse(request.params)?;
    let hint = match params.id_token_hint.as_deref() {
        Some(token) => Some(verify_hint(services, server, token, now).await?),
        None => None,
    };
    // The client the hint was issued to, else the one `client_id` names.
    let client_id = match &hint {
        Some(Ok(h)) => Some(h.claims.aud.as_str()),
        Some(Err(_)) => None,
        None => params.client_id.as_deref(),
    };
    let client = match client_id {
        Some(id) => services.store.get_client(id).await?,
        None => None,
    };
    let (session, user) = signed_in(services, request.session_cookie, now)
        .await?
        .unzip();
    let issuer = services.issuer(server);
    let outcome = logout::decide(&LogoutInput {
        params: &params,
        hint,
        issuer: &issuer,
        client: client.as_ref(),
        session_user: session.as_ref().map(|s| s.user_id.as_str()),
        method: request.method,
        now,
    });
    let mut frontchannel = Vec::new();
    let mut upstream = None;
    if signs_out(&outcome) {
        if let Some(session) = &session {
            frontchannel = app_logout::frontchannel_uris(services, &session.id_hash).await?;
            let next = match &outcome {
                LogoutOutcome::Redirect { uri } => Some(uri.as_str()),
                _ => None,
            };
            upstream = federation::upstream_logout(
                services,
                &session.id_hash,
                &session.user_id,
                next,
                now,
            )
            .await?;
        }
        end_session(services, request.session_cookie, now).await?;
    }
    if let LogoutOutcome::Error(e) = &outcome {
        tracing::info!(event = "user.session.end", outcome = "FAILURE", reason = %e, "logout refused");
    }
    Ok(Answer {
        outcome,
        client,
        user,
        frontchannel,
        upstream,
    })
}

/// The hint verified with this server's current keys (RP-Initiated Logout §2: the OP
/// must have issued it). Its claims are checked by `decide`.
async fn verify_hint(
    services: &Services,
    server: &AuthServer,
    token: &str,
    now: UnixTime,
) -> Result<Result<VerifiedHint, HintUnverified>, OAuthError> {
    let ring = services.keys.for_token(&server.id, token, now).await?;
    Ok(jwt::verify::<HintClaims>(token, &ring)
        .map(|(typ, claims)| VerifiedHint { typ, claims })
        .map_err(|_| HintUnverified))
}

/// Ends the session the browser's cookie names, whoever it belongs to: it is this
/// browser's, and the user asked (or the hint's client did, for this user).
async fn end_session(
    services: &Services,
    session_cookie: Option<&str>,
    now: UnixTime,
) -> Result<(), OAuthError> {
    if let Some(cookie) = session_cookie {
        services
            .store
            .end_session(&session::id_hash(cookie), now)
            .await?;
        tracing::info!(
            event = "user.session.end",
            outcome = "SUCCESS",
            "signed out"
        );
    }
    Ok(())
}
