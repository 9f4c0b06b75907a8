//! Load driver for Gatehouse's benchmark suite (bench/run.sh). One subcommand per
//! scenario; each prints one JSON line per measured figure.
//!
//! ```text
//! gatehouse-flows wait URL TIMEOUT_SECONDS
//!     Polls URL every millisecond; prints the wall clock (ns) of its first 200.
//! gatehouse-flows crypto SECONDS
//!     S0: RS256, ES256, EdDSA signatures and Argon2id hashes (Gatehouse's cost) per
//!     second on ONE thread, with the server's crypto crates at its versions.
//! gatehouse-flows MODE BASE[,BASE...] CLIENT_ID CLIENT_SECRET LOGIN PASSWORD
//!                 [CONCURRENCY] [SECONDS] [SERVER] [SSO_CONCURRENCY]
//!     sso       S3: GET /authorize with a session cookie (302 with a code), then
//!               POST /token for that code. Each worker signs in once beforehand.
//!     exchange  S2: codes are fetched first (untimed), then only the exchanges run.
//!     refresh   S5: each worker holds a refresh token (offline_access) and refreshes
//!               it in a loop, always with the newest one (rotation).
//!     login     S4: full password sign-ins (authorize → sign-in page → POST /login →
//!               code) on CONCURRENCY workers while SSO_CONCURRENCY workers (default
//!               4) run S3 flows; prints both, so S3's p99 under S4's load is seen.
//! ```
//! FLOWS_OFFLINE_PROMPT_CONSENT (set): `refresh` signs in with prompt=consent, which
//! node-oidc-provider needs to grant offline_access (bench/run.sh sets it for the peer).
//!
//! Workers are spread over the instances round-robin; sessions and codes live in the
//! shared database, so a flow may start on one instance and finish on another. Every
//! line carries `client_cpu_s`, the CPU this driver used, so its own cost is known.

use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use url::Url;

const REDIRECT: &str = "https://app.example.com/callback";

#[derive(Clone)]
struct Target {
    http: reqwest::Client,
    server: String,
    client_id: String,
    secret: String,
    login: String,
    password: String,
    scope: &'static str,
}

struct Worker {
    t: Target,
    base: String,
    cookies: Vec<(String, String)>,
    refresh_token: Option<String>,
}

type Res<T> = Result<T, String>;

impl Worker {
    fn new(t: &Target, base: &str) -> Self {
        Worker { t: t.clone(), base: base.to_string(), cookies: Vec::new(), refresh_token: None }
    }

