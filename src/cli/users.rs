//! `gatehouse users ...`

use std::io::BufRead;

use clap::Subcommand;

use super::print_json;
use crate::admin::Actor;
use crate::admin::users::{self, Deletion, Lifecycle, NewUser};
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};
use crate::identity::password::PasswordPool;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user and print it as JSON: ACTIVE with a password, else PROVISIONED
    /// (no sign-in until a password is set).
    Create {
        /// The username they sign in with (unique, without regard to case).
        #[arg(long)]
        login: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Their email address (defaults to the login when it is one).
        #[arg(long)]
        email: Option<String>,
        /// Given name (the `given_name` claim).
        #[arg(long)]
        first_name: Option<String>,
        /// Family name (the `family_name` claim).
        #[arg(long)]
        last_name: Option<String>,
    },
    /// List users as JSON.
    List,
    /// Set a user's password, read from the first line of standard input; ends their
    /// sessions and revokes their refresh tokens. A PROVISIONED user stays so until
    /// activated (`users activate`).
    SetPassword {
        /// The user's id or login.
        user: String,
        /// Read the password from the first line of standard input (required: a
        /// password never goes on the command line, where `ps` shows it).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Activate a user (ACTIVE with a password, else PROVISIONED).
    Activate {
        /// The user's id or login.
        user: String,
    },
    /// Deactivate a user (DEPROVISIONED): no sign-in, sessions ended, refresh tokens
    /// revoked.
    Deactivate {
        /// The user's id or login.
        user: String,
    },
    /// Unlock a user the password policy's lockout locked (LOCKED_OUT → ACTIVE, no wrong
    /// passwords counted); refused for a user who is not locked.
    Unlock {
        /// The user's id or login.
        user: String,
    },
    /// Remove every second factor and recovery code of a user (Okta's reset factors),
    /// for someone who lost their authenticator: they set one up again at their next
    /// sign-in that needs it.
    ResetFactors {
        /// The user's id or login.
        user: String,
    },
    /// Delete a user. As in Okta, an active user is deactivated by the first `delete`
    /// and deleted by the second.
    Delete {
        /// The user's id or login.
        user: String,
    },
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
                Some(read_password()?)
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
        UsersCommand::SetPassword { user, .. } => {
            let password = read_password()?;
            let user = users::update(
                &backend.store,
                &PasswordPool::new(1),
                &Actor::cli(),
                &user,
                None,
                Some(password),
                SystemClock.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
            print_json(&cli_json(&user));
        }
        UsersCommand::Activate { user } => lifecycle(backend, &user, Lifecycle::Activate).await?,
        UsersCommand::Unlock { user } => {
            let user = users::unlock(&backend.store, &Actor::cli(), &user, SystemClock.now())
                .await
                .map_err(|e| e.to_string())?;
            print_json(&cli_json(&user));
        }
        UsersCommand::Deactivate { user } => {
            lifecycle(backend, &user, Lifecycle::Deactivate).await?
        }
        UsersCommand::Delete { user } => {
            match users::delete(&backend.store, &Actor::cli(), &user, SystemClock.now())
                .await
                .map_err(|e| e.to_string())?
            {
                Deletion::Deactivated(user) => {
                    print_json(&cli_json(&user));
                    eprintln!(
                        "deactivated {}; `users delete` again deletes them",
                        user.login
                    );
                }
                Deletion::Deleted => eprintln!("deleted user {user}"),
            }
        }
        UsersCommand::ResetFactors { user } => {
            let user = users::find(&backend.store, &user)
                .await
                .map_err(|e| e.to_string())?;
            let removed = crate::flows::factors::reset_all(
                &backend.store,
                &Actor::cli(),
                &user,
                SystemClock.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
            eprintln!("removed {removed} factor(s) of {}", user.login);
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

async fn lifecycle(backend: &Backend, user: &str, op: Lifecycle) -> Result<(), String> {
    let user = users::lifecycle(&backend.store, &Actor::cli(), user, op, SystemClock.now())
        .await
        .map_err(|e| e.to_string())?;
    print_json(&cli_json(&user));
    Ok(())
}

/// The first line of standard input, without its line ending.
fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password: {e}"))?;
    let line = line.trim_end_matches(['\n', '\r']).to_string();
    if line.is_empty() {
        return Err("--password-stdin: standard input had no password".into());
    }
    Ok(line)
}

/// Okta's user shape, plus `login` at the top, as `users create` has always printed it.
fn cli_json(user: &crate::store::User) -> serde_json::Value {
    let mut v = users::to_json(user);
    v["login"] = serde_json::json!(user.login);
    v
}
