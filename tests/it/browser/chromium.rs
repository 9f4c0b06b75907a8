//! `Chromium`: a headless Chromium driven over WebDriver (plain JSON over HTTP, with
//! `reqwest`: no WebDriver crate, so nothing new to build), for tests that must see
//! what a browser does and an HTTP client does not: CSP enforcement (`form-action` on
//! a redirect after a form), scripts, layout, focus, keyboard use, accessibility.
//!
//! Use:
//!
//! ```ignore
//! let chrome = Chromium::start().await;          // 1280×900, light mode
//! chrome.open(&format!("{}/some/page", app.base)).await;
//! chrome.fill("#username", "alice@example.com").await;
//! chrome.click("button[type=submit]").await;
//! let url = chrome.wait_for_url("http://127.0.0.1:4000/callback").await;
//! chrome.assert_no_csp_violations().await;      // and no console errors, on every page so far
//! chrome.axe_audit().await;                      // no serious/critical axe-core violation
//! chrome.screenshot("login-light").await;        // only when GATEHOUSE_SCREENSHOTS=dir
//! chrome.check_page("login").await;              // all of it: light, dark, 390 px
//! ```
//!
//! One chromedriver serves the whole test run: started on first use on a free loopback
//! port, stopped when the test binary exits. Each `Chromium` is its own browser
//! (fresh profile directory, so no cookies shared between tests), closed on drop.
//! Chromium or chromedriver missing is a failure with the install command, never a skip.

// A harness for every browser test, including those of other pages: not every
// helper is used by every build of the suite.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

const INSTALL: &str = "apt-get install -y chromium chromium-driver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a wait for a page, an element or a URL lasts before the test fails.
const PATIENCE: Duration = Duration::from_secs(15);

/// Reports each `securitypolicyviolation` and uncaught error as a console error, so
/// that the browser log (which outlives navigations) holds them, and each page's
/// address. Added at document start: it sees violations during the page's own load
/// and on a blocked form submission.
const LISTENER: &str = r#"(() => {
  console.info("page: " + document.location.href);
  document.addEventListener("securitypolicyviolation", (e) => {
    console.error("CSP violation: " + e.effectiveDirective + " blocked " + e.blockedURI + " on " + e.documentURI);
  });
  window.addEventListener("error", (e) => console.error("Uncaught: " + e.message));
})();"#;

static DRIVER: OnceLock<Result<String, String>> = OnceLock::new();
static DRIVER_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn stop_driver() {
    let pid = DRIVER_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: a signal to the process this test binary started.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

fn find(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// The address of the run's chromedriver, started on first use.
fn driver() -> String {
    DRIVER
        .get_or_init(|| {
            find("chromium").ok_or("chromium is not installed")?;
            let chromedriver = find("chromedriver").ok_or("chromedriver is not installed")?;
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| e.to_string())?
                .port();
            let child = Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("chromedriver did not start: {e}"))?;
            DRIVER_PID.store(child.id() as i32, Ordering::SeqCst);
            // SAFETY: registers a plain function that only sends a signal.
            unsafe {
                libc::atexit(stop_driver);
            }
            let addr = format!("127.0.0.1:{port}");
            let started = Instant::now();
            while TcpStream::connect(&addr).is_err() {
                if started.elapsed() > PATIENCE {
                    return Err(format!("chromedriver did not listen on {addr}"));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(addr)
        })
        .clone()
        .unwrap_or_else(|e| panic!("{e}; the browser tests need it: {INSTALL}"))
}

/// axe-core's script, from `tests/browser/node_modules` (`npm ci` there installs it).
fn axe_source() -> &'static str {
    static AXE: OnceLock<String> = OnceLock::new();
    AXE.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/node_modules/axe-core/axe.min.js"
        );
        std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!("{path}: {e}; install axe-core with: (cd tests/browser && npm ci)")
        })
    })
}

pub struct Chromium {
    http: reqwest::Client,
    driver: String,
    session: String,
    /// Browser log entries read so far (reading the log empties it).
    log: Mutex<Vec<String>>,
    /// The profile; removed after the browser has quit (fields drop in order, and
    /// `Drop::drop` runs first).
    _profile: TempDir,
}

