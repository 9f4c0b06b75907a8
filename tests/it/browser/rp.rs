//! `RelyingParty`: the test's own app on a loopback port of its own (another origin
//! than Gatehouse, as a real app is), receiving the redirects: `/callback` (GET for the
//! query response mode, POST for `form_post`), `/signed-out` and
//! `/frontchannel-logout` (Front-Channel Logout). Each page shows what
//! it received in `<pre id="received">`, one `name=value` a line, and `hits()` keeps it.
//! `/` is the app's home page (not recorded).

// A harness for every browser test, including those of other pages: not every
// helper is used by every build of the suite.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawForm, RawQuery, State};
use axum::http::Method;
use axum::response::Html;
use axum::routing::get;

#[derive(Clone, Debug)]
pub struct Hit {
    pub method: Method,
    pub path: &'static str,
    pub params: Vec<(String, String)>,
}

impl Hit {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

type Hits = Arc<Mutex<Vec<Hit>>>;

pub struct RelyingParty {
    pub base: String,
    hits: Hits,
}

impl RelyingParty {
    pub async fn start() -> RelyingParty {
        let hits: Hits = Arc::default();
        let router = Router::new()
            .route("/callback", get(query_hit).post(form_hit))
            .route("/", get(home))
            .route("/signed-out", get(signed_out))
            .route("/frontchannel-logout", get(frontchannel_logout))
            .route(
                "/favicon.ico",
                get(|| async { axum::http::StatusCode::NO_CONTENT }),
            )
            .with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        RelyingParty { base, hits }
    }

    pub fn callback(&self) -> String {
        format!("{}/callback", self.base)
    }

    pub fn home(&self) -> String {
        format!("{}/", self.base)
    }

    pub fn signed_out(&self) -> String {
        format!("{}/signed-out", self.base)
    }

    /// Its Front-Channel Logout URI (the signed-out page loads it in an iframe).
    pub fn frontchannel_logout(&self) -> String {
        format!("{}/frontchannel-logout", self.base)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// The one request the app received (fails on none or several).
    pub fn only_hit(&self) -> Hit {
        let hits = self.hits();
        assert_eq!(hits.len(), 1, "the app received {hits:#?}");
        hits[0].clone()
    }
}

fn page(hits: &Hits, method: Method, path: &'static str, raw: &[u8]) -> Html<String> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(raw).into_owned().collect();
    let lines: String = params
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;");
    hits.lock().unwrap().push(Hit {
        method,
        path,
        params,
    });
    Html(format!(
        "<!doctype html><html lang=\"en\"><title>The app</title><h1>The app</h1><pre id=\"received\">{lines}</pre>"
    ))
}

async fn query_hit(State(hits): State<Hits>, RawQuery(q): RawQuery) -> Html<String> {
    page(
        &hits,
        Method::GET,
        "/callback",
        q.unwrap_or_default().as_bytes(),
    )
}

async fn form_hit(State(hits): State<Hits>, RawForm(body): RawForm) -> Html<String> {
    page(&hits, Method::POST, "/callback", &body)
}

async fn signed_out(State(hits): State<Hits>, RawQuery(q): RawQuery) -> Html<String> {
    page(
        &hits,
        Method::GET,
        "/signed-out",
        q.unwrap_or_default().as_bytes(),
    )
}

async fn frontchannel_logout(State(hits): State<Hits>, RawQuery(q): RawQuery) -> Html<String> {
    page(
        &hits,
        Method::GET,
        "/frontchannel-logout",
        q.unwrap_or_default().as_bytes(),
    )
}

async fn home() -> Html<&'static str> {
    Html("<!doctype html><html lang=\"en\"><title>The app</title><h1>The app's home</h1>")
}
