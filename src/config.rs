//! Every setting, its default, and where it comes from. Precedence: command-line flag,
//! then `GATEHOUSE_*` environment variable (clap reads both), then the TOML file named
//! by `--config`/`GATEHOUSE_CONFIG`, then the default here.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "gatehouse-data";
pub const DEFAULT_DATABASE_MAX_CONNECTIONS: u32 = 10;
/// Seconds a stopping server gives the requests in flight (`shutdown_drain_seconds`).
pub const DEFAULT_SHUTDOWN_DRAIN_SECONDS: u64 = 10;
pub const DEFAULT_DATABASE_ACQUIRE_TIMEOUT_SECONDS: u64 = 5;
pub const DEFAULT_KEY_ROTATION_DAYS: u32 = 90;
/// Okta keeps System Log events 90 days.
pub const DEFAULT_LOG_RETENTION_DAYS: i64 = 90;

/// The settings file, every key optional. Unknown keys are refused so a typo is not
/// silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub database_max_connections: Option<u32>,
    pub database_acquire_timeout_seconds: Option<u64>,
    pub session_lifetime_seconds: Option<i64>,
    pub password_hash_workers: Option<usize>,
    pub key_rotation_days: Option<u32>,
    pub log_format: Option<String>,
    pub log_retention_days: Option<i64>,
    pub sign_in_throttle_threshold: Option<i64>,
    pub sign_in_ip_throttle_threshold: Option<i64>,
    pub client_auth_throttle_threshold: Option<i64>,
    pub throttle_window_seconds: Option<i64>,
    pub throttle_max_delay_seconds: Option<i64>,
    pub trusted_proxies: Option<Vec<String>>,
    pub cors_allowed_origins: Option<Vec<String>>,
    pub allow_private_jwks_uri: Option<bool>,
    pub dpop_require_nonce: Option<bool>,
    pub shutdown_drain_seconds: Option<u64>,
    /// `[jobs]`: the background job queue.
    pub jobs: Option<JobsFile>,
    /// `[smtp]`: where e-mail is sent from; absent: Gatehouse sends none.
    pub smtp: Option<SmtpFile>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Where the data lives; every command needs this slice.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The data directory: the SQLite database and the master key file.
    pub data_dir: PathBuf,
    /// `sqlite:PATH`, or `postgres://...` / `postgresql://...`.
    /// When absent, SQLite at `{data_dir}/gatehouse.db`.
    pub database_url: Option<String>,
    /// PostgreSQL: the most connections this process opens (SQLite keeps its own 8).
    pub max_connections: u32,
    /// PostgreSQL: how long a query waits for a free connection before the database
    /// counts as unavailable (a 503), instead of queueing without end.
    pub acquire_timeout: Duration,
}

impl StoreConfig {
    /// The defaults for everything but where the data is.
    pub fn new(data_dir: PathBuf, database_url: Option<String>) -> Self {
        StoreConfig {
            data_dir,
            database_url,
            max_connections: DEFAULT_DATABASE_MAX_CONNECTIONS,
            acquire_timeout: Duration::from_secs(DEFAULT_DATABASE_ACQUIRE_TIMEOUT_SECONDS),
        }
    }

    /// Flags and environment (the arguments) win over the file, the file over the
    /// defaults.
    pub fn resolve(
        file: &FileConfig,
        data_dir: Option<PathBuf>,
        database_url: Option<String>,
        max_connections: Option<u32>,
        acquire_timeout_seconds: Option<u64>,
    ) -> Result<Self, ConfigError> {
        let data_dir = data_dir
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let mut config =
            StoreConfig::new(data_dir, database_url.or_else(|| file.database_url.clone()));
        if let Some(n) = max_connections.or(file.database_max_connections) {
            if !(1..=1000).contains(&n) {
                return Err(ConfigError(
                    "database_max_connections must be between 1 and 1000".into(),
                ));
            }
            config.max_connections = n;
        }
        if let Some(seconds) = acquire_timeout_seconds.or(file.database_acquire_timeout_seconds) {
            if !(1..=300).contains(&seconds) {
                return Err(ConfigError(
                    "database_acquire_timeout_seconds must be between 1 and 300".into(),
                ));
            }
            config.acquire_timeout = Duration::from_secs(seconds);
        }
        Ok(config)
    }

