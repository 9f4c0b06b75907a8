//! Consent (OpenID Connect Core §3.1.2.4): a request that needs the user's consent to
//! scopes whose consent is `REQUIRED` waits here until the consent page answers.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::flows::Services;
use crate::oauth::OAuthError;
use crate::oauth::authorize::AuthorizationRequest;
use crate::store::PendingAuthorization;

/// How long the consent page waits.
pub const CONSENT_TTL: i64 = 600;

/// A request waiting for consent. Its shape differs from a request waiting for
/// sign-in (`consent` is not a field of `AuthorizationRequest`), so the sign-in page
/// can never take one for the other.
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingConsent {
    pub consent: AuthorizationRequest,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub scopes: Vec<String>,
}

/// Stores the request until the user answers; returns the consent page's address.
pub async fn start(
    services: &Services,
    request: &AuthorizationRequest,
    user_id: &str,
    auth_time: UnixTime,
    scopes: Vec<String>,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let tx = random_token();
    let pending = PendingConsent {
        consent: request.clone(),
        user_id: user_id.to_string(),
        auth_time,
        scopes,
    };
    let row = PendingAuthorization {
        id_hash: sha256(tx.as_bytes()),
        request: serde_json::to_string(&pending).map_err(|e| OAuthError::internal(&e))?,
        created_at: now,
        expires_at: now + CONSENT_TTL,
    };
    services.store.insert_pending(&row).await?;
    Ok(format!("/consent?tx={tx}"))
}
