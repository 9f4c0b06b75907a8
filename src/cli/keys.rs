//! `gatehouse keys list|rotate`: a server's signing keys (public data only: never a
//! private part), and rotation now. Running servers sign with the new key within
//! `KEY_CACHE_TTL` seconds and verify its tokens at once (see `tokens::keys`).

use clap::Subcommand;
use serde_json::{Value, json};

use super::print_json;
use crate::admin::servers;
use crate::app::Backend;
use crate::clock::{Clock, SystemClock, rfc3339};
use crate::store::StoredKey;
use crate::tokens::keys::{self, KEY_CACHE_TTL, NEXT_KEY_MIN_AGE};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List a server's signing keys as JSON: kid, status, alg, times, and whether JWKS
    /// publishes it now.
    List {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default")]
        server: String,
    },
    /// Rotate now: the ACTIVE key is retired (still published until its tokens have
    /// expired), the NEXT key becomes ACTIVE, and a new NEXT key is made.
    Rotate {
        /// The authorization server's id (default: `default`).
        #[arg(long, default_value = "default", conflicts_with = "all")]
        server: String,
        /// Every authorization server.
        #[arg(long)]
        all: bool,
    },
}

fn key_json(key: &StoredKey, now: i64) -> Value {
    json!({
        "kid": key.kid,
        "status": key.status.as_str(),
        "alg": key.alg,
        "use": "sig",
        "created": rfc3339(key.created_at),
        "activated": key.activated_at.map(rfc3339),
        "retired": key.retired_at.map(rfc3339),
        "published": keys::is_published(key, now),
    })
}

pub async fn run(command: KeysCommand, backend: &Backend) -> Result<(), String> {
    let store = &backend.store;
    let now = SystemClock.now();
    match command {
        KeysCommand::List { server } => {
            let server = servers::find(store, &server)
                .await
                .map_err(|e| e.to_string())?;
            let list = store
                .signing_keys(&server.id)
                .await
                .map_err(|e| e.to_string())?;
            print_json(&Value::Array(
                list.iter().map(|k| key_json(k, now)).collect(),
            ));
        }
        KeysCommand::Rotate { server, all } => {
            let ids = if all {
                store
                    .list_servers()
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|s| s.id)
                    .collect()
            } else {
                vec![
                    servers::find(store, &server)
                        .await
                        .map_err(|e| e.to_string())?
                        .id,
                ]
            };
            let mut done = Vec::new();
            for id in ids {
                let rotated = keys::rotate(store, &backend.master, &id, now)
                    .await
                    .map_err(|e| format!("{id}: {e}"))?;
                match rotated {
                    Some(r) => {
                        if r.promoted_after < NEXT_KEY_MIN_AGE {
                            eprintln!(
                                "warning: {id}: the new active key {} was published only {} seconds ago; \
                                 relying parties that cached the JWKS before must fetch it again",
                                r.active, r.promoted_after
                            );
                        }
                        done.push(json!({"server": id, "retired": r.retired, "active": r.active, "next": r.next}));
                    }
                    None => eprintln!(
                        "{id}: another process rotated this key at the same time; nothing to do"
                    ),
                }
            }
            eprintln!("Running servers sign with the new keys within {KEY_CACHE_TTL} seconds.");
            print_json(&if all {
                Value::Array(done)
            } else {
                done.pop().unwrap_or(Value::Null)
            });
        }
    }
    Ok(())
}
