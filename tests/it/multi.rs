//! Several Gatehouse processes on one PostgreSQL database, as behind a load balancer
//! without sticky sessions: every test starts REAL `gatehouse serve` processes (the
//! binary, not the library in this process) with the same database, master key and
//! public URL, and checks that they are as correct together as one is alone: single-use
//! codes and refresh tokens stay single use across processes, a session made on one is
//! honoured and ended on all, an instance killed with SIGKILL loses no answered token,
//! and a database outage is a bounded 503 everywhere, then service resumes.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gatehouse::admin::{apps, users};
use gatehouse::app::Backend;
use gatehouse::clock::{Clock, SystemClock};
use gatehouse::config::StoreConfig;
use gatehouse::crypto::{MasterKey, b64url, random_bytes};
use reqwest::header::COOKIE;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::Barrier;
use url::Url;

use crate::code_flow::jwt_claims;
use crate::support::*;

/// Seconds an instance waits for a database connection before answering 503.
const ACQUIRE_TIMEOUT_SECONDS: u64 = 2;

/// One `gatehouse serve` process. Dropping it kills it (also while a test panics, when
/// it first prints the end of the instance's log).
pub struct Instance {
    pub base: String,
    child: Child,
    log: PathBuf,
}

impl Instance {
    /// SIGKILL (`kill -9`): no graceful shutdown, in-flight requests die with it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!("--- last lines of {} ({}):", self.base, self.log.display());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// `n` instances on one fresh database. Fields drop in order: the processes first, the
/// database last.
pub struct Cluster {
    pub nodes: Vec<Instance>,
    /// The one public URL (the org issuer) every instance is configured with: the
    /// address of the load balancer they would sit behind. The test holds the port so
    /// that nothing else takes it; nothing is served there (the tests address each
    /// instance directly, as the balancer would).
    pub public_url: String,
    _balancer: std::net::TcpListener,
    /// The same database through the admin layer, as the CLI opens it.
    pub backend: Backend,
    pub http: reqwest::Client,
    master_key: String,
    dir: TempDir,
    pub database: TestDatabase,
}

impl Cluster {
    /// Creates a database, picks one master key, and starts `n` instances on it at
    /// once (they race to migrate and to create the signing keys, as a rolling start
    /// does), each with its own data directory.
    pub async fn start(n: usize) -> Cluster {
        let database = TestDatabase::create().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let key = random_bytes::<32>();
        let master_key = b64url(&key);
        let balancer = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let public_url = format!("http://{}", balancer.local_addr().unwrap());

        let mut nodes = Vec::new();
        let mut started = Vec::new();
        for i in 0..n {
            let (instance, port) = spawn(&dir, i, &database.url, &master_key, &public_url);
            nodes.push(instance);
            started.push(port);
        }
        for (node, port) in nodes.iter_mut().zip(started) {
            let addr = port.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
                panic!("instance did not start: {}", std::fs::read_to_string(&node.log).unwrap_or_default())
            });
            node.base = addr;
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        for node in &nodes {
            let ready = http.get(format!("{}/readyz", node.base)).send().await.expect("readyz");
            assert_eq!(ready.status(), 200, "{} is ready", node.base);
        }
        let config = StoreConfig::new(dir.path().join("admin"), Some(database.url.clone()));
        let store = gatehouse::store::open(&config).await.expect("open the shared database");
        let backend = Backend { store, master: MasterKey::from_bytes(&key) };
        Cluster { nodes, public_url, _balancer: balancer, backend, http, master_key, dir, database }
    }

