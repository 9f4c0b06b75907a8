//! The token endpoint's flows without a server: a real SQLite store, a fixed `now`.

use super::{Granted, TokenRequest, exchange};
use crate::flows::client_auth::Credentials;
use crate::flows::testing::{Fixture, REDIRECT_URI, fixture};
use crate::oauth::OAuthError;
use crate::oauth::grants::GrantType;
use crate::oauth::params::Params;
use crate::store::Client;

fn form(client: &Client, secret: &str, rest: &[(&str, &str)]) -> Params {
    let mut pairs = vec![
        ("client_id", client.client_id.as_str()),
        ("client_secret", secret),
    ];
    pairs.extend_from_slice(rest);
    Params::from_pairs(pairs)
}

async fn token(f: &Fixture, params: &Params, now: i64) -> Result<Granted, OAuthError> {
    let request = TokenRequest {
        server: &f.server,
        params,
        credentials: Credentials {
            authorization: None,
            ip: Some("192.0.2.1"),
        },
        dpop: Default::default(),
    };
    exchange(&f.services, &request, now).await
}

#[tokio::test]
async fn client_credentials_grants_a_bearer_token_for_the_client() {
    let mut f = fixture().await;
    let (client, secret) = f.app(&["client_credentials"]).await;
    let params = form(
        &client,
        &secret,
        &[("grant_type", "client_credentials"), ("scope", "api:read")],
    );
    // Not offered yet: refused, and the server's settings are now cached.
    let e = token(&f, &params, f.now).await.expect_err("unknown scope");
    assert_eq!((e.code(), e.status()), ("invalid_scope", 400));
    // The new scope raises the server's settings_version: the cache is not used.
    f.scope("api:read").await;
    let granted = token(&f, &params, f.now).await.expect("granted");
    assert_eq!(granted.grant, GrantType::ClientCredentials);
    assert_eq!(granted.tokens.token_type, "Bearer");
    assert!(granted.user.is_none());
    assert_eq!(granted.tokens.scope, "api:read");
    assert!(granted.tokens.id_token.is_none() && granted.tokens.refresh_token.is_none());
}

#[tokio::test]
async fn refusals_keep_their_oauth_error_and_status() {
    let f = fixture().await;
    let (client, secret) = f.app(&["client_credentials"]).await;
    let cases: [(Params, &str, u16); 4] = [
        (
            form(&client, "wrong", &[("grant_type", "client_credentials")]),
            "invalid_client",
            401,
        ),
        (
            form(&client, &secret, &[("grant_type", "password")]),
            "unsupported_grant_type",
            400,
        ),
        (
            form(&client, &secret, &[("grant_type", "refresh_token")]),
            "unauthorized_client",
            400,
        ),
        (form(&client, &secret, &[]), "invalid_request", 400),
    ];
    for (params, code, status) in cases {
        let e = token(&f, &params, f.now).await.expect_err(code);
        assert_eq!((e.code(), e.status()), (code, status), "{e}");
    }
}

#[tokio::test]
async fn a_replayed_code_revokes_what_its_first_redemption_issued() {
    let f = fixture().await;
    let (client, secret) = f.app(&["authorization_code", "refresh_token"]).await;
    let user = f.user("ada@example.com").await;
    let code = f.code(&client, &user, "openid offline_access").await;
    let params = form(
        &client,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
        ],
    );
    let first = token(&f, &params, f.now).await.expect("first redemption");
    assert_eq!(first.user.as_ref().map(|u| u.id.as_str()), Some(&*user.id));
    assert!(first.tokens.id_token.is_some());
    let refresh_token = first.tokens.refresh_token.clone().expect("offline_access");

    let replay = token(&f, &params, f.now).await.expect_err("replay");
    assert_eq!((replay.code(), replay.status()), ("invalid_grant", 400));
    // The replay revoked the family the first redemption started.
    let refresh = form(
        &client,
        &secret,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
        ],
    );
    let e = token(&f, &refresh, f.now)
        .await
        .expect_err("revoked family");
    assert_eq!(e.code(), "invalid_grant");
    // And the access token is on the deny list.
    let jti = access_jti(&first.tokens.access_token);
    assert!(
        f.services
            .store
            .is_access_token_revoked(&jti)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let f = fixture().await;
    let (client, secret) = f.app(&["authorization_code", "refresh_token"]).await;
    let user = f.user("grace@example.com").await;
    let code = f.code(&client, &user, "openid offline_access").await;
    let first = token(
        &f,
        &form(
            &client,
            &secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
            ],
        ),
        f.now,
    )
    .await
    .expect("code exchange");
    let refresh = |value: String| {
        form(
            &client,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &value)],
        )
    };
    let old = first.tokens.refresh_token.unwrap();
    let second = token(&f, &refresh(old.clone()), f.now + 10)
        .await
        .expect("rotation");
    let new = second.tokens.refresh_token.unwrap();
    assert_ne!(new, old);

    // The default grace period is 0: the old token again is a reuse.
    let e = token(&f, &refresh(old), f.now + 20)
        .await
        .expect_err("reuse");
    assert_eq!((e.code(), e.status()), ("invalid_grant", 400));
    let e = token(&f, &refresh(new), f.now + 30)
        .await
        .expect_err("family revoked");
    assert_eq!(e.code(), "invalid_grant");
}

/// The `jti` of a signed access token, read without verifying (the flow signed it).
fn access_jti(jwt: &str) -> String {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = crate::crypto::b64url_decode(payload).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    claims["jti"].as_str().unwrap().to_string()
}
