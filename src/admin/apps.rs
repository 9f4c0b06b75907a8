//! Registering OpenID Connect apps (OAuth clients).

use serde_json::{Value, json};
use url::{Host, Url};

use super::{AdminError, dedup};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::{MasterKey, okta_id, random_token};
use crate::store::{Client, DynStore};

pub const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];
pub const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];

#[derive(Debug, Clone, Default)]
pub struct NewApp {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Defaults to `client_secret_basic`.
    pub auth_method: Option<String>,
    /// Defaults to `authorization_code`.
    pub grant_types: Vec<String>,
    /// Seconds a rotated refresh token may be retried and get the same answer (0..=60,
    /// default 0: strict reuse detection).
    pub refresh_token_leeway: Option<i64>,
}

/// Okta allows a grace period of 0 to 60 seconds for refresh-token rotation.
pub const MAX_REFRESH_LEEWAY: i64 = 60;

pub struct CreatedApp {
    pub client: Client,
    /// The secret in clear: shown once, stored only as a keyed hash.
    pub secret: Option<String>,
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A redirect URI must be absolute with no fragment (RFC 6749 §3.1.2), https unless it
/// is loopback (RFC 8252 §7.3), or a private-use scheme for a native app (RFC 8252
/// §7.1); never a scheme that runs or embeds content.
pub fn check_redirect_uri(field: &'static str, uri: &str, public_client: bool) -> Result<(), AdminError> {
    if uri.len() > 2000 || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AdminError::invalid(field, format!("{uri:?} is not a valid URI")));
    }
    let url = Url::parse(uri).map_err(|_| AdminError::invalid(field, format!("{uri:?} is not an absolute URI")))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(AdminError::invalid(field, format!("{uri:?} must not have a fragment")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AdminError::invalid(field, format!("{uri:?} must not have user information")));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err(AdminError::invalid(field, format!("{uri:?} must use https (http is allowed only for loopback)"))),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "ftp" | "ws" | "wss" => {
            Err(AdminError::invalid(field, format!("{uri:?} uses a scheme that is not allowed")))
        }
        _ if public_client => Ok(()),
        _ => Err(AdminError::invalid(
            field,
            format!("{uri:?}: custom schemes are for native apps (auth method none)"),
        )),
    }
}

/// Validates and stores a new ACTIVE app; a confidential one gets a fresh secret.
pub async fn create(store: &DynStore, master: &MasterKey, new: NewApp, now: UnixTime) -> Result<CreatedApp, AdminError> {
    let name = new.name.trim().to_string();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(AdminError::invalid("name", "must be 1 to 100 printable characters"));
    }
    let auth_method = new.auth_method.unwrap_or_else(|| "client_secret_basic".into());
    if !AUTH_METHODS.contains(&auth_method.as_str()) {
        return Err(AdminError::invalid(
            "token_endpoint_auth_method",
            format!("must be one of {}", AUTH_METHODS.join(", ")),
        ));
    }
    let public = auth_method == "none";
    let mut grant_types = dedup(new.grant_types);
    if grant_types.is_empty() {
        grant_types.push("authorization_code".into());
    }
    if let Some(bad) = grant_types.iter().find(|g| !GRANT_TYPES.contains(&g.as_str())) {
        return Err(AdminError::invalid("grant_types", format!("{bad:?} is not supported")));
    }
    let has = |g: &str| grant_types.iter().any(|x| x == g);
    if has("client_credentials") && public {
        return Err(AdminError::invalid("grant_types", "client_credentials requires a confidential client"));
    }
    if has("refresh_token") && !has("authorization_code") {
        return Err(AdminError::invalid("grant_types", "refresh_token requires authorization_code"));
    }
    let refresh_token_leeway = new.refresh_token_leeway.unwrap_or(0);
    if !(0..=MAX_REFRESH_LEEWAY).contains(&refresh_token_leeway) {
        return Err(AdminError::invalid("refresh_token.leeway", "must be between 0 and 60 seconds"));
    }
    let redirect_uris = dedup(new.redirect_uris);
    if has("authorization_code") && redirect_uris.is_empty() {
        return Err(AdminError::invalid("redirect_uris", "at least one is required for authorization_code"));
    }
    for uri in &redirect_uris {
        check_redirect_uri("redirect_uris", uri, public)?;
    }
    let post_logout_redirect_uris = dedup(new.post_logout_redirect_uris);
    for uri in &post_logout_redirect_uris {
        check_redirect_uri("post_logout_redirect_uris", uri, public)?;
    }
    let application_type = if !has("authorization_code") {
        "service"
    } else if !public {
        "web"
    } else if redirect_uris.iter().any(|u| !u.starts_with("http://") && !u.starts_with("https://")) {
        "native"
    } else {
        "browser"
    };
    let secret = (!public).then(random_token);
    let client = Client {
        client_id: okta_id("0oa"),
        name,
        secret_hash: secret.as_deref().map(|s| master.hash_client_secret(s)),
        auth_method,
        application_type: application_type.into(),
        response_types: if has("authorization_code") { vec!["code".into()] } else { vec![] },
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        refresh_token_leeway,
        status: "ACTIVE".into(),
        created_at: now,
        updated_at: now,
    };
    store.insert_client(&client).await?;
    Ok(CreatedApp { client, secret })
}

/// How the CLI prints an app (RFC 7591's field names). The secret only when given.
pub fn to_json(client: &Client, secret: Option<&str>) -> Value {
    let mut v = json!({
        "client_id": client.client_id,
        "client_name": client.name,
        "status": client.status,
        "created": rfc3339(client.created_at),
        "application_type": client.application_type,
        "token_endpoint_auth_method": client.auth_method,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "response_types": client.response_types,
        "refresh_token": { "rotation_type": "ROTATE", "leeway": client.refresh_token_leeway },
    });
    if let Some(secret) = secret {
        v["client_secret"] = json!(secret);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        for ok in ["https://app.example.com/cb", "http://localhost:3000/cb", "http://127.0.0.1/cb", "http://[::1]:8080/x"] {
            assert!(check_redirect_uri("r", ok, false).is_ok(), "{ok}");
        }
        assert!(check_redirect_uri("r", "com.example.app:/cb", true).is_ok());
        for bad in [
            "/relative",
            "https://app.example.com/cb#frag",
            "http://app.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "https://user@app.example.com/cb",
            "https://app.example.com/c b",
        ] {
            assert!(check_redirect_uri("r", bad, true).is_err(), "{bad}");
        }
        assert!(check_redirect_uri("r", "com.example.app:/cb", false).is_err());
    }
}
