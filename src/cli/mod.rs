//! The command line: `serve`, and the admin commands that work whether or not a
//! server runs (they open the same database). Every command takes `--data-dir`,
//! `--database-url`, the pool settings and `--config`.

mod admins;
mod api_tokens;
mod apps;
mod backup;
mod brand;
mod clients;
mod demo;
mod groups;
mod idps;
mod keys;
mod migrate;
mod servers;
mod sign_on;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::{self, Backend};
use crate::clock::{Clock, SystemClock};
use crate::config::{ClientAuthConfig, FileConfig, LogFormat, ServerConfig, StoreConfig};

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "An OpenID Connect provider with Okta's URL layout"
)]
pub struct Cli {
    /// A TOML settings file (keys as in docs/configuration.md); flags and environment win over it.
    #[arg(long, env = "GATEHOUSE_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Where the SQLite database and the master key live.
    #[arg(long, env = "GATEHOUSE_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// `sqlite:PATH`, or `postgres://user:password@host:port/database`.
    #[arg(long, env = "GATEHOUSE_DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// PostgreSQL: the most connections this process opens (default 10).
    #[arg(
        long,
        env = "GATEHOUSE_DATABASE_MAX_CONNECTIONS",
        global = true,
        value_name = "N"
    )]
    database_max_connections: Option<u32>,
    /// PostgreSQL: seconds a query waits for a free connection (default 5).
    #[arg(
        long,
        env = "GATEHOUSE_DATABASE_ACQUIRE_TIMEOUT",
        global = true,
        value_name = "SECONDS"
    )]
    database_acquire_timeout: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address and port to listen on (default 127.0.0.1:8080).
        #[arg(long, env = "GATEHOUSE_LISTEN")]
        listen: Option<String>,
        /// The URL clients reach Gatehouse at: the org issuer.
        #[arg(long, env = "GATEHOUSE_PUBLIC_URL")]
        public_url: Option<String>,
        /// Rotate a signing key once it has signed this many days (default 90; 0: never).
        #[arg(long, env = "GATEHOUSE_KEY_ROTATION_DAYS", value_name = "DAYS")]
        key_rotation_days: Option<u32>,
    },
    /// Manage users.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Manage OpenID Connect apps (OAuth clients).
    #[command(subcommand)]
    Apps(apps::AppsCommand),
    /// Manage groups of users.
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Manage authorization servers.
    #[command(subcommand, name = "authz-servers")]
    AuthzServers(servers::ServersCommand),
    /// Manage an authorization server's scopes.
    #[command(subcommand)]
    Scopes(servers::ScopesCommand),
    /// Manage an authorization server's custom claims.
    #[command(subcommand)]
    Claims(servers::ClaimsCommand),
    /// Manage an authorization server's access policies and their rules.
    #[command(subcommand)]
    Policies(servers::PoliciesCommand),
    /// Manage the sign-on policies: the global session policy (OKTA_SIGN_ON) and app
    /// authentication policies (ACCESS_POLICY), their rules, and each app's policy.
    #[command(subcommand, name = "sign-on-policies")]
    SignOnPolicies(sign_on::SignOnCommand),
    /// Manage IP network zones that sign-on policy rules name.
    #[command(subcommand)]
    Zones(sign_on::ZonesCommand),
    /// Show or change the password policy's lockout (LOCKED_OUT after N wrong passwords).
    #[command(subcommand, name = "password-policy")]
    PasswordPolicy(sign_on::PasswordPolicyCommand),
    /// Manage upstream identity providers, their linked users and the routing rules
    /// that send a typed username to one.
    #[command(subcommand)]
    Idps(idps::IdpsCommand),
    /// Grant, list and revoke admin roles (super, org, app, read-only) of users and groups.
    #[command(subcommand)]
    Admins(admins::AdminsCommand),
    /// Manage API tokens for the management API (`Authorization: SSWS {token}`).
    #[command(subcommand, name = "api-tokens")]
    ApiTokens(api_tokens::ApiTokensCommand),
    /// Dynamic client registration at /oauth2/v1/clients: initial access tokens.
    #[command(subcommand)]
    Clients(clients::ClientsCommand),
    /// Bring the database schema up to date, print its version, and exit.
    Migrate,
    /// The org name, colours, logo and favicon of the hosted pages (Okta's brand and theme).
    #[command(subcommand)]
    Brand(brand::BrandCommand),
    /// Register Gatehouse's demo app (or find it) and print the address that shows a
    /// sign-in end to end, with the tokens decoded.
    Demo {
        /// The URL clients reach Gatehouse at, as `serve` was given it (the demo app's
        /// redirect URI is this URL's /demo/callback).
        #[arg(long, env = "GATEHOUSE_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Print the management API's OpenAPI 3.1 document (as served at
    /// /api/v1/openapi.json), e.g. for a code generator or a validator.
    Openapi,
    /// List and rotate an authorization server's signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Copy the SQLite database, consistently, while servers keep running.
    Backup {
        /// The file to write; it must not exist.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let file = match &cli.config {
        Some(path) => FileConfig::load(path),
        None => Ok(FileConfig::default()),
    };
    let file = match file.and_then(|file| {
        Ok((
            LogFormat::resolve(&file, std::env::var("GATEHOUSE_LOG_FORMAT").ok())?,
            file,
        ))
    }) {
        Ok((format, file)) => {
            init_logging(format);
            file
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli, file)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to standard error: text lines, or one JSON object per line (the event's
/// fields at the top level, and the request span with its `id` under `span`). Colour
/// codes only when standard error is a terminal: in a file, a pipe or a log
/// collector they are noise around every field.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

async fn execute(cli: Cli, file: FileConfig) -> Result<(), String> {
    let store_config = StoreConfig::resolve(
        &file,
        cli.data_dir,
        cli.database_url,
        cli.database_max_connections,
        cli.database_acquire_timeout,
    )
    .map_err(|e| e.to_string())?;
    match cli.command {
        Command::Serve {
            listen,
            public_url,
            key_rotation_days,
        } => {
            let config = ServerConfig::resolve(&file, listen, public_url, key_rotation_days)
                .map_err(|e| e.to_string())?;
            app::run(store_config, config)
                .await
                .map_err(|e| e.to_string())
        }
        Command::Users(command) => users::run(command, &backend(&store_config).await?).await,
        Command::Apps(command) => {
            let client_auth = ClientAuthConfig::resolve(&file).map_err(|e| e.to_string())?;
            apps::run(
                command,
                &backend(&store_config).await?,
                client_auth.allow_private_jwks_uri,
            )
            .await
        }
        Command::Groups(command) => groups::run(command, &backend(&store_config).await?).await,
        Command::Admins(command) => admins::run(command, &backend(&store_config).await?).await,
        Command::AuthzServers(command) => {
            let listen = std::env::var("GATEHOUSE_LISTEN").ok();
            let public_url = std::env::var("GATEHOUSE_PUBLIC_URL").ok();
            let config = ServerConfig::resolve(&file, listen, public_url, None)
                .map_err(|e| e.to_string())?;
            servers::run_servers(command, &backend(&store_config).await?, &config.base_url()).await
        }
        Command::Scopes(command) => {
            servers::run_scopes(command, &backend(&store_config).await?).await
        }
        Command::Claims(command) => {
            servers::run_claims(command, &backend(&store_config).await?).await
        }
        Command::Policies(command) => {
            servers::run_policies(command, &backend(&store_config).await?).await
        }
        Command::SignOnPolicies(command) => {
            sign_on::run(command, &backend(&store_config).await?).await
        }
        Command::Zones(command) => {
            sign_on::run_zones(command, &backend(&store_config).await?).await
        }
        Command::PasswordPolicy(command) => {
            sign_on::run_password_policy(command, &backend(&store_config).await?).await
        }
        Command::Idps(command) => {
            let client_auth = ClientAuthConfig::resolve(&file).map_err(|e| e.to_string())?;
            let allow_private = client_auth.allow_private_jwks_uri;
            idps::run(command, &backend(&store_config).await?, allow_private).await
        }
        Command::ApiTokens(command) => {
            api_tokens::run(command, &backend(&store_config).await?).await
        }
        Command::Clients(command) => clients::run(command, &backend(&store_config).await?).await,
        Command::Migrate => migrate::run(&store_config).await,
        Command::Brand(command) => {
            let listen = std::env::var("GATEHOUSE_LISTEN").ok();
            let public_url = std::env::var("GATEHOUSE_PUBLIC_URL").ok();
            let config = ServerConfig::resolve(&file, listen, public_url, None)
                .map_err(|e| e.to_string())?;
            brand::run(command, &backend(&store_config).await?, &config.base_url()).await
        }
        Command::Demo { public_url } => {
            let listen = std::env::var("GATEHOUSE_LISTEN").ok();
            let config = ServerConfig::resolve(&file, listen, public_url, None)
                .map_err(|e| e.to_string())?;
            demo::run(&backend(&store_config).await?, &config.base_url()).await
        }
        Command::Openapi => {
            let text = crate::http::api::openapi::to_pretty_json().map_err(|e| e.to_string())?;
            println!("{text}");
            Ok(())
        }
        Command::Keys(command) => keys::run(command, &backend(&store_config).await?).await,
        Command::Backup { to } => backup::run(&store_config, &to).await,
    }
}

async fn backend(config: &StoreConfig) -> Result<Backend, String> {
    app::open_backend(config, SystemClock.now())
        .await
        .map_err(|e| e.to_string())
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values serialise")
    );
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// `--help` explains every flag and argument of every command.
    #[test]
    fn every_argument_has_help_text() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                if sub.get_about().is_none() && sub.get_long_about().is_none() {
                    missing.push(format!("{path} {} (the command)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "gatehouse", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
    }
}