    fn endpoint(&self, name: &str) -> String {
        if self.t.server == "org" {
            format!("{}/oauth2/v1/{name}", self.base)
        } else {
            format!("{}/oauth2/{}/v1/{name}", self.base, self.t.server)
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

    async fn get(&mut self, url: &str) -> Res<reqwest::Response> {
        let url = if url.starts_with('/') { format!("{}{url}", self.base) } else { url.to_string() };
        let r = self.t.http.get(url).header(COOKIE, self.cookie_header()).send().await.map_err(|e| e.to_string())?;
        self.keep(&r);
        Ok(r)
    }

    fn authorize_url(&self) -> String {
        let mut url = Url::parse(&self.endpoint("authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", &self.t.client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", self.t.scope)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("state", "bench")
            .append_pair("nonce", "bench");
        // node-oidc-provider drops offline_access unless prompt=consent (OpenID Connect
        // Core §11 allows it to); Gatehouse, as Okta, does not ask for it.
        if self.t.scope.contains("offline_access") && std::env::var_os("FLOWS_OFFLINE_PROMPT_CONSENT").is_some() {
            url.query_pairs_mut().append_pair("prompt", "consent");
        }
        url.to_string()
    }

    /// A full password sign-in from a fresh browser; returns the code it ends with.
    async fn sign_in(&mut self) -> Res<String> {
        self.cookies.clear();
        let first = self.get(&self.authorize_url()).await?;
        let to_login = location(&first).ok_or("no redirect to the sign-in page")?;
        let page = self.get(&to_login).await?.text().await.map_err(|e| e.to_string())?;
        let tx = input(&page, "tx").ok_or("no tx field")?;
        let csrf = input(&page, "csrf").ok_or("no csrf field")?;
        let form = [("tx", tx.as_str()), ("csrf", csrf.as_str()), ("username", &self.t.login), ("password", &self.t.password)];
        let r = self
            .t
            .http
            .post(format!("{}/login", self.base))
            .header(COOKIE, self.cookie_header())
            .form(&form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        self.keep(&r);
        let mut next = location(&r).ok_or_else(|| format!("sign-in failed: {}", r.status()))?;
        // Straight back to the app, or through /authorize first.
        if !next.starts_with(REDIRECT) {
            let r = self.get(&next).await?;
            next = location(&r).ok_or_else(|| format!("authorize after sign-in: {}", r.status()))?;
        }
        param(&next, "code").ok_or_else(|| format!("no code after sign-in: {next}"))
    }

    /// GET /authorize with the session: the code.
    async fn code(&mut self) -> Res<String> {
        let r = self.get(&self.authorize_url()).await?;
        let loc = location(&r).ok_or_else(|| format!("authorize: {}", r.status()))?;
        param(&loc, "code").ok_or_else(|| format!("authorize answered {loc}"))
    }

    async fn token(&self, form: &[(&str, &str)]) -> Res<String> {
        let r = self
            .t
            .http
            .post(self.endpoint("token"))
            .basic_auth(&self.t.client_id, Some(&self.t.secret))
            .form(form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let body = r.text().await.map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("token: {status} {body}"));
        }
        Ok(body)
    }

    async fn exchange(&mut self, code: &str) -> Res<()> {
        let body = self.token(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)]).await?;
        if let Some(rt) = json_string(&body, "refresh_token") {
            self.refresh_token = Some(rt);
        }
        Ok(())
    }

    async fn refresh(&mut self) -> Res<()> {
        let rt = self.refresh_token.clone().ok_or("no refresh token")?;
        let body = self.token(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]).await?;
        self.refresh_token = Some(json_string(&body, "refresh_token").ok_or("no rotated refresh token")?);
        Ok(())
    }

    /// One SSO flow: authorize with the session, then redeem the code.
    async fn flow(&mut self) -> Res<()> {
        let code = self.code().await?;
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

/// A string member of a flat JSON object (token responses hold no escapes in them).
fn json_string(body: &str, name: &str) -> Option<String> {
    let at = body.find(&format!("\"{name}\":\""))? + name.len() + 4;
    Some(body[at..at + body[at..].find('"')?].to_string())
}

/// CPU seconds of a process from /proc/PID/stat: (user + system, system).
fn cpu_of(pid: &str) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 (utime, stime) of proc(5); `after` starts at field 3.
    ((ticks(11) + ticks(12)) / 100.0, ticks(12) / 100.0)
}

/// CPU seconds (user + system) this process has used.
fn cpu_seconds() -> f64 {
    cpu_of("self").0
}

/// The CPU of this process and of the servers named by FLOWS_SERVER_PIDS (bench/run.sh
/// sets it), taken when the measured phase starts: the sign-ins and the codes fetched
/// before it are not the scenario's, so the servers' CPU is read here, around the
/// requests counted, not around the whole command.
struct CpuMark {
    own: f64,
    servers: Option<(f64, f64)>,
}

fn servers_cpu() -> Option<(f64, f64)> {
    let pids = std::env::var("FLOWS_SERVER_PIDS").ok()?;
    let mut sum = (0.0, 0.0);
    for pid in pids.split_whitespace() {
        let (total, sys) = cpu_of(pid);
        sum = (sum.0 + total, sum.1 + sys);
    }
    Some(sum)
}

fn cpu_mark() -> CpuMark {
    CpuMark { own: cpu_seconds(), servers: servers_cpu() }
}

struct Measured {
    took: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
    elapsed: f64,
}

impl Measured {
    fn print(mut self, scenario: &str, concurrency: usize, instances: usize, before: &CpuMark) {
        self.took.sort();
        let n = self.took.len();
        let pct = |p: f64| self.took.get(((n as f64 * p) as usize).min(n.saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        if let Some(e) = &self.first_error {
            eprintln!("{scenario}: {} errors, the first: {e}", self.errors);
        }
        let servers = match (before.servers, servers_cpu()) {
            (Some(b), Some(a)) => format!(", \"server_cpu_s\": {:.2}, \"server_sys_s\": {:.2}", a.0 - b.0, a.1 - b.1),
            _ => String::new(),
        };
        println!(
            "{{\"scenario\": \"{scenario}\", \"instances\": {instances}, \"concurrency\": {concurrency}, \"seconds\": {:.2}, \"requests\": {n}, \"per_second\": {:.1}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}, \"errors\": {}, \"client_cpu_s\": {:.2}{servers}}}",
            self.elapsed,
            n as f64 / self.elapsed,
            pct(0.50),
            pct(0.99),
            self.errors,
            cpu_seconds() - before.own
        );
    }
}

/// Runs `step` on every worker until `deadline`, timing each call.
async fn drive<F>(workers: Vec<Worker>, deadline: Instant, step: F) -> Measured
where
    F: for<'a> Fn(&'a mut Worker) -> std::pin::Pin<Box<dyn Future<Output = Res<()>> + Send + 'a>> + Send + Sync + Copy + 'static,
{
    let started = Instant::now();
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|mut w| {
            tokio::spawn(async move {
                let (mut took, mut errors, mut first) = (Vec::new(), 0u64, None);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match step(&mut w).await {
                        Ok(()) => took.push(t.elapsed()),
                        Err(e) => {
                            errors += 1;
                            first.get_or_insert(e);
                            // A refused refresh token stays refused: start a new family.
                            if w.refresh_token.is_some() {
                                if let Ok(code) = w.code().await {
                                    let _ = w.exchange(&code).await;
                                }
                            }
                        }
                    }
                }
                (took, errors, first)
            })
        })
        .collect();
    let mut m = Measured { took: Vec::new(), errors: 0, first_error: None, elapsed: 0.0 };
    for t in tasks {
        let (d, e, f) = t.await.unwrap();
        m.took.extend(d);
        m.errors += e;
        if m.first_error.is_none() {
            m.first_error = f;
        }
    }
    m.elapsed = started.elapsed().as_secs_f64();
    m
}

/// Workers that have signed in (and, for `refresh`, hold a refresh token).
async fn signed_in(t: &Target, bases: &[String], n: usize, with_refresh: bool) -> Vec<Worker> {
    let mut workers = Vec::new();
    for i in 0..n {
        let mut w = Worker::new(t, &bases[i % bases.len()]);
        let code = w.sign_in().await.unwrap_or_else(|e| fail(&format!("sign-in: {e}")));
        w.exchange(&code).await.unwrap_or_else(|e| fail(&format!("first exchange: {e}")));
        if with_refresh && w.refresh_token.is_none() {
            fail("no refresh token: the client needs the refresh_token grant and offline_access");
        }
        workers.push(w);
    }
    workers
}

fn fail(message: &str) -> ! {
    eprintln!("gatehouse-flows: {message}");
    std::process::exit(1)
}

fn crypto(seconds: f64) {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
    let each = Duration::from_secs_f64(seconds / 4.0);
    let rate = |mut f: Box<dyn FnMut()>| {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < each {
            f();
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    // A typical signing input: header and claims of an ID token, base64url.
    let message = vec![b'e'; 700];
    let rng = SystemRandom::new();
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let (m, r) = (message.clone(), rng.clone());
    let rs256 = rate(Box::new(move || {
        let mut sig = vec![0u8; rsa.public_modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA256, &r, &m, &mut sig).unwrap();
    }));
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let ec = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let (m, r) = (message.clone(), rng.clone());
    let es256 = rate(Box::new(move || {
        ec.sign(&r, &m).unwrap();
    }));
    let ed = Ed25519KeyPair::generate().unwrap();
    let _ = ed.public_key();
    let m = message.clone();
    let eddsa = rate(Box::new(move || {
        let _ = ed.sign(&m);
    }));
    // Gatehouse's cost: Argon2id m = 19 MiB, t = 2, p = 1 (src/identity/password.rs).
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(19 * 1024, 2, 1, None).unwrap();
    let a2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
    let argon = rate(Box::new(move || {
        a2.hash_password(b"bench password 1", &salt).unwrap();
    }));
    println!(
        "{{\"scenario\": \"S0 crypto, one thread\", \"rs256_per_s\": {rs256:.0}, \"es256_per_s\": {es256:.0}, \"eddsa_per_s\": {eddsa:.0}, \"argon2id_per_s\": {argon:.1}}}"
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("");
    if mode == "wait" {
        // wait URL TIMEOUT_S: polls every millisecond; prints the wall clock (ns since
        // the epoch) of the first 200, so the caller can subtract its launch time.
        let url = args.get(1).cloned().unwrap_or_default();
        let timeout = Duration::from_secs_f64(args.get(2).map_or(5.0, |s| s.parse().unwrap()));
        let http = reqwest::Client::new();
        let start = Instant::now();
        while start.elapsed() < timeout {
            if http.get(&url).send().await.is_ok_and(|r| r.status() == 200) {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
                println!("{}", now.as_nanos());
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        fail(&format!("no 200 from {url} within {timeout:?}"));
    }
    if mode == "crypto" {
        let seconds = args.get(1).map_or(8.0, |s| s.parse().unwrap());
        tokio::task::spawn_blocking(move || crypto(seconds)).await.unwrap();
        return;
    }
    if !["sso", "exchange", "refresh", "login"].contains(&mode) || args.len() < 6 {
        eprintln!(
            "usage: gatehouse-flows crypto SECONDS\n       gatehouse-flows sso|exchange|refresh|login BASE[,BASE...] CLIENT_ID CLIENT_SECRET LOGIN PASSWORD [CONCURRENCY] [SECONDS] [SERVER] [SSO_CONCURRENCY]"
        );
        std::process::exit(2);
    }
    let bases: Vec<String> = args[1].split(',').map(str::to_string).collect();
    let concurrency: usize = args.get(6).map_or(16, |c| c.parse().unwrap());
    let seconds: f64 = args.get(7).map_or(10.0, |s| s.parse().unwrap());
    let sso_concurrency: usize = args.get(9).map_or(4, |c| c.parse().unwrap());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(256).build().unwrap();
    let target = Target {
        http,
        server: args.get(8).cloned().unwrap_or_else(|| "default".into()),
        client_id: args[2].clone(),
        secret: args[3].clone(),
        login: args[4].clone(),
        password: args[5].clone(),
        scope: if mode == "refresh" { "openid profile email offline_access" } else { "openid profile email" },
    };
    let run_for = Duration::from_secs_f64(seconds);
    match mode {
        "sso" => {
            let workers = signed_in(&target, &bases, concurrency, false).await;
            let cpu = cpu_mark();
            let m = drive(workers, Instant::now() + run_for, |w| Box::pin(w.flow())).await;
            m.print("S3 SSO code flow", concurrency, bases.len(), &cpu);
        }
        "refresh" => {
            let workers = signed_in(&target, &bases, concurrency, true).await;
            let cpu = cpu_mark();
            let m = drive(workers, Instant::now() + run_for, |w| Box::pin(w.refresh())).await;
            m.print("S5 refresh with rotation", concurrency, bases.len(), &cpu);
        }
        "exchange" => {
            // Fetch codes for `seconds` (at most 30,000), then redeem them all.
            let mut workers = signed_in(&target, &bases, concurrency, false).await;
            let fetch_until = Instant::now() + run_for;
            let mut fetchers = Vec::new();
            for mut w in workers.drain(..) {
                fetchers.push(tokio::spawn(async move {
                    let mut codes = Vec::new();
                    while Instant::now() < fetch_until && codes.len() < 30_000 / concurrency {
                        codes.push(w.code().await.unwrap_or_else(|e| fail(&e)));
                    }
                    (w, codes)
                }));
            }
            let mut loaded = Vec::new();
            for f in fetchers {
                loaded.push(f.await.unwrap());
            }
            let cpu = cpu_mark();
            let started = Instant::now();
            let tasks: Vec<_> = loaded
                .into_iter()
                .map(|(mut w, codes)| {
                    tokio::spawn(async move {
                        let (mut took, mut errors, mut first) = (Vec::new(), 0u64, None);
                        for code in codes {
                            let t = Instant::now();
                            match w.exchange(&code).await {
                                Ok(()) => took.push(t.elapsed()),
                                Err(e) => {
                                    errors += 1;
                                    first.get_or_insert(e);
                                }
                            }
                        }
                        (took, errors, first)
                    })
                })
                .collect();
            let mut m = Measured { took: Vec::new(), errors: 0, first_error: None, elapsed: 0.0 };
            for t in tasks {
                let (d, e, f) = t.await.unwrap();
                m.took.extend(d);
                m.errors += e;
                if m.first_error.is_none() {
                    m.first_error = f;
                }
            }
            m.elapsed = started.elapsed().as_secs_f64();
            m.print("S2 code exchange", concurrency, bases.len(), &cpu);
        }
        "login" => {
            let sso_workers = signed_in(&target, &bases, sso_concurrency, false).await;
            let login_workers: Vec<Worker> = (0..concurrency).map(|i| Worker::new(&target, &bases[i % bases.len()])).collect();
            let cpu = cpu_mark();
            let deadline = Instant::now() + run_for;
            let logins = tokio::spawn(drive(login_workers, deadline, |w| Box::pin(async move { w.sign_in().await.map(|_| ()) })));
            let sso = drive(sso_workers, deadline, |w| Box::pin(w.flow())).await;
            let logins = logins.await.unwrap();
            logins.print("S4 password sign-in", concurrency, bases.len(), &cpu);
            sso.print("S3 SSO code flow during S4", sso_concurrency, bases.len(), &cpu);
        }
        _ => unreachable!(),
    }
}
