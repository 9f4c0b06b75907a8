//! `gatehouse apps ...`

use clap::Subcommand;

use super::print_json;
use crate::admin::apps::{self, NewApp};
use crate::admin::Actor;
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};

#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// Register an app; prints its client_id and, for a confidential client, its
    /// client_secret (shown this once).
    Create {
        #[arg(long)]
        name: String,
        /// A redirect URI, matched exactly; repeat for more.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may return to; repeat for more.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// client_secret_basic (default), client_secret_post, or none (public client, PKCE).
        #[arg(long)]
        auth_method: Option<String>,
        /// authorization_code (default), refresh_token, client_credentials; repeat for more.
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// Seconds (0-60) a rotated refresh token may be retried and get the same answer;
        /// 0 (default): any second use revokes the token's family.
        #[arg(long)]
        refresh_token_leeway: Option<i64>,
        /// Accept this app's authorization requests only as pushed authorization
        /// requests (RFC 9126, `/v1/par`).
        #[arg(long)]
        require_pushed_authorization_requests: bool,
    },
    /// List apps as JSON.
    List,
    /// Show one app as JSON.
    Show { client_id: String },
}

pub async fn run(command: AppsCommand, backend: &Backend) -> Result<(), String> {
    match command {
        AppsCommand::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            auth_method,
            grant_types,
            refresh_token_leeway,
            require_pushed_authorization_requests,
        } => {
            let new = NewApp {
                name,
                redirect_uris,
                post_logout_redirect_uris,
                auth_method,
                grant_types,
                refresh_token_leeway,
                require_pushed_authorization_requests,
                ..NewApp::default()
            };
            let created = apps::create(&backend.store, &backend.master, &Actor::cli(), new, SystemClock.now())
                .await
                .map_err(|e| e.to_string())?;
            print_json(&cli_json(&created.client, created.secret.as_deref()));
        }
        AppsCommand::List => {
            let list = backend.store.list_clients().await.map_err(|e| e.to_string())?;
            print_json(&serde_json::Value::Array(list.iter().map(|c| cli_json(c, None)).collect()));
        }
        AppsCommand::Show { client_id } => match backend.store.get_client(&client_id).await.map_err(|e| e.to_string())? {
            Some(client) => print_json(&cli_json(&client, None)),
            None => return Err(format!("no app with client_id {client_id}")),
        },
    }
    Ok(())
}

/// Okta's app shape, plus `client_id` (and `client_secret` when shown) at the top, as
/// `apps create` has always printed them: `jq -r .client_id` keeps working.
fn cli_json(client: &crate::store::Client, secret: Option<&str>) -> serde_json::Value {
    let mut v = apps::to_json(client, secret);
    v["client_id"] = serde_json::json!(client.client_id);
    if let Some(secret) = secret {
        v["client_secret"] = serde_json::json!(secret);
    }
    v
}
