//! `gatehouse apps ...`

use clap::Subcommand;

use super::print_json;
use crate::admin::Actor;
use crate::admin::apps::{self, NewApp};
use crate::app::Backend;
use crate::clock::{Clock, SystemClock};

#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// Register an app; prints its client_id and, for a confidential client, its
    /// client_secret (shown this once).
    Create {
        /// The name people see on the sign-in and consent pages.
        #[arg(long)]
        name: String,
        /// A redirect URI, matched exactly; repeat for more.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may return to; repeat for more.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// client_secret_basic (default), client_secret_post, client_secret_jwt,
        /// private_key_jwt (with --jwks or --jwks-uri), or none (public client, PKCE).
        #[arg(long)]
        auth_method: Option<String>,
        /// private_key_jwt: a file holding the client's public JWKS ({"keys": [...]}).
        #[arg(long, conflicts_with = "jwks_uri")]
        jwks: Option<std::path::PathBuf>,
        /// private_key_jwt: the https URL where the client publishes its JWKS.
        #[arg(long)]
        jwks_uri: Option<String>,
        /// Every token request of this app must carry a DPoP proof (RFC 9449).
        #[arg(long)]
        dpop_bound_access_tokens: bool,
        /// authorization_code (default), refresh_token, client_credentials,
        /// urn:ietf:params:oauth:grant-type:device_code (RFC 8628); repeat for more.
        /// urn:ietf:params:oauth:grant-type:token-exchange; repeat for more.
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
        /// Require PKCE (a code_challenge) at /authorize: always on for public clients,
        /// off by default for confidential ones.
        #[arg(long, value_name = "true|false")]
        pkce_required: Option<bool>,
        /// Accept the `plain` PKCE method from this confidential app (not recommended:
        /// only S256 keeps the verifier secret; each use is a System Log warning).
        #[arg(long)]
        pkce_allow_plain: bool,
        /// The one JWS algorithm of this app's request objects (RFC 9101): an
        /// asymmetric one for private_key_jwt, HS256/384/512 for client_secret_jwt.
        #[arg(long)]
        request_object_signing_alg: Option<String>,
        /// Accept this app's authorization requests only as signed request objects.
        #[arg(long)]
        require_signed_request_object: bool,
    },
    /// Change an app's name, redirect URIs, post-logout redirect URIs or grant types;
    /// what is not given stays. Prints the app as JSON.
    Update {
        /// The app to change.
        client_id: String,
        /// The new name people see on the sign-in and consent pages.
        #[arg(long)]
        name: Option<String>,
        /// Replaces the redirect URIs (matched exactly); repeat for more.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Replaces the URIs RP-initiated logout may return to; repeat for more.
        #[arg(
            long = "post-logout-redirect-uri",
            conflicts_with = "clear_post_logout_redirect_uris"
        )]
        post_logout_redirect_uris: Vec<String>,
        /// Removes every post-logout redirect URI.
        #[arg(long)]
        clear_post_logout_redirect_uris: bool,
        /// Replaces the grant types: authorization_code, refresh_token,
        /// client_credentials, urn:ietf:params:oauth:grant-type:device_code; repeat for
        /// more.
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// Require PKCE (a code_challenge) at /authorize; cannot be false for a public
        /// client.
        #[arg(long, value_name = "true|false")]
        pkce_required: Option<bool>,
        /// Accept (true) or refuse (false) the `plain` PKCE method from this app.
        #[arg(long, value_name = "true|false")]
        pkce_allow_plain: Option<bool>,
    },
    /// Deactivate an app: /authorize and /token refuse it and its tokens stop
    /// introspecting as active (the first step before `delete`).
    Deactivate {
        /// The app to deactivate.
        client_id: String,
    },
    /// Activate an app that was deactivated.
    Activate {
        /// The app to activate.
        client_id: String,
    },
    /// Delete an app; it must be deactivated first (as in Okta).
    Delete {
        /// The app to delete.
        client_id: String,
    },
    /// List apps as JSON.
    List,
    /// Show one app as JSON.
    Show {
        /// The app to show.
        client_id: String,
    },
    /// An app's client secrets (at most two): list, create, activate, deactivate, delete.
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// The app's secrets (ids and status, never values).
    List {
        /// The app.
        client_id: String,
    },
    /// A new ACTIVE secret beside the current one; prints its value this once.
    Create {
        /// The app.
        client_id: String,
    },
    /// The secret authenticates again.
    Activate {
        /// The app.
        client_id: String,
        /// The secret (`ocs…`, from `apps secrets list`).
        secret_id: String,
    },
    /// The secret stops authenticating at once (not the app's last active one).
    Deactivate {
        /// The app.
        client_id: String,
        /// The secret (`ocs…`, from `apps secrets list`).
        secret_id: String,
    },
    /// Deletes an INACTIVE secret.
    Delete {
        /// The app.
        client_id: String,
        /// The secret (`ocs…`, from `apps secrets list`).
        secret_id: String,
    },
}