    /// The database, for logs: a PostgreSQL URL's scheme, host, port and database name
    /// (never its user, password or options), or the SQLite file.
    pub fn database_location(&self) -> String {
        let Some(text) = &self.database_url else {
            return self.data_dir.join("gatehouse.db").display().to_string();
        };
        match url::Url::parse(text) {
            Ok(url) if url.scheme().starts_with("postgres") => format!(
                "{}://{}:{}{}",
                url.scheme(),
                url.host_str().unwrap_or(""),
                url.port().unwrap_or(5432),
                url.path()
            ),
            _ if text.starts_with("sqlite:") => text.clone(),
            _ => "(an unreadable database URL)".into(),
        }
    }
}

/// The server's slice.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The public base URL, without a trailing slash: the org issuer. Never taken
    /// from a request's `Host` header.
    pub public_url: Url,
    /// How long a sign-in session lasts (Okta's default: 2 hours).
    pub session_lifetime_seconds: i64,
    /// Threads that may hash passwords at once; a flood of sign-ins waits for these
    /// and never blocks the async workers that serve tokens.
    pub password_hash_workers: usize,
    /// The janitor rotates a server's signing key once it has signed this many days;
    /// 0: never (rotate with `gatehouse keys rotate`).
    pub key_rotation_days: u32,
    /// Days System Log events are kept; the janitor deletes older ones.
    pub log_retention_days: i64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (see `http::client_ip`).
    /// Empty (the default): the TCP peer is the client, whatever the headers say.
    pub trusted_proxies: Vec<IpNet>,
    /// Origins (`scheme://host[:port]`, exact) that browsers may call the token,
    /// userinfo, keys, revoke, introspect and discovery endpoints from (CORS; Okta's
    /// Trusted Origins). Empty (the default): no CORS headers at all.
    pub cors_allowed_origins: Vec<String>,
    /// Brute-force throttling of sign-ins and client authentication.
    pub throttle: ThrottleConfig,
    /// Client authentication and DPoP settings.
    pub client_auth: ClientAuthConfig,
    /// On SIGTERM or Ctrl-C: how long the requests and connections already accepted
    /// may take to finish before the process exits anyway.
    pub shutdown_drain_seconds: u64,
    /// The background job queue (e-mail and other work done after a request).
    pub jobs: JobsConfig,
    /// The SMTP server e-mail goes through; None: e-mail is off (no "Forgot
    /// password?", no activation or verification e-mails, no notices).
    pub smtp: Option<SmtpConfig>,
}

/// Brute-force throttling (see `identity::throttle`). Each counter lets `threshold`
/// failures through, then makes every next attempt wait 2, 4, 8, ... seconds, at most
/// `max_delay_seconds`; it forgets after `window_seconds` without a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failed sign-ins for one username from one address (default 5).
    pub sign_in_threshold: i64,
    /// Failed sign-ins from one address across all usernames: password spraying
    /// (default 50; higher, since many people may share an address).
    pub sign_in_ip_threshold: i64,
    /// Failed client authentications of one client_id from one address (default 10).
    pub client_threshold: i64,
    /// Default 900 (15 minutes).
    pub window_seconds: i64,
    /// Default 900 (15 minutes).
    pub max_delay_seconds: i64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            sign_in_threshold: 5,
            sign_in_ip_threshold: 50,
            client_threshold: 10,
            window_seconds: 900,
            max_delay_seconds: 900,
        }
    }
}

