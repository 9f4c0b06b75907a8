//! Passkeys in Chromium with its virtual authenticator (CDP `WebAuthn`): a person adds
//! a passkey on `/account/passkeys`, signs in with it on the sign-in page without
//! typing a username, and uses it as the second factor after the password. WebAuthn needs a domain, not an IP address, so this server's
//! public URL is `http://localhost:PORT` (a secure context, as https would be).

use serde_json::json;

use super::*;

/// A server reached as `localhost`, with the user `LOGIN`, the app `rp`, a browser, and
/// a virtual platform authenticator that verifies the user (a screen lock).
async fn setup() -> Setup {
    let mut t = TestApp::spawn_configured(|c| {
        let url = format!("http://localhost:{}", c.listen.port());
        c.public_url = url::Url::parse(&url).unwrap();
    })
    .await;
    t.base = t.base.replace("127.0.0.1", "localhost");
    t.user(LOGIN).await;
    let rp = RelyingParty::start().await;
    let app = t
        .app_with_logout("none", &[&rp.callback()], &[&rp.signed_out()])
        .await;
    let chrome = Chromium::start().await;
    chrome.cdp("WebAuthn.enable", json!({})).await;
    let options = json!({ "options": {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": true,
        "hasUserVerification": true,
        "isUserVerified": true,
        "automaticPresenceSimulation": true,
    }});
    chrome
        .cdp("WebAuthn.addVirtualAuthenticator", options)
        .await;
    Setup { t, rp, app, chrome }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_added_on_the_account_page_signs_in_alone_and_as_a_second_factor() {
    let s = setup().await;
    s.signed_in().await;

    // The account page: no passkeys yet; add one named "Laptop".
    s.chrome
        .open(&format!("{}/account/passkeys", s.t.base))
        .await;
    assert!(
        s.chrome
            .text("main")
            .await
            .contains("You have no passkeys yet.")
    );
    s.chrome.fill("#passkey-name", "Laptop").await;
    s.chrome.click("#passkey-add-button").await;
    let started = std::time::Instant::now();
    while !s.chrome.exists("li.passkey").await {
        assert!(
            started.elapsed().as_secs() < 20,
            "no passkey listed: {:?}",
            s.chrome.console().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let listed = s.chrome.text("li.passkey").await;
    assert!(
        listed.contains("Laptop") && listed.contains("not used yet"),
        "{listed}"
    );
    s.chrome.check_page("account-passkeys").await;
    let user =
        s.t.backend
            .store
            .find_user_by_login(LOGIN)
            .await
            .unwrap()
            .unwrap();
    let stored = s.t.backend.store.user_passkeys(&user.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].discoverable && stored[0].user_verified);
    assert!(stored[0].transports.contains(&"internal".to_string()));

    // Signed out (a new browser session), the sign-in page offers the passkey: no
    // username, no password, and the browser lands on the app with a code.
    s.chrome.cdp("Network.clearBrowserCookies", json!({})).await;
    s.chrome.open(&s.authorize(&[])).await;
    s.chrome.wait_for_url(&format!("{}/login?", s.t.base)).await;
    s.chrome.check_page("sign-in-passkey").await;
    s.chrome.click("#passkey-sign-in-button").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let hits = s.rp.hits();
    let code = hits
        .last()
        .unwrap()
        .param("code")
        .expect("a code")
        .to_string();
    assert!(!code.is_empty());
    let used = s.t.backend.store.user_passkeys(&user.id).await.unwrap();
    assert!(used[0].last_used_at.is_some());
    s.chrome.assert_no_csp_violations().await;

    // The same passkey as the second factor after the password, for an app that asks
    // for two factors.
    s.chrome.cdp("Network.clearBrowserCookies", json!({})).await;
    let before = s.rp.hits().len();
    s.chrome
        .open(&s.authorize(&[("acr_values", "urn:okta:loa:2fa:any")]))
        .await;
    s.sign_in(PASSWORD).await;
    s.chrome
        .wait_for_url(&format!("{}/signin/verify?", s.t.base))
        .await;
    s.chrome.axe_audit().await;
    s.chrome.click("#passkey-verify-button").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    assert_eq!(s.rp.hits().len(), before + 1);
    assert!(s.rp.hits().last().unwrap().param("code").is_some());
    s.chrome.assert_no_csp_violations().await;
}
