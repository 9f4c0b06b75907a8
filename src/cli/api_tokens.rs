//! `gatehouse api-tokens ...`: tokens for the management API (`Authorization: SSWS`).

use clap::Subcommand;
use serde_json::Value;

use super::print_json;
use crate::admin::{Actor, api_tokens};
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};

#[derive(Debug, Subcommand)]
pub enum ApiTokensCommand {
    /// Create a token and print it with its value (`token`), shown this once.
    Create {
        /// What the token is for: a name to recognise it by in `list` and the System Log.
        #[arg(long)]
        name: String,
    },
    /// List tokens as JSON (never their values).
    List,
    /// Revoke a token by id: requests with it are refused from then on.
    Revoke {
        /// The token's id (`00T…`, as `list` prints it), not its value.
        id: String,
    },
}

pub async fn run(command: ApiTokensCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    let err = |e: crate::admin::AdminError| e.to_string();
    match command {
        ApiTokensCommand::Create { name } => {
            let (token, value) = api_tokens::create(store, &Actor::cli(), &name, SystemClock.now())
                .await
                .map_err(err)?;
            let mut json = api_tokens::to_json(&token);
            json["token"] = Value::String(value);
            print_json(&json);
        }
        ApiTokensCommand::List => {
            let list = api_tokens::list(store).await.map_err(err)?;
            print_json(&Value::Array(
                list.iter().map(api_tokens::to_json).collect(),
            ));
        }
        ApiTokensCommand::Revoke { id } => {
            api_tokens::revoke(store, &Actor::cli(), &id, SystemClock.now())
                .await
                .map_err(err)?;
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}