impl ThrottleConfig {
    /// The file's values over the defaults, checked.
    pub fn resolve(file: &FileConfig) -> Result<Self, ConfigError> {
        let d = ThrottleConfig::default();
        let c = ThrottleConfig {
            sign_in_threshold: file
                .sign_in_throttle_threshold
                .unwrap_or(d.sign_in_threshold),
            sign_in_ip_threshold: file
                .sign_in_ip_throttle_threshold
                .unwrap_or(d.sign_in_ip_threshold),
            client_threshold: file
                .client_auth_throttle_threshold
                .unwrap_or(d.client_threshold),
            window_seconds: file.throttle_window_seconds.unwrap_or(d.window_seconds),
            max_delay_seconds: file
                .throttle_max_delay_seconds
                .unwrap_or(d.max_delay_seconds),
        };
        for (name, value) in [
            ("sign_in_throttle_threshold", c.sign_in_threshold),
            ("sign_in_ip_throttle_threshold", c.sign_in_ip_threshold),
            ("client_auth_throttle_threshold", c.client_threshold),
        ] {
            if !(1..=100_000).contains(&value) {
                return Err(ConfigError(format!("{name} must be between 1 and 100000")));
            }
        }
        if !(60..=86_400).contains(&c.window_seconds) {
            return Err(ConfigError(
                "throttle_window_seconds must be between 60 and 86400".into(),
            ));
        }
        if !(1..=86_400).contains(&c.max_delay_seconds) {
            return Err(ConfigError(
                "throttle_max_delay_seconds must be between 1 and 86400".into(),
            ));
        }
        Ok(c)
    }
}

/// How clients prove who they are and what they hold (RFC 7523, RFC 9449).
#[derive(Debug, Clone, Default)]
pub struct ClientAuthConfig {
    /// Let a `private_key_jwt` client's `jwks_uri` resolve to a loopback, private,
    /// link-local, CGNAT or otherwise non-public address, and use plain http there
    /// (default false: the server never fetches from its own network, which would let
    /// an app registration probe it). For development and tests.
    /// `allow_private_jwks_uri` / `GATEHOUSE_ALLOW_PRIVATE_JWKS_URI`.
    pub allow_private_jwks_uri: bool,
    /// RFC 9449 §8: every DPoP proof must carry a current server nonce
    /// (`dpop_require_nonce` / `GATEHOUSE_DPOP_REQUIRE_NONCE`, default false).
    pub dpop_require_nonce: bool,
}

impl ClientAuthConfig {
    /// The environment wins over the file.
    pub fn resolve(file: &FileConfig) -> Result<Self, ConfigError> {
        let flag = |name: &str, from_file: Option<bool>| -> Result<bool, ConfigError> {
            match std::env::var(name).ok().as_deref().map(str::trim) {
                None | Some("") => Ok(from_file.unwrap_or(false)),
                Some("true" | "1") => Ok(true),
                Some("false" | "0") => Ok(false),
                Some(other) => Err(ConfigError(format!(
                    "{name}: {other:?} must be true or false"
                ))),
            }
        };
        Ok(ClientAuthConfig {
            allow_private_jwks_uri: flag(
                "GATEHOUSE_ALLOW_PRIVATE_JWKS_URI",
                file.allow_private_jwks_uri,
            )?,
            dpop_require_nonce: flag("GATEHOUSE_DPOP_REQUIRE_NONCE", file.dpop_require_nonce)?,
        })
    }
}

