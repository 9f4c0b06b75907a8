//! The everyday commands: change, deactivate and delete apps; set a password, reset the factors,
//! deactivate and delete users; print the OpenAPI document. The real binary against
//! a running server's data directory; what they change applies at once.

use serde_json::Value;

use crate::cli::gatehouse;
use crate::support::*;

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_update_changes_what_is_given_and_keeps_the_rest() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let id = app.client_id.as_str();
    let (ok, out, err) = gatehouse(
        &t,
        &[
            "apps",
            "update",
            id,
            "--name",
            "Renamed",
            "--redirect-uri",
            "https://new.example.com/cb",
            "--redirect-uri",
            "http://localhost:3000/cb",
            "--post-logout-redirect-uri",
            "https://new.example.com/",
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
        ],
        None,
    );
    assert!(ok, "{err}");
    let v = json(&out);
    assert_eq!(v["label"], "Renamed");
    let s = &v["settings"]["oauthClient"];
    assert_eq!(
        s["redirect_uris"],
        serde_json::json!(["https://new.example.com/cb", "http://localhost:3000/cb"])
    );
    assert_eq!(
        s["post_logout_redirect_uris"],
        serde_json::json!(["https://new.example.com/"])
    );
    assert_eq!(
        s["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert!(v.get("client_secret").is_none(), "no secret is shown again");

    // Only the name: the rest stays; the old secret still authenticates.
    let (ok, out, err) = gatehouse(&t, &["apps", "update", id, "--name", "Again"], None);
    assert!(ok, "{err}");
    let v = json(&out);
    assert_eq!(v["label"], "Again");
    assert_eq!(
        v["settings"]["oauthClient"]["redirect_uris"][0],
        "https://new.example.com/cb"
    );
    let r = t.client_credentials("default", &app, None).await;
    assert_ne!(r.status(), 401, "the secret still authenticates");

    // Clearing the post-logout URIs.
    let (ok, out, err) = gatehouse(
        &t,
        &["apps", "update", id, "--clear-post-logout-redirect-uris"],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(
        json(&out)["settings"]["oauthClient"]["post_logout_redirect_uris"],
        serde_json::json!([])
    );

    // A bad redirect URI is refused with the reason; nothing changes.
    let (ok, _, err) = gatehouse(
        &t,
        &[
            "apps",
            "update",
            id,
            "--redirect-uri",
            "http://evil.example/cb",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("must use https"), "{err}");
    let (_, out, _) = gatehouse(&t, &["apps", "show", id], None);
    assert_eq!(
        json(&out)["settings"]["oauthClient"]["redirect_uris"][0],
        "https://new.example.com/cb"
    );

    let (ok, _, err) = gatehouse(&t, &["apps", "update", "0oanothere", "--name", "x"], None);
    assert!(!ok);
    assert!(err.contains("0oanothere"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_deactivate_stops_the_app_and_delete_needs_it() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let id = app.client_id.as_str();
    let (ok, _, err) = gatehouse(&t, &["apps", "delete", id], None);
    assert!(!ok, "an active app is not deleted");
    assert!(err.contains("deactivated first"), "{err}");

    let (ok, out, err) = gatehouse(&t, &["apps", "deactivate", id], None);
    assert!(ok, "{err}");
    assert_eq!(json(&out)["status"], "INACTIVE");
    let r = t
        .exchange(
            "default",
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", "whatever"),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(r.status(), 401, "an inactive app is an invalid client");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let (ok, out, err) = gatehouse(&t, &["apps", "activate", id], None);
    assert!(ok, "{err}");
    assert_eq!(json(&out)["status"], "ACTIVE");
    let (ok, _, err) = gatehouse(&t, &["apps", "deactivate", id], None);
    assert!(ok, "{err}");
    let (ok, _, err) = gatehouse(&t, &["apps", "delete", id], None);
    assert!(ok, "{err}");
    let (ok, _, err) = gatehouse(&t, &["apps", "show", id], None);
    assert!(!ok);
    assert!(err.contains(id), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_set_password_deactivate_and_delete() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let user = t.user("bob@example.com").await;
    let new_password = "a different long password";

    let (ok, _, err) = gatehouse(
        &t,
        &["users", "set-password", "bob@example.com"],
        Some("\n"),
    );
    assert!(!ok, "--password-stdin is required");
    assert!(err.contains("--password-stdin"), "{err}");
    let (ok, out, err) = gatehouse(
        &t,
        &[
            "users",
            "set-password",
            "bob@example.com",
            "--password-stdin",
        ],
        Some(&format!("{new_password}\n")),
    );
    assert!(ok, "{err}");
    assert_eq!(json(&out)["id"], user.id.as_str());
    assert!(!out.contains(new_password));

    // The old password fails, the new one signs in.
    let browser = t.browser();
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let login = location(&r).unwrap();
    let r = browser.sign_in(&login, "bob@example.com", PASSWORD).await;
    assert_eq!(r.status(), 401);
    let r = browser
        .get(&t.authorize_url("default", &app.client_id, &[]))
        .await;
    let login = location(&r).unwrap();
    let r = browser
        .sign_in(&login, "bob@example.com", new_password)
        .await;
    assert!(location(&r).unwrap().starts_with(REDIRECT), "signed in");

    let (ok, out, err) = gatehouse(&t, &["users", "deactivate", &user.id], None);
    assert!(ok, "{err}");
    assert_eq!(json(&out)["status"], "DEPROVISIONED");
    let (ok, _, err) = gatehouse(&t, &["users", "deactivate", &user.id], None);
    assert!(!ok, "already deactivated");
    assert!(
        err.contains("E0000038") || err.contains("not allowed"),
        "{err}"
    );

    let (ok, _, err) = gatehouse(&t, &["users", "delete", "bob@example.com"], None);
    assert!(ok, "{err}");
    let (_, out, _) = gatehouse(&t, &["users", "list"], None);
    assert!(!out.contains("bob@example.com"), "{out}");
    let (ok, _, err) = gatehouse(&t, &["users", "delete", "bob@example.com"], None);
    assert!(!ok);
    assert!(err.contains("bob@example.com"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_delete_deactivates_an_active_user_first() {
    let t = TestApp::spawn().await;
    t.user("carol@example.com").await;
    let (ok, out, err) = gatehouse(&t, &["users", "delete", "carol@example.com"], None);
    assert!(ok, "{err}");
    assert_eq!(json(&out)["status"], "DEPROVISIONED");
    assert!(err.contains("again deletes"), "{err}");
    let (ok, _, err) = gatehouse(&t, &["users", "activate", "carol@example.com"], None);
    assert!(ok, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_command_prints_the_served_document() {
    let t = TestApp::spawn().await;
    let (ok, out, err) = gatehouse(&t, &["openapi"], None);
    assert!(ok, "{err}");
    let printed = json(&out);
    let served: Value = t
        .http
        .get(format!("{}/api/v1/openapi.json", t.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(printed, served);
    assert!(printed["openapi"].as_str().unwrap().starts_with("3.1"));
}

/// `gatehouse users reset-factors` for someone who lost their authenticator: their
/// TOTP factor, recovery codes and passkeys are gone, the System Log has one
/// `user.mfa.factor.reset_all` event by the command line with the user as target, and
/// their next sign-in asking two factors sends them to set one up. Another user's
/// factors stay. An unknown user is an error naming them.
async fn users_reset_factors(t: TestApp) {
    use gatehouse::store::Passkey;
    let ada = t.user("ada@example.com").await;
    let bob = t.user("bob@example.com").await;
    crate::sign_on_policies::totp_for(&t, &ada.login).await;
    crate::sign_on_policies::totp_for(&t, &bob.login).await;
    let store = &t.backend.store;
    store
        .replace_recovery_codes(&ada.id, &[vec![1; 32], vec![2; 32]], 1)
        .await
        .unwrap();
    let passkey = Passkey {
        id: "fwfReset1".into(),
        user_id: ada.id.clone(),
        credential_id: vec![7, 7, 7],
        public_key: vec![0xa0],
        sign_count: 0,
        user_handle: vec![9; 32],
        discoverable: true,
        transports: vec!["internal".into()],
        name: "Laptop".into(),
        aaguid: vec![0; 16],
        backup_eligible: false,
        backed_up: false,
        user_verified: true,
        created_at: 1,
        last_used_at: None,
    };
    assert!(store.insert_passkey(&passkey).await.unwrap());

    let data_dir = t.dir.path().to_str().unwrap().to_string();
    let mut env = vec![("GATEHOUSE_DATA_DIR", data_dir.as_str())];
    if let Some(db) = &t.database {
        env.push(("GATEHOUSE_DATABASE_URL", db.url.as_str()));
    }
    let (ok, _, err) =
        crate::cli::gatehouse_env(&env, &["users", "reset-factors", "ada@example.com"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("removed 2 factor(s) of ada@example.com"),
        "{err}"
    );
    assert!(store.user_factors(&ada.id).await.unwrap().is_empty());
    assert!(store.user_passkeys(&ada.id).await.unwrap().is_empty());
    assert_eq!(store.recovery_codes_left(&ada.id).await.unwrap(), 0);
    assert_eq!(
        store.user_factors(&bob.id).await.unwrap().len(),
        1,
        "Bob's stays"
    );

    let api = t.api().await;
    let (status, events) = api
        .get("/api/v1/logs?filter=eventType eq \"user.mfa.factor.reset_all\"")
        .await;
    assert_eq!(status, 200);
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor"]["id"], "cli");
    assert_eq!(events[0]["actor"]["type"], "SystemPrincipal");
    assert_eq!(events[0]["target"][0]["id"], ada.id.as_str());
    assert_eq!(events[0]["outcome"]["result"], "SUCCESS");

    // Ada's next sign-in asking two factors sets one up again.
    let app = t.web_app().await;
    let browser = t.browser();
    let url = t.authorize_url(
        "default",
        &app.client_id,
        &[("acr_values", "urn:okta:loa:2fa:any")],
    );
    let login = location(&browser.get(&url).await).unwrap();
    let next = location(&browser.sign_in(&login, &ada.login, PASSWORD).await).unwrap();
    assert!(next.starts_with("/signin/enroll?tx="), "{next}");

    let (ok, _, err) =
        crate::cli::gatehouse_env(&env, &["users", "reset-factors", "nobody@example.com"]);
    assert!(!ok);
    assert!(err.contains("nobody@example.com"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_reset_factors_sqlite() {
    users_reset_factors(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_reset_factors_postgres() {
    users_reset_factors(TestApp::spawn_postgres().await).await;
}
