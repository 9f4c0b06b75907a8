//! Passkeys over HTTP with a software authenticator of the test's own (an ES256 key
//! answering as a browser would): adding one on `/account/passkeys`, signing in with it
//! without a username, and every refusal — a replayed challenge, a counter going back,
//! another user's credential, another origin or RP ID, a stale sign-in, a forged form.

use gatehouse::webauthn::software::SoftAuthenticator;
use serde_json::Value;

use crate::support::{
    App, Browser, PASSWORD, TestApp, claims_of, input_value, location, param,
    through_account_sign_in,
};

/// The page's CSRF token (the cookie the page set, which its forms repeat). A browser
/// not yet signed in to the account page is signed in to it first (its session
/// suffices), as following the page's redirect does.
async fn page_csrf(browser: &Browser, path: &str) -> (u16, String, String) {
    let response = through_account_sign_in(browser, browser.get(path).await).await;
    let status = response.status().as_u16();
    let html = response.text().await.unwrap();
    let csrf = input_value(&html, "csrf").unwrap_or_default();
    (status, html, csrf)
}

async fn json_post(browser: &Browser, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = browser.post_form(path, form).await;
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "{path} is not cached"
    );
    (status, response.json().await.unwrap())
}

/// Adds `auth`'s credential on the account page of the browser's session; the status.
async fn add(browser: &Browser, auth: &SoftAuthenticator, name: &str) -> u16 {
    let (_, _, csrf) = page_csrf(browser, "/account/passkeys").await;
    let (status, options) =
        json_post(browser, "/account/passkeys/options", &[("csrf", &csrf)]).await;
    assert_eq!(status, 200, "{options}");
    let challenge = options["challenge"].as_str().unwrap();
    let (client_data, object) = auth.register(challenge, true);
    register(browser, &csrf, &client_data, &object, name).await
}

async fn register(
    browser: &Browser,
    csrf: &str,
    client_data: &[u8],
    object: &[u8],
    name: &str,
) -> u16 {
    let b64 = gatehouse::crypto::b64url;
    let form = [
        ("csrf", csrf),
        ("client_data_json", &b64(client_data)),
        ("attestation_object", &b64(object)),
        ("transports", "internal,hybrid"),
        ("resident_key", "true"),
        ("name", name),
    ];
    browser
        .post_form("/account/passkeys", &form)
        .await
        .status()
        .as_u16()
}

/// A sign-in page for a new authorization request in a new browser: the browser, the
/// page's `tx` and CSRF token.
async fn sign_in_page(t: &TestApp, app: &App) -> (Browser, String, String) {
    let browser = t.browser();
    let response = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let login = location(&response).expect("to the sign-in page");
    let (status, html, csrf) = page_csrf(&browser, &login).await;
    assert_eq!(status, 200);
    assert!(html.contains("Sign in with a passkey"));
    (browser, input_value(&html, "tx").unwrap(), csrf)
}

/// Options for a passkey sign-in of `tx`: the challenge.
async fn sign_in_challenge(browser: &Browser, tx: &str, csrf: &str) -> String {
    let (status, options) = json_post(
        browser,
        "/login/passkey/options",
        &[("tx", tx), ("csrf", csrf)],
    )
    .await;
    assert_eq!(status, 200, "{options}");
    assert_eq!(options["allowCredentials"], serde_json::json!([]));
    assert_eq!(options["userVerification"], "required");
    options["challenge"].as_str().unwrap().to_string()
}

