//! `gatehouse users ...`

use std::io::BufRead;

use clap::Subcommand;

use super::print_json;
use crate::admin::Actor;
use crate::admin::users::{self, NewUser};
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};
use crate::identity::password::PasswordPool;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an active user and print it as JSON.
    Create {
        #[arg(long)]
        login: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
    },
    /// List users as JSON.
    List,
}

pub async fn run(command: UsersCommand, backend: &Backend) -> Result<(), String> {
    match command {
        UsersCommand::Create {
            login,
            password_stdin,
            email,
            first_name,
            last_name,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| format!("reading the password: {e}"))?;
                let line = line.trim_end_matches(['\n', '\r']).to_string();
                if line.is_empty() {
                    return Err("--password-stdin: standard input had no password".into());
                }
                Some(line)
            } else {
                None
            };
            let new = NewUser {
                login,
                password,
                email,
                first_name,
                last_name,
                ..NewUser::default()
            };
            let user = users::create(
                &backend.store,
                &PasswordPool::new(1),
                &Actor::cli(),
                new,
                SystemClock.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
            print_json(&cli_json(&user));
        }
        UsersCommand::List => {
            let list = backend
                .store
                .list_users()
                .await
                .map_err(|e| e.to_string())?;
            print_json(&serde_json::Value::Array(
                list.iter().map(cli_json).collect(),
            ));
        }
    }
    Ok(())
}

/// Okta's user shape, plus `login` at the top, as `users create` has always printed it.
fn cli_json(user: &crate::store::User) -> serde_json::Value {
    let mut v = users::to_json(user);
    v["login"] = serde_json::json!(user.login);
    v
}
