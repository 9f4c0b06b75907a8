//! The management API, hostile: app registrations that must be refused (PKCE turned
//! off for a public client), control characters in search and filter values (a NUL
//! made SQLite's `LIKE` match every row), and a keep-alive connection after a request
//! refused before its body arrived.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

fn app_body(auth_method: &str, oauth_client: Value) -> Value {
    let mut credentials = json!({ "token_endpoint_auth_method": auth_method });
    for (k, v) in oauth_client.as_object().unwrap() {
        credentials[k] = v.clone();
    }
    json!({
        "name": "oidc_client",
        "label": "Hostile",
        "signOnMode": "OPENID_CONNECT",
        "credentials": { "oauthClient": credentials },
        "settings": { "oauthClient": {
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code"],
        } },
    })
}

/// Okta's `pkce_required` (in `credentials.oauthClient`, where Okta's app JSON has it):
/// always true for a public client (false is refused with Okta's error shape, as is
/// allowing plain), false by default for a confidential one, and kept as set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_required_cannot_be_turned_off_for_public_clients() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    for (body, field) in [
        (
            app_body("none", json!({ "pkce_required": false })),
            "credentials.oauthClient.pkce_required",
        ),
        (
            app_body("none", json!({ "pkce_allow_plain": true })),
            "credentials.oauthClient.pkce_allow_plain",
        ),
    ] {
        let (status, error) = api.post("/api/v1/apps", body).await;
        let (code, causes) = okta_error(&error);
        assert_eq!((status, code.as_str()), (400, "E0000001"), "{error}");
        assert!(causes[0].starts_with(&format!("{field}: ")), "{causes:?}");
    }
    let pkce = |app: &Value| {
        let c = &app["credentials"]["oauthClient"];
        (c["pkce_required"].clone(), c["pkce_allow_plain"].clone())
    };
    let (status, spa) = api.post("/api/v1/apps", app_body("none", json!({}))).await;
    assert_eq!(status, 200, "{spa}");
    assert_eq!(pkce(&spa), (json!(true), json!(false)));
    let (_, web) = api
        .post("/api/v1/apps", app_body("client_secret_basic", json!({})))
        .await;
    assert_eq!(pkce(&web), (json!(false), json!(false)));
    let (_, strict) = api
        .post(
            "/api/v1/apps",
            app_body("client_secret_basic", json!({ "pkce_required": true })),
        )
        .await;
    assert_eq!(pkce(&strict), (json!(true), json!(false)));
    let id = strict["id"].as_str().unwrap();
    let (_, read) = api.get(&format!("/api/v1/apps/{id}")).await;
    assert_eq!(pkce(&read), (json!(true), json!(false)));
    // PUT of the public app with pkce_required false: refused, the app unchanged.
    let id = spa["id"].as_str().unwrap();
    let (status, error) = api
        .put(
            &format!("/api/v1/apps/{id}"),
            app_body("none", json!({ "pkce_required": false })),
        )
        .await;
    assert_eq!((status, okta_error(&error).0.as_str()), (400, "E0000001"));

    // The CLI: the same rules.
    let (ok, _, stderr) = crate::cli::gatehouse(
        &t,
        &[
            "apps",
            "create",
            "--name",
            "SPA",
            "--redirect-uri",
            REDIRECT,
            "--auth-method",
            "none",
            "--pkce-required",
            "false",
        ],
        None,
    );
    assert!(
        !ok && stderr.contains("credentials.oauthClient.pkce_required"),
        "{stderr}"
    );
    let (ok, stdout, stderr) = crate::cli::gatehouse(
        &t,
        &[
            "apps",
            "create",
            "--name",
            "Web",
            "--redirect-uri",
            REDIRECT,
            "--pkce-required",
            "true",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let created: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(pkce(&created), (json!(true), json!(false)));
    let id = created["client_id"].as_str().unwrap();
    let (ok, stdout, stderr) = crate::cli::gatehouse(
        &t,
        &[
            "apps",
            "update",
            id,
            "--pkce-required",
            "false",
            "--pkce-allow-plain",
            "true",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let updated: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(pkce(&updated), (json!(false), json!(true)));
}

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A NUL or any other control character in a `search`, `filter` or `q` value, raw
/// (`%00`) or as a JSON escape (`"\u0000"`), is `400 E0000031` (Okta's invalid search
/// criteria) for users, apps, groups and the System Log: SQLite's `LIKE` stops at a
/// NUL, so `co "\u0000"` listed every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_searches_are_invalid_search_criteria() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    t.web_app().await;
    let api = t.api().await;
    let mut queries = Vec::new();
    for nul in [
        "\u{0}", "\u{1}", "\u{1f}", "\u{7f}", "\n", "\\u0000", "\\u001b",
    ] {
        let value = format!(r#""{nul}""#);
        queries.push(format!(
            "/api/v1/users?search={}",
            encoded(&format!("profile.login co {value}"))
        ));
        queries.push(format!(
            "/api/v1/users?filter={}",
            encoded(&format!("profile.login sw {value}"))
        ));
        queries.push(format!(
            "/api/v1/apps?filter={}",
            encoded(&format!("label co {value}"))
        ));
        queries.push(format!(
            "/api/v1/logs?filter={}",
            encoded(&format!("eventType co {value}"))
        ));
    }
    for q in ["%00", "a%00", "%1B", "%7F"] {
        for list in ["users", "apps", "groups", "logs"] {
            queries.push(format!("/api/v1/{list}?q={q}"));
        }
    }
    queries.push("/api/v1/users?search=profile.login%20co%20%22%00%22".into());
    for path in &queries {
        let (status, body) = api.get(path).await;
        let (code, causes) = okta_error(&body);
        assert_eq!((status, code.as_str()), (400, "E0000031"), "{path}: {body}");
        assert!(!causes.is_empty(), "{path}");
    }
    // Printable values still search.
    let (status, found) = api
        .get(&format!(
            "/api/v1/users?search={}",
            encoded(r#"profile.login co "\u0061lice""#)
        ))
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 1);
}

/// One HTTP/1.1 response read off `stream`: its status and head; the body (by
/// `Content-Length`) is read and dropped. `None` if the connection closed first.
async fn response(stream: &mut TcpStream) -> Option<(u16, String)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, head))
}