/// Posts an assertion; the response.
async fn assert_with(
    browser: &Browser,
    tx: &str,
    csrf: &str,
    credential_id: &str,
    (client_data, auth_data, sig): &(Vec<u8>, Vec<u8>, Vec<u8>),
    user_handle: &str,
) -> reqwest::Response {
    let b64 = gatehouse::crypto::b64url;
    let form = [
        ("tx", tx),
        ("csrf", csrf),
        ("credential_id", credential_id),
        ("client_data_json", &b64(client_data)),
        ("authenticator_data", &b64(auth_data)),
        ("signature", &b64(sig)),
        ("user_handle", user_handle),
    ];
    browser.post_form("/login/passkey", &form).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_is_added_signs_in_without_a_username_and_refuses_every_forgery() {
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    let bob = t.user("bob@example.com").await;
    let app = t.spa().await;
    let origin = t.base.clone();
    let rp_id = url::Url::parse(&t.base)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();

    // Without a session the page sends the browser to the account page's sign-in,
    // which comes back to it; a change is refused.
    let stranger = t.browser();
    let response = stranger.get("/account/passkeys").await;
    assert_eq!(response.status(), 302);
    let to = location(&response).unwrap();
    assert_eq!(
        param(&to, "client_id").as_deref(),
        Some("gatehouse-account")
    );
    assert_eq!(
        stranger
            .post_form("/account/passkeys/options", &[("csrf", "x")])
            .await
            .status(),
        403
    );

    // Alice signs in with her password to an app. That session alone does not open
    // the page: it is bound to the account page's own sign-in, as `/account` is.
    let browser = t.browser();
    t.code(&browser, "default", &app, &alice.login).await;
    let response = browser.get("/account/passkeys").await;
    assert_eq!(response.status(), 302, "not bound yet");
    let csrf = browser.cookie("gh_csrf").unwrap_or_default();
    let unbound = browser
        .post_form("/account/passkeys/options", &[("csrf", &csrf)])
        .await;
    assert_eq!(unbound.status(), 401, "a change needs the binding too");
    let (status, html, csrf) = page_csrf(&browser, "/account/passkeys").await;
    assert_eq!(status, 200);
    assert!(html.contains("You have no passkeys yet."));
    let (_, options) = json_post(&browser, "/account/passkeys/options", &[("csrf", &csrf)]).await;
    assert_eq!(options["rp"]["id"], rp_id.as_str());
    assert_eq!(options["user"]["name"], alice.login.as_str());
    assert_eq!(options["attestation"], "none");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    let user_handle = options["user"]["id"].as_str().unwrap().to_string();
    assert!(!user_handle.contains(&alice.id));
    let mut key = SoftAuthenticator::new(&origin, &rp_id);
    let first = options["challenge"].as_str().unwrap();
    let (client_data, object) = key.register(first, false);
    assert_eq!(
        register(&browser, &csrf, &client_data, &object, "Laptop").await,
        303
    );
    // The same registration again: its challenge is gone.
    assert_eq!(
        register(&browser, &csrf, &client_data, &object, "Again").await,
        400
    );
    // A registration from another origin, or for another RP ID, is refused.
    for (o, r) in [
        ("https://evil.example", rp_id.as_str()),
        (origin.as_str(), "evil.example"),
    ] {
        let other = SoftAuthenticator::new(o, r);
        let (_, options) =
            json_post(&browser, "/account/passkeys/options", &[("csrf", &csrf)]).await;
        let (data, object) = other.register(options["challenge"].as_str().unwrap(), false);
        assert_eq!(register(&browser, &csrf, &data, &object, "Evil").await, 400);
    }
    // A forged form (no CSRF token) changes nothing.
    assert_eq!(
        register(&browser, "", &client_data, &object, "Forged").await,
        403
    );
    let (_, html, _) = page_csrf(&browser, "/account/passkeys").await;
    assert!(html.contains("Laptop") && !html.contains("Evil") && !html.contains("Forged"));

    // Bob has a passkey of his own.
    let bob_browser = t.browser();
    t.code(&bob_browser, "default", &app, &bob.login).await;
    let bob_key = SoftAuthenticator::new(&origin, &rp_id);
    assert_eq!(add(&bob_browser, &bob_key, "Bob's").await, 303);

    // A sign-in without a username: the passkey names Alice.
    let (anonymous, tx, csrf) = sign_in_page(&t, &app).await;
    let challenge_text = sign_in_challenge(&anonymous, &tx, &csrf).await;
    key.counter = 5;
    let assertion = key.assert(&challenge_text);
    let response = assert_with(&anonymous, &tx, &csrf, &key.id(), &assertion, &user_handle).await;
    assert_eq!(response.status(), 303);
    let to_app = location(&response).unwrap();
    let code = param(&to_app, "code").expect("a code for the app");
    let tokens: Value = t.redeem("default", &app, &code).await.json().await.unwrap();
    let id_token = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["sub"], alice.id.as_str());
    assert!(
        anonymous.cookie("gh_session").is_some(),
        "a session started"
    );

    // The same assertion again, for a new sign-in: its challenge is used.
    let (second, tx2, csrf2) = sign_in_page(&t, &app).await;
    let replay = assert_with(&second, &tx2, &csrf2, &key.id(), &assertion, &user_handle).await;
    assert_eq!(replay.status(), 401);
    assert!(
        replay
            .text()
            .await
            .unwrap()
            .contains("could not sign you in")
    );
    // A challenge made for one sign-in does not finish another.
    let (third, tx3, csrf3) = sign_in_page(&t, &app).await;
    let other_challenge = sign_in_challenge(&third, &tx3, &csrf3).await;
    key.counter = 6;
    let cross = key.assert(&other_challenge);
    let response = assert_with(&second, &tx2, &csrf2, &key.id(), &cross, &user_handle).await;
    assert_eq!(response.status(), 401);

    let refused = async |key: &SoftAuthenticator, id: &str, handle: &str| {
        let (browser, tx, csrf) = sign_in_page(&t, &app).await;
        let c = sign_in_challenge(&browser, &tx, &csrf).await;
        let assertion = key.assert(&c);
        assert_with(&browser, &tx, &csrf, id, &assertion, handle)
            .await
            .status()
            .as_u16()
    };
    // The counter going back (5 stored, 3 presented): perhaps a cloned key.
    key.counter = 3;
    assert_eq!(refused(&key, &key.id(), &user_handle).await, 401);
    key.counter = 9;
    // Another user's credential: Bob's credential id with Alice's handle or key.
    assert_eq!(refused(&bob_key, &bob_key.id(), &user_handle).await, 401);
    assert_eq!(refused(&key, &bob_key.id(), "").await, 401);
    // Another origin, another RP ID.
    let mut phished = SoftAuthenticator::new("https://evil.example", &rp_id);
    phished.credential_id = key.credential_id.clone();
    assert_eq!(refused(&phished, &key.id(), &user_handle).await, 401);
    key.rp_id = "evil.example".into();
    assert_eq!(refused(&key, &key.id(), &user_handle).await, 401);
    key.rp_id = rp_id.clone();
    // No user verification: a passkey alone must stand for two factors.
    key.verified = false;
    assert_eq!(refused(&key, &key.id(), &user_handle).await, 401);
    key.verified = true;
    // Still Alice's to use after all that: the counter moved past 5 only once.
    assert_eq!(refused(&key, &key.id(), &user_handle).await, 303);

    // The passkey as the second factor after the password, when the app asks for two
    // (or for a phishing-resistant one, or one bound to its device): only Alice's own
    // key passes, once; the ID token's `acr` is the class asked, which the key met.
    for acr in ["urn:okta:loa:2fa:any", "phr", "phrh"] {
        let second = t.browser();
        let url = t.authorize_url("default", &app.client_id, &[("acr_values", acr)]);
        let login = location(&second.get(&url).await).unwrap();
        let step = location(&second.sign_in(&login, &alice.login, PASSWORD).await).unwrap();
        assert!(step.starts_with("/signin/verify?tx="), "{step}");
        let (_, html, csrf) = page_csrf(&second, &step).await;
        assert!(html.contains("Use a passkey or security key"));
        let tx = input_value(&html, "tx").unwrap();
        let form = [("tx", tx.as_str()), ("csrf", csrf.as_str())];
        let (status, options) = json_post(&second, "/signin/verify/passkey/options", &form).await;
        assert_eq!(status, 200, "{options}");
        assert_eq!(options["allowCredentials"][0]["id"], key.id().as_str());
        let challenge = options["challenge"].as_str().unwrap();
        let verify = async |k: &SoftAuthenticator, id: &str, c: &str| {
            let (data, auth, sig) = k.assert(c);
            let b64 = gatehouse::crypto::b64url;
            let form = [
                ("tx", tx.as_str()),
                ("csrf", csrf.as_str()),
                ("method", "webauthn"),
                ("credential_id", id),
                ("client_data_json", &b64(&data)),
                ("authenticator_data", &b64(&auth)),
                ("signature", &b64(&sig)),
                ("user_handle", ""),
            ];
            second.post_form("/signin/verify", &form).await
        };
        // Bob's key is not Alice's second factor.
        assert_eq!(
            verify(&bob_key, &bob_key.id(), challenge).await.status(),
            401
        );
        let (_, options) = json_post(&second, "/signin/verify/passkey/options", &form).await;
        key.counter += 1;
        key.verified = false;
        let done = verify(&key, &key.id(), options["challenge"].as_str().unwrap()).await;
        key.verified = true;
        assert_eq!(done.status(), 303);
        let code = param(&location(&done).unwrap(), "code").expect("a code");
        let tokens: Value = t.redeem("default", &app, &code).await.json().await.unwrap();
        let claims = claims_of(tokens["id_token"].as_str().unwrap());
        assert_eq!(
            claims["amr"],
            serde_json::json!(["pwd", "hwk", "mfa"]),
            "{acr}"
        );
        assert_eq!(claims["acr"], acr);
    }

    // The Factors API lists the passkey as Okta's `webauthn` factor.
    let api = t.api().await;
    let (status, factors) = api
        .get(&format!("/api/v1/users/{}/factors", alice.id))
        .await;
    assert_eq!(status, 200);
    let listed: Vec<_> = factors
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["factorType"] == "webauthn")
        .collect();
    assert_eq!(listed.len(), 1, "{factors}");
    assert_eq!(
        (listed[0]["provider"].as_str(), listed[0]["status"].as_str()),
        (Some("FIDO"), Some("ACTIVE"))
    );
    assert_eq!(listed[0]["profile"]["credentialId"], key.id().as_str());

    // The System Log has the sign-ins and each refusal's reason.
    let (_, log) = t
        .api()
        .await
        .get("/api/v1/logs?filter=eventType%20eq%20%22user.session.start%22&limit=100")
        .await;
    let reasons: Vec<String> = log
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["outcome"]["reason"].as_str().map(str::to_string))
        .collect();
    for why in [
        "counter",
        "challenge",
        "not registered to this user",
        "origin",
        "RP ID",
        "not verified",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(why)),
            "{why} in {reasons:?}"
        );
    }

    // Rename and remove: only one's own, only with a recent sign-in.
    let (_, _, csrf) = page_csrf(&browser, "/account/passkeys").await;
    let alice_key = t
        .backend
        .store
        .find_passkey(&key.credential_id)
        .await
        .unwrap()
        .unwrap();
    let bob_id = t
        .backend
        .store
        .find_passkey(&bob_key.credential_id)
        .await
        .unwrap()
        .unwrap()
        .id;
    let post = async |path: String, form: &[(&str, &str)]| {
        browser.post_form(&path, form).await.status().as_u16()
    };
    let rename = format!("/account/passkeys/{}/rename", alice_key.id);
    assert_eq!(
        post(
            rename.clone(),
            &[("csrf", &csrf), ("name", "Work <laptop>")]
        )
        .await,
        303
    );
    let (_, html, _) = page_csrf(&browser, "/account/passkeys").await;
    assert!(html.contains("Work &#60;laptop&#62;") || html.contains("Work &lt;laptop&gt;"));
    let bob_delete = format!("/account/passkeys/{bob_id}/delete");
    assert_eq!(post(bob_delete, &[("csrf", &csrf)]).await, 404);
    assert!(
        t.backend
            .store
            .find_passkey(&bob_key.credential_id)
            .await
            .unwrap()
            .is_some()
    );
    t.clock.advance(manage_window() + 1);
    assert_eq!(
        post(rename, &[("csrf", &csrf), ("name", "Late")]).await,
        403
    );
    let delete = format!("/account/passkeys/{}/delete", alice_key.id);
    assert_eq!(post(delete.clone(), &[("csrf", &csrf)]).await, 403);
    // Signed in again, the removal works; the passkey then signs no one in.
    let fresh = t.browser();
    t.code(&fresh, "default", &app, &alice.login).await;
    let (_, _, csrf) = page_csrf(&fresh, "/account/passkeys").await;
    assert_eq!(
        fresh.post_form(&delete, &[("csrf", &csrf)]).await.status(),
        303
    );
    assert_eq!(refused(&key, &key.id(), &user_handle).await, 401);
}

