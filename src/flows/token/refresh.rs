//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection; the
//! rules are in `oauth::grants::refresh_token`.
//!
//! Family semantics: every refresh token descends from one code redemption (its
//! family). A use rotates the token in one statement; the successor's value is derived
//! from the presented token with a server key, so it is never stored in clear and a
//! retry inside the client's grace period recomputes the very same answer (same refresh
//! token, byte-identical access and ID tokens). Any other second use of a rotated token,
//! including the losers of a race when the grace period is 0 (the default), revokes the
//! family and every access token minted from it.

use super::mint::{Mint, mint};
use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::flows::Services;
use crate::flows::settings::{Settings, Subject, check_assigned};
use crate::oauth::OAuthError;
use crate::oauth::grants::refresh_token::{self, Replay};
use crate::oauth::params::Params;
use crate::oauth::policy::Lifetimes;
use crate::oauth::scope::Scope;
use crate::protocol::TokenResponse;
use crate::store::{AuthServer, Client, RefreshFamily, RefreshToken, Rotation, User};

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("The refresh token is invalid or expired.")
}

/// A refresh token comes with `offline_access`, for an app that has the grant.
pub fn offered(client: &Client, scope: &Scope) -> bool {
    scope.contains("offline_access") && client.grant_types.iter().any(|g| g == "refresh_token")
}

pub struct NewFamily<'a> {
    pub id: String,
    pub server: &'a AuthServer,
    pub client: &'a Client,
    pub user_id: &'a str,
    pub scope: &'a Scope,
    pub auth_time: UnixTime,
    /// The access token minted with the first refresh token.
    pub access_jti: String,
    pub lifetimes: Lifetimes,
    /// The DPoP key the family is bound to (`bound_key`).
    pub dpop_jkt: Option<String>,
    /// The session the grant was made in (`AuthCode::sid`).
    pub sid: Option<String>,
    /// What the sign-in proved and the `acr` it met (`AuthCode::amr`, `AuthCode::acr`).
    pub amr: Option<Vec<String>>,
    pub acr: Option<String>,
}

/// RFC 9449 §5: a public client's refresh tokens are bound to the DPoP key they were
/// issued with (a confidential client's are bound to its authentication already).
pub fn bound_key(client: &Client, dpop_jkt: Option<&str>) -> Option<String> {
    dpop_jkt.filter(|_| client.is_public()).map(str::to_string)
}

/// A new family and its first token, to be stored with the code redemption that
/// starts it; and the token's value.
pub fn new_family(f: NewFamily<'_>, now: UnixTime) -> (String, RefreshFamily, RefreshToken) {
    let value = random_token();
    let family = RefreshFamily {
        id: f.id,
        server_id: f.server.id.clone(),
        client_id: f.client.client_id.clone(),
        user_id: f.user_id.to_string(),
        scope: f.scope.to_string(),
        auth_time: f.auth_time,
        created_at: now,
        expires_at: f.lifetimes.refresh_token.map(|t| now + t),
        last_used_at: now,
        revoked_at: None,
        dpop_jkt: f.dpop_jkt,
        sid: f.sid,
        amr: f.amr,
        acr: f.acr,
    };
    let first = RefreshToken {
        token_hash: sha256(value.as_bytes()),
        family_id: family.id.clone(),
        scope: family.scope.clone(),
        issued_at: now,
        idle_expires_at: f.lifetimes.refresh_idle.map(|t| now + t),
        rotated_at: None,
        successor_hash: None,
        access_jti: Some(f.access_jti),
        access_expires_at: Some(now + f.lifetimes.access_token),
    };
    (value, family, first)
}

/// The parameters of a refresh (RFC 6749 §6).
pub struct Request<'a> {
    pub refresh_token: &'a str,
    pub scope: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub fn from_params(params: &'a Params) -> Result<Self, OAuthError> {
        Ok(Request {
            refresh_token: params.required("refresh_token")?,
            scope: params.one("scope")?,
        })
    }
}

