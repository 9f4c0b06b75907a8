//! Every setting, its default, and where it comes from. Precedence: command-line flag,
//! then `GATEHOUSE_*` environment variable (clap reads both), then the TOML file named
//! by `--config`/`GATEHOUSE_CONFIG`, then the default here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "gatehouse-data";
pub const DEFAULT_DATABASE_MAX_CONNECTIONS: u32 = 10;
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
    pub allow_private_jwks_uri: Option<bool>,
    pub dpop_require_nonce: Option<bool>,
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
        let mut config = StoreConfig::new(data_dir, database_url.or_else(|| file.database_url.clone()));
        if let Some(n) = max_connections.or(file.database_max_connections) {
            if !(1..=1000).contains(&n) {
                return Err(ConfigError("database_max_connections must be between 1 and 1000".into()));
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
    /// Client authentication and DPoP settings.
    pub client_auth: ClientAuthConfig,
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
                Some(other) => Err(ConfigError(format!("{name}: {other:?} must be true or false"))),
            }
        };
        Ok(ClientAuthConfig {
            allow_private_jwks_uri: flag("GATEHOUSE_ALLOW_PRIVATE_JWKS_URI", file.allow_private_jwks_uri)?,
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
        let key_rotation_days = key_rotation_days.or(file.key_rotation_days).unwrap_or(DEFAULT_KEY_ROTATION_DAYS);
        if key_rotation_days > 3650 {
            return Err(ConfigError("key_rotation_days must be between 0 (never) and 3650".into()));
        }
        let log_retention_days = file.log_retention_days.unwrap_or(DEFAULT_LOG_RETENTION_DAYS);
        if !(1..=3650).contains(&log_retention_days) {
            return Err(ConfigError("log_retention_days must be between 1 and 3650".into()));
        }
        Ok(ServerConfig {
            listen,
            public_url,
            session_lifetime_seconds,
            password_hash_workers,
            key_rotation_days,
            log_retention_days,
            client_auth: ClientAuthConfig::resolve(file)?,
        })
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
        match env.or_else(|| file.log_format.clone()).as_deref().map(str::trim) {
            None | Some("" | "text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(ConfigError(format!("log_format {other:?} must be text or json"))),
        }
    }
}

/// The public URL must be an absolute http(s) URL with no query or fragment; plain
/// http is accepted for development but noted in the log at start.
pub fn parse_public_url(text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text)
        .map_err(|e| ConfigError(format!("public_url {text:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError(format!("public_url {text:?} must be an http(s) URL")));
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
    fn defaults_work_on_a_laptop() {
        let c = ServerConfig::resolve(&FileConfig::default(), None, None, None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
        assert!(!c.secure_cookies());
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
        assert_eq!((c.max_connections, c.acquire_timeout), (10, Duration::from_secs(5)));

        let file: FileConfig = toml::from_str(
            "database_url = \"postgres://db/gh\"\n\
             database_max_connections = 20\n\
             database_acquire_timeout_seconds = 2\n",
        )
        .unwrap();
        let c = StoreConfig::resolve(&file, None, None, None, None).unwrap();
        assert_eq!(c.database_url.as_deref(), Some("postgres://db/gh"));
        assert_eq!((c.max_connections, c.acquire_timeout), (20, Duration::from_secs(2)));
        let c = StoreConfig::resolve(&file, None, None, Some(3), Some(9)).unwrap();
        assert_eq!((c.max_connections, c.acquire_timeout), (3, Duration::from_secs(9)));
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
        assert_eq!((c.key_rotation_days, c.key_rotation_seconds()), (90, Some(90 * 86_400)));
        let file: FileConfig = toml::from_str("key_rotation_days = 30\n").unwrap();
        assert_eq!(ServerConfig::resolve(&file, None, None, None).unwrap().key_rotation_days, 30);
        let off = ServerConfig::resolve(&file, None, None, Some(0)).unwrap();
        assert_eq!(off.key_rotation_seconds(), None, "0 disables");
        assert!(ServerConfig::resolve(&file, None, None, Some(5000)).is_err());
    }

    #[test]
    fn log_format_is_text_unless_json_is_asked_for() {
        let file: FileConfig = toml::from_str("log_format = \"json\"\n").unwrap();
        assert_eq!(LogFormat::resolve(&FileConfig::default(), None).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::resolve(&file, None).unwrap(), LogFormat::Json);
        assert_eq!(LogFormat::resolve(&file, Some("text".into())).unwrap(), LogFormat::Text);
        assert!(LogFormat::resolve(&file, Some("xml".into())).is_err());
    }

    #[test]
    fn client_auth_settings_default_off_and_come_from_the_file() {
        let c = ServerConfig::resolve(&FileConfig::default(), None, None, None).unwrap();
        assert!(!c.client_auth.allow_private_jwks_uri && !c.client_auth.dpop_require_nonce);
        let file: FileConfig = toml::from_str("allow_private_jwks_uri = true\ndpop_require_nonce = true\n").unwrap();
        let c = ServerConfig::resolve(&file, None, None, None).unwrap();
        assert!(c.client_auth.allow_private_jwks_uri && c.client_auth.dpop_require_nonce);
    }

    #[test]
    fn refuses_bad_public_urls() {
        for bad in ["ftp://x", "https://x/?a=b", "https://x/#f", "not a url", "https://u@x"] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}
