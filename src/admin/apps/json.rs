//! Okta's JSON shapes of an OpenID Connect app and of its client secrets.

use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::store::{Client, ClientSecret};

/// Okta's app `name` for an OpenID Connect app.
pub const OIDC_APP_NAME: &str = "oidc_client";

/// Okta's OpenID Connect app shape. The secret only when given (at creation and
/// rotation): it is never stored in clear.
pub fn to_json(client: &Client, secret: Option<&str>) -> Value {
    let mut oauth_client = json!({
        "autoKeyRotation": true,
        "client_id": client.client_id,
        "token_endpoint_auth_method": client.auth_method,
        "pkce_required": client.pkce_required || client.is_public(),
        "pkce_allow_plain": client.pkce_allow_plain,
    });
    let mut settings = json!({
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "response_types": client.response_types,
        "grant_types": client.grant_types,
        "application_type": client.application_type,
        "consent_method": "TRUSTED",
        "issuer_mode": "ORG_URL",
        "refresh_token": { "rotation_type": "ROTATE", "leeway": client.refresh_token_leeway },
        "dpop_bound_access_tokens": client.dpop_bound_access_tokens,
        "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
        "require_signed_request_object": client.require_signed_request_object,
    });
    let logout = &client.logout;
    if let Some(uri) = &logout.frontchannel_logout_uri {
        settings["frontchannel_logout_uri"] = json!(uri);
    }
    settings["frontchannel_logout_session_required"] =
        json!(logout.frontchannel_logout_session_required);
    if let Some(uri) = &logout.backchannel_logout_uri {
        settings["backchannel_logout_uri"] = json!(uri);
    }
    settings["backchannel_logout_session_required"] =
        json!(logout.backchannel_logout_session_required);
    if let Some(alg) = &client.request_object_signing_alg {
        settings["request_object_signing_alg"] = json!(alg);
    }
    if let Some(jwks) = client
        .jwks
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
    {
        settings["jwks"] = jwks;
    }
    if let Some(uri) = &client.jwks_uri {
        settings["jwks_uri"] = json!(uri);
    }
    if let Some(secret) = secret {
        oauth_client["client_secret"] = json!(secret);
    }
    json!({
        "id": client.client_id,
        "name": OIDC_APP_NAME,
        "label": client.name,
        "status": client.status,
        "created": rfc3339(client.created_at),
        "lastUpdated": rfc3339(client.updated_at),
        "signOnMode": "OPENID_CONNECT",
        "features": [],
        "accessibility": { "selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null },
        "visibility": { "autoSubmitToolbar": false, "hide": { "iOS": true, "web": true }, "appLinks": { "oidc_client_link": true } },
        "credentials": {
            "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" },
            "oauthClient": oauth_client,
        },
        "settings": {
            "app": {},
            "oauthClient": settings,
        },
    })
}

/// Okta's client secret object; the secret itself only when just created. Never the
/// hash or the sealed copy.
/// Okta's client secret. The value only when it was just made: Gatehouse keeps a keyed
/// hash, never the secret, so it cannot be read back (a deliberate difference from
/// Okta, whose GET returns it). `secret_hash` identifies it as Okta's does: base64url of
/// SHA-256 over the stored keyed hash, which tells nothing about the secret without the
/// master key.
pub fn secret_json(secret: &ClientSecret, value: Option<&str>) -> Value {
    let fingerprint = crate::crypto::hex_decode(&secret.hash)
        .map(|keyed| crate::crypto::b64url(&crate::crypto::sha256(&keyed)));
    let mut v = json!({
        "id": secret.id,
        "status": secret.status,
        "secret_hash": fingerprint,
        "created": rfc3339(secret.created),
        "lastUpdated": rfc3339(secret.updated),
    });
    if let Some(value) = value {
        v["client_secret"] = json!(value);
    }
    v
}