    pub fn bases(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.base.clone()).collect()
    }

    /// The `default` server's issuer: the same on every instance.
    pub fn issuer(&self) -> String {
        format!("{}/oauth2/default", self.public_url)
    }

    pub async fn user(&self, login: &str) -> TestUser {
        let new = users::NewUser { login: login.into(), password: Some(PASSWORD.into()), ..Default::default() };
        let u = users::create(&self.backend.store, new, SystemClock.now()).await.expect("create user");
        TestUser { id: u.id, login: u.login }
    }

    /// A confidential app with the code and refresh grants, `leeway` seconds of grace
    /// period for refresh-token rotation.
    pub async fn app(&self, leeway: i64) -> Arc<App> {
        let new = apps::NewApp {
            name: "Behind a balancer".into(),
            redirect_uris: vec![REDIRECT.into()],
            auth_method: Some("client_secret_basic".into()),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            refresh_token_leeway: Some(leeway),
            ..Default::default()
        };
        let created = apps::create(&self.backend.store, &self.backend.master, new, SystemClock.now())
            .await
            .expect("create app");
        Arc::new(App { client_id: created.client.client_id, secret: created.secret })
    }

    /// The real binary, with this cluster's database and master key, for a command
    /// such as `keys rotate`.
    pub fn gatehouse(&self, args: &[&str]) -> (bool, String, String) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        clear_gatehouse_env(&mut command);
        let out = command
            .args(args)
            .env("GATEHOUSE_DATA_DIR", self.dir.path().join("cli"))
            .env("GATEHOUSE_DATABASE_URL", &self.database.url)
            .env("GATEHOUSE_MASTER_KEY", &self.master_key)
            .stdin(Stdio::null())
            .output()
            .expect("run gatehouse");
        (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    }
}

fn clear_gatehouse_env(command: &mut Command) {
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("GATEHOUSE_")) {
        command.env_remove(name);
    }
}

/// Starts instance `i`; the receiver yields its address from the "Gatehouse listening
/// on http://ADDR" line (or disconnects if the process ends first).
fn spawn(dir: &TempDir, i: usize, database_url: &str, master_key: &str, public_url: &str) -> (Instance, std::sync::mpsc::Receiver<String>) {
    let data_dir = dir.path().join(format!("node{i}"));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log = data_dir.join("stderr.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    clear_gatehouse_env(&mut command);
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--public-url", public_url])
        .arg("--data-dir")
        .arg(&data_dir)
        .env("GATEHOUSE_DATABASE_URL", database_url)
        .env("GATEHOUSE_MASTER_KEY", master_key)
        .env("GATEHOUSE_DATABASE_ACQUIRE_TIMEOUT", ACQUIRE_TIMEOUT_SECONDS.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // The request log goes to a file: a pipe nobody reads would fill and stop the
        // server.
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start gatehouse serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Reads to the end, so the server never blocks writing to its stdout.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("Gatehouse listening on ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    (Instance { base: String::new(), child, log }, rx)
}

// ---- A relying party talking to one instance at a time ----

fn endpoint(base: &str, name: &str) -> String {
    format!("{base}/oauth2/default/v1/{name}")
}

fn authorize_url(base: &str, client_id: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&endpoint(base, "authorize")).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("client_id", client_id),
        ("response_type", "code"),
        ("scope", scope),
        ("redirect_uri", REDIRECT),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    url.query_pairs_mut().extend_pairs(extra);
    url.to_string()
}

/// An authorize request with the session cookie `session`: the code it redirects with,
/// or the `error`.
async fn authorize(http: &reqwest::Client, base: &str, session: &str, app: &App, scope: &str, extra: &[(&str, &str)]) -> reqwest::Result<Result<String, String>> {
    let r = http
        .get(authorize_url(base, &app.client_id, scope, extra))
        .header(COOKIE, format!("gh_session={session}"))
        .send()
        .await?;
    let loc = location(&r).unwrap_or_else(|| panic!("{base}: authorize answered {} without a redirect", r.status()));
    assert!(loc.starts_with(REDIRECT), "{base}: authorize went to {loc}, not to the client");
    Ok(match param(&loc, "code") {
        Some(code) => Ok(code),
        None => Err(param(&loc, "error").unwrap_or_else(|| panic!("{loc}"))),
    })
}

async fn post_as(http: &reqwest::Client, base: &str, name: &str, app: &App, form: &[(&str, &str)]) -> reqwest::Result<reqwest::Response> {
    http.post(endpoint(base, name)).basic_auth(&app.client_id, app.secret.as_deref()).form(form).send().await
}

/// The token endpoint's status and JSON body.
async fn token(http: &reqwest::Client, base: &str, app: &App, form: &[(&str, &str)]) -> reqwest::Result<(u16, Value, bool)> {
    let r = post_as(http, base, "token", app, form).await?;
    let status = r.status().as_u16();
    let retry_after = r.headers().contains_key("retry-after");
    let body = r.json::<Value>().await?;
    Ok((status, body, retry_after))
}

async fn redeem(http: &reqwest::Client, base: &str, app: &App, code: &str) -> reqwest::Result<(u16, Value, bool)> {
    let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)];
    token(http, base, app, &form).await
}

