//! Which of a server's scopes an app may ask for. Okta's management scopes (`okta.*`)
//! live on the org authorization server only, and an app may ask for one only when it
//! was granted it (Okta's app grants, `/api/v1/apps/{appId}/grants`); the admin
//! console may ask for all of them. Asking for one it lacks is `invalid_scope` (RFC
//! 6749 §4.1.2.1, §5.2), as for a scope the server does not offer.

use crate::admin::{console, permissions};
use crate::flows::Services;
use crate::oauth::OAuthError;
use crate::store::{AuthServer, ScopeDef};

/// The names of `scopes` (the server's) that `client_id` may request from `server`.
/// One store read, only on the org server and only for an app other than the console.
pub async fn offered<'a>(
    services: &Services,
    server: &AuthServer,
    client_id: Option<&str>,
    scopes: &'a [ScopeDef],
) -> Result<Vec<&'a str>, OAuthError> {
    let all = scopes.iter().map(|s| s.name.as_str());
    if !server.is_org() {
        return Ok(all.collect());
    }
    let granted: Vec<String> = match client_id {
        Some(id) if console::is_console(id) => return Ok(all.collect()),
        Some(id) => services
            .store
            .app_grants(id)
            .await?
            .into_iter()
            .map(|g| g.scope)
            .collect(),
        None => vec![],
    };
    Ok(all
        .filter(|name| !permissions::is_okta_scope(name) || granted.iter().any(|g| g == name))
        .collect())
}
