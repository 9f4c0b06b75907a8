//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4, §3.5):
//! the device polls with its device code. The poll is recorded first, in one statement
//! that also decides `slow_down` (`poll_device_code`); the row as it left it is
//! answered by `oauth::grants::device_code::check_poll`. An approved request is checked
//! as a code is (the user still active and assigned, the access policy for this grant
//! type), the tokens are minted, and only then is the request redeemed with what it
//! grants in one transaction (`redeem_device_code`): of any number of polls at once, on
//! any number of instances, exactly one commits and gets the tokens; every later poll
//! finds it `REDEEMED` and gets `invalid_grant`.

use super::mint::{Mint, mint};
use super::{granted_event, refresh};
use crate::admin::syslog;
use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::flows::Services;
use crate::flows::settings::{Settings, Subject, check_assigned};
use crate::oauth::OAuthError;
use crate::oauth::grants::device_code::{self, GRANT_TYPE};
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::protocol::TokenResponse;
use crate::store::{AuthServer, Client, CodeGrant, DeviceCode, User};
use crate::tokens::claims::{new_access_jti, new_id_jti};

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("The device code is invalid or has already been used.")
}

/// The parameters of a poll (RFC 8628 §3.4).
pub struct Request<'a> {
    pub device_code: &'a str,
}

impl<'a> Request<'a> {
    pub fn from_params(params: &'a Params) -> Result<Self, OAuthError> {
        Ok(Request {
            device_code: params.required("device_code")?,
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
    let hash = sha256(request.device_code.as_bytes());
    // Another client's or another server's code is not found: one answer for both.
    let row = services
        .store
        .poll_device_code(&hash, &client.client_id, &server.id, now)
        .await?
        .ok_or_else(invalid)?;
    let approved = device_code::check_poll(&row, now)?;
    let prepared = match prepare(services, server, client, &row, &approved, dpop_jkt, ip, now).await
    {
        Ok(prepared) => prepared,
        // Refused by a check after the user's approval (the user deactivated or
        // unassigned, the policy changed): the request is spent, as a code would be.
        Err(e) if e.status() != 503 => {
            services
                .store
                .redeem_device_code(&hash, &CodeGrant::default(), now)
                .await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if !services
        .store
        .redeem_device_code(&hash, &prepared.grant, now)
        .await?
    {
        // Another poll (on this instance or another) redeemed it while this one was in
        // flight: it gets nothing.
        tracing::warn!(client = %client.client_id, "device code redeemed by a concurrent poll; this one refused");
        return Err(invalid());
    }
    tracing::info!(event = "app.oauth2.token.grant", grant = GRANT_TYPE, client = %client.client_id, user = %prepared.user.id, "tokens issued");
    Ok((prepared.response, Some(prepared.user)))
}

struct Prepared {
    response: TokenResponse,
    grant: CodeGrant,
    user: User,
}

#[allow(clippy::too_many_arguments)]
async fn prepare(
    services: &Services,
    server: &AuthServer,
    client: &Client,
    row: &DeviceCode,
    approved: &device_code::Approved,
    dpop_jkt: Option<&str>,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<Prepared, OAuthError> {
    let subject = Subject::load(services, &approved.user_id)
        .await?
        .ok_or_else(invalid)?;
    check_assigned(services, &client.client_id, &subject.user.id).await?;
    let scope = Scope::parse(&row.scope)?;
    let settings = Settings::load(services, server).await?;
    settings.check_offered(&scope)?;
    let lifetimes = settings.decide(&client.client_id, GRANT_TYPE, &scope, Some(&subject))?;
    let access_jti = new_access_jti();
    let mut response = mint(
        services,
        &settings,
        Mint {
            server,
            client_id: &client.client_id,
            subject: Some(&subject),
            scope: &scope,
            auth_time: Some(approved.auth_time),
            nonce: None,
            now,
            access_ttl: lifetimes.access_token,
            access_jti: access_jti.clone(),
            id_jti: new_id_jti(),
            dpop_jkt,
            delegation: None,
            amr: None,
            acr: None,
            sid: None,
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
                auth_time: approved.auth_time,
                access_jti: access_jti.clone(),
                lifetimes,
                dpop_jkt: refresh::bound_key(client, dpop_jkt),
                sid: None,
                amr: None,
                acr: None,
            },
            now,
        );
        response.refresh_token = Some(value);
        (family, first)
    });
    let (actor, event) = granted_event(server, client, Some(&subject.user), ip, GRANT_TYPE);
    let grant = CodeGrant {
        access_jti: Some(access_jti),
        access_expires_at: Some(now + lifetimes.access_token),
        refresh,
        event: Some(syslog::row(&actor, &event, now)),
    };
    Ok(Prepared {
        response,
        grant,
        user: subject.user,
    })
}
