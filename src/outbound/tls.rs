//! The TLS client for outbound fetches (`outbound::fetch`): rustls on aws-lc-rs,
//! the one crypto provider, trusting the Mozilla root store
//! (`webpki-roots`), so what the server trusts does not depend on the host's files.

use std::sync::{Arc, OnceLock};

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto, pki_types::ServerName};

fn config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let config = ClientConfig::builder_with_provider(Arc::new(
                crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("the aws-lc-rs provider supports the default versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// TLS over `stream` to `host`, whose certificate must be valid for that name.
pub async fn connect(host: &str, stream: TcpStream) -> Result<TlsStream<TcpStream>, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    TlsConnector::from(config())
        .connect(name, stream)
        .await
        .map_err(|e| e.to_string())
}
