//! The device authorization endpoint (RFC 8628 §3.1, §3.2; Okta's
//! `/oauth2/{server}/v1/device/authorize`): the client authenticates as at /token
//! (a public app by its `client_id`), must have the device grant type, asks for scopes
//! the server offers, and gets a device code to poll with and a user code for its user
//! to enter at `{public_url}/activate` (`flows::activate`). The access policy is
//! evaluated with the user, when they approve and again when the tokens are minted.

use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::client_auth::{self, Credentials};
use crate::flows::settings::Settings;
use crate::oauth::grants::device_code::{self, DEVICE_CODE_TTL, GRANT_TYPE};
use crate::oauth::params::Params;
use crate::oauth::{ErrorCode, OAuthError};
use crate::protocol::DeviceAuthorizationResponse;
use crate::store::AuthServer;

/// A device authorization request to `server`: its form and the client's credentials.
pub struct DeviceAuthorizationRequest<'a> {
    pub server: &'a AuthServer,
    pub params: &'a Params,
    pub credentials: Credentials<'a>,
}

/// The page a user enters their code at (RFC 8628 §3.2 `verification_uri`).
pub fn verification_uri(services: &Services) -> String {
    format!("{}/activate", services.config.base_url())
}

/// How many times new codes are drawn when the user code is taken (a one in 2^34
/// chance each time while the code is live).
const ATTEMPTS: usize = 3;

/// Checks the client and the scope, stores the request, and answers with its codes.
pub async fn authorize(
    services: &Services,
    request: &DeviceAuthorizationRequest<'_>,
    now: UnixTime,
) -> Result<DeviceAuthorizationResponse, OAuthError> {
    let DeviceAuthorizationRequest { server, params, .. } = *request;
    let client = client_auth::authenticate(
        services,
        server,
        &request.credentials,
        params,
        "device/authorize",
        now,
    )
    .await?;
    // §3.1 / RFC 6749 §5.2: a client without the grant may not start it.
    if !client.grant_types.iter().any(|g| g == GRANT_TYPE) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "The client is not authorized to use the provided grant type.",
        ));
    }
    let settings = Settings::load(services, server).await?;
    let scope = device_code::scope(params.one("scope")?, &settings.scopes)?;
    for _ in 0..ATTEMPTS {
        let (device_code, user_code, row) =
            device_code::issue(&server.id, &client.client_id, &scope, now);
        if !services.store.insert_device_code(&row).await? {
            continue;
        }
        let verification_uri = verification_uri(services);
        let shown = device_code::display(&user_code);
        tracing::info!(event = "app.oauth2.device.authorize", client = %client.client_id, "device authorization started");
        return Ok(DeviceAuthorizationResponse {
            device_code,
            verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
            user_code: shown,
            verification_uri,
            expires_in: DEVICE_CODE_TTL,
            interval: device_code::POLL_INTERVAL,
        });
    }
    Err(OAuthError::server_error())
}

#[cfg(test)]
mod tests {
    use super::{DeviceAuthorizationRequest, authorize};
    use crate::flows::client_auth::Credentials;
    use crate::flows::testing::fixture;
    use crate::oauth::grants::device_code::{GRANT_TYPE, normalise, user_code_hash};
    use crate::oauth::params::Params;

    #[tokio::test]
    async fn answers_codes_stored_as_hashes_and_refuses_an_app_without_the_grant() {
        let f = fixture().await;
        let (client, secret) = f.app(&["authorization_code", GRANT_TYPE]).await;
        let params = Params::from_pairs([
            ("client_id", client.client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", "openid"),
        ]);
        let request = DeviceAuthorizationRequest {
            server: &f.server,
            params: &params,
            credentials: Credentials::default(),
        };
        let answer = authorize(&f.services, &request, f.now).await.unwrap();
        assert_eq!((answer.expires_in, answer.interval), (600, 5));
        assert!(answer.verification_uri.ends_with("/activate"));
        assert!(
            answer
                .verification_uri_complete
                .ends_with(&format!("/activate?user_code={}", answer.user_code))
        );
        let code = normalise(&answer.user_code).unwrap();
        let row = f
            .services
            .store
            .find_user_code(&user_code_hash(&code))
            .await
            .unwrap()
            .expect("stored by the hash of the user code");
        assert_ne!(row.device_code_hash, answer.device_code.as_bytes());

        let (other, secret) = f.app(&["authorization_code"]).await;
        let params = Params::from_pairs([
            ("client_id", other.client_id.as_str()),
            ("client_secret", secret.as_str()),
        ]);
        let request = DeviceAuthorizationRequest {
            server: &f.server,
            params: &params,
            credentials: Credentials::default(),
        };
        let e = authorize(&f.services, &request, f.now).await.unwrap_err();
        assert_eq!(e.code(), "unauthorized_client");
    }
}
