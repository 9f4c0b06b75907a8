//! The application: the first-start bootstrap, the router, and serving. What handlers
//! share lives below it (`http::AppState` over `flows::Services`); nothing under
//! `http` or `flows` imports this module.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::admin::servers;
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::config::{ServerConfig, StoreConfig};
use crate::crypto::{MasterKey, b64url_decode, random_bytes};
use crate::http::endpoints;
use crate::store::{self, DEFAULT_SERVER_ID, ORG_SERVER_ID, StoreError};

pub use crate::flows::Backend;
pub use crate::http::{AppState, SharedState};
use crate::tokens::keys::Rotated;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("signing keys: {0}")]
    Keys(#[from] crate::tokens::keys::KeyError),
    #[error("{0}")]
    Config(String),
}

/// The master key from `GATEHOUSE_MASTER_KEY` (base64url of 32 bytes), else from
/// `{data_dir}/master.key`, created (mode 0600) on first use.
pub fn load_master_key(data_dir: &Path) -> Result<MasterKey, StartError> {
    if let Ok(text) = std::env::var("GATEHOUSE_MASTER_KEY") {
        let bytes = b64url_decode(text.trim())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                StartError::MasterKey("GATEHOUSE_MASTER_KEY must be 32 bytes, base64url".into())
            })?;
        return Ok(MasterKey::from_bytes(
            bytes.as_slice().try_into().expect("32 bytes"),
        ));
    }
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("master.key");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
                StartError::MasterKey(format!("{} must hold exactly 32 bytes", path.display()))
            })?;
            Ok(MasterKey::from_bytes(&bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = random_bytes::<32>();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(mut file) => {
                    std::io::Write::write_all(&mut file, &bytes)?;
                    file.sync_all()?;
                    Ok(MasterKey::from_bytes(&bytes))
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_master_key(data_dir)
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens the store and the master key, and makes sure the org and `default`
/// authorization servers exist.
pub async fn open_backend(config: &StoreConfig, now: i64) -> Result<Backend, StartError> {
    let master = load_master_key(&config.data_dir)?;
    let store = store::open(config).await?;
    for server in servers::builtin_servers(now) {
        store.insert_server_if_absent(&server).await?;
        store
            .seed_server(&server.id, &servers::seed(&server.id, now))
            .await?;
    }
    Ok(Backend { store, master })
}

/// Every route. The org server's endpoints are at `/oauth2/v1/...`, a custom server's
/// at `/oauth2/{server_id}/v1/...` (the static path wins over the parameter).
pub fn router(state: SharedState) -> Router {
    let oauth = Router::new()
        .route(
            "/v1/authorize",
            get(endpoints::authorize::get).post(endpoints::authorize::post),
        )
        .route("/v1/token", post(endpoints::token::post))
        .route("/v1/par", post(endpoints::par::post))
        .route("/v1/device/authorize", post(endpoints::device::post))
        .route("/v1/keys", get(endpoints::keys::get))
        .route("/v1/revoke", post(endpoints::revoke::post))
        .route("/v1/introspect", post(endpoints::introspect::post))
        .route(
            "/v1/userinfo",
            get(endpoints::userinfo::get).post(endpoints::userinfo::post),
        )
        .route(
            "/v1/logout",
            get(endpoints::logout::get).post(endpoints::logout::post),
        )
        .route(
            "/.well-known/openid-configuration",
            get(endpoints::discovery::get),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(endpoints::discovery::get),
        );
    Router::new()
        // RFC 7591 / RFC 7592: one registration endpoint, the org server's (as Okta's).
        .route("/oauth2/v1/clients", post(endpoints::registration::post))
        .route(
            "/oauth2/v1/clients/{client_id}",
            get(endpoints::registration::get)
                .put(endpoints::registration::put)
                .delete(endpoints::registration::delete),
        )
        .route(
            "/oauth2/v1/clients/{client_id}/lifecycle/newSecret",
            post(endpoints::registration::new_secret),
        )
        // Sign-in at an identity provider: the one redirect URI registered at every
        // provider (Okta's), and Okta's address to start a sign-in there.
        .route(
            "/oauth2/v1/authorize/callback",
            get(endpoints::federation::callback),
        )
        .route(
            "/sso/idps/buttons.css",
            get(endpoints::federation::buttons_css),
        )
        .route("/sso/idps/{idp_id}", get(endpoints::federation::start))
        .route(
            "/sso/logout/callback",
            get(endpoints::logout::upstream_done),
        )
        .nest("/oauth2/{server_id}", oauth.clone())
        .nest("/oauth2", oauth.clone())
        .route(
            "/.well-known/openid-configuration",
            get(endpoints::discovery::get),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(endpoints::discovery::get),
        )
        .route(
            "/login",
            get(endpoints::login::get).post(endpoints::login::post),
        )
        .route("/login/passkey", post(endpoints::passkey_login::post))
        .route(
            "/signin/verify/passkey/options",
            post(endpoints::passkey_login::verify_options),
        )
        .route(
            "/signin/enroll/passkey/options",
            post(endpoints::passkey_login::enroll_options),
        )
        .route(
            "/login/passkey/options",
            post(endpoints::passkey_login::options),
        )
        .route(
            "/account/passkeys",
            get(endpoints::account_passkeys::get).post(endpoints::account_passkeys::add),
        )
        .route(
            "/account/passkeys/options",
            post(endpoints::account_passkeys::options),
        )
        .route(
            "/account/passkeys/{id}/rename",
            post(endpoints::account_passkeys::rename),
        )
        .route(
            "/account/passkeys/{id}/delete",
            post(endpoints::account_passkeys::remove),
        )
        .route(
            "/login/sessionCookieRedirect",
            get(endpoints::session_cookie::get),
        )
        .route(
            "/consent",
            get(endpoints::consent::get).post(endpoints::consent::post),
        )
        .route(
            "/activate",
            get(endpoints::activate::get).post(endpoints::activate::post),
        )
        .route(
            "/signin/forgot-password",
            get(endpoints::email_links::forgot_get).post(endpoints::email_links::forgot_post),
        )
        .route(
            "/signin/reset-password/{token}",
            get(endpoints::email_links::reset_get).post(endpoints::email_links::reset_post),
        )
        .route(
            "/signin/verify-email/{token}",
            get(endpoints::email_links::verify_get).post(endpoints::email_links::verify_post),
        )
        .route(
            "/welcome/{token}",
            get(endpoints::email_links::welcome_get).post(endpoints::email_links::welcome_post),
        )
        .route(
            "/signin/verify",
            get(endpoints::signin::get_verify).post(endpoints::signin::post_verify),
        )
        .route(
            "/signin/enroll",
            get(endpoints::signin::get_enroll).post(endpoints::signin::post_enroll),
        )
        .route("/signin/continue", post(endpoints::signin::post_continue))
        .route("/account/factors", get(endpoints::account_factors::list))
        .route(
            "/account/factors/totp",
            get(endpoints::account_factors::totp_form)
                .post(endpoints::account_factors::totp_activate),
        )
        .route(
            "/account/factors/email",
            post(endpoints::account_factors::email_enroll),
        )
        .route(
            "/account/factors/email/activate",
            post(endpoints::account_factors::email_activate),
        )
        .route(
            "/account/factors/recovery-codes",
            post(endpoints::account_factors::recovery_codes),
        )
        .route(
            "/account/factors/{id}/remove",
            post(endpoints::account_factors::remove),
        )
        .route("/assets/{file}", get(endpoints::assets::get))
        .route("/brand/theme.css", get(endpoints::brand::theme_css))
        .route("/brand/logo", get(endpoints::brand::logo))
        .route("/brand/favicon", get(endpoints::brand::favicon))
        .route("/healthz", get(endpoints::health::healthz))
        .route("/readyz", get(endpoints::health::readyz))
        .route("/metrics", get(endpoints::metrics::get))
        .nest("/api/v1", crate::http::api::router())
        .merge(endpoints::home::routes())
        .merge(endpoints::admin::routes())
        .merge(endpoints::account::routes())
        .fallback(endpoints::health::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::middleware::metrics,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::branding::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::cors::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::client_ip::layer,
        ))
        .layer(axum::middleware::from_fn(
            crate::http::middleware::security_headers,
        ))
        .layer(axum::middleware::from_fn(
            crate::http::middleware::request_log,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::oauth::params::MAX_PARAMS_BYTES + 1,
        ))
        .layer(axum::middleware::from_fn(
            crate::http::middleware::read_snapshot,
        ))
        .with_state(state)
}

/// Runs the server on `listener` until `shutdown` resolves, then drains (see
/// `serve_draining`), stops the janitor and the back-channel logout deliveries, and
/// closes the database connections.
pub async fn serve(
    state: SharedState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    open_keys(&state).await.map_err(std::io::Error::other)?;
    // The admin console's app, with this public URL's URIs (issue 17).
    crate::admin::console::ensure(&state.store, &state.config.base_url(), state.clock.now())
        .await
        .map_err(std::io::Error::other)?;
    // The account page's app, likewise.
    crate::admin::account_app::ensure(&state.store, &state.config.base_url(), state.clock.now())
        .await
        .map_err(std::io::Error::other)?;
    state.passwords.warm_up();
    let janitor = spawn_janitor(state.clone());
    let logouts = spawn_logout_deliveries(state.clone());
    let worker = crate::jobs::Worker::new(state.jobs.clone(), job_handlers(&state))
        .spawn(state.clock.clone());
    // The peer address decides the client's (`http::client_ip`), which goes into System
    // Log events (`client.ipAddress`).
    let service = router(state.clone())
        .layer(axum::middleware::map_request(peer_address))
        .into_make_service_with_connect_info::<Peer>();
    let drain = Duration::from_secs(state.config.shutdown_drain_seconds);
    let served = serve_draining(listener, service, shutdown, drain).await;
    janitor.abort();
    // A delivery cut short here is taken again when its lease ends (by any instance).
    logouts.abort();
    worker.abort();
    state.store.close().await;
    tracing::info!("stopped: requests finished, database connections closed");
    served
}

/// Serves until `shutdown` resolves; then stops accepting (connections the kernel has
/// already completed are still taken, then the socket is closed and new connections
/// are refused), lets every request in flight finish and closes idle connections; and
/// returns once all connections are closed or `drain` has passed, whichever is first.
async fn serve_draining(
    listener: TcpListener,
    service: axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, Peer>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    let (draining, draining_rx) = tokio::sync::watch::channel(false);
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    let listener = Draining {
        inner: Some(listener),
        draining: draining_rx,
        closed: Some(closed_tx),
    };
    let server = axum::serve(listener, service)
        .with_graceful_shutdown(async {
            let _ = closed_rx.await;
            // The connections just taken from the queue read their request first: a
            // connection that has not yet would be closed as idle.
            tokio::time::sleep(SETTLE).await;
        })
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => return served,
        () = shutdown => {}
    }
    tracing::info!(
        drain_seconds = drain.as_secs(),
        "stopping: no new connections; finishing the requests in flight"
    );
    let _ = draining.send(true);
    match tokio::time::timeout(drain, server).await {
        Ok(served) => served,
        Err(_) => {
            tracing::warn!(
                drain_seconds = drain.as_secs(),
                "stopping: the drain period is over; closing the connections still open"
            );
            Ok(())
        }
    }
}

/// The peer of a connection the `Draining` listener accepted.
#[derive(Clone, Copy, Debug)]
struct Peer(SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Draining>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Draining>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// Hands the handlers the peer address as `ConnectInfo<SocketAddr>`, as axum's own
/// listener would.
async fn peer_address(mut request: axum::extract::Request) -> axum::extract::Request {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<Peer>>()
        .map(|info| info.0.0);
    if let Some(peer) = peer {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
    }
    request
}

/// How long the connections taken from the queue at shutdown have to send their
/// request before idle connections are closed.
const SETTLE: Duration = Duration::from_millis(250);

/// The listening socket, which on shutdown accepts what the kernel has queued, then
/// closes (so new connections are refused rather than left waiting) and says so.
struct Draining {
    inner: Option<TcpListener>,
    draining: tokio::sync::watch::Receiver<bool>,
    closed: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Draining {
    fn close(&mut self) {
        self.inner = None;
        if let Some(closed) = self.closed.take() {
            let _ = closed.send(());
        }
    }
}

impl axum::serve::Listener for Draining {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some(inner) = &self.inner else {
                return std::future::pending().await;
            };
            if *self.draining.borrow() {
                let queued = std::future::poll_fn(|cx| {
                    std::task::Poll::Ready(match inner.poll_accept(cx) {
                        std::task::Poll::Ready(accepted) => Some(accepted),
                        std::task::Poll::Pending => None,
                    })
                })
                .await;
                match queued {
                    Some(Ok(connection)) => return connection,
                    Some(Err(e)) => tracing::debug!(error = %e, "accept failed while draining"),
                    None => self.close(),
                }
                continue;
            }
            tokio::select! {
                accepted = inner.accept() => match accepted {
                    Ok(connection) => return connection,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                changed = self.draining.changed() => {
                    if changed.is_err() {
                        self.close();
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        match &self.inner {
            Some(inner) => inner.local_addr(),
            None => Err(std::io::Error::other("the listener is closed")),
        }
    }
}

/// Opens the built-in servers' signing keys, so that a process that cannot (another
/// master key than the database's) fails at start, not at the first request. Keys not
/// made yet (the first start on a fresh database: four RSA keys, most of the start-up
/// time) are made in the background, both servers at once, while the server already
/// answers; a request that needs them first makes them itself, and the database's
/// unique indexes keep one ACTIVE and one NEXT key per server whoever inserts first.
pub async fn open_keys(state: &SharedState) -> Result<(), StartError> {
    let now = state.clock.now();
    let mut missing = Vec::new();
    for id in [ORG_SERVER_ID, DEFAULT_SERVER_ID] {
        let stored = state.store.signing_keys(id).await?;
        if stored
            .iter()
            .any(|k| k.status == crate::store::KeyStatus::Active)
        {
            state.keys.get(id, now).await?;
        } else {
            missing.push(id);
        }
    }
    for id in missing {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = state.keys.get(id, now).await {
                tracing::error!(server = id, error = %e, "cannot make the first signing keys");
            }
        });
    }
    Ok(())
}

/// Every five minutes: deletes expired codes, sessions, deny-list entries, old retired
/// keys and System Log events past `log_retention_days`, and rotates the signing keys
/// that are due.
fn spawn_janitor(state: SharedState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let now = state.clock.now();
            match state.store.purge_expired(now).await {
                Ok(n) if n > 0 => tracing::debug!(rows = n, "janitor removed expired rows"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "janitor failed"),
            }
            rotate_due_keys(&state, now).await;
            let before = (now - state.config.log_retention_days * 86_400) * 1000;
            match state.store.purge_events(before).await {
                Ok(n) if n > 0 => {
                    tracing::debug!(rows = n, "janitor removed System Log events past retention")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "janitor failed on the System Log"),
            }
        }
    })
}

/// Every second: sends the back-channel logouts that are due
/// (`flows::app_logout::deliver_due`). Each instance does; each delivery is taken by one.
fn spawn_logout_deliveries(state: SharedState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let in_flight = Arc::new(tokio::sync::Semaphore::new(
            crate::flows::app_logout::IN_FLIGHT,
        ));
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = state.clock.now();
            crate::flows::app_logout::deliver_due(&state, now, &in_flight).await;
        }
    })
}

