//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693), Okta's
//! on-behalf-of token exchange ("Set up OAuth 2.0 On-Behalf-Of Token Exchange"): a
//! confidential client with the grant presents a user's access token — issued by this
//! server or by a server this one trusts (Okta's trusted servers,
//! `admin::trusted_servers`) — and gets an access token of this server for the same
//! user (`sub` and `uid` unchanged), with the scopes this server's policy rule for
//! token exchange allows that client, and `act` naming the client (§4.1). The rules
//! without I/O are in `oauth::grants::token_exchange`.
//!
//! The subject token must verify (signature, `iss` and `aud` of its server, an access
//! token, not expired, not revoked), carry a user who is still active, and not be
//! DPoP-bound (RFC 9449: only the holder of its key may use it, which the exchanging
//! client is not). No refresh token and no ID token are issued.

use super::mint::{Delegation, Mint, mint};
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::access_token::{self, AccessTokenProblem};
use crate::flows::settings::{Settings, Subject};
use crate::oauth::grants::GrantType;
use crate::oauth::grants::token_exchange::{self, ACCESS_TOKEN_TYPE, Params as ExchangeParams};
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::protocol::TokenResponse;
use crate::store::{AuthServer, Client, Status, User};
use crate::tokens::claims::{AccessTokenClaims, new_access_jti};

/// The parameters of a token exchange (RFC 8693 §2.1).
pub struct Request<'a> {
    pub exchange: ExchangeParams<'a>,
    pub scope: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub fn from_params(params: &'a Params) -> Result<Self, OAuthError> {
        Ok(Request {
            exchange: ExchangeParams {
                subject_token: params.one("subject_token")?,
                subject_token_type: params.one("subject_token_type")?,
                actor_token: params.one("actor_token")?,
                actor_token_type: params.one("actor_token_type")?,
                requested_token_type: params.one("requested_token_type")?,
                audience: params.one("audience")?,
                resource: params.one("resource")?,
            },
            scope: params.one("scope")?,
        })
    }
}

fn invalid_subject(why: &'static str) -> OAuthError {
    OAuthError::invalid_request(why)
}

pub async fn grant(
    services: &Services,
    server: &AuthServer,
    client: &Client,
    request: Request<'_>,
    dpop_jkt: Option<&str>,
    now: UnixTime,
) -> Result<(TokenResponse, Option<User>), OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "Token exchange requires a confidential client.",
        ));
    }
    let audience = services.audience(server);
    let subject_token = token_exchange::check(&request.exchange, &audience)?;
    let subject_claims = subject_token_claims(services, server, subject_token, now).await?;
    if subject_claims.cnf.is_some() {
        return Err(invalid_subject(
            "The subject_token is bound to a DPoP key and cannot be exchanged.",
        ));
    }
    let Some(user_id) = subject_claims.uid.as_deref() else {
        return Err(invalid_subject(
            "The subject_token has no user: only a token issued for a user can be exchanged.",
        ));
    };
    let subject = Subject::load(services, user_id)
        .await?
        .ok_or_else(|| invalid_subject("The subject_token's user is not active."))?;
    let settings = Settings::load(services, server).await?;
    let scope = token_exchange::scope(request.scope, &settings.scopes)?;
    let lifetimes = settings.decide(
        &client.client_id,
        GrantType::TokenExchange.as_str(),
        &scope,
        Some(&subject),
    )?;
    let prior = subject_claims.act.as_ref();
    let mut response = mint(
        services,
        &settings,
        Mint {
            amr: None,
            acr: None,
            server,
            client_id: &client.client_id,
            subject: Some(&subject),
            scope: &scope,
            auth_time: subject_claims.auth_time,
            nonce: None,
            now,
            access_ttl: lifetimes.access_token,
            access_jti: new_access_jti(),
            id_jti: String::new(),
            dpop_jkt,
            sid: None,
            delegation: Some(Delegation {
                sub: subject_claims.sub.clone(),
                act: token_exchange::act(&client.client_id, prior),
            }),
        },
    )
    .await?;
    response.issued_token_type = Some(ACCESS_TOKEN_TYPE);
    tracing::info!(event = "app.oauth2.token.grant", grant = "token_exchange", client = %client.client_id, user = %subject.user.id, "token issued on behalf of a user");
    Ok((response, Some(subject.user)))
}

/// The subject token's claims, verified as an access token of `server` or of one of
/// the active servers `server` trusts. A token of any other server, or not a token at
/// all, is `invalid_request` (RFC 8693 §2.2.2), as are expired and revoked ones.
async fn subject_token_claims(
    services: &Services,
    server: &AuthServer,
    token: &str,
    now: UnixTime,
) -> Result<AccessTokenClaims, OAuthError> {
    let mut candidates = vec![server.clone()];
    for id in services.store.trusted_servers(&server.id).await? {
        if let Some(trusted) = services.store.get_server(&id).await?
            && trusted.status == Status::Active
        {
            candidates.push(trusted);
        }
    }
    for candidate in &candidates {
        match access_token::verify(services, candidate, token, now).await {
            Ok(claims) => return Ok(claims),
            Err(AccessTokenProblem::Invalid) => continue,
            Err(AccessTokenProblem::Expired) => {
                return Err(invalid_subject("The subject_token is expired."));
            }
            Err(AccessTokenProblem::Revoked) => {
                return Err(invalid_subject("The subject_token is revoked."));
            }
            Err(AccessTokenProblem::Failed(e)) => return Err(e),
        }
    }
    Err(invalid_subject(
        "The subject_token is invalid: not an access token issued by this authorization server or one it trusts.",
    ))
}
