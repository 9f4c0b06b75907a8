//! Sign-on policies in Chromium: an app whose authentication policy asks everyone for
//! two factors sends the person from the password to the second-factor step, and on
//! to the app once the code is right.

use gatehouse::clock::Clock;
use gatehouse::factors::totp;
use serde_json::json;

use super::*;
use crate::sign_on_policies::totp_for;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_policy_asks_for_a_second_factor() {
    let s = Setup::new().await;
    let secret = totp_for(&s.t, LOGIN).await;
    let api = s.t.api().await;
    let (_, policy) = api
        .post(
            "/api/v1/policies",
            json!({ "type": "ACCESS_POLICY", "name": "Two factors" }),
        )
        .await;
    let policy_id = policy["id"].as_str().unwrap();
    let (status, _) = api
        .post(
            &format!("/api/v1/policies/{policy_id}/rules"),
            json!({ "name": "Everyone", "actions": { "appSignOn": { "access": "ALLOW",
                    "verificationMethod": { "factorMode": "2FA" } } } }),
        )
        .await;
    assert_eq!(status, 200);
    let status = api
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/apps/{}/policies/{policy_id}", s.app.client_id),
            None,
        )
        .await
        .status();
    assert_eq!(status, 204);

    s.chrome.open(&s.authorize(&[])).await;
    s.sign_in(PASSWORD).await;
    s.chrome
        .wait_for_url(&format!("{}/signin/verify?tx=", s.t.base))
        .await;
    s.chrome.axe_audit().await;
    // The activation used this step's code: the next step's.
    s.t.clock.advance(totp::STEP);
    let code = totp::code_at_step(&secret, totp::step_at(s.t.clock.now()));
    s.chrome.fill("#totp-code", &code).await;
    s.chrome.click("button.primary").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;
    let hit = s.rp.only_hit();
    assert!(hit.param("code").is_some_and(|c| !c.is_empty()));
    assert_eq!(hit.param("state"), Some("st4te"));
    s.chrome.assert_no_csp_violations().await;
}