impl ServerConfig {
    /// `key_rotation_days` is the flag or `GATEHOUSE_KEY_ROTATION_DAYS`.
    pub fn resolve(
        file: &FileConfig,
        listen: Option<String>,
        public_url: Option<String>,
        key_rotation_days: Option<u32>,
    ) -> Result<Self, ConfigError> {
        let listen_text = listen
            .or_else(|| file.listen.clone())
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen: SocketAddr = listen_text
            .parse()
            .map_err(|_| ConfigError(format!("listen: {listen_text:?} is not an address:port")))?;
        let public_url = match public_url.or_else(|| file.public_url.clone()) {
            Some(text) => parse_public_url(&text)?,
            None => parse_public_url(&format!("http://{listen}"))?,
        };
        let session_lifetime_seconds = file.session_lifetime_seconds.unwrap_or(7200);
        if !(60..=30 * 86_400).contains(&session_lifetime_seconds) {
            return Err(ConfigError(
                "session_lifetime_seconds must be between 60 and 2592000".into(),
            ));
        }
        let password_hash_workers = file
            .password_hash_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1);
        let key_rotation_days = key_rotation_days
            .or(file.key_rotation_days)
            .unwrap_or(DEFAULT_KEY_ROTATION_DAYS);
        if key_rotation_days > 3650 {
            return Err(ConfigError(
                "key_rotation_days must be between 0 (never) and 3650".into(),
            ));
        }
        let log_retention_days = file
            .log_retention_days
            .unwrap_or(DEFAULT_LOG_RETENTION_DAYS);
        if !(1..=3650).contains(&log_retention_days) {
            return Err(ConfigError(
                "log_retention_days must be between 1 and 3650".into(),
            ));
        }
        let trusted_proxies = list_setting("GATEHOUSE_TRUSTED_PROXIES", &file.trusted_proxies)
            .iter()
            .map(|text| {
                IpNet::parse(text).ok_or_else(|| {
                    ConfigError(format!(
                        "trusted_proxies: {text:?} is not an IP address or CIDR block"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cors_allowed_origins =
            list_setting("GATEHOUSE_CORS_ALLOWED_ORIGINS", &file.cors_allowed_origins)
                .iter()
                .map(|text| parse_origin(text))
                .collect::<Result<Vec<_>, _>>()?;
        let shutdown_drain_seconds = match std::env::var("GATEHOUSE_SHUTDOWN_DRAIN_SECONDS") {
            Ok(text) => text.trim().parse().map_err(|_| {
                ConfigError(format!(
                    "GATEHOUSE_SHUTDOWN_DRAIN_SECONDS: {text:?} is not a number of seconds"
                ))
            })?,
            Err(_) => file
                .shutdown_drain_seconds
                .unwrap_or(DEFAULT_SHUTDOWN_DRAIN_SECONDS),
        };
        if shutdown_drain_seconds > 3600 {
            return Err(ConfigError(
                "shutdown_drain_seconds must be between 0 and 3600".into(),
            ));
        }
        Ok(ServerConfig {
            listen,
            public_url,
            session_lifetime_seconds,
            password_hash_workers,
            key_rotation_days,
            log_retention_days,
            throttle: ThrottleConfig::resolve(file)?,
            trusted_proxies,
            cors_allowed_origins,
            client_auth: ClientAuthConfig::resolve(file)?,
            shutdown_drain_seconds,
            jobs: JobsConfig::resolve(file.jobs.as_ref())?,
            smtp: file
                .smtp
                .as_ref()
                .map(|f| SmtpConfig::resolve(f, std::env::var("GATEHOUSE_SMTP_PASSWORD").ok()))
                .transpose()?,
        })
    }

    /// Whether `ip` is one of `trusted_proxies`.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(ip))
    }

    /// Cookies get `Secure` when the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The age in seconds at which the janitor rotates an ACTIVE key, if it does.
    pub fn key_rotation_seconds(&self) -> Option<i64> {
        (self.key_rotation_days > 0).then(|| i64::from(self.key_rotation_days) * 86_400)
    }

    /// The public URL as a string without a trailing slash.
    pub fn base_url(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }
}

/// The `[jobs]` table of the settings file, every key optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsFile {
    pub max_attempts: Option<i64>,
    pub backoff_seconds: Option<i64>,
    pub max_backoff_seconds: Option<i64>,
    pub lease_seconds: Option<i64>,
    pub poll_interval_ms: Option<u64>,
    pub dead_retention_days: Option<i64>,
}

/// The background job queue (`src/jobs/`). A failed job is tried again after
/// `backoff_seconds`, then twice as long each time up to `max_backoff_seconds`, and
/// given up after `max_attempts` (the defaults: 8 attempts over about 2 hours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsConfig {
    /// Attempts before a job is given up (default 8).
    pub max_attempts: i64,
    /// The wait after the first failure (default 30 seconds).
    pub backoff_seconds: i64,
    /// The longest wait between two attempts (default 3600).
    pub max_backoff_seconds: i64,
    /// How long a worker holds a job it claimed: if it neither finishes nor fails it by
    /// then (the process died), another worker takes it (default 300).
    pub lease_seconds: i64,
    /// How often an idle worker looks for due jobs; a job enqueued by the same process
    /// wakes it at once (default 1000 ms).
    pub poll_interval_ms: u64,
    /// Days a given-up job is kept for inspection (default 30).
    pub dead_retention_days: i64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            max_attempts: 8,
            backoff_seconds: 30,
            max_backoff_seconds: 3600,
            lease_seconds: 300,
            poll_interval_ms: 1000,
            dead_retention_days: 30,
        }
    }
}