/// A management API request refused before its body arrived (401 without a token, 404
/// for an unknown path) leaves the keep-alive connection usable: the next request on
/// it is answered. The body is sent after a pause, as a client does that writes the
/// head first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_survives_a_request_refused_before_its_body() {
    let t = TestApp::spawn().await;
    let token = t.api_token("keep-alive").await;
    let body = format!(
        r#"{{"profile": {{"login": "x@example.com", "pad": "{}"}}}}"#,
        "p".repeat(20_000)
    );
    for (path, auth, expected) in [
        ("/api/v1/users", String::new(), 401),
        (
            "/api/v1/nothing-here",
            format!("Authorization: SSWS {token}\r\n"),
            404,
        ),
        (
            "/api/v1/users",
            "Authorization: SSWS wrong\r\n".to_string(),
            401,
        ),
    ] {
        let mut stream = TcpStream::connect(t.base.trim_start_matches("http://"))
            .await
            .unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: gatehouse\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The server may have answered already; the body must still be taken.
        let _ = stream.write_all(body.as_bytes()).await;
        let (status, first) = response(&mut stream).await.expect("the first answer");
        assert_eq!(status, expected, "{path}: {first}");
        let second = format!(
            "GET /api/v1/users?limit=1 HTTP/1.1\r\nHost: gatehouse\r\nAuthorization: SSWS {token}\r\n\r\n"
        );
        let closing = first.to_ascii_lowercase().contains("connection: close");
        let sent = stream.write_all(second.as_bytes()).await;
        match response(&mut stream).await {
            Some((status, _)) => assert_eq!(status, 200, "{path}: the second request"),
            None => panic!(
                "{path}: the connection was closed after {expected} (Connection: close said: {closing}, write: {sent:?})"
            ),
        }
    }
}

/// App metadata an attacker registers to phish or to reach the server's own network:
/// wildcard redirect URIs, `https:///cb` (no host), hosts mixing scripts (a Cyrillic
/// `а` in `apple`), and a `jwks_uri` on loopback, private, link-local or metadata
/// addresses are refused with Okta's error shape (400 E0000001 naming the field). An
/// IDN host is stored as punycode; RFC 8252's custom schemes and loopback redirect
/// URIs stay allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phishing_and_internal_app_metadata_is_refused_at_registration() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let with_redirect = |auth: &str, uri: &str| {
        let mut body = app_body(auth, json!({}));
        body["settings"]["oauthClient"]["redirect_uris"] = json!([uri]);
        body
    };
    let refused = |body: Value, field: &'static str| {
        let api = &api;
        async move {
            let (status, error) = api.post("/api/v1/apps", body.clone()).await;
            let (code, causes) = okta_error(&error);
            assert_eq!(
                (status, code.as_str()),
                (400, "E0000001"),
                "{body}: {error}"
            );
            assert!(causes[0].starts_with(&format!("{field}: ")), "{causes:?}");
        }
    };
    for uri in [
        "https://*.example.com/cb",
        "https://app.example.com/*",
        "https:///cb",
        "https:/cb",
        "https://\u{430}pple.com/cb",
        "https://xn--pple-43d.com/cb",
        "https://g\u{43e}\u{43e}gle.com/cb",
    ] {
        refused(
            with_redirect("client_secret_basic", uri),
            "settings.oauthClient.redirect_uris",
        )
        .await;
    }
    let mut logout = app_body("client_secret_basic", json!({}));
    logout["settings"]["oauthClient"]["post_logout_redirect_uris"] =
        json!(["https://*.example.com/"]);
    refused(logout, "settings.oauthClient.post_logout_redirect_uris").await;

    for uri in [
        "https://127.0.0.1/jwks",
        "https://10.0.0.1/jwks",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/jwks",
        "https://[fe80::1]/jwks",
        "https://localhost/jwks",
        "https://metadata.google.internal/computeMetadata/v1/",
        "http://127.0.0.1:9/jwks",
    ] {
        let mut body = app_body("private_key_jwt", json!({}));
        body["settings"]["oauthClient"]["grant_types"] = json!(["client_credentials"]);
        body["settings"]["oauthClient"]["redirect_uris"] = json!([]);
        body["settings"]["oauthClient"]["jwks_uri"] = json!(uri);
        refused(body, "settings.oauthClient.jwks_uri").await;
    }

    // Allowed: IDN (stored as punycode), native custom schemes, loopback.
    let (status, idn) = api
        .post(
            "/api/v1/apps",
            with_redirect("client_secret_basic", "https://b\u{fc}cher.example/cb"),
        )
        .await;
    assert_eq!(status, 200, "{idn}");
    assert_eq!(
        idn["settings"]["oauthClient"]["redirect_uris"],
        json!(["https://xn--bcher-kva.example/cb"])
    );
    for (auth, uri) in [
        ("none", "com.example.app:/cb"),
        ("none", "http://127.0.0.1/cb"),
        ("none", "http://[::1]/cb"),
        ("client_secret_basic", "http://localhost:3000/cb"),
    ] {
        let (status, app) = api.post("/api/v1/apps", with_redirect(auth, uri)).await;
        assert_eq!(status, 200, "{uri}: {app}");
    }
}
