//! Single sign-on code flows against one or more Gatehouse instances: each worker signs
//! in once (through the real sign-in form), then loops `GET /authorize` with its session
//! cookie (302 with a code) and `POST /token` for that code (200). Workers are spread
//! over the instances round-robin; sessions and codes live in the shared database, so a
//! flow may start on one instance and finish on another.
//!
//! Usage: gatehouse-flows BASE[,BASE...] CLIENT_ID CLIENT_SECRET LOGIN PASSWORD
//!        [CONCURRENCY] [SECONDS] [SERVER]
//! Prints one JSON line: flows per second, p50 and p99 milliseconds, errors.

use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use url::Url;

const REDIRECT: &str = "https://app.example.com/callback";

struct Worker {
    http: reqwest::Client,
    base: String,
    server: String,
    client_id: String,
    secret: String,
    cookies: Vec<(String, String)>,
}

impl Worker {
    fn endpoint(&self, name: &str) -> String {
        if self.server == "org" {
            format!("{}/oauth2/v1/{name}", self.base)
        } else {
            format!("{}/oauth2/{}/v1/{name}", self.base, self.server)
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap_or("").split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                self.cookies.retain(|(name, _)| name != k);
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
    }

    async fn get(&mut self, url: &str) -> Result<reqwest::Response, String> {
        let url = if url.starts_with('/') { format!("{}{url}", self.base) } else { url.to_string() };
        let r = self.http.get(url).header(COOKIE, self.cookie_header()).send().await.map_err(|e| e.to_string())?;
        self.keep(&r);
        Ok(r)
    }

    fn authorize_url(&self) -> String {
        let mut url = Url::parse(&self.endpoint("authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid profile email")
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("state", "bench")
            .append_pair("nonce", "bench");
        url.to_string()
    }

    async fn sign_in(&mut self, login: &str, password: &str) -> Result<(), String> {
        let first = self.get(&self.authorize_url()).await?;
        let to_login = location(&first).ok_or("no redirect to the sign-in page")?;
        let page = self.get(&to_login).await?.text().await.map_err(|e| e.to_string())?;
        let tx = input(&page, "tx").ok_or("no tx field")?;
        let csrf = input(&page, "csrf").ok_or("no csrf field")?;
        let r = self
            .http
            .post(format!("{}/login", self.base))
            .header(COOKIE, self.cookie_header())
            .form(&[("tx", tx.as_str()), ("csrf", csrf.as_str()), ("username", login), ("password", password)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        self.keep(&r);
        let back = location(&r).ok_or("sign-in failed")?;
        let code = param(&back, "code").ok_or("no code after sign-in")?;
        self.exchange(&code).await
    }

    async fn exchange(&self, code: &str) -> Result<(), String> {
        let r = self
            .http
            .post(self.endpoint("token"))
            .basic_auth(&self.client_id, Some(&self.secret))
            .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if r.status() != 200 {
            return Err(format!("token: {}", r.status()));
        }
        r.bytes().await.map_err(|e| e.to_string())?;
        Ok(())
    }

    /// One SSO flow: authorize with the session, then redeem the code.
    async fn flow(&mut self) -> Result<(), String> {
        let r = self.get(&self.authorize_url()).await?;
        let loc = location(&r).ok_or_else(|| format!("authorize: {}", r.status()))?;
        let code = param(&loc, "code").ok_or_else(|| format!("authorize answered {loc}"))?;
        self.exchange(&code).await
    }
}

fn location(r: &reqwest::Response) -> Option<String> {
    r.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn param(url: &str, name: &str) -> Option<String> {
    Url::parse(url).ok()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn input(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag = &html[at..at + html[at..].find('>')?];
    let start = tag.find("value=\"")? + 7;
    Some(tag[start..start + tag[start..].find('"')?].to_string())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 5 {
        eprintln!("usage: gatehouse-flows BASE[,BASE...] CLIENT_ID CLIENT_SECRET LOGIN PASSWORD [CONCURRENCY] [SECONDS] [SERVER]");
        std::process::exit(2);
    }
    let bases: Vec<String> = args[0].split(',').map(str::to_string).collect();
    let concurrency: usize = args.get(5).map_or(16, |c| c.parse().unwrap());
    let seconds: u64 = args.get(6).map_or(10, |s| s.parse().unwrap());
    let server = args.get(7).cloned().unwrap_or_else(|| "default".into());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(64).build().unwrap();
    let mut workers = Vec::new();
    for i in 0..concurrency {
        let mut w = Worker {
            http: http.clone(),
            base: bases[i % bases.len()].clone(),
            server: server.clone(),
            client_id: args[1].clone(),
            secret: args[2].clone(),
            cookies: Vec::new(),
        };
        w.sign_in(&args[3], &args[4]).await.unwrap_or_else(|e| panic!("sign-in: {e}"));
        workers.push(w);
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|mut w| {
            tokio::spawn(async move {
                let (mut took, mut errors) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match w.flow().await {
                        Ok(()) => took.push(t.elapsed()),
                        Err(_) => errors += 1,
                    }
                }
                (took, errors)
            })
        })
        .collect();
    let (mut took, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (d, e) = t.await.unwrap();
        took.extend(d);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    took.sort();
    let pct = |p: f64| took.get(((took.len() as f64 * p) as usize).min(took.len().saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!(
        "{{\"instances\": {}, \"concurrency\": {concurrency}, \"seconds\": {elapsed:.1}, \"flows\": {}, \"flows_per_second\": {:.0}, \"p50_ms\": {:.1}, \"p99_ms\": {:.1}, \"errors\": {errors}}}",
        bases.len(),
        took.len(),
        took.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
}
