//! `DbProxy`: a TCP relay between the instances and PostgreSQL that the test can take
//! down and bring back, to simulate a PostgreSQL restart as the network sees it: open
//! connections are cut, and new ones are refused (ECONNREFUSED) until it is back. This
//! affects only the processes that connect through it; the machine's PostgreSQL server,
//! shared with other test runs, is never touched.
//!
//! It differs from `TestDatabase::outage_start`, where PostgreSQL itself answers a new
//! connection at once with an error that sqlx does not retry: a refused connection is
//! retried by the pool until the acquire timeout, which is the path that bounds how long
//! a request waits during a real restart.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use url::Url;

pub struct DbProxy {
    /// The URL of the test database through the proxy.
    pub url: String,
    up: watch::Sender<Option<bool>>,
    /// The relay says here when a change has taken effect.
    done: std::sync::mpsc::Receiver<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DbProxy {
    /// A relay to the server of `database_url`; `url` is the same database through it.
    pub fn start(database_url: &str) -> DbProxy {
        let mut url = Url::parse(database_url).unwrap();
        let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(addr.port())).unwrap();
        // Its own thread and runtime: the relay keeps working whatever the test's
        // runtime is doing (blocked on a child process, say).
        let (up, state) = watch::channel(Some(true));
        let (tell, done) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            listener.set_nonblocking(true).unwrap();
            runtime.block_on(async move {
                relay(
                    TcpListener::from_std(listener).unwrap(),
                    addr,
                    upstream,
                    state,
                    tell,
                )
                .await
            });
        });
        DbProxy {
            url: url.to_string(),
            up,
            done,
            thread: Some(thread),
        }
    }

    /// Cuts every open connection and refuses new ones; returns once it has.
    pub fn take_down(&self) {
        self.up.send_replace(Some(false));
        self.done
            .recv_timeout(Duration::from_secs(10))
            .expect("the relay went down");
    }

    /// Accepts connections again; returns once it does.
    pub fn bring_back(&self) {
        self.up.send_replace(Some(true));
        self.done
            .recv_timeout(Duration::from_secs(10))
            .expect("the relay came back");
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.up.send_replace(None);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Relays while the state is `Some(true)`; on `Some(false)` closes the listening socket
/// (so connections are refused) and every relayed connection; on `None` ends.
async fn relay(
    mut listener: TcpListener,
    addr: SocketAddr,
    upstream: String,
    mut state: watch::Receiver<Option<bool>>,
    done: std::sync::mpsc::Sender<()>,
) {
    loop {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((mut client, _)) = accepted else { continue };
                    let upstream = upstream.clone();
                    connections.spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                }
                changed = state.changed() => {
                    if changed.is_err() || *state.borrow() != Some(true) {
                        break;
                    }
                }
            }
        }
        drop(listener);
        // Aborts every relayed connection and waits until they are closed.
        connections.shutdown().await;
        let _ = done.send(());
        // Down: wait to be brought back (or ended), then listen on the same port again.
        loop {
            match *state.borrow_and_update() {
                None => return,
                Some(true) => break,
                Some(false) => {}
            }
            if state.changed().await.is_err() {
                return;
            }
        }
        listener = loop {
            match TcpListener::bind(addr).await {
                Ok(listener) => break listener,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let _ = done.send(());
    }
}
