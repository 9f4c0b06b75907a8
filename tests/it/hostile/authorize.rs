//! /authorize: the redirect URI bypass matrix (RFC 9700 §4.1: exact string matching,
//! so every near miss is an error page that never redirects), RFC 8252 loopback
//! ports, request objects fetched from nowhere, markup and CRLF in reflected
//! parameters, a 4 KB `state`, and oversized or repeated parameters.

use std::time::{Duration, Instant};

use super::forged::Tripwire;
use crate::support::*;

/// A 400 HTML error page: no `Location`, the page's security headers.
async fn assert_error_page(response: reqwest::Response, what: &str) -> String {
    assert_eq!(response.status(), 400, "{what}");
    assert!(location(&response).is_none(), "must not redirect: {what}");
    let h = response.headers();
    assert!(
        h["content-type"].to_str().unwrap().starts_with("text/html"),
        "{what}"
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    response.text().await.unwrap()
}

/// The authorize URL with `redirect_uri` as raw, already-encoded query text, so that
/// the matrix controls every byte.
fn with_raw_redirect(t: &TestApp, client_id: &str, raw: &str) -> String {
    let base = t.authorize_url("default", client_id, &[("redirect_uri", "")]);
    format!("{base}&redirect_uri={raw}")
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_near_miss_of_the_redirect_uri_is_an_error_page() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await; // registered: https://app.example.com/callback
    let ok = t
        .http
        .get(with_raw_redirect(&t, &app.client_id, &enc(REDIRECT)))
        .send()
        .await
        .unwrap();
    assert!(
        location(&ok).unwrap().starts_with("/login"),
        "the exact string works"
    );

    let decoded = [
        "https://app.example.com/callback/",
        "https://app.example.com/Callback",
        "https://APP.EXAMPLE.COM/callback",
        "HTTPS://app.example.com/callback",
        "https://app.example.com/callback/extra",
        "https://app.example.com/callbackextra",
        "https://app.example.com/callback/..;/",
        "https://app.example.com/callback/..;/../evil",
        "https://app.example.com/callback/../callback",
        "https://app.example.com/callback/%2e%2e/evil",
        "https://app.example.com/callback/%2E%2E%2Fevil",
        "https://app.example.com/callback%2Fevil",
        "https://app.example.com%2Fcallback",
        "https://app.example.com/callback?x=1",
        "https://app.example.com/callback?",
        "https://app.example.com/callback#",
        "https://app.example.com/callback#frag",
        "https://evil.example@app.example.com/callback",
        "https://app.example.com@evil.example/callback",
        "https://app.example.com:@evil.example/callback",
        "https://a@b@app.example.com/callback",
        "https://app.example.com@evil.example@app.example.com/callback",
        "https://app.example.com\\@evil.example/callback",
        "https://app.example.com.evil.example/callback",
        "https://evilapp.example.com/callback",
        "https://app.example.com./callback",
        "http://app.example.com/callback",
        "https://app.example.com:443/callback",
        "https://app.example.com:8443/callback",
        "https:app.example.com/callback",
        "https:/app.example.com/callback",
        "//app.example.com/callback",
        "/callback",
        "app.example.com/callback",
        " https://app.example.com/callback",
        "https://app.example.com/callback ",
        "https://app.example.com/callback\t",
        "https://app.example.com/callback\n",
        "https://app.example.com/call back",
        "https://app.example.com/callback\u{200b}",
        "https://аpp.example.com/callback",
        "https://xn--pp-8cd.example.com/callback",
        "javascript://app.example.com/callback%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
    ];
    let mut cases: Vec<(String, String)> =
        decoded.iter().map(|d| (d.to_string(), enc(d))).collect();
    // Byte-level variants the encoder above would not make.
    for raw in [
        "https://app.example.com/callback%00",
        "https%3A%2F%2Fapp.example.com%2Fcallback%00.evil",
        "https%3A//app.example.com/callback%2523",
        "https://app.example.com/%2563allback",
        "https://app.example.com/callback%252F..%252Fevil",
        "https://app.example.com/callback%2F",
        "https://app.example.com/callback%3Fx=1",
        "https://app.example.com/callback%23",
        "https%253A%252F%252Fapp.example.com%252Fcallback",
    ] {
        cases.push((raw.to_string(), raw.to_string()));
    }
    for (what, raw) in cases {
        let response = t
            .http
            .get(with_raw_redirect(&t, &app.client_id, &raw))
            .send()
            .await
            .unwrap();
        let html = assert_error_page(response, &what).await;
        assert!(!html.contains("<script>"), "{what}");
    }
    // Missing, empty, repeated with a good and a bad value (either order).
    assert_error_page(
        t.http
            .get(t.authorize_url("default", &app.client_id, &[("redirect_uri", "")]))
            .send()
            .await
            .unwrap(),
        "missing",
    )
    .await;
    for (a, b) in [
        (REDIRECT, "https://evil.example/"),
        ("https://evil.example/", REDIRECT),
        (REDIRECT, REDIRECT),
    ] {
        let url = format!(
            "{}&redirect_uri={}",
            with_raw_redirect(&t, &app.client_id, &enc(a)),
            enc(b)
        );
        assert_error_page(t.http.get(url).send().await.unwrap(), "repeated").await;
    }
    // Another client's registered URI.
    let other = t
        .app_with("client_secret_basic", &["https://other.example.com/cb"])
        .await;
    let url = with_raw_redirect(&t, &other.client_id, &enc(REDIRECT));
    assert_error_page(
        t.http.get(url).send().await.unwrap(),
        "another client's URI",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_loopback_uris_take_any_port_and_nothing_more() {
    let t = TestApp::spawn().await;
    let native = t
        .create_app(gatehouse::admin::apps::NewApp {
            name: "Desktop".into(),
            redirect_uris: vec![
                "http://127.0.0.1/cb".into(),
                "http://[::1]/cb".into(),
                "http://localhost/cb".into(),
            ],
            auth_method: Some("none".into()),
            application_type: Some("native".into()),
            ..Default::default()
        })
        .await;
    for good in [
        "http://127.0.0.1/cb",
        "http://127.0.0.1:1/cb",
        "http://127.0.0.1:50000/cb",
        "http://127.0.0.1:65535/cb",
        "http://[::1]:50000/cb",
        "http://localhost/cb",
    ] {
        let r = t
            .http
            .get(t.authorize_url("default", &native.client_id, &[("redirect_uri", good)]))
            .send()
            .await
            .unwrap();
        assert!(
            location(&r).is_some_and(|l| l.starts_with("/login")),
            "{good}: {}",
            r.status()
        );
    }
    for bad in [
        "http://localhost:50000/cb",
        "http://127.0.0.1:50000/cb/",
        "http://127.0.0.1:50000/other",
        "http://127.0.0.1:50000/cb?x=1",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:050000/cb",
        "http://127.0.0.1:50000@evil.example/cb",
        "http://127.0.0.1.nip.io:50000/cb",
        "http://127.1:50000/cb",
        "http://2130706433:50000/cb",
        "http://[::ffff:127.0.0.1]:50000/cb",
        "https://127.0.0.1:50000/cb",
        "http://[0:0:0:0:0:0:0:1]:50000/cb",
    ] {
        let r = t
            .http
            .get(t.authorize_url("default", &native.client_id, &[("redirect_uri", bad)]))
            .send()
            .await
            .unwrap();
        assert_error_page(r, bad).await;
    }
    // A web (confidential) app's loopback URI is matched exactly, port included.
    let web = t
        .app_with("client_secret_basic", &["http://127.0.0.1:8000/cb"])
        .await;
    let r = t
        .http
        .get(t.authorize_url(
            "default",
            &web.client_id,
            &[("redirect_uri", "http://127.0.0.1:8001/cb")],
        ))
        .send()
        .await
        .unwrap();
    assert_error_page(r, "web app, other port").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_objects_issue_no_code_and_fetch_nothing() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    t.code(&browser, "default", &app, "alice@example.com").await; // a live session
    let tripwire = Tripwire::new().await;
    let jar = format!("{}/request.jwt", tripwire.url);
    let unsigned = "eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2V2aWwuZXhhbXBsZS8ifQ.";
    for extra in [
        vec![("request_uri", jar.as_str())],
        vec![("request", unsigned)],
        vec![("request", unsigned), ("request_uri", jar.as_str())],
        vec![("request_uri", "urn:ietf:params:oauth:request_uri:made-up")],
    ] {
        let r = browser
            .get(&t.authorize_url("default", &app.client_id, &extra))
            .await;
        let loc = location(&r).unwrap_or_default();
        assert!(
            param(&loc, "code").is_none(),
            "{extra:?}: no code, got {loc}"
        );
        assert!(!loc.contains("evil.example"), "{extra:?}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(tripwire.hits(), 0, "request_uri must never be fetched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_reflected_parameters_is_escaped() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let xss = "\"'><script>alert(1)</script><img src=x onerror=alert(1)>";
    let unescaped = |html: &str| {
        html.contains("<script>alert") || html.contains("<img src=x") || html.contains("\"'>")
    };
    // Untrusted: error pages.
    for extra in [
        vec![("client_id", xss)],
        vec![("redirect_uri", xss)],
        vec![("redirect_uri", xss), ("state", xss)],
    ] {
        let html = assert_error_page(
            t.http
                .get(t.authorize_url("default", &app.client_id, &extra))
                .send()
                .await
                .unwrap(),
            xss,
        )
        .await;
        assert!(!unescaped(&html), "{extra:?}: {html}");
    }
    // Trusted: errors go back to the client, encoded in the URL.
    for extra in [
        vec![("scope", xss), ("state", xss)],
        vec![("response_type", xss)],
        vec![("prompt", xss)],
        vec![("response_mode", xss)],
    ] {
        let r = t
            .http
            .get(t.authorize_url("default", &app.client_id, &extra))
            .send()
            .await
            .unwrap();
        let loc = location(&r).unwrap();
        assert!(
            loc.starts_with(REDIRECT)
                && !loc.contains('<')
                && !loc.contains('"')
                && !loc.contains('\''),
            "{loc}"
        );
    }
    // form_post: the state and code go in an HTML form, escaped.
    let browser = t.browser();
    t.code(&browser, "default", &app, "alice@example.com").await;
    let r = browser
        .get(&t.authorize_url(
            "default",
            &app.client_id,
            &[("response_mode", "form_post"), ("state", xss)],
        ))
        .await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    assert!(!unescaped(&html), "{html}");
    assert_eq!(
        input_value(&html, "state")
            .map(|v| v.contains("&lt;script&gt;") || v.contains("&#60;script")),
        Some(true),
        "{html}"
    );
    // An error sent by form_post is escaped alike.
    let r = browser
        .get(&t.authorize_url(
            "default",
            &app.client_id,
            &[
                ("response_mode", "form_post"),
                ("state", xss),
                ("scope", xss),
            ],
        ))
        .await;
    let html = r.text().await.unwrap();
    assert!(!unescaped(&html), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crlf_in_state_injects_no_header_and_4_kb_state_comes_back_exactly() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let browser = t.browser();
    t.code(&browser, "default", &app, "alice@example.com").await;
    let crlf = "x\r\nSet-Cookie: evil=1\r\nLocation: https://evil.example/";
    for extra in [
        vec![("state", crlf)],
        vec![("state", crlf), ("scope", "nonsense")],
    ] {
        let r = browser
            .get(&t.authorize_url("default", &app.client_id, &extra))
            .await;
        assert!(
            r.headers()
                .get_all("set-cookie")
                .iter()
                .all(|c| !c.to_str().unwrap().contains("evil"))
        );
        assert_eq!(r.headers().get_all("location").iter().count(), 1);
        let loc = location(&r).unwrap();
        assert!(
            loc.starts_with(REDIRECT) && !loc.contains('\r') && !loc.contains('\n'),
            "{loc}"
        );
        assert_eq!(param(&loc, "state").as_deref(), Some(crlf));
    }
    // 4 KB of every printable ASCII character, and some that are not ASCII.
    let alphabet: String = (0x20u8..0x7f)
        .map(char::from)
        .chain("é€😀".chars())
        .collect();
    let state: String = alphabet.chars().cycle().take(4096).collect();
    for mode in ["query", "fragment", "form_post"] {
        let r = browser
            .get(&t.authorize_url(
                "default",
                &app.client_id,
                &[("state", &state), ("response_mode", mode)],
            ))
            .await;
        let echoed = if mode == "form_post" {
            let html = r.text().await.unwrap();
            let raw = input_value(&html, "state").unwrap();
            unescape_html(&raw)
        } else {
            param(&location(&r).unwrap(), "state").unwrap()
        };
        assert_eq!(echoed, state, "{mode}");
    }
    // Through the sign-in page too.
    let fresh = t.browser();
    let start = fresh
        .get(&t.authorize_url("default", &app.client_id, &[("state", &state)]))
        .await;
    let back = fresh
        .sign_in(&location(&start).unwrap(), "alice@example.com", PASSWORD)
        .await;
    assert_eq!(param(&location(&back).unwrap(), "state").unwrap(), state);
}

/// Writes `request` on a new connection and returns the response head ("" if the
/// server closed the connection without one).
async fn raw_request(t: &TestApp, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(t.base.trim_start_matches("http://"))
        .await
        .unwrap();
    // The server may answer and close before reading everything: ignore write errors.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut buffer = vec![0u8; 4096];
    let mut read = 0;
    while read < buffer.len() {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer[read..])).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => read += n,
        }
        if buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&buffer[..read]).into_owned()
}

/// Undoes HTML character references in an attribute value (decimal, hex, and the named
/// ones askama writes).
fn unescape_html(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').unwrap() + at;
        let entity = &rest[at + 1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") || e.starts_with("#X") => {
                char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap()
            }
            e if e.starts_with('#') => char::from_u32(e[1..].parse().unwrap()).unwrap(),
            e => panic!("unknown entity {e}"),
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_numerous_and_repeated_parameters_are_refused_fast() {
    let t = TestApp::spawn().await;
    let app = t.web_app().await;
    let started = Instant::now();
    // 1 MB of scope in the query string, sent raw (HTTP clients refuse to build such
    // a URL): refused by the HTTP layer before any handler runs.
    let head = raw_request(
        &t,
        &format!(
            "GET /oauth2/default/v1/authorize?client_id={}&scope={} HTTP/1.1\r\nHost: x\r\n\r\n",
            app.client_id,
            "a".repeat(1 << 20)
        ),
    )
    .await;
    eprintln!("1 MB query string: {:?}", head.lines().next());
    assert!(head.is_empty() || head.starts_with("HTTP/1.1 4"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("\nlocation:"), "{head}");
    // 1 MB in a POST body: a page, never a redirect.
    let body = format!("client_id={}&scope={}", app.client_id, "a".repeat(1 << 20));
    let r = no_redirects()
        .post(t.endpoint("default", "authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(r.status().as_u16(), 400 | 413) && location(&r).is_none(),
        "{}",
        r.status()
    );
    // 10,000 parameters: the client cannot be established from such a request: a page.
    let many = format!(
        "{}&{}",
        t.authorize_url("default", &app.client_id, &[]),
        "x=1&".repeat(10_000)
    );
    assert_error_page(t.http.get(&many).send().await.unwrap(), "10,000 parameters").await;
    let body = format!("client_id={}&{}", app.client_id, "x=1&".repeat(10_000));
    let r = t
        .http
        .post(t.endpoint("default", "authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_error_page(r, "10,000 parameters in a body").await;
    let elapsed = started.elapsed();
    eprintln!("oversized authorize requests answered in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    // Repeated after the client is trusted: invalid_request at the redirect URI.
    for name in [
        "scope",
        "state",
        "response_type",
        "nonce",
        "code_challenge",
        "prompt",
    ] {
        let url = format!(
            "{}&{name}=again",
            t.authorize_url("default", &app.client_id, &[])
        );
        let r = t.http.get(&url).send().await.unwrap();
        let loc = location(&r).unwrap_or_else(|| panic!("{name}: a redirect"));
        assert!(loc.starts_with(REDIRECT), "{name}: {loc}");
        assert_eq!(
            param(&loc, "error").as_deref(),
            Some("invalid_request"),
            "{name}"
        );
    }
}

/// Where `url` sends a browser: `(error, code)` from the redirect to the client, or
/// `None` for one of this server's pages (the sign-in page's address then).
async fn outcome(browser: &Browser, url: &str) -> Result<(Option<String>, Option<String>), String> {
    let response = browser.get(url).await;
    let loc = location(&response).unwrap_or_else(|| panic!("a redirect from {url}"));
    if loc.starts_with(REDIRECT) {
        Ok((param(&loc, "error"), param(&loc, "code")))
    } else {
        Err(loc)
    }
}

/// OpenID Connect Core §3.1.2.1/§3.1.2.2: with alice's session, bob's ID token as
/// `id_token_hint` gets `login_required` under `prompt=none` and, without it, the
/// sign-in page for bob (his login filled in), never a code for alice. Alice's own
/// hint — also after it expired — lets her session answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_hint_for_another_user_never_gets_the_sessions_code() {
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    let bob = t.user("bob@example.com").await;
    let app = t.web_app().await;
    let alice_hint = t.tokens("default", &app, &alice.login, "openid").await["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let bob_hint = t.tokens("default", &app, &bob.login, "openid").await["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let browser = t.browser();
    t.code(&browser, "default", &app, &alice.login).await;
    let url = |extra: &[(&str, &str)]| t.authorize_url("default", &app.client_id, extra);

    // prompt=none: login_required, with state, at the client.
    let response = browser
        .get(&url(&[("prompt", "none"), ("id_token_hint", &bob_hint)]))
        .await;
    let loc = location(&response).unwrap();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&loc, "state").as_deref(), Some("st4te"));
    assert!(param(&loc, "code").is_none());

    // Without prompt=none: the sign-in page, for bob.
    let login = outcome(&browser, &url(&[("id_token_hint", &bob_hint)]))
        .await
        .expect_err("the sign-in page, not the client");
    assert!(login.starts_with("/login?"), "{login}");
    let html = browser.get(&login).await.text().await.unwrap();
    assert_eq!(
        input_value(&html, "username").as_deref(),
        Some(bob.login.as_str())
    );
    // Alice signing in there gets the client an error, not a code.
    let response = browser.sign_in(&login, &alice.login, PASSWORD).await;
    let loc = location(&response).unwrap();
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("login_required"),
        "{loc}"
    );
    assert!(param(&loc, "code").is_none());
    // Bob signing in gets a code that redeems to bob's tokens.
    let login = outcome(&browser, &url(&[("id_token_hint", &bob_hint)]))
        .await
        .expect_err("the sign-in page again: the session is alice's");
    let response = browser.sign_in(&login, &bob.login, PASSWORD).await;
    let code = param(&location(&response).unwrap(), "code").expect("a code for bob");
    let tokens: serde_json::Value = t.redeem("default", &app, &code).await.json().await.unwrap();
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["sub"],
        bob.id
    );

    // Bob's session now; bob's hint answers from it, alice's does not.
    let (error, code) = outcome(
        &browser,
        &url(&[("prompt", "none"), ("id_token_hint", &bob_hint)]),
    )
    .await
    .unwrap();
    assert_eq!((error, code.is_some()), (None, true));
    let (error, _) = outcome(
        &browser,
        &url(&[("prompt", "none"), ("id_token_hint", &alice_hint)]),
    )
    .await
    .unwrap();
    assert_eq!(error.as_deref(), Some("login_required"));

    // An expired ID token is still a hint (the session lives two hours, ID tokens one).
    t.clock.advance(3700);
    assert!(
        claims_of(&bob_hint)["exp"].as_i64().unwrap() < gatehouse::clock::Clock::now(&*t.clock)
    );
    let (error, code) = outcome(
        &browser,
        &url(&[("prompt", "none"), ("id_token_hint", &bob_hint)]),
    )
    .await
    .unwrap();
    assert_eq!((error, code.is_some()), (None, true));
}

/// An `id_token_hint` this server did not issue to this client is `invalid_request`
/// back at the client once the client and redirect URI are trusted (an error page
/// before): forged signatures (the `forged` matrix; nothing is fetched), an ID token
/// of another client or another server, an access token, a hint whose time claims are
/// not NumericDates (RFC 7519 §2), and text that is no JWT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_hints_not_issued_to_the_client_are_invalid_requests() {
    use gatehouse::clock::Clock;
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    let app = t.web_app().await;
    let other = t.web_app().await;
    let tokens = t.tokens("default", &app, &alice.login, "openid").await;
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    let access_token = tokens["access_token"].as_str().unwrap().to_string();
    let others = t.tokens("default", &other, &alice.login, "openid").await["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let org = t.tokens("org", &app, &alice.login, "openid").await["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let jwks: serde_json::Value = t
        .http
        .get(t.endpoint("default", "keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tripwire = Tripwire::new().await;
    let mut hints = super::forged::forgeries(&id_token, &jwks, &tripwire.url);
    hints.push(("a tampered signature".into(), tamper(&id_token, 2)));
    hints.push(("a tampered payload".into(), tamper(&id_token, 1)));
    hints.push(("another client's ID token".into(), others));
    hints.push(("the org server's ID token".into(), org));
    hints.push(("an access token".into(), access_token));
    hints.push(("not a JWT".into(), "x".into()));
    // Signed with the server's own key, but a time claim is a string.
    let ring = t.state.keys.get("default", t.clock.now()).await.unwrap();
    let mut claims = claims_of(&id_token);
    for (name, value) in [
        ("exp", serde_json::json!("9999999999")),
        ("iat", serde_json::json!("x")),
        ("nbf", serde_json::json!("0")),
    ] {
        let mut bad = claims.clone();
        bad[name] = value;
        hints.push((
            format!("a string {name}"),
            gatehouse::tokens::jwt::sign(&ring.signing, None, &bad),
        ));
    }
    // The same claims, re-signed with our key and a fractional exp: still a hint.
    claims["exp"] = serde_json::json!(claims["exp"].as_f64().unwrap() + 0.5);
    let fractional = gatehouse::tokens::jwt::sign(&ring.signing, None, &claims);

    let browser = t.browser();
    t.code(&browser, "default", &app, &alice.login).await;
    for (what, hint) in &hints {
        let url = t.authorize_url(
            "default",
            &app.client_id,
            &[("prompt", "none"), ("id_token_hint", hint)],
        );
        let (error, code) = outcome(&browser, &url)
            .await
            .unwrap_or_else(|l| panic!("{what}: {l}"));
        assert_eq!(error.as_deref(), Some("invalid_request"), "{what}");
        assert!(code.is_none(), "{what}");
    }
    assert_eq!(tripwire.hits(), 0, "nothing a hint names is fetched");
    let url = t.authorize_url(
        "default",
        &app.client_id,
        &[("prompt", "none"), ("id_token_hint", &fractional)],
    );
    let (error, code) = outcome(&browser, &url).await.unwrap();
    assert_eq!(
        (error, code.is_some()),
        (None, true),
        "a fractional exp is a NumericDate"
    );
    // An unknown client with a hint: the error page, never a redirect.
    let url = t.authorize_url("default", "0oaUNKNOWN", &[("id_token_hint", &id_token)]);
    assert_error_page(browser.get(&url).await, "unknown client with a hint").await;
}

/// OpenID Connect Core §3.1.2.1: `max_age=0` always asks again (as `prompt=login`),
/// also within the second of the sign-in; a session is too old once `auth_time +
/// max_age <= now` (whole seconds: at equality it may be older than `max_age`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_zero_always_reauthenticates() {
    use gatehouse::clock::Clock;
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    let app = t.web_app().await;
    let url = |extra: &[(&str, &str)]| t.authorize_url("default", &app.client_id, extra);

    // Signed in through the page, then max_age=0 at once.
    let browser = t.browser();
    t.code(&browser, "default", &app, &alice.login).await;
    let again = outcome(&browser, &url(&[("max_age", "0")])).await;
    assert!(again.unwrap_err().starts_with("/login?"));
    let (error, _) = outcome(&browser, &url(&[("max_age", "0"), ("prompt", "none")]))
        .await
        .unwrap();
    assert_eq!(error.as_deref(), Some("login_required"));

    // Sessions with a chosen auth_time: one in this very second (or, on another
    // instance, a second ahead), one exactly max_age old, one a second younger.
    let session = |auth_time: i64| {
        let (cookie, row) = gatehouse::identity::session::start(&alice.id, auth_time, 7200);
        (cookie, row)
    };
    let now = t.clock.now();
    for (auth_time, max_age, signs_in) in [
        (now + 2, "0", true),
        (now - 60, "60", true),
        (now + 2, "60", false),
    ] {
        let (cookie, row) = session(auth_time);
        t.backend.store.insert_session(&row).await.unwrap();
        let browser = t.browser();
        browser
            .cookies
            .lock()
            .unwrap()
            .insert("gh_session".into(), cookie);
        let answer = outcome(&browser, &url(&[("max_age", max_age)])).await;
        assert_eq!(
            answer.is_err(),
            signs_in,
            "auth_time {auth_time}, max_age {max_age}: {answer:?}"
        );
    }
}

/// RFC 9700 §2.1.1: only S256 keeps the verifier secret. Discovery advertises S256
/// alone; `plain` (or a challenge without a method, which means plain) is
/// `invalid_request` unless the app allows plain, and each such use is a System Log
/// warning. Okta's `pkce_required`: a confidential app with it gets `invalid_request`
/// without a challenge; one without it may send none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_is_s256_only_unless_an_app_allows_plain() {
    let t = TestApp::spawn().await;
    let alice = t.user("alice@example.com").await;
    for server in ["org", "default"] {
        let doc: serde_json::Value = t
            .http
            .get(format!(
                "{}/.well-known/openid-configuration",
                t.issuer(server)
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
    }
    let web = t.web_app().await;
    let spa = t.spa().await;
    let required = t
        .create_app(gatehouse::admin::apps::NewApp {
            name: "PKCE required".into(),
            redirect_uris: vec![REDIRECT.into()],
            pkce_required: Some(true),
            ..Default::default()
        })
        .await;
    let plain = t
        .create_app(gatehouse::admin::apps::NewApp {
            name: "Legacy plain".into(),
            redirect_uris: vec![REDIRECT.into()],
            pkce_allow_plain: Some(true),
            ..Default::default()
        })
        .await;
    let browser = t.browser();
    let answer = |app: &App, extra: Vec<(&'static str, &'static str)>| {
        let url = t.authorize_url("default", &app.client_id, &extra);
        let browser = &browser;
        async move { outcome(browser, &url).await }
    };
    let refused = |r: Result<(Option<String>, Option<String>), String>| {
        r.expect("an answer at the client").0 == Some("invalid_request".into())
    };
    for app in [&web, &spa, &required] {
        assert!(refused(
            answer(
                app,
                vec![
                    ("code_challenge", VERIFIER),
                    ("code_challenge_method", "plain")
                ]
            )
            .await
        ));
        assert!(refused(
            answer(
                app,
                vec![("code_challenge", VERIFIER), ("code_challenge_method", "")]
            )
            .await
        ));
        assert!(answer(app, vec![]).await.is_err(), "S256: the sign-in page");
    }
    // Without any challenge: only the confidential app without pkce_required passes.
    let none = vec![("code_challenge", ""), ("code_challenge_method", "")];
    assert!(answer(&web, none.clone()).await.is_err());
    assert!(refused(answer(&spa, none.clone()).await));
    assert!(refused(answer(&required, none.clone()).await));

    // The app that allows plain: it works end to end, and each use is a warning.
    let api = t.api().await;
    let (_, before) = api
        .get("/api/v1/logs?filter=eventType%20eq%20%22app.oauth2.authorize.pkce_plain%22")
        .await;
    assert_eq!(before.as_array().unwrap().len(), 0);
    let url = t.authorize_url(
        "default",
        &plain.client_id,
        &[("code_challenge", VERIFIER), ("code_challenge_method", "")],
    );
    let login = outcome(&browser, &url).await.expect_err("the sign-in page");
    let back = browser.sign_in(&login, &alice.login, PASSWORD).await;
    let code = param(&location(&back).unwrap(), "code").expect("a code");
    let response = t.redeem("default", &plain, &code).await;
    assert_eq!(
        response.status(),
        200,
        "the plain verifier is the challenge"
    );
    let (_, logged) = api
        .get("/api/v1/logs?filter=eventType%20eq%20%22app.oauth2.authorize.pkce_plain%22")
        .await;
    let logged = logged.as_array().unwrap();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["severity"], "WARN");
    assert_eq!(logged[0]["target"][0]["id"], plain.client_id.as_str());
}
