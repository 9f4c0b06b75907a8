//! E-mail end to end over HTTP, delivered by the job worker to an SMTP server of the
//! test's own on loopback (`SmtpServer`, speaking EHLO/MAIL/RCPT/DATA/QUIT): the
//! reset link (single use, expiry, only the newest works, the same answer for unknown
//! accounts, throttling), activation with `sendEmail`, address confirmation setting
//! `email_verified`, the "password changed" notice, and an SMTP server that is down
//! (the request does not wait; the job retries and delivers later).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatehouse::admin::Actor;
use gatehouse::admin::users::{self, NewUser};
use gatehouse::clock::Clock;
use gatehouse::config::{ServerConfig, SmtpConfig, SmtpSecurity};
use gatehouse::store::User;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::{Browser, TestApp, input_value};

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent, dot-unstuffed.
    pub data: String,
}

impl Received {
    pub fn subject(&self) -> String {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or("")
            .to_string()
    }

    /// The body, its transfer encoding (7bit, quoted-printable or base64) undone.
    pub fn body(&self) -> String {
        let (head, body) = self.data.split_once("\n\n").unwrap_or((&self.data, ""));
        let encoding = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
            .unwrap_or("7bit");
        match encoding {
            "quoted-printable" => {
                let joined = body.replace("=\n", "");
                let bytes = joined.as_bytes();
                let mut out = Vec::new();
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i] == b'=' && i + 2 < bytes.len() {
                        let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                        out.push(u8::from_str_radix(hex, 16).unwrap());
                        i += 3;
                    } else {
                        out.push(bytes[i]);
                        i += 1;
                    }
                }
                String::from_utf8(out).unwrap()
            }
            "base64" => {
                use base64::Engine;
                let text: String = body.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .unwrap();
                String::from_utf8(bytes).unwrap()
            }
            _ => body.to_string(),
        }
    }

    /// The first URL in the body that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let body = self.body();
        let start = body.find(prefix).expect("the e-mail has the link");
        body[start..]
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap()
            .to_string()
    }
}

