//! The admin console's own app and the org server's okta.*
//! scopes, both ensured at every start; and how a built-in app (the console, the
//! account page's `account_app`) is kept as it must be.
//!
//! The console is a first-party public client of the org authorization server:
//! `client_id` `gatehouse-console`, code flow with PKCE S256 (RFC 7636, RFC 9700
//! §2.1.1), refresh tokens, redirect URI `{public_url}/admin/callback`, post-logout
//! redirect URI `{public_url}/admin/`. It may ask for every okta.* scope; what its
//! tokens may do is still bounded by the signed-in admin's roles. It cannot be deleted
//! or deactivated (403 `E0000006`).

use super::AdminError;
use super::permissions;
use crate::clock::UnixTime;
use crate::crypto::okta_id;
use crate::store::{AuthMethod, Client, DynStore, ORG_SERVER_ID, ScopeDef, Status, StoreError};

pub const CONSOLE_CLIENT_ID: &str = "gatehouse-console";
pub const CONSOLE_LABEL: &str = "Gatehouse Admin Console";
/// The account page's app (`account_app`), named here with the console's so that
/// `not_built_in` knows every built-in app without importing the module that uses it.
pub const ACCOUNT_CLIENT_ID: &str = "gatehouse-account";
pub const ACCOUNT_LABEL: &str = "Gatehouse Account";

/// Refuses a change that would take a built-in app away: the console or the account
/// page's app (403 `E0000006`).
pub fn not_built_in(client_id: &str) -> Result<(), AdminError> {
    let label = match client_id {
        CONSOLE_CLIENT_ID => CONSOLE_LABEL,
        ACCOUNT_CLIENT_ID => ACCOUNT_LABEL,
        _ => return Ok(()),
    };
    Err(AdminError::not_allowed(
        "E0000006",
        format!("The {label} app is built in: it cannot be deleted, deactivated or changed."),
    ))
}

/// Is this app allowed every okta.* scope without a grant?
pub fn is_console(client_id: &str) -> bool {
    client_id == CONSOLE_CLIENT_ID
}

/// The console app as it must be for this public URL (`base` without a trailing `/`).
fn wanted(base: &str, now: UnixTime) -> Client {
    Client {
        client_id: CONSOLE_CLIENT_ID.into(),
        name: CONSOLE_LABEL.into(),
        secrets: vec![],
        auth_method: AuthMethod::None,
        jwks: None,
        jwks_uri: None,
        dpop_bound_access_tokens: false,
        logout: Default::default(),
        application_type: "browser".into(),
        redirect_uris: vec![format!("{base}/admin/callback")],
        post_logout_redirect_uris: vec![format!("{base}/admin/")],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        response_types: vec!["code".into()],
        refresh_token_leeway: 30,
        require_pushed_authorization_requests: false,
        pkce_required: true,
        pkce_allow_plain: false,
        request_object_signing_alg: None,
        require_signed_request_object: false,
        status: Status::Active,
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

/// Makes sure the console app exists, active, with this public URL's URIs and its
/// fixed settings, and that the org server offers every okta.* scope.
pub async fn ensure(store: &DynStore, base: &str, now: UnixTime) -> Result<(), StoreError> {
    ensure_scopes(store, now).await?;
    ensure_client(store, wanted(base, now)).await
}

/// Makes sure the built-in app `want` exists as it is described, active. Idempotent and
/// safe with several instances starting at once: an insert another instance won is
/// read again, an update is written only over the version it was read at.
pub async fn ensure_client(store: &DynStore, want: Client) -> Result<(), StoreError> {
    for _ in 0..5 {
        let Some(have) = store.get_client(&want.client_id).await? else {
            match store.insert_client(&want).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        };
        let same = have.name == want.name
            && have.auth_method == want.auth_method
            && have.secrets.is_empty()
            && have.application_type == want.application_type
            && have.redirect_uris == want.redirect_uris
            && have.post_logout_redirect_uris == want.post_logout_redirect_uris
            && have.grant_types == want.grant_types
            && have.response_types == want.response_types
            && have.pkce_required == want.pkce_required
            && have.pkce_allow_plain == want.pkce_allow_plain
            && have.require_pushed_authorization_requests
                == want.require_pushed_authorization_requests
            && have.status == Status::Active;
        if same {
            return Ok(());
        }
        let update = Client {
            created_at: have.created_at,
            version: have.version,
            jwks: None,
            jwks_uri: None,
            ..want.clone()
        };
        if store.update_client(&update).await? {
            tracing::info!(
                client = want.client_id,
                "a built-in app was brought up to date"
            );
            return Ok(());
        }
    }
    Err(StoreError::Unavailable(format!(
        "the built-in app {} kept changing while it was being ensured",
        want.client_id
    )))
}

/// Adds the okta.* scopes the org server lacks (IMPLICIT consent: only the console
/// and apps granted them may ask; see `flows::okta_scopes`).
async fn ensure_scopes(store: &DynStore, now: UnixTime) -> Result<(), StoreError> {
    let have = store.list_scopes(ORG_SERVER_ID).await?;
    for (name, description) in permissions::okta_scopes() {
        if have.iter().any(|s| s.name == name) {
            continue;
        }
        let scope = ScopeDef {
            id: okta_id("scp"),
            server_id: ORG_SERVER_ID.into(),
            name,
            description,
            consent: "IMPLICIT".into(),
            is_default: false,
            system: false,
            created_at: now,
        };
        match store.insert_scope(&scope).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