/// The handler of each kind of background job: e-mail when `[smtp]` is set.
fn job_handlers(state: &SharedState) -> crate::jobs::Handlers {
    let mut handlers = crate::jobs::Handlers::new();
    if let Some(smtp) = &state.config.smtp {
        match crate::mail::smtp::SmtpSender::new(smtp) {
            Ok(sender) => {
                handlers.insert(crate::mail::KIND, Arc::new(sender));
            }
            Err(e) => tracing::error!(error = %e, "e-mail cannot be sent"),
        }
    }
    handlers
}

/// Rotates the signing keys of every server whose ACTIVE key is older than
/// `key_rotation_days` (see `tokens::keys`); returns what it rotated. Instances doing
/// this at once rotate each key once.
pub async fn rotate_due_keys(state: &AppState, now: UnixTime) -> Vec<(String, Rotated)> {
    let mut rotated = Vec::new();
    let Some(max_age) = state.config.key_rotation_seconds() else {
        return rotated;
    };
    let servers = match state.store.list_servers().await {
        Ok(servers) => servers,
        Err(e) => {
            tracing::warn!(error = %e, "key rotation: cannot list the servers");
            return rotated;
        }
    };
    for server in servers {
        match state.keys.rotate_if_due(&server.id, now, max_age).await {
            Ok(Some(r)) => {
                tracing::info!(event = "key.rotated", server = %server.id, retired = %r.retired, active = %r.active, next = %r.next, "signing key rotated");
                rotated.push((server.id, r));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(server = %server.id, error = %e, "key rotation failed"),
        }
    }
    rotated
}

/// Opens everything and serves with the wall clock: what `gatehouse serve` runs.
pub async fn run(store_config: StoreConfig, config: ServerConfig) -> Result<(), StartError> {
    // A broken e-mail template or SMTP setting stops the start here, not at the first
    // e-mail.
    if let Some(smtp) = &config.smtp {
        crate::mail::Templates::load(smtp.templates_dir.as_deref())
            .map_err(|e| StartError::Config(e.to_string()))?;
        crate::mail::smtp::SmtpSender::new(smtp).map_err(|e| StartError::Config(e.to_string()))?;
    }
    let listener = TcpListener::bind(config.listen).await?;
    let local = listener.local_addr()?;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let mut announced = false;
    let backend = match open_backend(&store_config, SystemClock.now()).await {
        Ok(backend) => backend,
        Err(StartError::Store(StoreError::Unavailable(e))) => {
            println!("Gatehouse listening on http://{local}");
            announced = true;
            match wait_for_database(&store_config, &listener, e, stopping.clone()).await? {
                Some(backend) => backend,
                None => return Ok(()),
            }
        }
        Err(e) => return Err(e),
    };
    let state = AppState::new(backend, config, Arc::new(SystemClock));
    // Open the signing keys before announcing anything: an instance that cannot (another
    // master key than the database's) stops here, never having said it listens (unless
    // it said so while it waited for the database).
    open_keys(&state).await?;
    if !announced {
        println!("Gatehouse listening on http://{local}");
    }
    let mut servers = state.store.list_servers().await?;
    servers.sort_by_key(|s| !s.is_org());
    for server in servers {
        println!("  issuer {:<28} {}", server.id, state.issuer(&server));
    }
    if state.config.public_url.scheme() == "http"
        && !matches!(
            state.config.public_url.host_str(),
            Some("127.0.0.1" | "localhost" | "[::1]")
        )
    {
        tracing::warn!("the public URL is plain http: use https outside development");
    }
    if state.config.client_auth.allow_private_jwks_uri {
        tracing::warn!(
            "allow_private_jwks_uri is on: app jwks_uri may reach this server's own network; use it in development only"
        );
    }
    let mut stopping = stopping;
    let stopped = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    serve(state, listener, stopped).await?;
    Ok(())
}

/// The first and the longest wait between attempts to reach the database at start.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(30);

/// Started while the database does not answer: listens at once, answering `/healthz`
/// (200, the process is alive) and `/readyz` and everything else with 503, and tries
/// the database again with a doubling wait (1 s up to 30 s), logging each failure with
/// the database's location but never its credentials. Returns the backend once it
/// opens; `None` if the process is asked to stop first; an error that retrying cannot
/// mend (a schema newer than this binary, a wrong master key) ends the wait.
async fn wait_for_database(
    store_config: &StoreConfig,
    listener: &TcpListener,
    first_error: String,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> Result<Option<Backend>, StartError> {
    let waiting = TcpListener::from_std(clone_socket(listener)?)?;
    let (opened, opened_rx) = tokio::sync::oneshot::channel::<()>();
    let starting = tokio::spawn(
        axum::serve(waiting, endpoints::health::starting_routes())
            .with_graceful_shutdown(async {
                let _ = opened_rx.await;
            })
            .into_future(),
    );
    let location = store_config.database_location();
    let mut error = first_error;
    let mut delay = FIRST_RETRY;
    let outcome = loop {
        tracing::warn!(database = %location, %error, retry_in_seconds = delay.as_secs(), "the database is unavailable; serving /healthz and waiting for it");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stopping.wait_for(|stop| *stop) => break Ok(None),
        }
        match open_backend(store_config, SystemClock.now()).await {
            Ok(backend) => {
                tracing::info!(database = %location, "the database answers; starting");
                break Ok(Some(backend));
            }
            Err(StartError::Store(StoreError::Unavailable(e))) => error = e,
            Err(e) => break Err(e),
        }
        delay = (delay * 2).min(LONGEST_RETRY);
    };
    let _ = opened.send(());
    let _ = starting.await;
    outcome
}

/// A second handle on the listening socket, so that the interim server and the real
/// one take connections from the same queue, one after the other, and none is refused
/// in between.
#[cfg(unix)]
fn clone_socket(listener: &TcpListener) -> std::io::Result<std::net::TcpListener> {
    use std::os::fd::AsFd;
    let clone = std::net::TcpListener::from(listener.as_fd().try_clone_to_owned()?);
    clone.set_nonblocking(true)?;
    Ok(clone)
}

#[cfg(not(unix))]
fn clone_socket(_: &TcpListener) -> std::io::Result<std::net::TcpListener> {
    Err(std::io::Error::other(
        "waiting for the database is supported on Unix only",
    ))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
