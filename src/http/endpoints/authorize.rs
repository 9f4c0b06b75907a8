//! `/oauth2/{server}/v1/authorize`, GET and POST (RFC 6749 §4.1.1, OpenID Connect Core
//! §3.1.2). Validates with `oauth::authorize`, then answers from the session, sends the
//! browser to the sign-in page, or returns an error to the client.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::find_server;
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::flows::settings::{Settings, Subject, check_assigned};
use crate::http::extract::{Body, OAuthRejection, PeerAddr, ServerId, form_params, query_params};
use crate::http::{AppState, SharedState};
use crate::http::{cookies, error, pages};
use crate::identity::session;
use crate::oauth::authorize::{self, AuthorizationRequest, Next, Rejection};
use crate::oauth::consent;
use crate::oauth::grants::authorization_code;
use crate::oauth::par;
use crate::oauth::params::Params;
use crate::oauth::reply::Reply;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::{Client, PendingAuthorization, Session, User};

/// How long the sign-in page waits for the user.
pub const SIGN_IN_TTL: i64 = 600;

pub async fn get(
    State(state): State<SharedState>,
    ServerId(server_id): ServerId,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match query_params(query.as_deref()) {
        Ok(params) => handle(&state, &server_id, &headers, params, false, ip).await,
        Err(e) => error::page(&e),
    }
}

pub async fn post(
    State(state): State<SharedState>,
    ServerId(server_id): ServerId,
    PeerAddr(ip): PeerAddr,
    headers: HeaderMap,
    body: Result<Body, OAuthRejection>,
) -> Response {
    let params = body
        .map_err(|OAuthRejection(e)| e)
        .and_then(|Body(b)| form_params(&headers, &b));
    match params {
        Ok(params) => handle(&state, &server_id, &headers, params, true, ip).await,
        Err(e) => error::page(&e),
    }
}

async fn handle(
    state: &AppState,
    server_id: &str,
    headers: &HeaderMap,
    params: Params,
    after_post: bool,
    ip: Option<String>,
) -> Response {
    let now = state.clock.now();
    let server = match find_server(state, server_id).await {
        Ok(server) => server,
        Err(e) => return e.page(),
    };
    let (params, pushed) = match resolve_pushed(state, &server.id, params, now).await {
        Ok(resolved) => resolved,
        Err(e) => return error::page(&e),
    };
    // The client is looked up only for a single, present client_id; the pipeline
    // renders the error for any other case.
    let client = match params.get("client_id") {
        Ok(Some(id)) => match state.store.get_client(id).await {
            Ok(client) => client,
            Err(e) => return error::page(&OAuthError::from(e)),
        },
        _ => None,
    };
    let settings = match Settings::load(state, &server).await {
        Ok(settings) => settings,
        Err(e) => return error::page(&e),
    };
    let offered: Vec<&str> = settings.scopes.iter().map(|s| s.name.as_str()).collect();
    let request = match authorize::validate(
        &params,
        &server.id,
        &state.issuer(&server),
        client.as_ref(),
        &offered,
    ) {
        Ok(request) => request,
        Err(Rejection::Render(e)) => return error::page(&e),
        Err(Rejection::Redirect(target, e)) => return render_reply(target.error(&e), after_post),
    };
    // RFC 9126 §6: the client and redirect URI are trusted by now, so the error goes back.
    if !pushed
        && client
            .as_ref()
            .is_some_and(|c| c.require_pushed_authorization_requests)
    {
        return render_reply(request.reply.error(&par::par_required()), after_post);
    }
    let session = match signed_in(state, headers, now).await {
        Ok(session) => session,
        Err(e) => return error::page(&e),
    };
    match authorize::decide(&request, session.as_ref().map(|(s, _)| s.auth_time), now) {
        Next::IssueCode { auth_time } => {
            let (session, user) = session.expect("IssueCode comes from a session");
            let known = Known {
                ip,
                client: client.as_ref(),
                settings: Some(settings.clone()),
                user: Some(user),
            };
            complete(
                state,
                &request,
                &session.user_id,
                auth_time,
                now,
                after_post,
                known,
            )
            .await
        }
        Next::Fail(e) => render_reply(request.reply.error(&e), after_post),
        Next::SignIn => match start_sign_in(state, &request, now).await {
            Ok(location) => redirect(&location, after_post),
            Err(e) => error::page(&e),
        },
    }
}

/// RFC 9126 §4: a request with a `request_uri` this server issued is the pushed
/// request, taken once (atomically) for the `client_id` given with it; every other
/// parameter of this request is ignored. Nothing is trusted when the lookup fails, so
/// that error is a page. Any other `request_uri` is never fetched: without a
/// `redirect_uri` to answer to it is refused here as a page; with one, the pipeline
/// refuses it (`request_uri_not_supported`) once the redirect URI is trusted. True
/// when the parameters were pushed.
async fn resolve_pushed(
    state: &AppState,
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
    let taken = state
        .store
        .take_pushed(&id_hash, client_id, server_id, now)
        .await?
        .ok_or_else(par::unusable_request_uri)?;
    // Stored as `Params::to_form` wrote them: they parse.
    let pushed = Params::parse(taken.params.as_bytes()).map_err(|e| OAuthError::internal(&e))?;
    Ok((pushed, true))
}

