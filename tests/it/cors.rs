//! CORS: a listed origin may call token, userinfo, keys, revoke, introspect and
//! discovery from a browser (preflight answered, its origin echoed, `Vary: Origin`, no
//! credentials); an unlisted origin gets nothing; the pages and the management API
//! never answer CORS at all.

use reqwest::Method;

use crate::support::*;

const SPA: &str = "https://spa.example.com";

async fn spawn() -> TestApp {
    TestApp::spawn_configured(|c| {
        c.cors_allowed_origins = vec![SPA.into(), "http://localhost:3000".into()]
    })
    .await
}

fn cors_endpoints(t: &TestApp) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for server in ["org", "default"] {
        for name in ["token", "revoke", "introspect"] {
            out.push((Method::POST, t.endpoint(server, name)));
        }
        out.push((Method::GET, t.endpoint(server, "keys")));
        out.push((Method::GET, t.endpoint(server, "userinfo")));
        out.push((Method::POST, t.endpoint(server, "userinfo")));
    }
    out.push((
        Method::GET,
        format!("{}/.well-known/openid-configuration", t.base),
    ));
    out.push((
        Method::GET,
        format!("{}/oauth2/default/.well-known/openid-configuration", t.base),
    ));
    out.push((
        Method::GET,
        format!(
            "{}/oauth2/default/.well-known/oauth-authorization-server",
            t.base
        ),
    ));
    out
}

fn preflight(t: &TestApp, url: &str, origin: &str, method: &Method) -> reqwest::RequestBuilder {
    t.http
        .request(Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", method.as_str())
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
}

fn has_vary_origin(h: &reqwest::header::HeaderMap) -> bool {
    h.get_all("vary").iter().any(|v| {
        v.to_str()
            .unwrap()
            .split(',')
            .any(|p| p.trim().eq_ignore_ascii_case("origin"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_origins_may_call_the_fetchable_endpoints() {
    let t = spawn().await;
    for (method, url) in cors_endpoints(&t) {
        let r = preflight(&t, &url, SPA, &method).send().await.unwrap();
        assert_eq!(r.status(), 204, "{method} {url}");
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], SPA, "{url}");
        assert!(
            h["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains(method.as_str()),
            "{url}"
        );
        let allowed = h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(
            allowed.contains("authorization") && allowed.contains("content-type"),
            "{url}"
        );
        assert!(
            h.get("access-control-allow-credentials").is_none(),
            "never credentials: {url}"
        );
        assert!(has_vary_origin(h), "{url}");

        let actual = t
            .http
            .request(method.clone(), &url)
            .header("origin", SPA)
            .send()
            .await
            .unwrap();
        let h = actual.headers();
        assert_eq!(
            h["access-control-allow-origin"],
            SPA,
            "{method} {url}: {}",
            actual.status()
        );
        assert!(has_vary_origin(h), "{url}");
        assert!(h.get("access-control-allow-credentials").is_none(), "{url}");
    }
    // The other listed origin is echoed as itself.
    let r = t
        .http
        .get(t.endpoint("default", "keys"))
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlisted_origins_get_no_cors_headers() {
    let t = spawn().await;
    let keys = t.endpoint("default", "keys");
    for origin in [
        "https://evil.example",
        "https://spa.example.com.evil.example",
        "https://SPA.example.com",
        "http://spa.example.com",
        "https://spa.example.com:443",
        "null",
        "*",
        "",
    ] {
        let r = preflight(&t, &keys, origin, &Method::GET)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{origin:?}");
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{origin:?}"
        );
        let r = t
            .http
            .get(&keys)
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "the request itself is served; the browser hides it"
        );
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{origin:?}"
        );
        assert!(
            has_vary_origin(r.headers()),
            "a cache must not hand one origin's answer to another"
        );
    }
    // Without any configured origin, nothing at all.
    let plain = TestApp::spawn().await;
    let r = plain
        .http
        .get(plain.endpoint("default", "keys"))
        .header("origin", SPA)
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_the_management_api_never_answer_cors() {
    let t = spawn().await;
    let app = t.web_app().await;
    let token = t.api_token("cors").await;
    let urls = [
        (Method::GET, t.authorize_url("default", &app.client_id, &[])),
        (Method::GET, t.endpoint("default", "logout")),
        (Method::GET, format!("{}/login?tx=x", t.base)),
        (Method::GET, format!("{}/consent?tx=x", t.base)),
        (Method::GET, format!("{}/api/v1/users", t.base)),
        (Method::GET, format!("{}/healthz", t.base)),
    ];
    for (method, url) in urls {
        let r = preflight(&t, &url, SPA, &method).send().await.unwrap();
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "preflight {url}"
        );
        assert_ne!(r.status(), 204, "{url}");
        let r = t
            .http
            .request(method, &url)
            .header("origin", SPA)
            .header("authorization", format!("SSWS {token}"))
            .send()
            .await
            .unwrap();
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{url}"
        );
    }
}
