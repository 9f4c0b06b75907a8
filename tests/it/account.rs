//! `/account`, the person's own page, over HTTP on PostgreSQL (the Chromium story,
//! browser::account, walks it on SQLite): signing in
//! through the account app, the profile, the password, "sign out everywhere", the
//! activity, and every refusal: no session, a missing CSRF token, a wrong current
//! password, a stale sign-in for a sensitive change, a forged or misplaced binding, a
//! callback that is not this browser's. (The page in Chromium: browser::account.)

use gatehouse::clock::Clock;

use crate::support::{Browser, PASSWORD, TestApp, input_value, location, param};

const LOGIN: &str = "alice@example.com";
const NEW_PASSWORD: &str = "a much better passphrase";

/// Opens `/account` in `browser` and signs in as `login` with `password` when asked:
/// the page's HTML.
async fn open_account(t: &TestApp, browser: &Browser, login: &str, password: &str) -> String {
    let response = browser.get("/account").await;
    if response.status() == 200 {
        return response.text().await.unwrap();
    }
    assert_eq!(response.status(), 302, "not signed in: to the sign-in");
    let authorize = location(&response).unwrap();
    assert!(
        authorize.starts_with(&format!("{}/oauth2/v1/authorize?", t.base)),
        "{authorize}"
    );
    assert_eq!(param(&authorize, "client_id").unwrap(), "gatehouse-account");
    assert_eq!(param(&authorize, "code_challenge_method").unwrap(), "S256");
    finish_sign_in(t, browser, &authorize, login, password).await
}

