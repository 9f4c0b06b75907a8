//! Checking one of our access tokens, as userinfo, introspection and revocation do.

use crate::clock::UnixTime;
use crate::crypto::sha256_array;
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
    let digest = sha256_array(token.as_bytes());
    let at = match ring.verified_access(&digest) {
        Some(at) => at,
        None => {
            let (_, at): (_, AccessTokenClaims) = crate::tokens::jwt::verify(token, &ring)
                .map_err(|_| AccessTokenProblem::Invalid)?;
            ring.remember_access(digest, &at);
            at
        }
    };
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

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::crypto::b64url;
    use crate::flows::testing::fixture;
    use crate::tokens::jwt;

    /// A token verified once is taken from its ring's memo the next time, and only its
    /// signature's verdict is: the same signature under other claims is refused, and
    /// expiry, issuer and audience are checked at every use.
    #[tokio::test]
    async fn a_verified_signature_is_remembered_and_nothing_else_is() {
        let f = fixture().await;
        let (services, mut server, now) = (&f.services, f.server.clone(), f.now);
        let ring = services.keys.get(&server.id, now).await.unwrap();
        let claims = AccessTokenClaims {
            ver: 1,
            jti: "AT.memo".into(),
            iss: services.issuer(&server),
            aud: services.audience(&server),
            iat: now,
            exp: now + 60,
            cid: "0oa1".into(),
            client_id: "0oa1".into(),
            uid: None,
            scp: vec!["openid".into()],
            scope: "openid".into(),
            auth_time: None,
            sub: "0oa1".into(),
            cnf: None,
            act: None,
            extra: Map::new(),
        };
        let token = jwt::sign(
            &ring.signing,
            Some("application/okta-internal-at+jwt"),
            &claims,
        );
        let digest = sha256_array(token.as_bytes());
        assert!(ring.verified_access(&digest).is_none());
        let first = verify_signed(services, &server, &token, now)
            .await
            .ok()
            .unwrap();
        assert_eq!(ring.verified_access(&digest), Some(first.clone()));
        let again = verify_signed(services, &server, &token, now)
            .await
            .ok()
            .unwrap();
        assert_eq!(again, first);

        // The remembered signature beside another payload: another token, refused.
        let parts: Vec<&str> = token.split('.').collect();
        let other = AccessTokenClaims {
            scope: "openid admin".into(),
            ..claims.clone()
        };
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64url(serde_json::to_string(&other).unwrap().as_bytes()),
            parts[2]
        );
        assert!(matches!(
            verify_signed(services, &server, &forged, now).await,
            Err(AccessTokenProblem::Invalid)
        ));
        // Expiry and the server's audience, checked on the remembered claims.
        assert!(matches!(
            verify_signed(services, &server, &token, now + 60).await,
            Err(AccessTokenProblem::Expired)
        ));
        server.audience = Some("api://another".into());
        assert!(matches!(
            verify_signed(services, &server, &token, now).await,
            Err(AccessTokenProblem::Invalid)
        ));
    }
}
