//! Who is calling the management API, and may they do what the operation needs?
//!
//! Two credentials:
//! - `SSWS {token}`: an API token. One made by the command line acts as a super
//!   admin; one made by an admin acts with that admin's roles as they are now (Okta's
//!   rule), so revoking the admin's role takes the token's power at its next use.
//! - `Bearer {access token}`: a JWT access token of the org authorization server,
//!   verified exactly as introspection verifies one (`flows::access_token::verify`:
//!   signature, `iss` and `aud` the org server's, expiry, the deny list read on every
//!   use). Its scopes are those in `scp` that are Okta's management scopes and that
//!   its app may still have (the console every one, another app those granted to it
//!   now). A user's token then needs the user's roles to allow the operation; a
//!   service app's token (client_credentials, no `uid`) may do exactly what its
//!   scopes say (Okta's service-app model). RFC 6750 §3.1: a token without the scope
//!   is `insufficient_scope`.
//!
//! Nothing here reads a cookie: the console sends its token in the header, so a
//! cross-site request can forge nothing.

use crate::admin::console;
use crate::admin::permissions::{self, Authority, Need, Reach, Refusal, Role};
use crate::admin::{Actor, AdminError, api_tokens, roles};
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::access_token::{self, AccessTokenProblem};
use crate::oauth::OAuthError;
use crate::store::{ApiToken, ORG_SERVER_ID, StoreError};

/// The credential of a request, as the `Authorization` header carried it.
pub enum Presented<'a> {
    Ssws(&'a str),
    Bearer(&'a str),
}

/// An authenticated and authorized caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Who the System Log names: the admin (`User`) for their access token, the app
    /// for a service app's token, the API token for `SSWS`.
    pub actor: Actor,
    /// The admin the request acts for (the token's user, or the API token's maker);
    /// none for the command line's tokens and service apps.
    pub admin_id: Option<String>,
    /// Over which objects the operation reaches (an org admin: their own API tokens).
    pub reach: Reach,
}

/// Why a caller is refused.
#[derive(Debug)]
pub enum CallerError {
    /// No credential, or one that is unknown, revoked, expired or forged (401
    /// `E0000011`).
    Unauthenticated,
    /// The access token lacks this scope (403 `E0000006`, `insufficient_scope`).
    InsufficientScope(String),
    /// The caller's roles do not allow the operation (403 `E0000006`).
    Forbidden,
    /// The store could not answer (503).
    Failed(OAuthError),
}

impl From<StoreError> for CallerError {
    fn from(e: StoreError) -> Self {
        CallerError::Failed(e.into())
    }
}

impl From<AdminError> for CallerError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Store(e) => e.into(),
            other => CallerError::Failed(OAuthError::internal(&other)),
        }
    }
}

/// Authenticates `presented` and checks it may do what `need` says, at `now`.
pub async fn authorize(
    services: &Services,
    presented: Presented<'_>,
    ip: Option<String>,
    need: Need,
    now: UnixTime,
) -> Result<Principal, CallerError> {
    let (actor, admin_id, scopes, authority) = match presented {
        Presented::Ssws(value) => {
            let token = api_tokens::authenticate(&services.store, value)
                .await?
                .ok_or(CallerError::Unauthenticated)?;
            let (admin_id, authority) = token_authority(services, &token).await?;
            (Actor::api_token(&token, ip), admin_id, None, authority)
        }
        Presented::Bearer(jwt) => bearer(services, jwt, ip, now).await?,
    };
    match permissions::decide(need, scopes.as_deref(), &authority) {
        Ok(reach) => Ok(Principal {
            actor,
            admin_id,
            reach,
        }),
        Err(Refusal::InsufficientScope) => Err(CallerError::InsufficientScope(need.scope())),
        Err(Refusal::Role) => Err(CallerError::Forbidden),
    }
}

/// How deep a chain of API tokens made with API tokens is followed to its maker.
const MAX_TOKEN_CHAIN: usize = 8;

/// Whose authority an API token carries: the command line's (super admin), or its
/// maker's roles now. A token made with another API token carries that token's
/// maker's; a maker who is gone or no longer active leaves the token without power
/// (401, as a deactivated admin's tokens are in Okta).
async fn token_authority(
    services: &Services,
    token: &ApiToken,
) -> Result<(Option<String>, Authority), CallerError> {
    let mut maker = token.created_by.clone();
    for _ in 0..MAX_TOKEN_CHAIN {
        if maker == Actor::cli().id {
            return Ok((None, Authority::Roles(vec![Role::SuperAdmin])));
        }
        if let Some(user) = services.store.get_user(&maker).await? {
            if !user.keeps_sign_in() {
                return Err(CallerError::Unauthenticated);
            }
            let roles = roles::effective(&services.store, &user.id).await?;
            return Ok((Some(user.id), Authority::Roles(roles)));
        }
        let parent = services
            .store
            .list_api_tokens()
            .await?
            .into_iter()
            .find(|t| t.id == maker && t.revoked_at.is_none());
        match parent {
            Some(parent) => maker = parent.created_by,
            None => return Err(CallerError::Unauthenticated),
        }
    }
    Err(CallerError::Unauthenticated)
}

type Verified = (Actor, Option<String>, Option<Vec<String>>, Authority);

/// An org server access token: verified as introspection does, then its app, its
/// user and its scopes as they are now.
async fn bearer(
    services: &Services,
    jwt: &str,
    ip: Option<String>,
    now: UnixTime,
) -> Result<Verified, CallerError> {
    let server = services
        .store
        .get_server(ORG_SERVER_ID)
        .await?
        .ok_or(CallerError::Unauthenticated)?;
    let at = match access_token::verify(services, &server, jwt, now).await {
        Ok(at) => at,
        Err(AccessTokenProblem::Failed(e)) => return Err(CallerError::Failed(e)),
        Err(_) => return Err(CallerError::Unauthenticated),
    };
    // RFC 9449 §7.1: a DPoP-bound token is not a bearer token.
    if at.cnf.is_some() {
        return Err(CallerError::Unauthenticated);
    }
    let client = match services.store.get_client(&at.cid).await? {
        Some(client) if client.is_active() => client,
        _ => return Err(CallerError::Unauthenticated),
    };
    let granted: Vec<String> = if console::is_console(&client.client_id) {
        at.scp.clone()
    } else {
        services
            .store
            .app_grants(&client.client_id)
            .await?
            .into_iter()
            .map(|g| g.scope)
            .collect()
    };
    let scopes: Vec<String> = at
        .scp
        .iter()
        .filter(|s| permissions::is_okta_scope(s) && granted.contains(s))
        .cloned()
        .collect();
    match &at.uid {
        Some(uid) => {
            let user = match services.store.get_user(uid).await? {
                Some(user) if user.keeps_sign_in() => user,
                _ => return Err(CallerError::Unauthenticated),
            };
            let roles = roles::effective(&services.store, &user.id).await?;
            Ok((
                Actor::user(&user, ip),
                Some(user.id),
                Some(scopes),
                Authority::Roles(roles),
            ))
        }
        None => Ok((
            Actor::client(&client.client_id, &client.name, ip),
            None,
            Some(scopes),
            Authority::Scopes,
        )),
    }
}