/// The browser's live session, if its user is still active.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
    now: UnixTime,
) -> Result<Option<Session>, OAuthError> {
    Ok(signed_in(state, headers, now)
        .await?
        .map(|(session, _)| session))
}

/// The browser's live session and its user, if the user is still active.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    now: UnixTime,
) -> Result<Option<(Session, User)>, OAuthError> {
    let Some(cookie) = cookies::get(headers, cookies::SESSION) else {
        return Ok(None);
    };
    let Some(session) = state
        .store
        .live_session(&session::id_hash(&cookie), now)
        .await?
    else {
        return Ok(None);
    };
    match state.store.get_user(&session.user_id).await {
        Ok(Some(user)) if user.is_active() => Ok(Some((session, user))),
        Ok(_) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Stores the request while the user signs in; returns the sign-in page's address.
async fn start_sign_in(
    state: &AppState,
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
    state.store.insert_pending(&pending).await?;
    Ok(format!("/login?tx={tx}"))
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
}

/// Finishes a request for a signed-in user: checks the user is assigned to the app
/// (when it has assignments), applies the server's access policy (Okta evaluates both
/// at /authorize too: such a user gets `access_denied` back at the app, not a code),
/// asks for consent to the scopes that need it, then issues the code. Errors go back
/// to the client.
pub async fn complete(
    state: &AppState,
    request: &AuthorizationRequest,
    user_id: &str,
    auth_time: UnixTime,
    now: UnixTime,
    after_post: bool,
    known: Known<'_>,
) -> Response {
    let outcome = async {
        let subject = match known.user {
            Some(user) if user.id == user_id && user.is_active() => {
                Subject::with_groups(state, user).await?
            }
            _ => Subject::load(state, user_id).await?,
        }
        .ok_or_else(|| OAuthError::new(ErrorCode::AccessDenied, "The user is not active."))?;
        check_assigned(state, &request.client_id, user_id).await?;
        let settings = match known.settings {
            Some(settings) => settings,
            None => Settings::load_by_id(state, &request.server_id).await?,
        };
        settings.decide(
            &request.client_id,
            "authorization_code",
            &request.scope,
            Some(&subject),
        )?;
        let granted = state
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
            let reply = issue_code(state, request, user_id, auth_time, now).await?;
            record_sso(
                state,
                &Actor::user(&subject.user, known.ip.clone()),
                known.client,
                &request.client_id,
                now,
            )
            .await;
            return Ok(render_reply(reply, after_post));
        }
        // OpenID Connect Core §3.1.2.6.
        if request.prompt.none {
            return Err(OAuthError::new(
                ErrorCode::ConsentRequired,
                "The user has not consented to the requested scopes.",
            ));
        }
        let location =
            super::consent::start(state, request, user_id, auth_time, needed, now).await?;
        Ok(redirect(&location, after_post))
    }
    .await;
    outcome.unwrap_or_else(|e| render_reply(request.reply.error(&e), after_post))
}

/// Issues a code and builds the success reply.
pub async fn issue_code(
    state: &AppState,
    request: &AuthorizationRequest,
    user_id: &str,
    auth_time: UnixTime,
    now: UnixTime,
) -> Result<Reply, OAuthError> {
    let (code, row) = authorization_code::issue(request, user_id, auth_time, now);
    state.store.insert_code(&row).await?;
    Ok(request.reply.success(&code))
}

/// Writes `user.authentication.sso` (the user reached an app) to the System Log;
/// `client` when the request has read it already.
pub async fn record_sso(
    state: &AppState,
    actor: &Actor,
    client: Option<&Client>,
    client_id: &str,
    now: UnixTime,
) {
    let target = match client {
        Some(client) => Target::app(client),
        None => match state.store.get_client(client_id).await {
            Ok(Some(client)) => Target::app(&client),
            _ => Target::new(client_id, "AppInstance", client_id),
        },
    };
    let event = Event::success(
        "user.authentication.sso",
        "User single sign on to app",
        vec![target],
    );
    syslog::record(&state.store, actor, event, now).await;
}

/// A redirect (302 after GET, 303 after POST so the browser follows with GET) or the
/// form_post page.
pub fn render_reply(reply: Reply, after_post: bool) -> Response {
    match reply {
        Reply::Redirect(url) => redirect(&url, after_post),
        Reply::FormPost { action, fields } => pages::form_post(&action, &fields),
    }
}

pub fn redirect(location: &str, after_post: bool) -> Response {
    let status = if after_post {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = status.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        // A URL the url crate produced is always a valid header value; stay safe anyway.
        Err(_) => error::page(&OAuthError::server_error()),
    }
}
