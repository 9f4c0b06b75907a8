//! Checking one of our access tokens, as userinfo, introspection and revocation do.

use crate::clock::UnixTime;
use crate::flows::Services;
use crate::oauth::OAuthError;
use crate::store::AuthServer;
use crate::tokens::claims::AccessTokenClaims;

/// Why an access token was not accepted.
pub enum AccessTokenProblem {
    /// Not ours: malformed, forged, another server's or issuer's, or not an access token.
    Invalid,
    Expired,
    Revoked,
    /// The store or the keys could not be read: never an answer about the token.
    Failed(OAuthError),
}

/// Verifies an access token of `server`: the signature by one of the server's keys,
/// `iss` and `aud` the server's, an access token (`AT.` id), not expired at `now`,
/// and not on the deny list. Nothing else is looked up.
pub async fn verify(
    services: &Services,
    server: &AuthServer,
    token: &str,
    now: UnixTime,
) -> Result<AccessTokenClaims, AccessTokenProblem> {
    let at = verify_signed(services, server, token, now).await?;
    match services.store.is_access_token_revoked(&at.jti).await {
        Ok(true) => Err(AccessTokenProblem::Revoked),
        Ok(false) => Ok(at),
        Err(e) => Err(AccessTokenProblem::Failed(e.into())),
    }
}

/// `verify` without the deny list, for a caller that reads it with its other rows
/// (`store::IntrospectionStore`): the token is not accepted until it has.
pub async fn verify_signed(
    services: &Services,
    server: &AuthServer,
    token: &str,
    now: UnixTime,
) -> Result<AccessTokenClaims, AccessTokenProblem> {
    let ring = services
        .keys
        .for_token(&server.id, token, now)
        .await
        .map_err(|e| AccessTokenProblem::Failed(e.into()))?;
    let (_, at): (_, AccessTokenClaims) =
        crate::tokens::jwt::verify(token, &ring).map_err(|_| AccessTokenProblem::Invalid)?;
    if at.iss != services.issuer(server)
        || at.aud != services.audience(server)
        || !at.jti.starts_with("AT.")
    {
        return Err(AccessTokenProblem::Invalid);
    }
    if now >= at.exp {
        return Err(AccessTokenProblem::Expired);
    }
    Ok(at)
}