impl JobsConfig {
    /// The file's values over the defaults, checked.
    pub fn resolve(file: Option<&JobsFile>) -> Result<Self, ConfigError> {
        let d = JobsConfig::default();
        let Some(f) = file else { return Ok(d) };
        let c = JobsConfig {
            max_attempts: f.max_attempts.unwrap_or(d.max_attempts),
            backoff_seconds: f.backoff_seconds.unwrap_or(d.backoff_seconds),
            max_backoff_seconds: f.max_backoff_seconds.unwrap_or(d.max_backoff_seconds),
            lease_seconds: f.lease_seconds.unwrap_or(d.lease_seconds),
            poll_interval_ms: f.poll_interval_ms.unwrap_or(d.poll_interval_ms),
            dead_retention_days: f.dead_retention_days.unwrap_or(d.dead_retention_days),
        };
        for (name, value, range) in [
            ("jobs.max_attempts", c.max_attempts, 1..=100),
            ("jobs.backoff_seconds", c.backoff_seconds, 1..=86_400),
            (
                "jobs.max_backoff_seconds",
                c.max_backoff_seconds,
                1..=7 * 86_400,
            ),
            ("jobs.lease_seconds", c.lease_seconds, 10..=86_400),
            ("jobs.dead_retention_days", c.dead_retention_days, 1..=3650),
        ] {
            if !range.contains(&value) {
                return Err(ConfigError(format!(
                    "{name} must be between {} and {}",
                    range.start(),
                    range.end()
                )));
            }
        }
        if !(10..=60_000).contains(&c.poll_interval_ms) {
            return Err(ConfigError(
                "jobs.poll_interval_ms must be between 10 and 60000".into(),
            ));
        }
        Ok(c)
    }
}

/// The `[smtp]` table of the settings file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpFile {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub templates_dir: Option<PathBuf>,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (RFC 8314 "implicit TLS", port 465).
    Tls,
    /// Plain, then `STARTTLS` (RFC 3207), refusing a server that does not offer it
    /// (port 587).
    StartTls,
    /// No TLS at all: only to a server on this machine (a loopback address or
    /// `localhost`), such as a local relay.
    Plain,
}

/// The SMTP server e-mail is sent through (`[smtp]`). `host` and `from` are required;
/// the password may come from `GATEHOUSE_SMTP_PASSWORD` instead of the file.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 465 for `tls`, 587 for `starttls`, 25 for `plain`.
    pub port: u16,
    /// `tls`, `starttls` (the default) or `plain`.
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The `From:` of every message, e.g. `Gatehouse <no-reply@example.com>`.
    pub from: String,
    /// The most one delivery may take, connecting included (default 30).
    pub timeout_seconds: u64,
    /// A directory whose files override the built-in e-mail templates by name
    /// (`password_reset.txt`, `activation.txt`, `verify_email.txt`,
    /// `password_changed.txt`, `factor_enrolled.txt`, `account_locked.txt`).
    pub templates_dir: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// The file's table, with the password from the environment when it is set there.
    pub fn resolve(file: &SmtpFile, env_password: Option<String>) -> Result<Self, ConfigError> {
        let host = file
            .host
            .clone()
            .filter(|h| !h.trim().is_empty())
            .ok_or_else(|| ConfigError("smtp.host is required".into()))?;
        let from = file
            .from
            .clone()
            .filter(|f| f.contains('@'))
            .ok_or_else(|| {
                ConfigError("smtp.from is required: an address such as no-reply@example.com".into())
            })?;
        let security = match file.security.as_deref().map(str::trim) {
            None | Some("starttls") => SmtpSecurity::StartTls,
            Some("tls") => SmtpSecurity::Tls,
            Some("plain") => SmtpSecurity::Plain,
            Some(other) => {
                return Err(ConfigError(format!(
                    "smtp.security {other:?} must be tls, starttls or plain"
                )));
            }
        };
        let loopback = host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if security == SmtpSecurity::Plain && !loopback {
            return Err(ConfigError(
                "smtp.security = \"plain\" is allowed only for a server on this machine \
                 (127.0.0.1, ::1 or localhost): use tls or starttls"
                    .into(),
            ));
        }
        let port = file.port.unwrap_or(match security {
            SmtpSecurity::Tls => 465,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Plain => 25,
        });
        let timeout_seconds = file.timeout_seconds.unwrap_or(30);
        if !(1..=600).contains(&timeout_seconds) {
            return Err(ConfigError(
                "smtp.timeout_seconds must be between 1 and 600".into(),
            ));
        }
        let password = env_password
            .filter(|p| !p.is_empty())
            .or_else(|| file.password.clone());
        if password.is_some() != file.username.is_some() {
            return Err(ConfigError(
                "smtp.username and a password (smtp.password or GATEHOUSE_SMTP_PASSWORD) go together"
                    .into(),
            ));
        }
        Ok(SmtpConfig {
            host,
            port,
            security,
            username: file.username.clone(),
            password,
            from,
            timeout_seconds,
            templates_dir: file.templates_dir.clone(),
        })
    }
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    /// `GATEHOUSE_LOG_FORMAT` (the argument) wins over the file's `log_format`.
    pub fn resolve(file: &FileConfig, env: Option<String>) -> Result<Self, ConfigError> {
        match env
            .or_else(|| file.log_format.clone())
            .as_deref()
            .map(str::trim)
        {
            None | Some("" | "text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(ConfigError(format!(
                "log_format {other:?} must be text or json"
            ))),
        }
    }
}

