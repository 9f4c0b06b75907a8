//! `/oauth2/{server}/v1/revoke` (RFC 7009): a client revokes one of its tokens. A
//! refresh token ends its whole family and the access tokens minted from it (§2.1); an
//! access token's `jti` goes on the deny list until it expires. An unknown, invalid or
//! expired token is answered 200 like a revoked one (§2.2), so the endpoint tells
//! nothing about tokens; a token of another client is refused.

use crate::clock::UnixTime;
use crate::crypto::sha256;
use crate::flows::Services;
use crate::flows::access_token::{self, AccessTokenProblem};
use crate::flows::client_auth::{self, Credentials};
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::{AuthServer, Client};

/// RFC 7009 §2.1: "the request is refused and the client is informed of the error".
fn not_yours() -> OAuthError {
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        "The token was not issued to this client.",
    )
}

/// A revocation request to `server`: its form and the client's credentials outside it.
pub struct RevokeRequest<'a> {
    pub server: &'a AuthServer,
    pub params: &'a Params,
    pub credentials: Credentials<'a>,
}

/// Revokes the token named in `request` if it is this client's; an unknown one is no
/// error (§2.2).
pub async fn revoke(
    services: &Services,
    request: &RevokeRequest<'_>,
    now: UnixTime,
) -> Result<(), OAuthError> {
    let RevokeRequest { server, params, .. } = *request;
    let client = client_auth::authenticate(
        services,
        server,
        &request.credentials,
        params,
        "revoke",
        now,
    )
    .await?;
    let token = params.required("token")?;
    // §2.1: the hint only orders the search; an unknown hint is ignored.
    let refresh_first = params.one("token_type_hint")? == Some("refresh_token");
    if refresh_first {
        if revoke_refresh(services, server, &client, token, now).await? {
            return Ok(());
        }
        revoke_access(services, server, &client, token, now).await?;
    } else if !revoke_access(services, server, &client, token, now).await? {
        revoke_refresh(services, server, &client, token, now).await?;
    }
    Ok(())
}

/// True when the token was one of this server's access tokens.
async fn revoke_access(
    services: &Services,
    server: &AuthServer,
    client: &Client,
    token: &str,
    now: UnixTime,
) -> Result<bool, OAuthError> {
    if !token.contains('.') {
        return Ok(false);
    }
    let at = match access_token::verify(services, server, token, now).await {
        Ok(at) => at,
        Err(AccessTokenProblem::Failed(e)) => return Err(e),
        Err(AccessTokenProblem::Invalid) => return Ok(false),
        // Expired or revoked already: nothing left to do.
        Err(AccessTokenProblem::Expired | AccessTokenProblem::Revoked) => return Ok(true),
    };
    if at.cid != client.client_id {
        return Err(not_yours());
    }
    services.store.revoke_access_token(&at.jti, at.exp).await?;
    tracing::info!(event = "app.oauth2.as.token.revoke", client = %client.client_id, "access token revoked");
    Ok(true)
}

/// True when the token was one of this server's refresh tokens.
async fn revoke_refresh(
    services: &Services,
    server: &AuthServer,
    client: &Client,
    token: &str,
    now: UnixTime,
) -> Result<bool, OAuthError> {
    let found = services
        .store
        .find_refresh(&sha256(token.as_bytes()))
        .await?;
    let Some((_, family)) = found.filter(|(_, f)| f.server_id == server.id) else {
        return Ok(false);
    };
    if family.client_id != client.client_id {
        return Err(not_yours());
    }
    services.store.revoke_family(&family.id, now).await?;
    tracing::info!(event = "app.oauth2.as.token.revoke", client = %client.client_id, family = %family.id, "refresh token family revoked");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::{RevokeRequest, revoke};
    use crate::flows::client_auth::Credentials;
    use crate::flows::introspect::{IntrospectRequest, introspect};
    use crate::flows::testing::fixture;
    use crate::flows::token::{TokenRequest, exchange};
    use crate::oauth::params::Params;

    /// A client credentials token is active until its client revokes it; another
    /// client may not revoke it.
    #[tokio::test]
    async fn a_revoked_access_token_is_inactive() {
        let mut f = fixture().await;
        f.scope("api:read").await;
        let (client, secret) = f.app(&["client_credentials"]).await;
        let (other, other_secret) = f.app(&["client_credentials"]).await;
        let auth = |c: &crate::store::Client, s: &str, rest: &[(&str, &str)]| {
            let mut pairs = vec![
                ("client_id", c.client_id.clone()),
                ("client_secret", s.to_string()),
            ];
            pairs.extend(rest.iter().map(|(k, v)| (*k, v.to_string())));
            Params::from_pairs(pairs)
        };
        let params = auth(
            &client,
            &secret,
            &[("grant_type", "client_credentials"), ("scope", "api:read")],
        );
        let request = TokenRequest {
            server: &f.server,
            params: &params,
            credentials: Credentials::default(),
            dpop: Default::default(),
        };
        let token = exchange(&f.services, &request, f.now)
            .await
            .unwrap()
            .tokens
            .access_token;
        let ask = auth(&client, &secret, &[("token", &token)]);
        let question = IntrospectRequest {
            server: &f.server,
            params: &ask,
            credentials: Credentials::default(),
        };
        assert!(
            introspect(&f.services, &question, f.now)
                .await
                .unwrap()
                .active
        );

        let foreign = auth(&other, &other_secret, &[("token", &token)]);
        let refused = RevokeRequest {
            server: &f.server,
            params: &foreign,
            credentials: Credentials::default(),
        };
        let e = revoke(&f.services, &refused, f.now).await.unwrap_err();
        assert_eq!((e.code(), e.status()), ("unauthorized_client", 400));

        let own = RevokeRequest {
            server: &f.server,
            params: &ask,
            credentials: Credentials::default(),
        };
        revoke(&f.services, &own, f.now).await.unwrap();
        assert!(
            !introspect(&f.services, &question, f.now)
                .await
                .unwrap()
                .active
        );
    }
}
