//! `Cluster`: n real `gatehouse serve` processes on one fresh PostgreSQL database, with
//! one master key and one public URL, as behind a load balancer.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use gatehouse::crypto::{b64url, random_bytes};
use tempfile::TempDir;

use super::db_proxy::DbProxy;
use crate::support::*;

/// Seconds an instance waits for a database connection before answering 503.
pub const ACQUIRE_TIMEOUT_SECONDS: u64 = 2;

/// One `gatehouse serve` process. Dropping it kills it (also while a test panics, when
/// it first prints the end of the instance's log).
pub struct Instance {
    pub base: String,
    child: Child,
    log: PathBuf,
}

impl Instance {
    /// Waits up to `timeout` for the process to end by itself; its exit status and log.
    pub fn exited(&mut self, timeout: Duration) -> Option<(std::process::ExitStatus, String)> {
        let until = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some((
                    status,
                    std::fs::read_to_string(&self.log).unwrap_or_default(),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// SIGTERM: the process drains and exits.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
    }

    /// The process's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL (`kill -9`): no graceful shutdown, in-flight requests die with it.
    pub fn kill(&mut self) {
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
    pub http: reqwest::Client,
    master_key: String,
    dir: TempDir,
    pub proxy: Option<DbProxy>,
    pub database: TestDatabase,
}

impl Cluster {
    /// Creates a database, picks one master key, and starts `n` instances on it at
    /// once (they race to migrate and to create the signing keys, as a rolling start
    /// does), each with its own data directory.
    pub async fn start(n: usize) -> Cluster {
        Self::start_with(n, false).await
    }

    /// `start`, with the instances reaching the database through a `DbProxy` (the CLI
    /// connects directly).
    pub async fn start_through_proxy(n: usize) -> Cluster {
        Self::start_with(n, true).await
    }

    async fn start_with(n: usize, through_proxy: bool) -> Cluster {
        let database = TestDatabase::create().await;
        let proxy = through_proxy.then(|| DbProxy::start(&database.url));
        let database_url = proxy.as_ref().map_or(&database.url, |p| &p.url);
        let dir = tempfile::tempdir().expect("temp dir");
        let master_key = b64url(&random_bytes::<32>());
        let balancer = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let public_url = format!("http://{}", balancer.local_addr().unwrap());

        let mut nodes = Vec::new();
        let mut started = Vec::new();
        for i in 0..n {
            let (instance, port) = spawn(&dir, i, database_url, &master_key, &public_url);
            nodes.push(instance);
            started.push(port);
        }
        for (node, port) in nodes.iter_mut().zip(started) {
            node.base = listening(node, &port);
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        for node in &nodes {
            let ready = http
                .get(format!("{}/readyz", node.base))
                .send()
                .await
                .expect("readyz");
            assert_eq!(ready.status(), 200, "{} is ready", node.base);
        }
        Cluster {
            nodes,
            public_url,
            _balancer: balancer,
            http,
            master_key,
            dir,
            proxy,
            database,
        }
    }

    /// Starts one more instance, like the others (scaling out), and waits until it is
    /// ready; its index in `nodes`.
    pub async fn add_instance(&mut self) -> usize {
        let url = self.proxy.as_ref().map_or(&self.database.url, |p| &p.url);
        let (mut node, port) = spawn(
            &self.dir,
            self.nodes.len(),
            url,
            &self.master_key,
            &self.public_url,
        );
        node.base = listening(&node, &port);
        let ready = self
            .http
            .get(format!("{}/readyz", node.base))
            .send()
            .await
            .expect("readyz");
        assert_eq!(ready.status(), 200, "{} is ready", node.base);
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// One more instance on this database, with `master_key` instead of the cluster's;
    /// the receiver yields its address once it says it listens.
    pub fn spawn_with_key(
        &self,
        master_key: &str,
    ) -> (Instance, std::sync::mpsc::Receiver<String>) {
        let url = self.proxy.as_ref().map_or(&self.database.url, |p| &p.url);
        spawn(
            &self.dir,
            self.nodes.len() + 100,
            url,
            master_key,
            &self.public_url,
        )
    }

    pub fn bases(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.base.clone()).collect()
    }

    /// The `default` server's issuer: the same on every instance.
    pub fn issuer(&self) -> String {
        format!("{}/oauth2/default", self.public_url)
    }

    /// Creates a user with the CLI binary against the shared database while the
    /// instances run, as an operator would.
    pub fn user(&self, login: &str) -> TestUser {
        let args = ["users", "create", "--login", login, "--password-stdin"];
        let (ok, out, err) = self.gatehouse(&args, Some(&format!("{PASSWORD}\n")));
        assert!(ok, "users create: {err}");
        let user: serde_json::Value = serde_json::from_str(&out).unwrap();
        TestUser {
            id: user["id"].as_str().unwrap().to_string(),
            login: login.to_string(),
        }
    }

    /// A confidential app with the code and refresh grants, `leeway` seconds of grace
    /// period for refresh-token rotation, registered with the CLI binary.
    pub fn app(&self, leeway: i64) -> Arc<App> {
        let leeway = leeway.to_string();
        let args = [
            "apps",
            "create",
            "--name",
            "Behind a balancer",
            "--redirect-uri",
            REDIRECT,
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--refresh-token-leeway",
            &leeway,
        ];
        let (ok, out, err) = self.gatehouse(&args, None);
        assert!(ok, "apps create: {err}");
        let app: serde_json::Value = serde_json::from_str(&out).unwrap();
        // Okta's app shape: the credentials under credentials.oauthClient.
        let oauth = &app["credentials"]["oauthClient"];
        let secret = oauth["client_secret"].as_str().map(str::to_string);
        Arc::new(App {
            client_id: oauth["client_id"].as_str().unwrap().to_string(),
            secret,
        })
    }

    /// The real binary, with this cluster's database and master key (`users create`,
    /// `keys rotate`, ...), given `stdin`.
    pub fn gatehouse(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        clear_gatehouse_env(&mut command);
        let mut child = command
            .args(args)
            .env("GATEHOUSE_DATA_DIR", self.dir.path().join("cli"))
            .env("GATEHOUSE_DATABASE_URL", &self.database.url)
            .env("GATEHOUSE_MASTER_KEY", &self.master_key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run gatehouse");
        let mut input = child.stdin.take().unwrap();
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .unwrap();
        drop(input);
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

/// The address `node` says it listens on (waiting up to a minute), or a panic with its
/// log if it stopped first.
fn listening(node: &Instance, port: &std::sync::mpsc::Receiver<String>) -> String {
    port.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            panic!(
                "instance did not start: {}",
                std::fs::read_to_string(&node.log).unwrap_or_default()
            )
        })
}

pub fn clear_gatehouse_env(command: &mut Command) {
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("GATEHOUSE_")) {
        command.env_remove(name);
    }
}

/// Starts instance `i`; the receiver yields its address from the "Gatehouse listening
/// on http://ADDR" line (or disconnects if the process ends first).
pub fn spawn(
    dir: &TempDir,
    i: usize,
    database_url: &str,
    master_key: &str,
    public_url: &str,
) -> (Instance, std::sync::mpsc::Receiver<String>) {
    spawn_with_env(dir, i, database_url, master_key, public_url, &[])
}

/// `spawn`, with more environment variables.
pub fn spawn_with_env(
    dir: &TempDir,
    i: usize,
    database_url: &str,
    master_key: &str,
    public_url: &str,
    env: &[(&str, &str)],
) -> (Instance, std::sync::mpsc::Receiver<String>) {
    let data_dir = dir.path().join(format!("node{i}"));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log = data_dir.join("stderr.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    clear_gatehouse_env(&mut command);
    let mut child = command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            public_url,
        ])
        .arg("--data-dir")
        .arg(&data_dir)
        .env("GATEHOUSE_DATABASE_URL", database_url)
        .env("GATEHOUSE_MASTER_KEY", master_key)
        .env(
            "GATEHOUSE_DATABASE_ACQUIRE_TIMEOUT",
            ACQUIRE_TIMEOUT_SECONDS.to_string(),
        )
        .envs(env.iter().copied())
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
    (
        Instance {
            base: String::new(),
            child,
            log,
        },
        rx,
    )
}