/// A list setting: the environment variable (comma-separated) wins over the file.
fn list_setting(env: &str, file: &Option<Vec<String>>) -> Vec<String> {
    match std::env::var(env) {
        Ok(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Err(_) => file.clone().unwrap_or_default(),
    }
}

/// An IP network: an address and a prefix length (`10.0.0.0/8`, `::1/128`); a bare
/// address is its own /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(text: &str) -> Option<IpNet> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p))
                if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 =>
            {
                (a, Some(p.parse::<u8>().ok()?))
            }
            Some(_) => return None,
            None => (text.trim(), None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    /// Whether `ip` is in this network. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
    /// what a dual-stack listener reports) counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A CORS origin as browsers send it in `Origin` (RFC 6454 §6.1): `scheme://host` with
/// a port only when it is not the scheme's default, no path, nothing else. It is
/// compared with the header as an exact string, so it must be written that way.
pub fn parse_origin(text: &str) -> Result<String, ConfigError> {
    let bad = || {
        ConfigError(format!(
            "cors_allowed_origins: {text:?} must be an origin such as https://app.example.com"
        ))
    };
    let url = Url::parse(text).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad());
    }
    let origin = url.origin().ascii_serialization();
    if origin != text {
        return Err(bad());
    }
    Ok(origin)
}