/// From the authorize URL to the page.
async fn finish_sign_in(
    t: &TestApp,
    browser: &Browser,
    authorize: &str,
    login: &str,
    password: &str,
) -> String {
    let mut response = browser.get(authorize).await;
    let mut next = location(&response).expect("a redirect from /authorize");
    if next.starts_with("/login") {
        response = browser.sign_in(&next, login, password).await;
        next = location(&response).expect("a redirect after the sign-in");
    }
    assert!(
        next.starts_with(&format!("{}/account/callback?", t.base)),
        "{next}"
    );
    let response = browser.get(&next).await;
    assert_eq!(response.status(), 302, "the callback binds the page");
    let page = location(&response).unwrap();
    assert!(page.starts_with("/account"), "{page}");
    let response = browser.get(&page).await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

async fn post(
    browser: &Browser,
    path: &str,
    html: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = input_value(html, "csrf").expect("the page's CSRF token");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(form);
    browser.post_form(path, &all).await
}

async fn story(t: TestApp) {
    let alice = t.user(LOGIN).await;
    let bob = t.user("bob@example.com").await;
    t.web_app().await;

    // No session: /account sends the browser to sign in, and a form posted without
    // one changes nothing.
    let stranger = t.browser();
    let html = open_account(&t, &stranger, "bob@example.com", PASSWORD).await;
    let answer = post(&stranger, "/account/profile", &html, &[("first_name", "B")]).await;
    assert_eq!(answer.status(), 303, "bob's own change");
    let nobody = t.browser();
    nobody.get("/").await;
    let forged = nobody
        .post_form(
            "/account/profile",
            &[("csrf", ""), ("first_name", "Mallory")],
        )
        .await;
    assert_eq!(forged.status(), 403, "no CSRF token: refused first");

    // Alice signs in through the account app and sees her page.
    let browser = t.browser();
    let html = open_account(&t, &browser, LOGIN, PASSWORD).await;
    assert!(html.contains("Alice Liddell"), "{html}");
    assert!(html.contains("https://app.example.com/"), "her app, linked");
    assert!(!html.contains("Gatehouse Admin Console"));
    assert!(html.contains("(This device)"));
    assert!(html.contains("Signed in"), "the activity");
    assert!(html.contains("id=\"no-passkeys\""), "the security section");
    assert!(html.contains("href=\"/account/passkeys\""));

    // A form without the CSRF token: 403, nothing changes.
    let answer = browser
        .post_form("/account/profile", &[("first_name", "Eve")])
        .await;
    assert_eq!(answer.status(), 403);
    let answer = browser
        .post_form("/account/profile", &[("csrf", "x"), ("first_name", "Eve")])
        .await;
    assert_eq!(
        answer.status(),
        403,
        "a CSRF token that is not the cookie's"
    );

    // The profile: saved, said, and in the System Log.
    let answer = post(
        &browser,
        "/account/profile",
        &html,
        &[
            ("first_name", "Alicia"),
            ("last_name", "Liddell"),
            ("mobile_phone", "+44 20 7946 0000"),
        ],
    )
    .await;
    assert_eq!(answer.status(), 303);
    assert_eq!(location(&answer).unwrap(), "/account?done=profile#profile");
    let user = t.backend.store.get_user(&alice.id).await.unwrap().unwrap();
    assert_eq!(user.first_name.as_deref(), Some("Alicia"));
    assert_eq!(user.profile_extra["mobilePhone"], "+44 20 7946 0000");
    let html = browser
        .get("/account?done=profile")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your profile was saved."));
    assert!(html.contains("Profile changed"));
    // Bad input is said in its section; the login cannot be changed from here.
    let long = "x".repeat(51);
    let answer = post(
        &browser,
        "/account/profile",
        &html,
        &[("first_name", &long)],
    )
    .await;
    assert_eq!(answer.status(), 400);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("id=\"profile-error\"")
    );
    let answer = post(
        &browser,
        "/account/profile",
        &html,
        &[("first_name", "A"), ("first_name", "B")],
    )
    .await;
    assert_eq!(answer.status(), 400, "a repeated field");
    let answer = post(&browser, "/account/profile", &html, &[("login", "root")]).await;
    assert_eq!(answer.status(), 303);
    let user = t.backend.store.get_user(&alice.id).await.unwrap().unwrap();
    assert_eq!(user.login, LOGIN, "not a field a person may change");

    // A wrong current password: 400, the password unchanged, a failure in the log.
    let answer = post(
        &browser,
        "/account/password",
        &html,
        &[
            ("current_password", "not it at all"),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(answer.status(), 400);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("Your current password is not right.")
    );
    let mismatch = post(
        &browser,
        "/account/password",
        &html,
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", "something else"),
        ],
    )
    .await;
    assert_eq!(mismatch.status(), 400);
    let same = t.backend.store.get_user(&alice.id).await.unwrap().unwrap();
    assert_eq!(same.password_hash, user.password_hash);

    // A second browser of Alice's, and a stale sign-in: 16 minutes later, a sensitive
    // change is sent to sign in again (prompt=login), and nothing changes until then.
    let phone = t.browser();
    open_account(&t, &phone, LOGIN, PASSWORD).await;
    t.clock.advance(16 * 60);
    let html = browser.get("/account").await.text().await.unwrap();
    assert!(html.contains("id=\"sign-in-again\""));
    let answer = post(
        &browser,
        "/account/profile",
        &html,
        &[("first_name", "Stale")],
    )
    .await;
    assert_eq!(answer.status(), 303);
    assert_eq!(location(&answer).unwrap(), "/account/signin?again=profile");
    let answer = post(
        &browser,
        "/account/password",
        &html,
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(location(&answer).unwrap(), "/account/signin?again=password");
    let user = t.backend.store.get_user(&alice.id).await.unwrap().unwrap();
    assert_eq!(user.first_name.as_deref(), Some("Alicia"));
    assert_eq!(user.password_hash, same.password_hash);
    let again = browser.get("/account/signin?again=password").await;
    let authorize = location(&again).unwrap();
    assert_eq!(param(&authorize, "prompt").as_deref(), Some("login"));
    let login_page = browser.get(&authorize).await;
    assert!(
        location(&login_page).unwrap().starts_with("/login"),
        "the password is asked although the browser has a session"
    );
    let html = finish_sign_in(&t, &browser, &authorize, LOGIN, PASSWORD).await;
    assert!(!html.contains("id=\"sign-in-again\""));

    // The password changes: the other browser is signed out, this one continues under
    // a new session id, and the old password no longer signs in.
    let before = browser.cookie("gh_session").unwrap();
    let answer = post(
        &browser,
        "/account/password",
        &html,
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(answer.status(), 303);
    assert_eq!(
        location(&answer).unwrap(),
        "/account?done=password#password"
    );
    assert_ne!(browser.cookie("gh_session").unwrap(), before);
    let html = browser
        .get("/account?done=password")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your password was changed."));
    assert!(html.contains("Password changed"), "the activity");
    assert!(
        html.contains("failed"),
        "the wrong password earlier, in the activity"
    );
    let response = phone.get("/account").await;
    assert_eq!(response.status(), 302, "the other browser's session ended");
    let check = t.browser();
    let callback = format!("{}/account/callback", t.base);
    let authorize = t.authorize_url("org", "gatehouse-account", &[("redirect_uri", &callback)]);
    let response = check.get(&authorize).await;
    assert_eq!(response.status(), 302);
    let old = check
        .sign_in(&location(&response).unwrap(), LOGIN, PASSWORD)
        .await;
    assert_eq!(old.status(), 401, "the old password is refused");

    // Sign out everywhere: the other browser's session ends, this one stays.
    open_account(&t, &phone, LOGIN, NEW_PASSWORD).await;
    let html = browser.get("/account").await.text().await.unwrap();
    let rows = html.split("id=\"session-list\"").nth(1).unwrap();
    let rows = rows.split("</table>").next().unwrap();
    assert_eq!(rows.matches("<tr").count(), 3, "a header and two sessions");
    let answer = post(&browser, "/account/sessions", &html, &[]).await;
    assert_eq!(answer.status(), 303);
    assert_eq!(phone.get("/account").await.status(), 302, "signed out");
    assert_eq!(
        browser.get("/account").await.status(),
        200,
        "still signed in"
    );
    let live = t
        .backend
        .store
        .user_sessions(&alice.id, t.clock.now())
        .await
        .unwrap();
    assert_eq!(live.len(), 1);

    // A binding is good only with the session it was made for: Alice's binding
    // cookie beside Bob's session is not Alice's page, nor Bob's.
    let mixed = t.browser();
    for (name, value) in [
        ("gh_account", browser.cookie("gh_account").unwrap()),
        ("gh_session", stranger.cookie("gh_session").unwrap()),
    ] {
        mixed.cookies.lock().unwrap().insert(name.into(), value);
    }
    assert_eq!(mixed.get("/account").await.status(), 302);
    let forged = t.browser();
    forged
        .cookies
        .lock()
        .unwrap()
        .insert("gh_account".into(), "AAAA".into());
    forged
        .cookies
        .lock()
        .unwrap()
        .insert("gh_session".into(), browser.cookie("gh_session").unwrap());
    assert_eq!(
        forged.get("/account").await.status(),
        302,
        "not sealed here"
    );

    // The account app is built in: not deleted, deactivated or changed through the
    // API, and not among a person's app links.
    let api = t.api().await;
    assert_eq!(api.delete("/api/v1/apps/gatehouse-account").await, 403);
    let (status, _) = api
        .post(
            "/api/v1/apps/gatehouse-account/lifecycle/deactivate",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 403);
    let (_, links) = api
        .get(&format!("/api/v1/users/{}/appLinks", alice.id))
        .await;
    assert!(
        links
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["id"] != "gatehouse-account" && l["id"] != "gatehouse-console"),
        "{links}"
    );

    // A callback this browser did not start, or with another state: a page, never a
    // redirect, and no binding.
    let fresh = t.browser();
    let response = fresh.get("/account/callback?code=x&state=y").await;
    assert_eq!(response.status(), 400);
    assert!(fresh.cookie("gh_account").is_none());
    let started = fresh.get("/account").await;
    let authorize = location(&started).unwrap();
    let login = fresh.get(&authorize).await;
    let signed = fresh
        .sign_in(&location(&login).unwrap(), "bob@example.com", PASSWORD)
        .await;
    let callback = location(&signed).unwrap();
    let state = param(&callback, "state").unwrap();
    let tampered = callback.replace(&state, "another-state");
    let response = fresh.get(&tampered).await;
    assert_eq!(response.status(), 400);
    assert!(fresh.cookie("gh_account").unwrap_or_default().is_empty());
    assert!(
        !t.backend
            .store
            .user_sessions(&bob.id, t.clock.now())
            .await
            .unwrap()
            .is_empty(),
        "a refused callback leaves the session as it was"
    );
}

#[tokio::test]
async fn the_account_page_on_postgres() {
    story(TestApp::spawn_postgres().await).await;
}

/// "Sign out" on one other session: only the person's own, live, other session ends;
/// every other id gets the page again with one refusal, and nothing changes.
async fn one_session_is_signed_out(t: TestApp) {
    let alice = t.user(LOGIN).await;
    let bob = t.user("bob@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    open_account(&t, &browser, LOGIN, PASSWORD).await;
    let phone = t.browser_with(&[(
        "user-agent",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    )]);
    t.code(&phone, "default", &app, LOGIN).await;
    let bobs = t.browser();
    t.code(&bobs, "default", &app, &bob.login).await;
    let api = t.api().await;
    let ids = |user_id: String| {
        let api = &api;
        async move {
            let (_, list) = api.get(&format!("/api/v1/users/{user_id}/sessions")).await;
            list.as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let agent = s["client"]["userAgent"]["summary"].as_str().unwrap_or("");
                    (s["id"].as_str().unwrap().to_string(), agent.to_string())
                })
                .collect::<Vec<_>>()
        }
    };
    let mine = ids(alice.id.clone()).await;
    assert_eq!(mine.len(), 2);
    let phone_id = mine
        .iter()
        .find(|(_, a)| a == "Safari on iPhone")
        .unwrap()
        .0
        .clone();
    let this_id = mine
        .iter()
        .find(|(id, _)| *id != phone_id)
        .unwrap()
        .0
        .clone();
    let bob_id = ids(bob.id.clone()).await[0].0.clone();
    let html = browser.get("/account").await.text().await.unwrap();
    assert!(html.contains(&format!("id=\"end-{phone_id}\"")), "a button");
    assert!(
        !html.contains(&format!("id=\"end-{this_id}\"")),
        "none for this one"
    );

    // Without the CSRF token: refused first.
    let forged = browser
        .post_form("/account/sessions/end", &[("session", &phone_id)])
        .await;
    assert_eq!(forged.status(), 403);
    // Another person's, an id that is none, this browser's own: the page again.
    for (id, says) in [
        (bob_id.as_str(), "already ended"),
        ("102notasession", "already ended"),
        (this_id.as_str(), "the session you are using"),
    ] {
        let answer = post(&browser, "/account/sessions/end", &html, &[("session", id)]).await;
        assert_eq!(answer.status(), 400, "{id}");
        let page = answer.text().await.unwrap();
        assert!(page.contains("id=\"session-error\""), "{page}");
        assert!(page.contains(says), "{id}: {page}");
    }
    let missing = post(&browser, "/account/sessions/end", &html, &[]).await;
    assert_eq!(missing.status(), 400, "no session named");
    assert_eq!(ids(alice.id.clone()).await.len(), 2, "nothing ended");
    assert_eq!(ids(bob.id.clone()).await.len(), 1, "bob's is untouched");

    // The phone's: it ends, and the page says so.
    let answer = post(
        &browser,
        "/account/sessions/end",
        &html,
        &[("session", &phone_id)],
    )
    .await;
    assert_eq!(answer.status(), 303);
    assert_eq!(location(&answer).unwrap(), "/account?done=session#session");
    let left = ids(alice.id.clone()).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0, this_id, "this browser stays signed in");
    let page = browser
        .get("/account?done=session")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("That session was signed out."));
    let again = post(
        &browser,
        "/account/sessions/end",
        &html,
        &[("session", &phone_id)],
    )
    .await;
    assert_eq!(again.status(), 400, "already ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_is_signed_out_on_sqlite() {
    one_session_is_signed_out(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_is_signed_out_on_postgres() {
    one_session_is_signed_out(TestApp::spawn_postgres().await).await;
}
