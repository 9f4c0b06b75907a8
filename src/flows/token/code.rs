//! `grant_type=authorization_code` (RFC 6749 §4.1.3): read the code, check it, apply
//! the access policy, mint the tokens, and only then redeem the code and store what it
//! grants (the access token's record, the refresh-token family when `offline_access`
//! was granted) in one transaction (`redeem_code`, which writes the System Log event
//! before it returns: in that transaction on PostgreSQL, just after it on SQLite). A failure
//! before that commit (a 503) leaves the code unspent, so the retry it invites
//! succeeds; a client never sees the answer of a redemption that did not commit.
//!
//! Duplicates (RFC 6749 §4.1.2, §10.5; RFC 9700 §4.2.4): of any number of concurrent
//! redemptions exactly one commits. One that read the code before that commit (it was
//! in flight at the same time: a client's or a load balancer's retry) is refused with
//! `invalid_grant` and revokes nothing, so the winner's tokens stay good. One that finds
//! the code already redeemed is a replay: refused, and everything the redemption
//! issued is revoked (the access token deny-listed, the refresh-token family revoked).
//! Because the redemption and its tokens commit together, a replay always finds all of
//! them.

use super::mint::{Mint, mint};
use super::{granted_event, refresh};
use crate::admin::policies::ACCESS_TTL_MAX;
use crate::admin::syslog;
use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::flows::Services;
use crate::flows::settings::{Settings, Subject, check_assigned};
use crate::oauth::OAuthError;
use crate::oauth::grants::authorization_code;
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::protocol::TokenResponse;
use crate::store::{AuthCode, AuthServer, Client, CodeGrant, CodeState, User};
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
    ip: Option<&str>,
    now: UnixTime,
) -> Result<(TokenResponse, Option<User>), OAuthError> {
    let hash = sha256(request.code.as_bytes());
    let row = match services.store.find_code(&hash).await? {
        CodeState::Unredeemed(row) => row,
        CodeState::NotFound => return Err(invalid()),
        CodeState::Redeemed(row) => {
            revoke_replayed(services, client, &row, now).await?;
            return Err(invalid());
        }
    };
    let granted = match prepare(services, server, client, &request, &row, dpop_jkt, ip, now).await {
        Ok(granted) => granted,
        // A redemption refused by a check spends the code all the same (one attempt
        // per code); one the database failed does not.
        Err(e) if e.status() != 503 => {
            services
                .store
                .redeem_code(&hash, &CodeGrant::default(), now)
                .await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if !services
        .store
        .redeem_code(&hash, &granted.grant, now)
        .await?
    {
        // Another redemption of this code committed while this one was in flight: a
        // duplicate, not a replay (this one read the code unredeemed). It gets nothing
        // and revokes nothing.
        tracing::warn!(client = %client.client_id, "authorization code redeemed by a concurrent request; this one refused");
        return Err(invalid());
    }
    tracing::info!(event = "app.oauth2.token.grant", grant = "authorization_code", client = %client.client_id, user = %granted.user.id, "tokens issued");
    Ok((granted.response, Some(granted.user)))
}

/// A redemption ready to commit: the answer, and what to store with the code.
struct Prepared {
    response: TokenResponse,
    grant: CodeGrant,
    user: User,
}

/// Everything before the commit: the checks, the policy, the signatures.
#[allow(clippy::too_many_arguments)]
async fn prepare(
    services: &Services,
    server: &AuthServer,
    client: &Client,
    request: &Request<'_>,
    row: &AuthCode,
    dpop_jkt: Option<&str>,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<Prepared, OAuthError> {
    let presented = authorization_code::Presented {
        server_id: &server.id,
        redirect_uri: request.redirect_uri,
        code_verifier: request.code_verifier,
    };
    authorization_code::check(row, client, &presented, now)?;
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
    let access_jti = new_access_jti();
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
            access_jti: access_jti.clone(),
            id_jti: new_id_jti(),
            dpop_jkt,
            delegation: None,
            amr: row.amr.as_deref(),
            acr: row.acr.as_deref(),
            sid: row.sid.as_deref(),
        },
    )
    .await?;
    let refresh = refresh::offered(client, &scope).then(|| {
        let (value, family, first) = refresh::new_family(
            refresh::NewFamily {
                id: random_token(),
                server,
                client,
                user_id: &subject.user.id,
                scope: &scope,
                auth_time: row.auth_time,
                access_jti: access_jti.clone(),
                lifetimes,
                dpop_jkt: refresh::bound_key(client, dpop_jkt),
                sid: row.sid.clone(),
                amr: row.amr.clone(),
                acr: row.acr.clone(),
            },
            now,
        );
        response.refresh_token = Some(value);
        (family, first)
    });
    let (actor, event) = granted_event(
        server,
        client,
        Some(&subject.user),
        ip,
        "authorization_code",
    );
    let grant = CodeGrant {
        access_jti: Some(access_jti),
        // The code's row, which a replay reads to revoke these, is kept (by the janitor)
        // while this lasts: the longest access token a policy allows.
        access_expires_at: Some(now + ACCESS_TTL_MAX),
        refresh,
        event: Some(syslog::row(&actor, &event, now)),
    };
    Ok(Prepared {
        response,
        grant,
        user: subject.user,
    })
}

/// A replay: the code was redeemed before this request read it. Revokes what that
/// redemption issued (all of it was committed with the redemption).
async fn revoke_replayed(
    services: &Services,
    client: &Client,
    row: &AuthCode,
    now: UnixTime,
) -> Result<(), OAuthError> {
    if let (Some(jti), Some(expires_at)) = (&row.access_jti, row.access_expires_at) {
        services.store.revoke_access_token(jti, expires_at).await?;
    }
    if let Some(family) = &row.family_id {
        services.store.revoke_family(family, now).await?;
    }
    tracing::warn!(client = %client.client_id, "authorization code replayed; tokens from it revoked");
    Ok(())
}