/// `allow_private_jwks_uri`: the server's setting of that name (from `--config` and
/// the environment), which a registered `jwks_uri` is checked against.
pub async fn run(
    command: AppsCommand,
    backend: &Backend,
    allow_private_jwks_uri: bool,
) -> Result<(), String> {
    match command {
        AppsCommand::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            auth_method,
            grant_types,
            refresh_token_leeway,
            jwks,
            jwks_uri,
            dpop_bound_access_tokens,
            require_pushed_authorization_requests,
            pkce_required,
            pkce_allow_plain,
            request_object_signing_alg,
            require_signed_request_object,
        } => {
            let jwks = match jwks {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    Some(
                        serde_json::from_str(&text)
                            .map_err(|e| format!("{}: not JSON: {e}", path.display()))?,
                    )
                }
                None => None,
            };
            let new = NewApp {
                name,
                redirect_uris,
                post_logout_redirect_uris,
                auth_method,
                grant_types,
                refresh_token_leeway,
                jwks,
                jwks_uri,
                dpop_bound_access_tokens: Some(dpop_bound_access_tokens),
                require_pushed_authorization_requests,
                pkce_required,
                pkce_allow_plain: Some(pkce_allow_plain),
                request_object_signing_alg,
                require_signed_request_object,
                allow_private_jwks_uri,
                ..NewApp::default()
            };
            let created = apps::create(
                &backend.store,
                &backend.master,
                &Actor::cli(),
                new,
                SystemClock.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
            print_json(&cli_json(&created.client, created.secret.as_deref()));
        }
        AppsCommand::Update {
            client_id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            clear_post_logout_redirect_uris,
            grant_types,
            pkce_required,
            pkce_allow_plain,
        } => {
            let client = apps::find(&backend.store, &client_id)
                .await
                .map_err(|e| e.to_string())?;
            let mut new = as_new_app(&client)?;
            new.allow_private_jwks_uri = allow_private_jwks_uri;
            if let Some(name) = name {
                new.name = name;
            }
            if !redirect_uris.is_empty() {
                new.redirect_uris = redirect_uris;
            }
            if clear_post_logout_redirect_uris {
                new.post_logout_redirect_uris.clear();
            } else if !post_logout_redirect_uris.is_empty() {
                new.post_logout_redirect_uris = post_logout_redirect_uris;
            }
            if pkce_required.is_some() {
                new.pkce_required = pkce_required;
            }
            if pkce_allow_plain.is_some() {
                new.pkce_allow_plain = pkce_allow_plain;
            }
            if !grant_types.is_empty() {
                new.grant_types = grant_types;
                // Other grants may make it another kind of app: derived again.
                new.application_type = None;
                new.response_types = None;
            }
            let (client, secret) = apps::update(
                &backend.store,
                &backend.master,
                &Actor::cli(),
                &client_id,
                new,
                SystemClock.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
            print_json(&cli_json(&client, secret.as_deref()));
        }
        AppsCommand::Deactivate { client_id } => set_active(backend, &client_id, false).await?,
        AppsCommand::Activate { client_id } => set_active(backend, &client_id, true).await?,
        AppsCommand::Delete { client_id } => {
            apps::delete(&backend.store, &Actor::cli(), &client_id, SystemClock.now())
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("deleted app {client_id}");
        }
        AppsCommand::List => {
            let list = backend
                .store
                .list_clients()
                .await
                .map_err(|e| e.to_string())?;
            print_json(&serde_json::Value::Array(
                list.iter().map(|c| cli_json(c, None)).collect(),
            ));
        }
        AppsCommand::Show { client_id } => match backend
            .store
            .get_client(&client_id)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(client) => print_json(&cli_json(&client, None)),
            None => return Err(format!("no app with client_id {client_id}")),
        },
        AppsCommand::Secrets(command) => secrets(command, backend).await?,
    }
    Ok(())
}