fn manage_window() -> i64 {
    gatehouse::flows::passkeys::manage::RECENT_SIGN_IN
}

/// The options endpoints write a challenge row each, so each call counts: against the
/// person (registration, and the second-factor step) past
/// `PASSKEY_CHALLENGE_USER_THRESHOLD`, and against the address past the sign-in
/// address threshold (every options endpoint together). A blocked call is 429 with
/// `Retry-After` and gives no challenge; after the wait the next one is answered.
async fn options_are_throttled(t: TestApp) {
    use gatehouse::clock::Clock;
    use gatehouse::identity::throttle::PASSKEY_CHALLENGE_USER_THRESHOLD;
    let alice = t.user("alice@example.com").await;
    let app = t.spa().await;
    let browser = t.browser();
    t.code(&browser, "default", &app, &alice.login).await;
    let (_, _, csrf) = page_csrf(&browser, "/account/passkeys").await;
    let options = async || {
        let response = browser
            .post_form("/account/passkeys/options", &[("csrf", &csrf)])
            .await;
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse::<i64>().unwrap());
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        (status, retry_after, body)
    };
    let mut calls = 0;
    for _ in 0..PASSKEY_CHALLENGE_USER_THRESHOLD {
        let (status, _, body) = options().await;
        calls += 1;
        assert_eq!(status, 200, "{body}");
    }
    let (status, retry_after, body) = options().await;
    calls += 1;
    // Two seconds from the call that started the wait (one if a second has passed).
    assert_eq!(status, 429, "{body}");
    assert!(matches!(retry_after, Some(1 | 2)), "{retry_after:?}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body.get("challenge").is_none());
    t.clock.advance(2);
    let (status, _, body) = options().await;
    calls += 1;
    assert_eq!(status, 200, "{body}");

    // The address: the sign-in page's options count with the account page's.
    let (other, tx, csrf) = sign_in_page(&t, &app).await;
    let threshold = t.state.config.throttle.sign_in_ip_threshold;
    let post = async || {
        other
            .post_form("/login/passkey/options", &[("tx", &tx), ("csrf", &csrf)])
            .await
    };
    while calls < threshold {
        let response = post().await;
        calls += 1;
        assert_eq!(response.status(), 200, "call {calls}");
    }
    let blocked = post().await;
    assert_eq!(blocked.status(), 429);
    let wait: i64 = blocked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1, "{wait}");
    t.clock.advance(wait);
    let now = t.clock.now();
    let response = post().await;
    assert_eq!(response.status(), 200, "after the wait, at {now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_are_throttled_sqlite() {
    options_are_throttled(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_are_throttled_postgres() {
    options_are_throttled(TestApp::spawn_postgres().await).await;
}
