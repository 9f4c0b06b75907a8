//! Okta's `GET /api/v1/users/{id}/appLinks`: the apps a user can sign in to, as
//! links for an end-user dashboard. An app is listed when it is ACTIVE, lets a user
//! sign in (it has the `authorization_code` grant) and the user may use it (it is open
//! to everyone, or assigned to the user or one of their groups: the rule sign-in
//! applies, `settings::check_assigned`). The built-in apps (the admin console, the
//! account page) are not an end user's apps: they are never listed.

use serde_json::{Value, json};

use super::AdminError;
use super::account_app::is_account_app;
use super::apps::OIDC_APP_NAME;
use super::console::CONSOLE_CLIENT_ID;
use super::users;
use crate::store::{Client, DynStore};

/// The user's app links, by label.
pub async fn list(store: &DynStore, user_id: &str) -> Result<Vec<Value>, AdminError> {
    let user = users::find(store, user_id).await?;
    let apps = store.apps_of_user(&user.id).await?;
    Ok(dashboard(apps)
        .iter()
        .enumerate()
        .map(|(i, c)| to_json(c, i))
        .collect())
}

/// Of the apps a user may use (`apps_of_user`), those a dashboard lists: the ones a
/// person signs in to, without the built-in apps.
pub fn dashboard(apps: Vec<Client>) -> Vec<Client> {
    apps.into_iter()
        .filter(|c| c.grant_types.iter().any(|g| g == "authorization_code"))
        .filter(|c| c.client_id != CONSOLE_CLIENT_ID && !is_account_app(&c.client_id))
        .collect()
}

/// Where the app lives: the origin of its first redirect URI (Gatehouse has no
/// app launcher, so the link opens the app, which starts its own sign-in). `None`
/// for a native app's private-use scheme, which has no origin.
pub fn link_url(client: &Client) -> Option<String> {
    let uri = url::Url::parse(client.redirect_uris.first()?).ok()?;
    let origin = uri.origin();
    origin
        .is_tuple()
        .then(|| format!("{}/", origin.ascii_serialization()))
}

/// Okta's app link shape.
fn to_json(client: &Client, sort_order: usize) -> Value {
    json!({
        "id": client.client_id,
        "label": client.name,
        "linkUrl": link_url(client),
        "logoUrl": null,
        "appName": OIDC_APP_NAME,
        "appInstanceId": client.client_id,
        "appAssignmentId": null,
        "credentialsSetup": false,
        "hidden": false,
        "sortOrder": sort_order,
    })
}