async fn set_active(backend: &Backend, client_id: &str, active: bool) -> Result<(), String> {
    let client = apps::set_active(
        &backend.store,
        &Actor::cli(),
        client_id,
        active,
        SystemClock.now(),
    )
    .await
    .map_err(|e| e.to_string())?;
    print_json(&cli_json(&client, None));
    Ok(())
}

async fn secrets(command: SecretsCommand, backend: &Backend) -> Result<(), String> {
    let (store, actor, now) = (&backend.store, Actor::cli(), SystemClock.now());
    match command {
        SecretsCommand::List { client_id } => {
            let client = apps::find(store, &client_id)
                .await
                .map_err(|e| e.to_string())?;
            print_json(&serde_json::Value::Array(
                client
                    .secrets
                    .iter()
                    .map(|s| apps::secret_json(s, None))
                    .collect(),
            ));
        }
        SecretsCommand::Create { client_id } => {
            let (_, secret, value) =
                apps::create_secret(store, &backend.master, &actor, &client_id, now)
                    .await
                    .map_err(|e| e.to_string())?;
            print_json(&apps::secret_json(&secret, Some(&value)));
        }
        SecretsCommand::Activate {
            client_id,
            secret_id,
        } => {
            let secret = apps::set_secret_active(store, &actor, &client_id, &secret_id, true, now)
                .await
                .map_err(|e| e.to_string())?;
            print_json(&apps::secret_json(&secret, None));
        }
        SecretsCommand::Deactivate {
            client_id,
            secret_id,
        } => {
            let secret = apps::set_secret_active(store, &actor, &client_id, &secret_id, false, now)
                .await
                .map_err(|e| e.to_string())?;
            print_json(&apps::secret_json(&secret, None));
        }
        SecretsCommand::Delete {
            client_id,
            secret_id,
        } => {
            apps::delete_secret(store, &actor, &client_id, &secret_id, now)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// The app's current settings as an update starts from them.
fn as_new_app(client: &crate::store::Client) -> Result<NewApp, String> {
    let jwks = match &client.jwks {
        Some(text) => Some(
            serde_json::from_str(text)
                .map_err(|e| format!("app {}: stored JWKS: {e}", client.client_id))?,
        ),
        None => None,
    };
    Ok(NewApp {
        name: client.name.clone(),
        redirect_uris: client.redirect_uris.clone(),
        post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
        auth_method: Some(client.auth_method.as_str().to_string()),
        grant_types: client.grant_types.clone(),
        refresh_token_leeway: Some(client.refresh_token_leeway),
        application_type: Some(client.application_type.clone()),
        response_types: Some(client.response_types.clone()),
        jwks,
        jwks_uri: client.jwks_uri.clone(),
        dpop_bound_access_tokens: Some(client.dpop_bound_access_tokens),
        require_pushed_authorization_requests: client.require_pushed_authorization_requests,
        pkce_required: Some(client.pkce_required),
        pkce_allow_plain: Some(client.pkce_allow_plain),
        request_object_signing_alg: client.request_object_signing_alg.clone(),
        require_signed_request_object: client.require_signed_request_object,
        ..NewApp::default()
    })
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
