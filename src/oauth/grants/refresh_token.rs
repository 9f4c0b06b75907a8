//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700
//! §4.14.2): every use rotates the token; a rotated token presented again revokes its
//! whole family, unless it is a retry inside the client's grace period (0-60 s, Okta's
//! "grace period for token rotation") while the successor is still unused, which gets
//! the same answer again.

use super::super::OAuthError;
use super::super::scope::Scope;
use crate::clock::UnixTime;
use crate::store::{Client, RefreshFamily, RefreshToken};

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("The refresh token is invalid or expired.")
}

/// RFC 6749 §6: the token was issued to this client, by this server, and is still
/// alive: family not revoked, within its absolute lifetime and its idle window.
pub fn check(
    token: &RefreshToken,
    family: &RefreshFamily,
    client: &Client,
    server_id: &str,
    now: UnixTime,
) -> Result<(), OAuthError> {
    if family.client_id != client.client_id || family.server_id != server_id {
        return Err(invalid());
    }
    if family.revoked_at.is_some() {
        return Err(invalid());
    }
    if family.expires_at.is_some_and(|t| now >= t) {
        return Err(invalid());
    }
    // The idle window counts from the token's own issue; a rotated token's window
    // no longer matters (its successor's does).
    if token.rotated_at.is_none() && token.idle_expires_at.is_some_and(|t| now >= t) {
        return Err(invalid());
    }
    Ok(())
}

/// RFC 6749 §6: the requested scope must not include any scope not originally granted;
/// when omitted, it is the original one.
pub fn scope(requested: Option<&str>, granted: &str) -> Result<Scope, OAuthError> {
    let granted = Scope::parse(granted).map_err(|_| invalid())?;
    let Some(requested) = requested else {
        return Ok(granted);
    };
    let requested = Scope::parse(requested)?;
    if requested.iter().all(|s| granted.contains(s)) {
        Ok(requested)
    } else {
        Err(OAuthError::invalid_scope(
            "The requested scope exceeds the scope granted by the resource owner.",
        ))
    }
}

/// What a rotated token presented again means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// A retry inside the grace period, with the successor unused: answer again.
    Retry,
    /// A reuse: revoke the family.
    Reuse,
}

/// `successor_unused`: the successor exists and has not been rotated itself.
pub fn replay(
    token: &RefreshToken,
    client: &Client,
    successor_unused: bool,
    now: UnixTime,
) -> Replay {
    match token.rotated_at {
        Some(at)
            if client.refresh_token_leeway > 0
                && now - at <= client.refresh_token_leeway
                && successor_unused =>
        {
            Replay::Retry
        }
        _ => Replay::Reuse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuthMethod, Status};

    fn family() -> RefreshFamily {
        RefreshFamily {
            id: "f".into(),
            server_id: "default".into(),
            client_id: "c1".into(),
            user_id: "u".into(),
            scope: "openid offline_access email".into(),
            auth_time: 1,
            created_at: 1,
            expires_at: Some(1000),
            last_used_at: 1,
            revoked_at: None,
            dpop_jkt: None,
            sid: None,
            amr: None,
            acr: None,
        }
    }

    fn token(rotated_at: Option<i64>) -> RefreshToken {
        RefreshToken {
            token_hash: vec![1],
            family_id: "f".into(),
            scope: "openid".into(),
            issued_at: 1,
            idle_expires_at: Some(500),
            rotated_at,
            successor_hash: None,
            access_jti: None,
            access_expires_at: None,
        }
    }

    fn client(id: &str, leeway: i64) -> Client {
        Client {
            client_id: id.into(),
            name: "n".into(),
            secrets: vec![],
            jwks: None,
            jwks_uri: None,
            dpop_bound_access_tokens: false,
            auth_method: AuthMethod::ClientSecretBasic,
            application_type: "web".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            response_types: vec!["code".into()],
            refresh_token_leeway: leeway,
            require_pushed_authorization_requests: false,
            request_object_signing_alg: None,
            require_signed_request_object: false,
            pkce_required: false,
            pkce_allow_plain: false,
            logout: Default::default(),
            status: Status::Active,
            created_at: 0,
            updated_at: 0,
            version: 0,
        }
    }

    #[test]
    fn checks_client_server_revocation_and_lifetimes() {
        let c = client("c1", 0);
        assert!(check(&token(None), &family(), &c, "default", 100).is_ok());
        assert!(check(&token(None), &family(), &client("c2", 0), "default", 100).is_err());
        assert!(check(&token(None), &family(), &c, "org", 100).is_err());
        assert!(
            check(&token(None), &family(), &c, "default", 500).is_err(),
            "idle"
        );
        let mut f = family();
        f.expires_at = None;
        assert!(
            check(&token(Some(400)), &f, &c, "default", 600).is_ok(),
            "a rotated token's idle window no longer counts"
        );
        assert!(
            check(&token(None), &family(), &c, "default", 1000).is_err(),
            "absolute"
        );
        f.revoked_at = Some(5);
        assert!(check(&token(None), &f, &c, "default", 100).is_err());
    }

    #[test]
    fn scope_may_narrow_never_widen() {
        assert_eq!(
            scope(None, "openid email").unwrap().to_string(),
            "openid email"
        );
        assert_eq!(
            scope(Some("email"), "openid email").unwrap().to_string(),
            "email"
        );
        assert_eq!(
            scope(Some("openid phone"), "openid email")
                .unwrap_err()
                .code(),
            "invalid_scope"
        );
    }

    #[test]
    fn replay_is_a_retry_only_inside_the_grace_period() {
        let t = token(Some(100));
        assert_eq!(
            replay(&t, &client("c1", 0), true, 100),
            Replay::Reuse,
            "no grace: even the same second is a reuse"
        );
        assert_eq!(replay(&t, &client("c1", 30), true, 130), Replay::Retry);
        assert_eq!(replay(&t, &client("c1", 30), true, 131), Replay::Reuse);
        assert_eq!(
            replay(&t, &client("c1", 30), false, 101),
            Replay::Reuse,
            "the successor was used"
        );
    }
}