/// The public URL must be an absolute http(s) URL with no query or fragment; plain
/// http is accepted for development but noted in the log at start.
pub fn parse_public_url(text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text)
        .map_err(|e| ConfigError(format!("public_url {text:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError(format!(
            "public_url {text:?} must be an http(s) URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() || url.username() != "" {
        return Err(ConfigError(format!(
            "public_url {text:?} must not have a query, fragment or user"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_location_logged_has_no_credentials() {
        let at = |url: Option<&str>| {
            StoreConfig::new(PathBuf::from("/data"), url.map(str::to_string)).database_location()
        };
        assert_eq!(
            at(Some(
                "postgres://gh:s3cret@db.example.com:6432/gatehouse?options=-c%20x%3Dy"
            )),
            "postgres://db.example.com:6432/gatehouse"
        );
        assert_eq!(
            at(Some("postgresql://gh:s3cret@db/gh")),
            "postgresql://db:5432/gh"
        );
        assert_eq!(at(None), "/data/gatehouse.db");
        assert_eq!(at(Some("sqlite:/x/g.db")), "sqlite:/x/g.db");
        assert!(!at(Some("postgres://gh:s3cret@[bad")).contains("s3cret"));
    }

    #[test]
    fn defaults_work_on_a_laptop() {
        let c = ServerConfig::resolve(&FileConfig::default(), None, None, None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
        assert!(!c.secure_cookies());
    }

    #[test]
    fn smtp_needs_a_host_and_sender_and_plain_only_to_this_machine() {
        let file: FileConfig = toml::from_str(
            "[smtp]\nhost = \"smtp.example.com\"\nfrom = \"no-reply@example.com\"\nusername = \"u\"\npassword = \"file\"\n",
        )
        .unwrap();
        let smtp = file.smtp.as_ref().unwrap();
        let c = SmtpConfig::resolve(smtp, Some("env".into())).unwrap();
        assert_eq!((c.port, c.security), (587, SmtpSecurity::StartTls));
        assert_eq!(c.password.as_deref(), Some("env"), "the environment wins");
        assert!(
            !format!("{c:?}").contains("env\""),
            "the password is not printed"
        );
        let with = |change: fn(&mut SmtpFile)| {
            let mut f = smtp.clone();
            change(&mut f);
            SmtpConfig::resolve(&f, None)
        };
        assert!(with(|f| f.security = Some("plain".into())).is_err());
        assert!(with(|f| f.security = Some("ssl".into())).is_err());
        assert!(with(|f| f.from = None).is_err());
        assert!(
            with(|f| f.password = None).is_err(),
            "a username without a password"
        );
        let local = with(|f| {
            f.host = Some("127.0.0.1".into());
            f.security = Some("plain".into());
        })
        .unwrap();
        assert_eq!(local.port, 25);
        assert_eq!(with(|f| f.security = Some("tls".into())).unwrap().port, 465);
        assert!(
            JobsConfig::resolve(Some(&JobsFile {
                max_attempts: Some(0),
                ..Default::default()
            }))
            .is_err()
        );
    }

    #[test]
    fn flags_win_over_the_file() {
        let file = FileConfig {
            listen: Some("127.0.0.1:9000".into()),
            public_url: Some("https://id.example.com/".into()),
            ..Default::default()
        };
        let c = ServerConfig::resolve(&file, Some("0.0.0.0:7000".into()), None, None).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:7000");
        assert_eq!(c.base_url(), "https://id.example.com");
        assert!(c.secure_cookies());
    }

    #[test]
    fn store_settings_default_then_file_then_flags() {
        let c = StoreConfig::resolve(&FileConfig::default(), None, None, None, None).unwrap();
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(c.database_url, None);
        assert_eq!(
            (c.max_connections, c.acquire_timeout),
            (10, Duration::from_secs(5))
        );

        let file: FileConfig = toml::from_str(
            "database_url = \"postgres://db/gh\"\n\
             database_max_connections = 20\n\
             database_acquire_timeout_seconds = 2\n",
        )
        .unwrap();
        let c = StoreConfig::resolve(&file, None, None, None, None).unwrap();
        assert_eq!(c.database_url.as_deref(), Some("postgres://db/gh"));
        assert_eq!(
            (c.max_connections, c.acquire_timeout),
            (20, Duration::from_secs(2))
        );
        let c = StoreConfig::resolve(&file, None, None, Some(3), Some(9)).unwrap();
        assert_eq!(
            (c.max_connections, c.acquire_timeout),
            (3, Duration::from_secs(9))
        );
    }

    #[test]
    fn refuses_pool_settings_that_cannot_work() {
        let file = FileConfig::default();
        assert!(StoreConfig::resolve(&file, None, None, Some(0), None).is_err());
        assert!(StoreConfig::resolve(&file, None, None, None, Some(0)).is_err());
    }

    #[test]
    fn key_rotation_days_default_then_file_then_environment() {
        let c = ServerConfig::resolve(&FileConfig::default(), None, None, None).unwrap();
        assert_eq!(
            (c.key_rotation_days, c.key_rotation_seconds()),
            (90, Some(90 * 86_400))
        );
        let file: FileConfig = toml::from_str("key_rotation_days = 30\n").unwrap();
        assert_eq!(
            ServerConfig::resolve(&file, None, None, None)
                .unwrap()
                .key_rotation_days,
            30
        );
        let off = ServerConfig::resolve(&file, None, None, Some(0)).unwrap();
        assert_eq!(off.key_rotation_seconds(), None, "0 disables");
        assert!(ServerConfig::resolve(&file, None, None, Some(5000)).is_err());
    }

    #[test]
    fn log_format_is_text_unless_json_is_asked_for() {
        let file: FileConfig = toml::from_str("log_format = \"json\"\n").unwrap();
        assert_eq!(
            LogFormat::resolve(&FileConfig::default(), None).unwrap(),
            LogFormat::Text
        );
        assert_eq!(LogFormat::resolve(&file, None).unwrap(), LogFormat::Json);
        assert_eq!(
            LogFormat::resolve(&file, Some("text".into())).unwrap(),
            LogFormat::Text
        );
        assert!(LogFormat::resolve(&file, Some("xml".into())).is_err());
    }

    #[test]
    fn throttle_settings_default_then_file() {
        let c = ServerConfig::resolve(&FileConfig::default(), None, None, None).unwrap();
        assert_eq!(c.throttle, ThrottleConfig::default());
        let file: FileConfig =
            toml::from_str("sign_in_throttle_threshold = 3\nthrottle_max_delay_seconds = 60\n")
                .unwrap();
        let c = ServerConfig::resolve(&file, None, None, None).unwrap();
        assert_eq!(
            (c.throttle.sign_in_threshold, c.throttle.max_delay_seconds),
            (3, 60)
        );
        let zero: FileConfig = toml::from_str("client_auth_throttle_threshold = 0\n").unwrap();
        assert!(ServerConfig::resolve(&zero, None, None, None).is_err());
    }

    #[test]
    fn ip_networks_match_their_members_only() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(
            net.contains("::ffff:10.1.0.9".parse().unwrap()),
            "IPv4-mapped"
        );
        let one = IpNet::parse("192.0.2.7").unwrap();
        assert!(
            one.contains("192.0.2.7".parse().unwrap())
                && !one.contains("192.0.2.8".parse().unwrap())
        );
        let v6 = IpNet::parse("2001:db8::/32").unwrap();
        assert!(
            v6.contains("2001:db8:1::1".parse().unwrap())
                && !v6.contains("2001:db9::1".parse().unwrap())
        );
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("203.0.113.1".parse().unwrap())
        );
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0/8",
            "host",
            "10.0.0.0/-1",
            "10.0.0.0/8/8",
        ] {
            assert!(IpNet::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn origins_must_be_written_as_browsers_send_them() {
        assert_eq!(
            parse_origin("https://app.example.com").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            parse_origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        for bad in [
            "https://app.example.com/",
            "https://app.example.com:443",
            "https://App.example.com",
            "*",
            "null",
            "ftp://x",
            "https://a/b",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
        let file: FileConfig = toml::from_str("cors_allowed_origins = [\"https://spa.example.com\"]\ntrusted_proxies = [\"10.0.0.0/8\"]\n").unwrap();
        let c = ServerConfig::resolve(&file, None, None, None).unwrap();
        assert_eq!(c.cors_allowed_origins, ["https://spa.example.com"]);
        assert!(c.is_trusted_proxy("10.9.9.9".parse().unwrap()));
        assert!(!c.is_trusted_proxy("11.0.0.1".parse().unwrap()));
    }

    #[test]
    fn client_auth_settings_default_off_and_come_from_the_file() {
        let c = ServerConfig::resolve(&FileConfig::default(), None, None, None).unwrap();
        assert!(!c.client_auth.allow_private_jwks_uri && !c.client_auth.dpop_require_nonce);
        let file: FileConfig =
            toml::from_str("allow_private_jwks_uri = true\ndpop_require_nonce = true\n").unwrap();
        let c = ServerConfig::resolve(&file, None, None, None).unwrap();
        assert!(c.client_auth.allow_private_jwks_uri && c.client_auth.dpop_require_nonce);
    }

    #[test]
    fn refuses_bad_public_urls() {
        for bad in [
            "ftp://x",
            "https://x/?a=b",
            "https://x/#f",
            "not a url",
            "https://u@x",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}