/// A minimal SMTP server (RFC 5321) on 127.0.0.1: answers EHLO, MAIL, RCPT, DATA,
/// RSET, NOOP and QUIT, and keeps what it was sent.
pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        Self::on(TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    /// On a port chosen before (where a server was down).
    pub async fn start_on(port: u16) -> SmtpServer {
        Self::on(TcpListener::bind(("127.0.0.1", port)).await.unwrap())
    }

    fn on(listener: TcpListener) -> SmtpServer {
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let kept = kept.clone();
                tokio::spawn(async move {
                    let _ = session(stream, kept).await;
                });
            }
        });
        SmtpServer {
            port,
            received,
            task,
        }
    }

    /// How many messages went to `to` with `subject`.
    pub fn count(&self, to: &str, subject: &str) -> usize {
        let received = self.received.lock().unwrap();
        received
            .iter()
            .filter(|m| m.to == [to] && m.subject() == subject)
            .count()
    }

    /// The `n`th message (from 0) to `to` with `subject`, waiting up to ten seconds.
    pub async fn message(&self, to: &str, subject: &str, n: usize) -> Received {
        let started = Instant::now();
        loop {
            {
                let received = self.received.lock().unwrap();
                let mut matching = received
                    .iter()
                    .filter(|m| m.to == [to] && m.subject() == subject);
                if let Some(m) = matching.nth(n) {
                    return m.clone();
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "waiting for e-mail {n} to {to}: {subject}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything received so far.
    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn smtp_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::Plain,
        username: None,
        password: None,
        from: "Gatehouse <no-reply@gatehouse.test>".into(),
        timeout_seconds: 1,
        templates_dir: None,
    }
}

/// Sends through `port`, polling every 50 ms and retrying after a second.
pub fn with_smtp(port: u16) -> impl FnOnce(&mut ServerConfig) {
    move |c| {
        c.smtp = Some(smtp_config(port));
        c.jobs.poll_interval_ms = 50;
        c.jobs.backoff_seconds = 1;
        c.jobs.max_backoff_seconds = 1;
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    kept: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 smtp.test ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Some(line) = lines.next_line().await? {
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-smtp.test\r\n250 8BITMIME\r\n",
            "HELO" => b"250 smtp.test\r\n",
            "MAIL" => {
                from = line[10..].trim().trim_matches(['<', '>']).to_string();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(line[8..].trim().trim_matches(['<', '>']).to_string());
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 End with .\r\n").await?;
                let mut data = String::new();
                while let Some(line) = lines.next_line().await? {
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push('\n');
                }
                kept.lock().unwrap().push(Received {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
                b"250 OK queued\r\n"
            }
            "RSET" | "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

async fn person(t: &TestApp, login: &str, email: Option<&str>, password: bool) -> User {
    users::create(
        &t.backend.store,
        &t.state.passwords,
        &Actor::cli(),
        NewUser {
            login: login.into(),
            email: email.map(str::to_string),
            first_name: Some("Ada".into()),
            password: password.then(|| crate::support::PASSWORD.to_string()),
            activate: Some(password),
            ..Default::default()
        },
        t.clock.now(),
    )
    .await
    .unwrap()
}

/// Posts "Forgot password?" for `username` from a browser that opened the form.
async fn forgot(t: &TestApp, username: &str) -> reqwest::Response {
    let b = Browser::at(&t.base);
    let form = b.get(&format!("{}/signin/forgot-password", t.base)).await;
    assert_eq!(form.status(), 200);
    let csrf = input_value(&form.text().await.unwrap(), "csrf").unwrap();
    b.post_form(
        &format!("{}/signin/forgot-password", t.base),
        &[("csrf", &csrf), ("username", username)],
    )
    .await
}

/// Opens a password link and posts `password` to it; (status, page).
async fn set_password(t: &TestApp, link: &str, password: &str) -> (u16, String) {
    let b = Browser::at(&t.base);
    let page = b.get(link).await;
    if page.status() != 200 {
        return (page.status().as_u16(), page.text().await.unwrap());
    }
    let csrf = input_value(&page.text().await.unwrap(), "csrf").unwrap();
    let done = b
        .post_form(link, &[("csrf", &csrf), ("password", password)])
        .await;
    (done.status().as_u16(), done.text().await.unwrap())
}

const RESET: &str = "Reset your password";
const CHANGED: &str = "Your password was changed";

fn password_is(user: &User, password: &str) -> bool {
    gatehouse::identity::password::verify(user.password_hash.as_deref().unwrap(), password)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_activation_and_verification_links_by_email() {
    let smtp = SmtpServer::start().await;
    let t = TestApp::spawn_configured(with_smtp(smtp.port)).await;
    let store = &t.backend.store;
    let ada = person(&t, "ada", Some("ada@example.com"), true).await;
    person(&t, "nomail", None, true).await;
    assert!(!ada.email_verified());

    // The same answer for an account with an address, one without, and none at all.
    let mut pages = Vec::new();
    for name in ["ada", "nomail", "nobody@example.com"] {
        let answer = forgot(&t, name).await;
        assert_eq!(answer.status(), 200, "{name}");
        pages.push(answer.text().await.unwrap());
    }
    assert!(pages[0].contains("Check your e-mail"));
    assert!(pages.iter().all(|p| *p == pages[0]), "the answers differ");
    let mail = smtp.message("ada@example.com", RESET, 0).await;
    assert_eq!(mail.from, "no-reply@gatehouse.test");
    let first = mail.link(&format!("{}/signin/reset-password/", t.base));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.all().len(), 1, "no e-mail for the others");

    // A second request: only the newest link works.
    assert_eq!(forgot(&t, "ada").await.status(), 200);
    let link = smtp
        .message("ada@example.com", RESET, 1)
        .await
        .link(&format!("{}/signin/reset-password/", t.base));
    assert_ne!(link, first);
    let (status, page) = set_password(&t, &first, "a new password 1").await;
    assert_eq!(status, 400);
    assert!(page.contains("expired or was already used"), "{page}");

    // Too short: refused, and the link still works; then set.
    let (status, page) = set_password(&t, &link, "short").await;
    assert_eq!(status, 400);
    assert!(page.contains("at least 8 characters"), "{page}");
    let (status, page) = set_password(&t, &link, "a new password 1").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Password set"));
    let ada = store.get_user(&ada.id).await.unwrap().unwrap();
    assert!(password_is(&ada, "a new password 1"));
    assert!(
        ada.email_verified(),
        "following the link proved the address"
    );
    let notice = smtp.message("ada@example.com", CHANGED, 0).await;
    assert!(
        notice
            .data
            .contains("The password of your account ada was changed")
    );

    // Used once: a replay (GET or POST) finds nothing and changes nothing.
    let (status, _) = set_password(&t, &link, "a third password").await;
    assert_eq!(status, 400);
    let b = Browser::at(&t.base);
    let csrf = input_value(
        &b.get(&format!("{}/signin/forgot-password", t.base))
            .await
            .text()
            .await
            .unwrap(),
        "csrf",
    )
    .unwrap();
    let replay = b
        .post_form(&link, &[("csrf", &csrf), ("password", "a third password")])
        .await;
    assert_eq!(replay.status(), 400);
    let ada = store.get_user(&ada.id).await.unwrap().unwrap();
    assert!(password_is(&ada, "a new password 1"));
    // Without the CSRF cookie's token the form is refused outright.
    let forged = Browser::at(&t.base)
        .post_form(
            &link,
            &[("csrf", "forged"), ("password", "a third password")],
        )
        .await;
    assert_eq!(forged.status(), 403);

    // Past its hour a link is dead.
    assert_eq!(forgot(&t, "ada").await.status(), 200);
    let late = smtp
        .message("ada@example.com", RESET, 2)
        .await
        .link(&format!("{}/signin/reset-password/", t.base));
    t.clock.advance(3600);
    let (status, _) = set_password(&t, &late, "a late password 1").await;
    assert_eq!(status, 400);

    // Throttled like sign-ins: after five requests for one username from one address,
    // wait (429 with Retry-After), whether the account exists or not.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let answer = forgot(&t, "ghost").await;
        statuses.push(answer.status().as_u16());
        if answer.status() == 429 {
            assert!(answer.headers().get("retry-after").is_some());
        }
    }
    assert_eq!(statuses[..5], [200; 5]);
    assert!(statuses[5..].contains(&429), "{statuses:?}");

    // Activation: a user created without a password, activated with sendEmail (the
    // default), chooses a password through the e-mailed link and is ACTIVE.
    let api = t.api().await;
    let (status, dora) = api
        .post(
            "/api/v1/users?activate=false",
            json!({"profile": {"login": "dora@example.com", "email": "dora@example.com", "firstName": "Dora"}}),
        )
        .await;
    assert_eq!(status, 200, "{dora}");
    let dora_id = dora["id"].as_str().unwrap();
    let (status, answer) = api
        .post(
            &format!("/api/v1/users/{dora_id}/lifecycle/activate"),
            json!({}),
        )
        .await;
    assert_eq!((status, answer), (200, json!({})));
    let mail = smtp
        .message("dora@example.com", "Activate your account", 0)
        .await;
    let welcome = mail.link(&format!("{}/welcome/", t.base));
    let (status, page) = set_password(&t, &welcome, "dora's password").await;
    assert_eq!(status, 200, "{page}");
    let (_, dora) = api.get(&format!("/api/v1/users/{dora_id}")).await;
    assert_eq!(dora["status"], "ACTIVE");
    let (status, _) = set_password(&t, &welcome, "again and again").await;
    assert_eq!(status, 400, "an activation link works once");

    // sendEmail=false: the link comes in the answer, and no e-mail is sent.
    let (_, eve) = api
        .post(
            "/api/v1/users?activate=false",
            json!({"profile": {"login": "eve@example.com", "email": "eve@example.com"}}),
        )
        .await;
    let eve_id = eve["id"].as_str().unwrap();
    let (status, answer) = api
        .post(
            &format!("/api/v1/users/{eve_id}/lifecycle/activate?sendEmail=false"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let url = answer["activationUrl"].as_str().unwrap();
    assert_eq!(
        url,
        format!(
            "{}/welcome/{}",
            t.base,
            answer["activationToken"].as_str().unwrap()
        )
    );
    let (status, _) = set_password(&t, url, "eve's password!").await;
    assert_eq!(status, 200);
    smtp.message("eve@example.com", CHANGED, 0).await;
    assert_eq!(smtp.count("eve@example.com", "Activate your account"), 0);
    let (status, answer) = api
        .post(
            "/api/v1/users/nobody/lifecycle/activate?sendEmail=maybe",
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");

    // Address confirmation: the link sets email_verified; a changed address is
    // unverified again.
    let bob = person(&t, "bob", Some("bob@example.com"), true).await;
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/lifecycle/verify_email", bob.id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let mail = smtp
        .message("bob@example.com", "Confirm your e-mail address", 0)
        .await;
    let confirm = mail.link(&format!("{}/signin/verify-email/", t.base));
    let b = Browser::at(&t.base);
    let page = b.get(&confirm).await;
    assert_eq!(page.status(), 200);
    let csrf = input_value(&page.text().await.unwrap(), "csrf").unwrap();
    assert!(
        !store
            .get_user(&bob.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified(),
        "opening changes nothing"
    );
    let done = b.post_form(&confirm, &[("csrf", &csrf)]).await;
    assert_eq!(done.status(), 200);
    assert!(
        store
            .get_user(&bob.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified()
    );
    assert_eq!(
        b.post_form(&confirm, &[("csrf", &csrf)]).await.status(),
        400
    );
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}", bob.id),
            json!({"profile": {"email": "bob@elsewhere.example"}}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        !store
            .get_user(&bob.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified()
    );

    // A password changed through the API is notified too.
    let (status, _) = api
        .post(
            &format!("/api/v1/users/{}/credentials/change_password", ada.id),
            json!({"oldPassword": {"value": "a new password 1"}, "newPassword": {"value": "a fourth password"}}),
        )
        .await;
    assert_eq!(status, 200);
    smtp.message("ada@example.com", CHANGED, 1).await;

    // Every e-mail was delivered; nothing is left in the queue.
    drained(store).await;
}

/// Waits (up to five seconds) until the queue is empty: every job done and deleted.
async fn drained(store: &gatehouse::store::DynStore) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !store.list_jobs(None, 10).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "jobs are left in the queue");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_that_is_down_delays_the_email_not_the_request() {
    // A server that accepts connections and never answers: each delivery attempt
    // times out (1 s) in the worker.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let t = TestApp::spawn_configured(with_smtp(port)).await;
    person(&t, "ada", Some("ada@example.com"), true).await;
    let started = Instant::now();
    assert_eq!(forgot(&t, "ada").await.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the request waited for the SMTP server: {:?}",
        started.elapsed()
    );
    // The job failed and waits for its retry, with the reason recorded.
    let store = &t.backend.store;
    let deadline = Instant::now() + Duration::from_secs(15);
    let job = loop {
        let jobs = store.list_jobs(Some("email.send"), 10).await.unwrap();
        if let Some(job) = jobs.into_iter().find(|j| j.last_error.is_some()) {
            break job;
        }
        assert!(Instant::now() < deadline, "the first attempt never failed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(job.status, "QUEUED");
    assert!(job.attempts >= 1);
    // The server comes back on the same port: the next attempt delivers.
    held.abort();
    let _ = held.await;
    let smtp = SmtpServer::start_on(port).await;
    smtp.message("ada@example.com", RESET, 0).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !store.list_jobs(None, 10).await.unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the delivered job was not deleted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