impl Chromium {
    /// A new headless browser, 1280×900, light colour scheme.
    pub async fn start() -> Chromium {
        let driver = driver();
        let profile = tempfile::tempdir().expect("a profile directory");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": find("chromium").expect("chromium"),
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--disable-dev-shm-usage", "--window-size=1280,900",
                        format!("--user-data-dir={}", profile.path().display()),
                    ],
                },
                "goog:loggingPrefs": { "browser": "ALL" },
            }}
        });
        let response = http
            .post(format!("http://{driver}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("chromedriver answers");
        let body: Value = response.json().await.expect("a JSON answer");
        let session = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session ({INSTALL}?): {body}"))
            .to_string();
        let chrome = Chromium {
            http,
            driver,
            session,
            log: Mutex::new(Vec::new()),
            _profile: profile,
        };
        chrome
            .cdp(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": LISTENER }),
            )
            .await;
        chrome
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("http://{}/session/{}{path}", self.driver, self.session);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            panic!("WebDriver {method} {path}: {status} {}", body["value"]);
        }
        body["value"].clone()
    }

    async fn try_post(&self, path: &str, body: Value) -> Result<Value, Value> {
        let url = format!("http://{}/session/{}{path}", self.driver, self.session);
        let response = self.http.post(&url).json(&body).send().await.unwrap();
        let ok = response.status().is_success();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if ok {
            Ok(body["value"].clone())
        } else {
            Err(body["value"].clone())
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// A Chrome DevTools Protocol command on the current page.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.post("/goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
            .await
    }

    /// Navigates and waits for the page to load.
    pub async fn open(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the address starts with `prefix` (a redirect chain, an auto-submitted
    /// form), and returns it. Fails with the address reached and the browser log.
    pub async fn wait_for_url(&self, prefix: &str) -> String {
        let started = Instant::now();
        loop {
            let url = self.url().await;
            if url.starts_with(prefix) && self.ready().await {
                return url;
            }
            if started.elapsed() > PATIENCE {
                let log = self.console().await;
                panic!("never reached {prefix}: still at {url}\nbrowser log: {log:#?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn ready(&self) -> bool {
        self.try_post(
            "/execute/sync",
            json!({ "script": "return document.readyState", "args": [] }),
        )
        .await
        .is_ok_and(|v| v == "complete")
    }

    /// The first element `css` selects, waiting for it to appear.
    async fn element(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            match self
                .try_post("/element", json!({ "using": "css selector", "value": css }))
                .await
            {
                Ok(found) => return found[ELEMENT].as_str().unwrap().to_string(),
                Err(e) if started.elapsed() > PATIENCE => {
                    panic!("no element {css} at {}: {e}", self.url().await)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Whether `css` selects an element now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        self.try_post("/element", json!({ "using": "css selector", "value": css }))
            .await
            .is_ok()
    }

    /// Replaces the field's value with `text`, typed.
    pub async fn fill(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.post(&format!("/element/{id}/clear"), json!({})).await;
        self.post(&format!("/element/{id}/value"), json!({ "text": text }))
            .await;
    }

    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.post(&format!("/element/{id}/click"), json!({})).await;
    }

    /// The element's rendered text. An element found just before the page was replaced
    /// (a navigation finishing) is stale by the time its text is asked for: it is looked
    /// up again on the new page, within the usual patience.
    pub async fn text(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            let id = self.element(css).await;
            let url = format!(
                "http://{}/session/{}/element/{id}/text",
                self.driver, self.session
            );
            let response = self.http.get(&url).send().await.unwrap();
            let ok = response.status().is_success();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if ok {
                return body["value"].as_str().unwrap_or_default().to_string();
            }
            let stale = body["value"]["error"] == "stale element reference";
            if !stale || started.elapsed() > PATIENCE {
                panic!("WebDriver text of {css}: {}", body["value"]);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types on the keyboard into whatever has focus (WebDriver key actions): text, and
    /// the keys `TAB`, `ENTER`, `SPACE` as `Key::*` characters in the string.
    pub async fn keys(&self, text: &str) {
        let mut actions = Vec::new();
        for c in text.chars() {
            actions.push(json!({ "type": "keyDown", "value": c.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": c.to_string() }));
        }
        self.post(
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        )
        .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// The `id` (or, without one, the `name`) of the focused element.
    pub async fn focused(&self) -> String {
        self.script(
            "const e = document.activeElement; return e ? (e.id || e.name || e.tagName) : ''",
            json!([]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Reads (and keeps) what the browser logged since the last read: console
    /// messages, CSP reports, failed loads. Each entry as `LEVEL message`.
    pub async fn console(&self) -> Vec<String> {
        let entries = self
            .try_post("/se/log", json!({ "type": "browser" }))
            .await
            .unwrap_or(Value::Null);
        let mut log = self.log.lock().unwrap();
        for entry in entries.as_array().into_iter().flatten() {
            log.push(format!(
                "{} {}",
                entry["level"].as_str().unwrap_or("?"),
                entry["message"].as_str().unwrap_or("")
            ));
        }
        log.clone()
    }

    /// No CSP violation and no console error on any page this browser has shown so far
    /// (violations are reported by the page's listener and by Chromium itself).
    /// A page's own 4xx status (an error page, the sign-in form after a wrong password)
    /// is not an error of the page: Chromium logs it as a failed load of the document.
    pub async fn assert_no_csp_violations(&self) {
        let log = self.console().await;
        let pages: Vec<&str> = log
            .iter()
            .filter_map(|e| {
                e.split_once("\"page: ")
                    .map(|(_, url)| url.trim_end_matches('"'))
            })
            .collect();
        let bad: Vec<&String> = log
            .iter()
            .filter(|e| {
                e.starts_with("SEVERE")
                    || e.contains("Content Security Policy")
                    || e.contains("CSP violation")
            })
            .filter(|e| {
                !e.split_once(" - Failed to load resource: the server responded with a status of 4")
                    .is_some_and(|(level_url, _)| {
                        pages
                            .iter()
                            .any(|page| level_url.strip_prefix("SEVERE ") == Some(page))
                    })
            })
            .collect();
        assert!(
            bad.is_empty(),
            "CSP violations or console errors (at {}): {bad:#?}",
            self.url().await
        );
    }

    /// Injects axe-core and fails on any violation of impact serious or critical.
    pub async fn axe_audit(&self) {
        self.script(axe_source(), json!([])).await;
        let violations = self
            .post(
                "/execute/async",
                json!({
                    "script": "const done = arguments[arguments.length - 1];
                        axe.run(document, { resultTypes: ['violations'] })
                           .then(r => done(r.violations.map(v => ({
                               id: v.id, impact: v.impact, help: v.help,
                               nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary) }))))
                           .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
                    "args": []
                }),
            )
            .await;
        let serious: Vec<&Value> = violations
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(
            serious.is_empty(),
            "axe-core at {}: {serious:#?}",
            self.url().await
        );
    }

    /// Saves a PNG of the viewport as `NAME.png` in the directory `GATEHOUSE_SCREENSHOTS`
    /// names; nothing when it is not set.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("GATEHOUSE_SCREENSHOTS") else {
            return;
        };
        use base64::Engine;
        let png = self.get("/screenshot").await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a screenshot"))
            .expect("base64");
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), bytes).expect("write a screenshot");
    }

    /// The viewport's size in CSS pixels, as a phone (`mobile`) or a desktop.
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        )
        .await;
    }

    /// `prefers-color-scheme: dark` (or light).
    pub async fn dark_mode(&self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": value }] }),
        )
        .await;
    }

    /// Whether the page scrolls sideways.
    pub async fn scrolls_horizontally(&self) -> bool {
        self.script(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth",
            json!([]),
        )
        .await
        .as_bool()
        .unwrap_or(true)
    }

    /// The whole check for one hosted page, as it is now: no CSP violation or console
    /// error; axe-core clean in light and dark mode; no sideways scrolling at 390×844;
    /// screenshots `NAME-light`, `NAME-dark` (800×700) and `NAME-390`. Leaves the
    /// browser at 1280×900 in light mode.
    pub async fn check_page(&self, name: &str) {
        self.assert_no_csp_violations().await;
        self.viewport(800, 700, false).await;
        for dark in [false, true] {
            self.dark_mode(dark).await;
            self.axe_audit().await;
            let mode = if dark { "dark" } else { "light" };
            self.screenshot(&format!("{name}-{mode}")).await;
        }
        self.dark_mode(false).await;
        self.viewport(390, 844, true).await;
        assert!(
            !self.scrolls_horizontally().await,
            "{name} scrolls sideways at 390 px"
        );
        self.axe_audit().await;
        self.screenshot(&format!("{name}-390")).await;
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
        self.assert_no_csp_violations().await;
    }
}

/// WebDriver's key codes, for `Chromium::keys`.
pub struct Key;

impl Key {
    pub const TAB: char = '\u{E004}';
    pub const ENTER: char = '\u{E007}';
    pub const SPACE: char = '\u{E00D}';
}

impl Drop for Chromium {
    /// Quits the browser (a blocking request on a thread of its own: this may run inside
    /// the test's async runtime), before the profile directory is removed.
    fn drop(&mut self) {
        let addr = self.driver.clone();
        let session = self.session.clone();
        let _ = std::thread::spawn(move || -> std::io::Result<()> {
            let mut stream = TcpStream::connect(&addr)?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            write!(
                stream,
                "DELETE /session/{session} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            )?;
            // chromedriver answers `Connection: close` but keeps the connection open, so
            // reading to the end would wait out the timeout: read the answer's length.
            let mut answer = Vec::new();
            let mut chunk = [0u8; 1024];
            loop {
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                answer.extend_from_slice(&chunk[..n]);
                if answer_complete(&answer) {
                    break;
                }
            }
            Ok(())
        })
        .join();
    }
}

/// Whether `answer` holds an HTTP response's headers and the whole body its
/// `Content-Length` announces.
fn answer_complete(answer: &[u8]) -> bool {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let headers = String::from_utf8_lossy(&answer[..end]);
    let length = headers
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    answer.len() >= end + 4 + length
}
