//! Every hosted page as a person sees it: no CSP violation or console error, no
//! serious or critical axe-core finding in light or dark mode, no sideways scrolling
//! on a 390×844 phone; with `GATEHOUSE_SCREENSHOTS=docs/screenshots` it also saves
//! each page's screenshots (light, dark, 390 px) there.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hosted_page_is_accessible_and_fits_a_phone() {
    let s = Setup::new().await;
    s.consent_scope("orders:read").await;
    s.chrome
        .open(&s.authorize(&[("scope", "openid orders:read")]))
        .await;
    s.chrome.check_page("sign-in").await;

    s.sign_in("not the password").await;
    s.chrome.wait_for_url(&format!("{}/login", s.t.base)).await;
    s.chrome.check_page("sign-in-failed").await;

    s.sign_in(PASSWORD).await;
    s.chrome
        .wait_for_url(&format!("{}/consent", s.t.base))
        .await;
    s.chrome.check_page("consent").await;
    s.chrome.click("button[value=allow]").await;
    s.chrome.wait_for_url(&s.rp.callback()).await;

    s.chrome
        .open(&s.logout_url(&[("client_id", &s.app.client_id)]))
        .await;
    s.chrome.check_page("sign-out").await;
    s.chrome.click("button[type=submit]").await;
    s.chrome
        .wait_for_url(&s.t.endpoint("default", "logout"))
        .await;
    s.chrome.check_page("signed-out").await;

    let elsewhere = format!("{}/elsewhere", s.rp.base);
    s.chrome
        .open(&s.authorize(&[("redirect_uri", &elsewhere)]))
        .await;
    s.chrome.check_page("error").await;
}

/// The audit is not vacuous: light grey text on white fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "color-contrast")]
async fn the_audit_finds_low_contrast() {
    let chrome = Chromium::start().await;
    chrome
        .open(
            "data:text/html,<!doctype html><html lang='en'><title>t</title><main><h1>t</h1>\
             <p style='color: rgb(190, 190, 190)'>grey on white</p></main></html>",
        )
        .await;
    chrome.axe_audit().await;
}

/// Nor is the CSP check: an inline script added to a hosted page is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "CSP violation")]
async fn the_csp_check_finds_an_inline_script() {
    let s = Setup::new().await;
    s.chrome.open(&s.authorize(&[])).await;
    s.chrome
        .script(
            "const e = document.createElement('script'); e.textContent = '1'; document.body.append(e);",
            serde_json::json!([]),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    s.chrome.assert_no_csp_violations().await;
}

/// A branded sign-in page: the org's name and logo, and its colour on the primary
/// button with text chosen for contrast — a light brand colour (yellow) takes dark
/// text, and the audit still passes in light and dark mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branded_sign_in_page_keeps_its_contrast() {
    let s = Setup::new().await;
    let api = s.t.api().await;
    let (_, brands) = api.get("/api/v1/brands").await;
    let brand = brands[0]["id"].as_str().unwrap().to_string();
    let (status, _) = api
        .put(
            &format!("/api/v1/brands/{brand}"),
            serde_json::json!({ "name": "Acme Corp" }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, themes) = api.get(&format!("/api/v1/brands/{brand}/themes")).await;
    let theme = format!(
        "/api/v1/brands/{brand}/themes/{}",
        themes[0]["id"].as_str().unwrap()
    );
    let colours =
        serde_json::json!({ "primaryColorHex": "#ffd400", "secondaryColorHex": "#ebebed" });
    assert_eq!(api.put(&theme, colours).await.0, 200);
    let boundary = "b0undary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"logo.png\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(include_bytes!("logo.png"));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let uploaded = api
        .http
        .post(format!("{}{theme}/logo", api.base))
        .header("Authorization", format!("SSWS {}", api.token))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        uploaded.status(),
        200,
        "Okta answers a logo upload with 200"
    );

    s.chrome.open(&s.authorize(&[])).await;
    assert_eq!(s.chrome.text(".brand").await.trim(), "Acme Corp");
    let logo = s
        .chrome
        .script(
            "const i = document.querySelector('.brand img'); return [i.getAttribute('src'), i.naturalWidth];",
            serde_json::json!([]),
        )
        .await;
    assert!(
        logo[0].as_str().unwrap().starts_with("/brand/logo?v="),
        "{logo}"
    );
    assert_eq!(logo[1], 48, "the uploaded logo loads");
    let button = s
        .chrome
        .script(
            "const b = getComputedStyle(document.querySelector('button[type=submit]')); return [b.backgroundColor, b.color];",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(
        button,
        serde_json::json!(["rgb(255, 212, 0)", "rgb(0, 0, 0)"])
    );
    s.chrome.check_page("sign-in-branded").await;
}
