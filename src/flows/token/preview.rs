//! Okta's Token Preview: the claims an authorization server would put in the tokens
//! for a client, a user, a grant and scopes, now, under its access policies. The same
//! checks as the grants (the app is ACTIVE and has the grant; the user is ACTIVE and
//! may use the app; the scopes are offered; the access policy, `Settings::evaluate`)
//! and the same claims (`mint::claims`), but nothing is signed, stored, counted or
//! written to the System Log: no token exists afterwards.

use serde_json::Value;

use super::mint::{self, Mint};
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::settings::{Settings, Subject};
use crate::oauth::grants::{GrantType, client_credentials};
use crate::oauth::policy::Decision;
use crate::oauth::scope::Scope;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::{AuthServer, Status};
use crate::tokens::claims::{new_access_jti, new_id_jti};

/// What to preview.
pub struct PreviewRequest<'a> {
    pub server: &'a AuthServer,
    pub client_id: &'a str,
    /// Required for `authorization_code`; none for `client_credentials`.
    pub user_id: Option<&'a str>,
    pub grant_type: &'a str,
    /// Empty: for `client_credentials`, the server's default scopes.
    pub scopes: &'a [String],
}

/// The tokens' claims, unsigned, and the scopes granted.
#[derive(Debug, Clone)]
pub struct Preview {
    pub access_token: Value,
    pub id_token: Option<Value>,
    pub scopes: Vec<String>,
}

/// Why the server would issue nothing.
#[derive(Debug)]
pub enum PreviewError {
    /// The request's `field` names nothing usable, or the server would refuse the
    /// grant for the `reason` given (an access policy that denies included).
    Refused { field: &'static str, reason: String },
    /// The store failed (503).
    Unavailable(OAuthError),
}

impl From<OAuthError> for PreviewError {
    fn from(e: OAuthError) -> Self {
        PreviewError::Unavailable(e)
    }
}

impl From<crate::store::StoreError> for PreviewError {
    fn from(e: crate::store::StoreError) -> Self {
        PreviewError::Unavailable(e.into())
    }
}

fn refused(field: &'static str, reason: impl Into<String>) -> PreviewError {
    PreviewError::Refused {
        field,
        reason: reason.into(),
    }
}

/// An `OAuthError` a check answered with, as the reason it gives (a 503 stays one).
fn because(field: &'static str) -> impl Fn(OAuthError) -> PreviewError {
    move |e| {
        if e.status() == 503 {
            PreviewError::Unavailable(e)
        } else {
            refused(field, format!("{}: {}", e.code(), e.description))
        }
    }
}

/// The claims `request.server` would issue at `now`.
pub async fn preview(
    services: &Services,
    request: &PreviewRequest<'_>,
    now: UnixTime,
) -> Result<Preview, PreviewError> {
    let grant = match GrantType::parse(request.grant_type) {
        Some(g) if g.in_policy_rules() => g,
        Some(_) => {
            return Err(refused(
                "grantType",
                "a refresh is evaluated as the grant that started its family: preview authorization_code",
            ));
        }
        None => {
            return Err(refused(
                "grantType",
                format!(
                    "must be one of {}",
                    GrantType::policy_rule_names().join(", ")
                ),
            ));
        }
    };
    let server = request.server;
    if server.status != Status::Active {
        return Err(refused(
            "authorizationServer",
            "the authorization server is not ACTIVE: it issues no tokens",
        ));
    }
    let client = match services.store.get_client(request.client_id).await? {
        Some(c) if c.is_active() => c,
        Some(_) => return Err(refused("clientId", "the app is not ACTIVE")),
        None => return Err(refused("clientId", "no app has this id")),
    };
    if !client.grant_types.iter().any(|g| g == grant.as_str()) {
        return Err(refused(
            "grantType",
            format!("the app does not have the {} grant", grant.as_str()),
        ));
    }
    let settings = Settings::load(services, server).await?;
    let joined = request.scopes.join(" ");
    let (subject, scope) = match grant {
        GrantType::ClientCredentials => {
            if request.user_id.is_some() {
                return Err(refused(
                    "userId",
                    "a client_credentials token is for the app itself: give no user",
                ));
            }
            if client.is_public() {
                return Err(refused(
                    "clientId",
                    "the client_credentials grant requires a confidential client",
                ));
            }
            let requested = (!request.scopes.is_empty()).then_some(joined.as_str());
            let scope = client_credentials::scope(requested, &settings.scopes)
                .map_err(because("scopes"))?;
            (None, scope)
        }
        _ => {
            let user_id = request
                .user_id
                .ok_or_else(|| refused("userId", "is required for authorization_code"))?;
            let user = match services.store.get_user(user_id).await? {
                Some(u) => u,
                None => match services.store.find_user_by_login(user_id).await? {
                    Some(u) => u,
                    None => return Err(refused("userId", "no user has this id or login")),
                },
            };
            if !user.is_active() {
                return Err(refused(
                    "userId",
                    format!("the user is {}, not ACTIVE", user.status),
                ));
            }
            crate::flows::settings::check_assigned(services, &client.client_id, &user.id)
                .await
                .map_err(because("userId"))?;
            let subject = Subject::with_groups(services, user)
                .await?
                .ok_or_else(|| refused("userId", "no user has this id"))?;
            let scope = Scope::parse(&joined).map_err(because("scopes"))?;
            settings.check_offered(&scope).map_err(because("scopes"))?;
            (Some(subject), scope)
        }
    };
    let lifetimes = match settings.evaluate(
        &client.client_id,
        grant.as_str(),
        &scope,
        subject.as_ref(),
    ) {
        Decision::Allow { lifetimes, .. } => lifetimes,
        Decision::Deny { rule_id } => {
            let name = settings
                .rules
                .iter()
                .find(|r| r.id == rule_id)
                .map_or(rule_id.as_str(), |r| r.name.as_str());
            return Err(refused(
                "policy",
                format!(
                    "{}: the access policy rule {name:?} denies this request",
                    denied()
                ),
            ));
        }
        Decision::NoMatch => {
            return Err(refused(
                "policy",
                format!(
                    "{}: no access policy rule of this server matches this app, grant, scopes and user",
                    denied()
                ),
            ));
        }
    };
    let m = Mint {
        server,
        client_id: &client.client_id,
        subject: subject.as_ref(),
        scope: &scope,
        auth_time: subject.as_ref().map(|_| now),
        nonce: None,
        now,
        access_ttl: lifetimes.access_token,
        access_jti: new_access_jti(),
        id_jti: new_id_jti(),
        dpop_jkt: None,
        delegation: None,
        amr: None,
        acr: None,
        sid: None,
    };
    let claims = mint::claims(services, &settings, &m);
    let access_token = serde_json::to_value(&claims.access)
        .map_err(|e| PreviewError::Unavailable(OAuthError::internal(&e)))?;
    Ok(Preview {
        access_token,
        id_token: claims.id,
        scopes: scope.as_slice().to_vec(),
    })
}

fn denied() -> &'static str {
    ErrorCode::AccessDenied.as_str()
}