pub async fn grant(
    services: &Services,
    server: &AuthServer,
    client: &Client,
    request: Request<'_>,
    dpop_jkt: Option<&str>,
    now: UnixTime,
) -> Result<(TokenResponse, Option<User>), OAuthError> {
    let presented = request.refresh_token;
    let hash = sha256(presented.as_bytes());
    let (token, family) = services
        .store
        .find_refresh(&hash)
        .await?
        .ok_or_else(invalid)?;
    refresh_token::check(&token, &family, client, &server.id, now)?;
    // RFC 9449 §5: a bound family is refreshed only with a proof of its key.
    if let Some(bound) = &family.dpop_jkt
        && dpop_jkt != Some(bound.as_str())
    {
        return Err(OAuthError::new(
            crate::oauth::ErrorCode::InvalidDpopProof,
            "The refresh token is bound to a DPoP key; a proof of that key is required.",
        ));
    }
    let scope = refresh_token::scope(request.scope, &family.scope)?;
    let subject = Subject::load(services, &family.user_id)
        .await?
        .ok_or_else(invalid)?;
    check_assigned(services, &client.client_id, &subject.user.id).await?;
    let settings = Settings::load(services, server).await?;
    // A scope the server no longer offers is not granted again.
    settings.check_offered(&scope)?;
    // A refresh is evaluated as the grant that started its family.
    let lifetimes = settings.decide(
        &client.client_id,
        "authorization_code",
        &scope,
        Some(&subject),
    )?;
    let successor_value = services.master.derive_from_token(presented, "next");
    let answer = Answer {
        services,
        settings: &settings,
        server,
        client,
        subject: &subject,
        family: &family,
        dpop_jkt,
    };

    if token.rotated_at.is_none() {
        let successor = RefreshToken {
            token_hash: sha256(successor_value.as_bytes()),
            family_id: family.id.clone(),
            scope: scope.to_string(),
            issued_at: now,
            idle_expires_at: lifetimes.refresh_idle.map(|t| now + t),
            rotated_at: None,
            successor_hash: None,
            access_jti: Some(answer.access_jti(&successor_value)),
            access_expires_at: Some(now + lifetimes.access_token),
        };
        match services
            .store
            .rotate_refresh(&family.id, &hash, &successor, now)
            .await?
        {
            Rotation::Rotated => {
                return answer
                    .send(&successor, successor_value)
                    .await
                    .map(|r| (r, Some(subject.user.clone())));
            }
            Rotation::Revoked => return Err(invalid()),
            // Another request rotated it first: judge this one as a replay.
            Rotation::AlreadyRotated => {}
        }
    }
    let (token, _) = services
        .store
        .find_refresh(&hash)
        .await?
        .ok_or_else(invalid)?;
    let successor = match &token.successor_hash {
        Some(h) => services.store.find_refresh(h).await?,
        None => None,
    };
    // The stored successor must be the one this token derives (it always is, unless
    // the master key changed since): only then can the same answer be given again.
    let successor = successor.filter(|(t, _)| t.token_hash == sha256(successor_value.as_bytes()));
    let unused = successor
        .as_ref()
        .is_some_and(|(t, f)| t.rotated_at.is_none() && f.revoked_at.is_none());
    match (
        refresh_token::replay(&token, client, unused, now),
        successor,
    ) {
        (Replay::Retry, Some((successor, _))) => answer
            .send(&successor, successor_value)
            .await
            .map(|r| (r, Some(subject.user.clone()))),
        _ => {
            services.store.revoke_family(&family.id, now).await?;
            tracing::warn!(client = %client.client_id, family = %family.id, "refresh token reused; its family is revoked");
            Err(invalid())
        }
    }
}

/// The answer to a rotation, computed only from the successor's row and value: the
/// same inputs give the same claims and `jti`s (with RS256 byte for byte; an ES256
/// signature differs each time, but both tokens name the one `jti` revocation covers).
struct Answer<'a> {
    services: &'a Services,
    settings: &'a Settings,
    server: &'a AuthServer,
    client: &'a Client,
    subject: &'a Subject,
    family: &'a RefreshFamily,
    dpop_jkt: Option<&'a str>,
}

impl Answer<'_> {
    fn access_jti(&self, successor_value: &str) -> String {
        format!(
            "AT.{}",
            self.services
                .master
                .derive_from_token(successor_value, "at")
        )
    }

    async fn send(
        &self,
        successor: &RefreshToken,
        value: String,
    ) -> Result<TokenResponse, OAuthError> {
        let access_ttl = successor
            .access_expires_at
            .map_or(0, |exp| exp - successor.issued_at);
        // The scope recorded at rotation, not a retry's: the same answer whatever it asks.
        let scope = Scope::parse(&successor.scope).map_err(|_| invalid())?;
        let mut response = mint(
            self.services,
            self.settings,
            Mint {
                server: self.server,
                client_id: &self.client.client_id,
                subject: Some(self.subject),
                scope: &scope,
                auth_time: Some(self.family.auth_time),
                nonce: None,
                now: successor.issued_at,
                access_ttl,
                access_jti: self.access_jti(&value),
                id_jti: format!(
                    "ID.{}",
                    self.services.master.derive_from_token(&value, "id")
                ),
                dpop_jkt: self.dpop_jkt,
                delegation: None,
                amr: self.family.amr.as_deref(),
                acr: self.family.acr.as_deref(),
                sid: self.family.sid.as_deref(),
            },
        )
        .await?;
        response.refresh_token = Some(value);
        tracing::info!(event = "app.oauth2.token.grant", grant = "refresh_token", client = %self.client.client_id, user = %self.subject.user.id, "tokens issued");
        Ok(response)
    }
}
