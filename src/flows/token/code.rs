//! `grant_type=authorization_code` (RFC 6749 §4.1.3): redeem the code (one atomic
//! statement), check it, apply the access policy, mint the tokens, and start a
//! refresh-token family when `offline_access` was granted. A code presented again
//! revokes what its first redemption issued (§4.1.2, RFC 9700 §4.2.4).

use super::mint::{Mint, mint};
use super::refresh;
use crate::admin::policies::ACCESS_TTL_MAX;
use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::flows::Services;
use crate::flows::settings::{Settings, Subject, check_assigned};
use crate::oauth::OAuthError;
use crate::oauth::grants::authorization_code;
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::protocol::TokenResponse;
use crate::store::{AuthServer, Client, IssuedAccess, Redemption, User};
use crate::tokens::claims::{new_access_jti, new_id_jti};

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("The authorization code is invalid or has expired.")
}

/// The parameters of a code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5).
pub struct Request<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub fn from_params(params: &'a Params) -> Result<Self, OAuthError> {
        Ok(Request {
            code: params.required("code")?,
            redirect_uri: params.one("redirect_uri")?,
            code_verifier: params.one("code_verifier")?,
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
    let code = request.code;
    // Recorded with the redemption so a replay can revoke them. The access token's
    // lifetime is not known until the policy is read; the longest a policy allows
    // bounds how long the deny-list entry must last.
    let access = IssuedAccess {
        jti: new_access_jti(),
        expires_at: now + ACCESS_TTL_MAX,
        family_id: random_token(),
    };
    let row = match services
        .store
        .redeem_code(&sha256(code.as_bytes()), &access, now)
        .await?
    {
        Redemption::Redeemed(row) => row,
        Redemption::NotFound => return Err(invalid()),
        Redemption::AlreadyRedeemed(row) => {
            if let (Some(jti), Some(expires_at)) = (&row.access_jti, row.access_expires_at) {
                services.store.revoke_access_token(jti, expires_at).await?;
            }
            if let Some(family) = &row.family_id {
                services.store.revoke_family(family, now).await?;
            }
            tracing::warn!(client = %client.client_id, "authorization code replayed; tokens from it revoked");
            return Err(invalid());
        }
    };
    let presented = authorization_code::Presented {
        server_id: &server.id,
        redirect_uri: request.redirect_uri,
        code_verifier: request.code_verifier,
    };
    authorization_code::check(&row, client, &presented, now)?;
    // RFC 9449 §10: a code bound at /authorize is redeemed only with a proof of that key.
    if let Some(bound) = &row.dpop_jkt
        && dpop_jkt != Some(bound.as_str())
    {
        return Err(OAuthError::invalid_grant(
            "The DPoP proof does not use the key the authorization code is bound to.",
        ));
    }

    let subject = Subject::load(services, &row.user_id)
        .await?
        .ok_or_else(invalid)?;
    check_assigned(services, &client.client_id, &subject.user.id).await?;
    let scope = Scope::parse(&row.scope)?;
    let settings = Settings::load(services, server).await?;
    let lifetimes = settings.decide(
        &client.client_id,
        "authorization_code",
        &scope,
        Some(&subject),
    )?;
    let mut response = mint(
        services,
        &settings,
        Mint {
            server,
            client_id: &client.client_id,
            subject: Some(&subject),
            scope: &scope,
            auth_time: Some(row.auth_time),
            nonce: row.nonce.as_deref(),
            now,
            access_ttl: lifetimes.access_token,
            access_jti: access.jti.clone(),
            id_jti: new_id_jti(),
            dpop_jkt,
        },
    )
    .await?;
    if refresh::offered(client, &scope) {
        let family = refresh::NewFamily {
            id: access.family_id,
            server,
            client,
            user_id: &subject.user.id,
            scope: &scope,
            auth_time: row.auth_time,
            access_jti: access.jti.clone(),
            lifetimes,
            dpop_jkt: refresh::bound_key(client, dpop_jkt),
        };
        let family_id = family.id.clone();
        let refresh_token = refresh::start_family(services, family, now).await?;
        // A replay of this code that arrived while the tokens were minted revoked the
        // access token first and then the family, which may not have existed yet. The
        // replay's deny-list entry is committed before its family revocation, so either
        // this check sees it, or that revocation sees the family inserted above.
        if services.store.is_access_token_revoked(&access.jti).await? {
            services.store.revoke_family(&family_id, now).await?;
            return Err(invalid());
        }
        response.refresh_token = Some(refresh_token);
    }
    tracing::info!(event = "app.oauth2.token.grant", grant = "authorization_code", client = %client.client_id, user = %subject.user.id, "tokens issued");
    Ok((response, Some(subject.user)))
}
