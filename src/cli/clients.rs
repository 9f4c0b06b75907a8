//! `gatehouse clients ...`: dynamic client registration (RFC 7591) at
//! `/oauth2/v1/clients` — the initial access tokens an admin hands to whoever may
//! register clients.

use clap::Subcommand;
use serde_json::Value;

use super::print_json;
use crate::admin::{Actor, initial_tokens};
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Initial access tokens: `Authorization: Bearer {token}` at `/oauth2/v1/clients`.
    #[command(subcommand, name = "initial-token")]
    InitialToken(InitialTokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum InitialTokenCommand {
    /// Create a token and print it with its value (`token`), shown this once.
    Create {
        /// What the token is for: a name to recognise it by in `list` and the System Log.
        #[arg(long)]
        name: String,
        /// Seconds it stays valid (at most 30 days).
        #[arg(long, default_value_t = 86_400)]
        expires_in: i64,
        /// How many clients it may register.
        #[arg(long, default_value_t = 1)]
        max_uses: i64,
    },
    /// List tokens as JSON (never their values), with their uses and status.
    List,
    /// Revoke a token by id: registrations with it are refused from then on.
    Revoke {
        /// The token's id (`iat…`, as `list` prints it), not its value.
        id: String,
    },
}

pub async fn run(command: ClientsCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    let err = |e: crate::admin::AdminError| e.to_string();
    let now = SystemClock.now();
    let ClientsCommand::InitialToken(command) = command;
    match command {
        InitialTokenCommand::Create {
            name,
            expires_in,
            max_uses,
        } => {
            let (token, value) =
                initial_tokens::create(store, &Actor::cli(), &name, expires_in, max_uses, now)
                    .await
                    .map_err(err)?;
            let mut json = initial_tokens::to_json(&token, now);
            json["token"] = Value::String(value);
            print_json(&json);
        }
        InitialTokenCommand::List => {
            let list = initial_tokens::list(store).await.map_err(err)?;
            print_json(&Value::Array(
                list.iter()
                    .map(|t| initial_tokens::to_json(t, now))
                    .collect(),
            ));
        }
        InitialTokenCommand::Revoke { id } => {
            initial_tokens::revoke(store, &Actor::cli(), &id, now)
                .await
                .map_err(err)?;
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}
