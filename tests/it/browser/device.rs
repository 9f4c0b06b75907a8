//! The device authorization grant (RFC 8628) as a TV and its user go through it: the
//! `openidconnect` crate starts the flow and polls (`exchange_device_code`,
//! `exchange_device_access_token`) while the user, in Chromium and with the keyboard
//! only, opens `verification_uri_complete`, signs in and allows the app; every page on
//! the way is checked (no CSP violation, axe-core, 390 px).

use std::time::Duration;

use gatehouse::admin::apps;
use gatehouse::oauth::grants::device_code::GRANT_TYPE;
use openidconnect::core::{CoreClient, CoreDeviceAuthorizationResponse, CoreProviderMetadata};
use openidconnect::{
    ClientId, DeviceAuthorizationUrl, IssuerUrl, Nonce, OAuth2TokenResponse, Scope, TokenResponse,
};

use super::*;
use crate::support::no_redirects;

/// Waits until the page's heading reads `heading` (a form post keeps the URL).
async fn wait_for_heading(chrome: &Chromium, heading: &str) {
    let started = std::time::Instant::now();
    loop {
        if chrome.text("h1").await == heading {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "waiting for the heading {heading:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openidconnect_crate_gets_tokens_once_the_user_allows_in_chromium() {
    let s = Setup::new().await;
    let user =
        s.t.backend
            .store
            .find_user_by_login(LOGIN)
            .await
            .unwrap()
            .unwrap();
    let tv =
        s.t.create_app(apps::NewApp {
            name: "Living Room TV".into(),
            auth_method: Some("none".into()),
            grant_types: vec![GRANT_TYPE.into()],
            ..Default::default()
        })
        .await;
    let http = no_redirects();
    let issuer = s.t.issuer("default");
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let document: serde_json::Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        document["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == GRANT_TYPE),
        "{document}"
    );
    let device_endpoint = document["device_authorization_endpoint"].as_str().unwrap();
    assert_eq!(device_endpoint, s.t.endpoint("default", "device/authorize"));
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(tv.client_id.clone()), None)
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(device_endpoint.into()).unwrap(),
            );
    let details: CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("profile".into()))
        .request_async(&http)
        .await
        .expect("a device authorization");
    let complete = details
        .verification_uri_complete()
        .expect("verification_uri_complete")
        .secret()
        .clone();
    let user_code = details.user_code().secret().clone();

    // The TV polls while its user goes to the page.
    let verifier_client = client.clone();
    let poller = tokio::spawn(async move {
        let http = no_redirects();
        client
            .exchange_device_access_token(&details)
            .expect("a token endpoint")
            .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(180)))
            .await
    });

    s.chrome.open(&complete).await;
    wait_for_heading(&s.chrome, "Activate your device").await;
    assert_eq!(s.chrome.focused().await, "user_code");
    s.chrome.check_page("activate").await;
    s.chrome.keys(&Key::ENTER.to_string()).await;

    wait_for_heading(&s.chrome, "Sign in").await;
    assert!(s.chrome.text("main").await.contains("Living Room TV"));
    s.chrome.check_page("activate-sign-in").await;
    assert_eq!(s.chrome.focused().await, "username");
    s.chrome
        .keys(&format!("{LOGIN}{}{PASSWORD}{}", Key::TAB, Key::ENTER))
        .await;

    wait_for_heading(&s.chrome, "Connect your device?").await;
    let text = s.chrome.text("main").await;
    assert!(
        text.contains(&user_code) && text.contains("profile"),
        "{text}"
    );
    s.chrome.check_page("activate-confirm").await;
    // Tab past "Not you?" to Allow, then Enter.
    s.chrome.keys(&format!("{}{}", Key::TAB, Key::TAB)).await;
    assert_eq!(s.chrome.focused().await, "decision");
    s.chrome.keys(&Key::ENTER.to_string()).await;

    wait_for_heading(&s.chrome, "Device connected").await;
    s.chrome.check_page("activate-done").await;

    let tokens = poller
        .await
        .unwrap()
        .expect("the tokens, once the user allowed");
    let id_token = tokens.id_token().expect("an ID token for openid");
    let claims = id_token
        .claims(&verifier_client.id_token_verifier(), |_: Option<&Nonce>| {
            Ok(())
        })
        .expect("a valid ID token");
    assert_eq!(claims.subject().as_str(), user.id);
    assert!(!tokens.access_token().secret().is_empty());
    s.chrome.assert_no_csp_violations().await;
}
