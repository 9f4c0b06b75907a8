//! The account page's own app, ensured at every start.
//!
//! A person signs in to `/account` as to any app: through the org server's
//! `/authorize`, so the sign-in policies, factors and app assignments that apply to
//! apps apply to it too. The app is a first-party public client of the org server:
//! `client_id` `gatehouse-account`, code flow with PKCE S256 (RFC 7636, RFC 9700
//! §2.1.1), scope `openid` only, redirect URI `{public_url}/account/callback`,
//! post-logout redirect URI `{public_url}/account`. Its code is redeemed by the account
//! page itself, in process; no refresh token is issued (no `refresh_token` grant). It
//! cannot be deleted, deactivated or changed (403 `E0000006`), and it is not listed
//! among a person's apps.

use crate::clock::UnixTime;
use crate::store::{AuthMethod, Client, DynStore, Status, StoreError};

pub use super::console::{ACCOUNT_CLIENT_ID, ACCOUNT_LABEL};
/// Where the org server sends the browser back with the code.
pub const CALLBACK_PATH: &str = "/account/callback";

/// The account app's redirect URI on a server whose public URL is `base`.
pub fn callback_uri(base: &str) -> String {
    format!("{base}{CALLBACK_PATH}")
}

/// The account app as it must be for this public URL (`base` without a trailing `/`).
fn wanted(base: &str, now: UnixTime) -> Client {
    Client {
        client_id: ACCOUNT_CLIENT_ID.into(),
        name: ACCOUNT_LABEL.into(),
        secrets: vec![],
        auth_method: AuthMethod::None,
        jwks: None,
        jwks_uri: None,
        dpop_bound_access_tokens: false,
        application_type: "web".into(),
        redirect_uris: vec![callback_uri(base)],
        post_logout_redirect_uris: vec![format!("{base}/account")],
        logout: Default::default(),
        grant_types: vec!["authorization_code".into()],
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

/// Makes sure the account app exists, active, with this public URL's URIs and its
/// fixed settings (see `console::ensure_client`).
pub async fn ensure(store: &DynStore, base: &str, now: UnixTime) -> Result<(), StoreError> {
    super::console::ensure_client(store, wanted(base, now)).await
}

/// Is this the account page's app?
pub fn is_account_app(client_id: &str) -> bool {
    client_id == ACCOUNT_CLIENT_ID
}