async fn refresh(http: &reqwest::Client, base: &str, app: &App, refresh_token: &str) -> reqwest::Result<(u16, Value, bool)> {
    token(http, base, app, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
}

/// Signs alice in through `browser`'s instance (an authorize request there, then its
/// sign-in page) and returns the code.
async fn sign_in(browser: &Browser, app: &App, scope: &str) -> String {
    let r = browser.get(&authorize_url(&browser.base, &app.client_id, scope, &[])).await;
    let login = location(&r).expect("a redirect to the sign-in page");
    assert!(login.starts_with("/login"), "{login}");
    let r = browser.sign_in(&login, "alice@example.com", PASSWORD).await;
    let loc = location(&r).expect("a redirect to the client");
    param(&loc, "code").unwrap_or_else(|| panic!("a code in {loc}"))
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

/// 30 requests from 30 tasks, 10 to each instance, released together.
async fn race<F, Fut>(bases: &[String], request: F) -> Vec<(u16, Value)>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = (u16, Value)> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(30));
    let racers: Vec<_> = (0..30)
        .map(|i| {
            let barrier = barrier.clone();
            let request = request(bases[i % bases.len()].clone());
            tokio::spawn(async move {
                barrier.wait().await;
                request.await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.unwrap());
    }
    answers
}

/// 200s and `invalid_grant`s among `answers`; anything else fails the test.
fn winners_and_losers(answers: &[(u16, Value)]) -> (Vec<&Value>, usize) {
    let mut wins = Vec::new();
    let mut invalid_grant = 0;
    for (status, body) in answers {
        match (status, error_of(body)) {
            (200, _) => wins.push(body),
            (400, "invalid_grant") => invalid_grant += 1,
            _ => panic!("unexpected answer {status}: {body}"),
        }
    }
    (wins, invalid_grant)
}

// ---- 1. codes ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_from_one_instance_is_redeemed_at_another_and_a_raced_code_wins_once() {
    let c = Cluster::start(3).await;
    c.user("alice@example.com").await;
    let app = c.app(0).await;
    let [a, b, _] = &c.bases()[..] else { unreachable!() };

    // One issuer, one key set: whatever instance an RP asks.
    let mut jwks = Vec::new();
    for base in c.bases() {
        let meta: Value = c.http.get(format!("{base}/oauth2/default/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
        assert_eq!(meta["issuer"], c.issuer(), "{base}");
        assert_eq!(meta["token_endpoint"], format!("{}/v1/token", c.issuer()), "{base}");
        jwks.push(c.http.get(endpoint(&base, "keys")).send().await.unwrap().text().await.unwrap());
    }
    assert!(jwks.iter().all(|k| k == &jwks[0] && k.contains("\"kid\"")), "the same JWKS everywhere: {jwks:?}");

    // Signed in on A, redeemed at B.
    let browser = Browser::at(a);
    let code = sign_in(&browser, &app, "openid profile").await;
    let (status, body, _) = redeem(&c.http, b, &app, &code).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let id = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], c.issuer());

    // Another code (the session from A, honoured on B), raced at A, B and C at once.
    let session = browser.cookie("gh_session").unwrap();
    let code = authorize(&c.http, b, &session, &app, "openid", &[]).await.unwrap().expect("a code");
    let (http, app2) = (c.http.clone(), app.clone());
    let answers = race(&c.bases(), move |base| {
        let (http, app, code) = (http.clone(), app2.clone(), code.clone());
        async move {
            let (status, body, _) = redeem(&http, &base, &app, &code).await.unwrap();
            (status, body)
        }
    })
    .await;
    let (wins, invalid_grant) = winners_and_losers(&answers);
    assert_eq!((wins.len(), invalid_grant), (1, 29), "exactly one redemption across the instances");
}

// ---- 2. refresh tokens ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_raced_at_three_instances_rotates_once_and_the_reuse_revokes_the_family() {
    let c = Cluster::start(3).await;
    c.user("alice@example.com").await;
    let app = c.app(0).await;
    let [a, b, cc] = &c.bases()[..] else { unreachable!() };

    // No sticky sessions: the authorize request and the sign-in page are served by C,
    // the form is posted to A (the pending sign-in is in the database), the code is
    // redeemed at B.
    let browser = Browser::at(cc);
    let r = browser.get(&authorize_url(cc, &app.client_id, "openid offline_access", &[])).await;
    let login = location(&r).unwrap();
    let html = browser.get(&login).await.text().await.unwrap();
    let form = [
        ("tx", input_value(&html, "tx").unwrap()),
        ("csrf", input_value(&html, "csrf").unwrap()),
        ("username", "alice@example.com".to_string()),
        ("password", PASSWORD.to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = browser.post_form(&format!("{a}/login"), &form).await;
    let code = param(&location(&r).expect("signed in at A"), "code").expect("a code");
    let (status, tokens, _) = redeem(&c.http, b, &app, &code).await.unwrap();
    assert_eq!(status, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap().to_string();

    let (http, app2) = (c.http.clone(), app.clone());
    let answers = race(&c.bases(), move |base| {
        let (http, app, rt) = (http.clone(), app2.clone(), rt.clone());
        async move {
            let (status, body, _) = refresh(&http, &base, &app, &rt).await.unwrap();
            (status, body)
        }
    })
    .await;
    let (wins, invalid_grant) = winners_and_losers(&answers);
    assert_eq!((wins.len(), invalid_grant), (1, 29), "exactly one rotation across the instances");

    // Family semantics (README "Refresh tokens"), with a grace period of 0: each loser
    // presented a spent token, a reuse, so the family is revoked, the winner's new
    // refresh token and access token included, whichever instance is asked.
    let winner = wins[0];
    let (status, body, _) = refresh(&c.http, a, &app, winner["refresh_token"].as_str().unwrap()).await.unwrap();
    assert_eq!((status, error_of(&body)), (400, "invalid_grant"), "{body}");
    let access = winner["access_token"].as_str().unwrap();
    for base in c.bases() {
        let r = post_as(&c.http, &base, "introspect", &app, &[("token", access)]).await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap()["active"], false, "{base}");
        let r = c.http.get(endpoint(&base, "userinfo")).bearer_auth(access).send().await.unwrap();
        assert_eq!(r.status(), 401, "{base}");
    }
}

// ---- 3. sessions ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_instance_is_honoured_on_another_and_ended_on_a_third() {
    let c = Cluster::start(3).await;
    c.user("alice@example.com").await;
    let app = c.app(0).await;
    let [a, b, cc] = &c.bases()[..] else { unreachable!() };

    let browser = Browser::at(a);
    let code = sign_in(&browser, &app, "openid").await;
    let (status, tokens, _) = redeem(&c.http, a, &app, &code).await.unwrap();
    assert_eq!(status, 200);
    let id_token = tokens["id_token"].as_str().unwrap();
    // In a browser the cookie belongs to the balancer's one host; here each instance
    // has its own port, so the test sends the same cookie to all three.
    let session = browser.cookie("gh_session").unwrap();

    let none = [("prompt", "none")];
    let on_b = authorize(&c.http, b, &session, &app, "openid", &none).await.unwrap();
    assert!(on_b.is_ok(), "the session from A is honoured on B: {on_b:?}");

    // RP-initiated logout on C, with a valid hint and the session's cookie.
    let mut url = Url::parse(&endpoint(cc, "logout")).unwrap();
    url.query_pairs_mut().append_pair("id_token_hint", id_token);
    let r = c.http.get(url).header(COOKIE, format!("gh_session={session}")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the signed-out page");
    let cleared = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cleared.starts_with("gh_session=;"), "{cleared}");

    // Ended in the database, so everywhere, even for a client that kept the cookie.
    for base in c.bases() {
        let answer = authorize(&c.http, &base, &session, &app, "openid", &none).await.unwrap();
        assert_eq!(answer, Err("login_required".to_string()), "{base}");
    }
}

// ---- Load: tasks that each own a refresh-token chain ----

/// A relying party's load on the cluster, with the failover of a load balancer: a node
/// whose connection fails is marked down and the request goes to the next one. The app
/// has a grace period, so retrying a refresh whose answer was lost is safe: it gets the
/// same answer if the lost request had rotated the token, a rotation if not.
struct Load {
    http: reqwest::Client,
    bases: Vec<String>,
    app: Arc<App>,
    session: String,
    down: Vec<AtomicBool>,
    /// Per node: connections that failed, and 200s answered after `after` was set.
    failed: Vec<AtomicUsize>,
    ok_after: Vec<AtomicUsize>,
    ok_before: Vec<AtomicUsize>,
    after: AtomicBool,
}

impl Load {
    fn new(c: &Cluster, app: Arc<App>, session: String) -> Arc<Load> {
        let counters = || c.nodes.iter().map(|_| AtomicUsize::new(0)).collect();
        Arc::new(Load {
            http: c.http.clone(),
            bases: c.bases(),
            app,
            session,
            down: c.nodes.iter().map(|_| AtomicBool::new(false)).collect(),
            failed: counters(),
            ok_after: counters(),
            ok_before: counters(),
            after: AtomicBool::new(false),
        })
    }

    /// The next node after `node` that is not marked down.
    fn next(&self, node: usize) -> usize {
        (1..=self.bases.len())
            .map(|step| (node + step) % self.bases.len())
            .find(|&n| !self.down[n].load(Ordering::SeqCst))
            .expect("a node up")
    }

    fn connection_failed(&self, node: usize, _: reqwest::Error) -> usize {
        self.failed[node].fetch_add(1, Ordering::SeqCst);
        self.down[node].store(true, Ordering::SeqCst);
        self.next(node)
    }

    fn ok(&self, node: usize) {
        let count = if self.after.load(Ordering::SeqCst) { &self.ok_after } else { &self.ok_before };
        count[node].fetch_add(1, Ordering::SeqCst);
    }

    /// A code for `scope` (the shared session) redeemed; on `node` and the next ones if
    /// it fails. A code whose redemption was lost may have been spent: then a new one.
    async fn code_exchange(&self, node: &mut usize, scope: &str) -> Value {
        loop {
            let code = match authorize(&self.http, &self.bases[*node], &self.session, &self.app, scope, &[]).await {
                Ok(answer) => answer.unwrap_or_else(|e| panic!("{}: authorize: {e}", self.bases[*node])),
                Err(e) => {
                    *node = self.connection_failed(*node, e);
                    continue;
                }
            };
            self.ok(*node);
            *node = self.next(*node);
            let mut retried = false;
            loop {
                match redeem(&self.http, &self.bases[*node], &self.app, &code).await {
                    Ok((200, body, _)) => {
                        self.ok(*node);
                        return body;
                    }
                    Ok((400, body, _)) if retried && error_of(&body) == "invalid_grant" => break,
                    Ok((status, body, _)) => panic!("{}: code exchange answered {status}: {body}", self.bases[*node]),
                    Err(e) => {
                        *node = self.connection_failed(*node, e);
                        retried = true;
                    }
                }
            }
        }
    }

    /// Rotates `refresh_token` (on `node`, else the next ones); the new token response.
    async fn rotate(&self, node: &mut usize, refresh_token: &str) -> Value {
        loop {
            match refresh(&self.http, &self.bases[*node], &self.app, refresh_token).await {
                Ok((200, body, _)) => {
                    self.ok(*node);
                    return body;
                }
                Ok((status, body, _)) => panic!("{}: refresh answered {status}: {body}", self.bases[*node]),
                Err(e) => *node = self.connection_failed(*node, e),
            }
        }
    }
}

/// A refresh token from a new code (the shared session), redeemed at some node.
async fn new_chain(load: &Load, node: &mut usize) -> String {
    let body = load.code_exchange(node, "openid offline_access").await;
    body["refresh_token"].as_str().unwrap().to_string()
}

// ---- 4. an instance killed under load ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_under_load_loses_no_answered_token() {
    const TASKS: usize = 20;
    let mut c = Cluster::start(3).await;
    c.user("alice@example.com").await;
    let app = c.app(30).await;
    let browser = Browser::at(&c.nodes[0].base);
    sign_in(&browser, &app, "openid").await;
    let load = Load::new(&c, app.clone(), browser.cookie("gh_session").unwrap());

    let deadline = Instant::now() + Duration::from_secs(3);
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let load = load.clone();
            tokio::spawn(async move {
                let mut node = i % 3;
                let mut latest = new_chain(&load, &mut node).await;
                let mut rotations = 0;
                while Instant::now() < deadline {
                    node = load.next(node);
                    let body = load.rotate(&mut node, &latest).await;
                    latest = body["refresh_token"].as_str().unwrap().to_string();
                    rotations += 1;
                    if rotations % 4 == 0 {
                        node = load.next(node);
                        load.code_exchange(&mut node, "openid").await;
                    }
                }
                (latest, rotations)
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    c.nodes[2].kill();
    load.after.store(true, Ordering::SeqCst);

    let mut chains = Vec::new();
    for task in tasks {
        chains.push(task.await.expect("a load task"));
    }
    let count = |v: &Vec<AtomicUsize>| v.iter().map(|n| n.load(Ordering::SeqCst)).collect::<Vec<_>>();
    let (before, after, failed) = (count(&load.ok_before), count(&load.ok_after), count(&load.failed));
    eprintln!("200s before the kill {before:?}, after {after:?}; failed connections {failed:?}");
    assert!(before[2] > 0, "C served before it was killed");
    assert!(after[0] > 0 && after[1] > 0, "A and B kept serving");
    assert_eq!((failed[0], failed[1]), (0, 0), "no connection to A or B failed");
    assert!(chains.iter().all(|(_, rotations)| *rotations > 0));

    // Every refresh token answered with a 200 (the latest of each chain) still works.
    for (i, (latest, _)) in chains.iter().enumerate() {
        let base = &c.nodes[i % 2].base;
        let (status, body, _) = refresh(&c.http, base, &app, latest).await.unwrap();
        assert_eq!(status, 200, "chain {i}: {body}");
    }
}

// ---- 5. the database goes away under load and comes back ----

/// What a request during the outage test was answered, and when it started.
struct Answer {
    started: Instant,
    took: Duration,
    status: u16,
    what: String,
}

/// Asserts the answer is a success or a 503 `temporarily_unavailable` with
/// `Retry-After`: never one that makes a client drop a good token.
fn check_answer(what: &str, status: u16, body: &Value, retry_after: bool) {
    match status {
        200 => {}
        503 => {
            assert!(retry_after, "{what}: 503 without Retry-After");
            assert_eq!(error_of(body), "temporarily_unavailable", "{what}: {body}");
        }
        _ => panic!("{what}: {status} {body}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_under_load_is_a_bounded_503_and_service_resumes_without_restarts() {
    const TASKS: usize = 6;
    let c = Cluster::start(3).await;
    c.user("alice@example.com").await;
    // A grace period: a refresh answered 503 may have committed its rotation just as
    // the connection died; the retry then gets the same answer instead of a reuse.
    let app = c.app(30).await;
    let browser = Browser::at(&c.nodes[0].base);
    let code = sign_in(&browser, &app, "openid offline_access").await;
    let (_, before, _) = redeem(&c.http, &c.nodes[1].base, &app, &code).await.unwrap();
    let (access, kept) = (before["access_token"].as_str().unwrap().to_string(), before["refresh_token"].as_str().unwrap().to_string());
    let load = Load::new(&c, app.clone(), browser.cookie("gh_session").unwrap());
    let mut chains = Vec::new();
    for i in 0..TASKS {
        chains.push(new_chain(&load, &mut (i % 3)).await);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = chains
        .into_iter()
        .enumerate()
        .map(|(i, mut latest)| {
            let (load, stop, access) = (load.clone(), stop.clone(), access.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                let mut n = i;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let base = &load.bases[n % 3];
                    let started = Instant::now();
                    let (what, status) = match n % 3 {
                        0 => {
                            let (status, body, retry_after) = refresh(&load.http, base, &load.app, &latest).await.unwrap();
                            check_answer(&format!("refresh at {base}"), status, &body, retry_after);
                            if status == 200 {
                                latest = body["refresh_token"].as_str().unwrap().to_string();
                            }
                            ("refresh", status)
                        }
                        1 => {
                            let r = post_as(&load.http, base, "introspect", &load.app, &[("token", &access)]).await.unwrap();
                            let (status, retry_after) = (r.status().as_u16(), r.headers().contains_key("retry-after"));
                            let body: Value = r.json().await.unwrap();
                            check_answer(&format!("introspect at {base}"), status, &body, retry_after);
                            assert!(status != 200 || body["active"] == true, "introspect at {base}: {body}");
                            ("introspect", status)
                        }
                        _ => {
                            let r = load.http.get(endpoint(base, "userinfo")).bearer_auth(&access).send().await.unwrap();
                            let (status, retry_after) = (r.status().as_u16(), r.headers().contains_key("retry-after"));
                            let body: Value = r.json().await.unwrap();
                            check_answer(&format!("userinfo at {base}"), status, &body, retry_after);
                            ("userinfo", status)
                        }
                    };
                    answers.push(Answer { started, took: started.elapsed(), status, what: format!("{what} at {base}") });
                }
                (latest, answers)
            })
        })
        .collect();

    let readyz = |expected: u16| {
        let (http, bases) = (c.http.clone(), c.bases());
        async move {
            for base in bases {
                let r = http.get(format!("{base}/readyz")).send().await.unwrap();
                assert_eq!(r.status(), expected, "{base}/readyz");
            }
        }
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Simulates a restart (or failover) of PostgreSQL for this database only: the
    // machine's server is shared with other test runs and is not touched.
    c.database.outage_start().await;
    readyz(503).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    c.database.outage_end().await;
    let back = Instant::now();
    // Nothing restarts: each instance's pool reconnects by itself.
    let mut ready = false;
    while !ready && back.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready = true;
        for base in c.bases() {
            ready &= c.http.get(format!("{base}/readyz")).send().await.unwrap().status() == 200;
        }
    }
    assert!(ready, "every instance is ready again within 10 s of the database's return");
    let recovered = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);

    let mut latest = Vec::new();
    let mut answers = Vec::new();
    for task in tasks {
        let (rt, a) = task.await.expect("a load task");
        latest.push(rt);
        answers.extend(a);
    }
    let limit = Duration::from_secs(ACQUIRE_TIMEOUT_SECONDS + 2);
    let slowest = answers.iter().max_by_key(|a| a.took).unwrap();
    assert!(slowest.took < limit, "{} took {:?}", slowest.what, slowest.took);
    let unavailable = answers.iter().filter(|a| a.status == 503).count();
    assert!(unavailable > 0, "the load met the outage");
    let late: Vec<_> = answers.iter().filter(|a| a.started > recovered && a.status != 200).map(|a| &a.what).collect();
    assert!(late.is_empty(), "after recovery everything succeeds: {late:?}");
    eprintln!("{} answers, {unavailable} of them 503, slowest {:?}; ready {:?} after the outage ended", answers.len(), slowest.took, recovered - back);

    // Tokens issued before the outage, and the latest of every chain, still work.
    assert_eq!(refresh(&c.http, &c.nodes[2].base, &app, &kept).await.unwrap().0, 200);
    for (i, rt) in latest.iter().enumerate() {
        let (status, body, _) = refresh(&c.http, &c.nodes[i % 3].base, &app, rt).await.unwrap();
        assert_eq!(status, 200, "chain {i}: {body}");
    }
}
