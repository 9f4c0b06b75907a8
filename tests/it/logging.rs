//! Text logs carry colour codes only on a terminal: the real binary with its standard
//! error on a pipe (as under a service manager or a log collector) writes plain text.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_to_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("GATEHOUSE_DATA_DIR", dir.path())
        .env("GATEHOUSE_LOG_FORMAT", "text")
        .env("GATEHOUSE_LOG", "info")
        .env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_MASTER_KEY")
        .env_remove("GATEHOUSE_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first
        .trim()
        .strip_prefix("Gatehouse listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    // A request, so that there is a request line in the log.
    let status = reqwest::get(format!("{base}/healthz"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let killed = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());
    let logs = logs.join().unwrap();
    assert!(logs.contains("/healthz"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "colour codes on a pipe: {logs:?}");
}
