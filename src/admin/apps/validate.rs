//! An app's settings as given (`NewApp`) and their checks: redirect and post-logout
//! URIs (RFC 6749 §3.1.2, RFC 8252 §7), PKCE (RFC 9700 §2.1.1), the client's JWKS or
//! `jwks_uri` (RFC 7523 §2.2), grant and response types and the application type, as
//! Okta validates its app objects.

use super::uris::{
    check_backchannel_logout_uri, check_frontchannel_logout_uri, check_jwks_uri, check_redirect_uri,
};
use serde_json::Value;

use super::json::OIDC_APP_NAME;
use crate::admin::{AdminError, dedup};
use crate::oauth::grants::{GrantType, device_code};
use crate::store::{AuthMethod, LogoutChannels};
use crate::tokens::jose::{self, JoseError};

/// RFC 6749 §2.3.1, RFC 7523 §2.2 and OpenID Connect Core §9, as Okta names them.
pub const AUTH_METHODS: &[&str] = crate::oauth::client_auth::METHODS;
/// The most keys a registered JWKS may hold.
pub const MAX_JWKS_KEYS: usize = 10;

#[derive(Debug, Clone, Default)]
pub struct NewApp {
    /// Okta's `label`.
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
    /// `web`, `native`, `browser` or `service`; derived from the rest when absent.
    pub application_type: Option<String>,
    /// When given, only `["code"]` (the one response type this server implements).
    pub response_types: Option<Vec<String>>,
    /// Okta's app `name`; when given, `oidc_client`.
    pub okta_name: Option<String>,
    /// Okta's `signOnMode`; when given, `OPENID_CONNECT`.
    pub sign_on_mode: Option<String>,
    /// Okta's `activate` query parameter (default true): ACTIVE, or INACTIVE.
    pub activate: Option<bool>,
    /// `private_key_jwt`: Okta's `settings.oauthClient.jwks` (`{"keys": [...]}`), or
    pub jwks: Option<Value>,
    /// `settings.oauthClient.jwks_uri`.
    pub jwks_uri: Option<String>,
    /// Okta's `settings.oauthClient.dpop_bound_access_tokens`.
    pub dpop_bound_access_tokens: Option<bool>,
    /// Okta's `settings.oauthClient.require_pushed_authorization_requests` (RFC 9126
    /// §6): /authorize accepts this app's requests only through a pushed `request_uri`.
    pub require_pushed_authorization_requests: bool,
    /// Okta's `credentials.oauthClient.pkce_required`: always true for a public client
    /// (false is refused); false by default for a confidential one.
    pub pkce_required: Option<bool>,
    /// `credentials.oauthClient.pkce_allow_plain` (Gatehouse's): a confidential app may
    /// use the `plain` PKCE method (default false: S256 only, RFC 9700 §2.1.1).
    pub pkce_allow_plain: Option<bool>,
    /// `settings.oauthClient.request_object_signing_alg` (RFC 9101 §10.5): the one JWS
    /// algorithm of this app's request objects; `None`: any of its method's.
    pub request_object_signing_alg: Option<String>,
    /// `settings.oauthClient.require_signed_request_object` (RFC 9101 §10.5).
    pub require_signed_request_object: bool,
    /// Front- and Back-Channel Logout: where the app hears of a sign-out (checked:
    /// `check_logout_channels`).
    pub logout: LogoutChannels,
    /// The server's `allow_private_jwks_uri` (development): a `jwks_uri` may name a
    /// loopback or private address. Not the app's: the caller passes its setting.
    pub allow_private_jwks_uri: bool,
}

pub const APPLICATION_TYPES: &[&str] = &["web", "native", "browser", "service"];

/// Okta allows a grace period of 0 to 60 seconds for refresh-token rotation.
pub const MAX_REFRESH_LEEWAY: i64 = 60;

/// The settings of an app, checked: what `create` and `update` store.
pub(super) struct Checked {
    pub(super) name: String,
    pub(super) auth_method: AuthMethod,
    pub(super) application_type: String,
    pub(super) redirect_uris: Vec<String>,
    pub(super) post_logout_redirect_uris: Vec<String>,
    pub(super) grant_types: Vec<String>,
    pub(super) response_types: Vec<String>,
    pub(super) refresh_token_leeway: i64,
    pub(super) jwks: Option<String>,
    pub(super) jwks_uri: Option<String>,
    pub(super) dpop_bound_access_tokens: bool,
    pub(super) require_pushed_authorization_requests: bool,
    pub(super) pkce_required: bool,
    pub(super) pkce_allow_plain: bool,
    pub(super) request_object_signing_alg: Option<String>,
    pub(super) require_signed_request_object: bool,
    pub(super) logout: LogoutChannels,
}

/// The request-object settings (RFC 9101 §10.5) of an app with `auth_method`: only an
/// app whose keys the server holds can sign request objects (`private_key_jwt` with
/// its public keys, asymmetric algorithms; `client_secret_jwt` with its sealed secret,
/// HMAC): the other methods keep only a hash of the secret, or none. `none` and an
/// algorithm of the other family are refused.
fn check_request_object_settings(
    auth_method: AuthMethod,
    alg: Option<String>,
    required: bool,
) -> Result<(Option<String>, bool), AdminError> {
    const FIELD: &str = "settings.oauthClient.request_object_signing_alg";
    let algs = crate::oauth::request_object::algs_for(auth_method);
    if algs.is_empty() && (alg.is_some() || required) {
        return Err(AdminError::invalid(
            FIELD,
            "request objects can be signed only by private_key_jwt and client_secret_jwt apps",
        ));
    }
    if let Some(alg) = &alg
        && !algs.contains(&alg.as_str())
    {
        return Err(AdminError::invalid(
            FIELD,
            format!("must be one of {} for {auth_method}", algs.join(", ")),
        ));
    }
    Ok((alg, required))
}

const PKCE_REQUIRED_FIELD: &str = "credentials.oauthClient.pkce_required";
const PKCE_ALLOW_PLAIN_FIELD: &str = "credentials.oauthClient.pkce_allow_plain";

/// An app's PKCE settings, `(pkce_required, pkce_allow_plain)`. A public client proves
/// nothing but its `client_id`, so PKCE with S256 is what binds its code to it (RFC 9700
/// §2.1.1): `pkce_required` is always on (turning it off is refused, as Okta refuses
/// it) and `plain` never allowed. A confidential client may go without PKCE (its secret
/// and the `nonce` protect the code, which RFC 9700 §2.1.1 allows for OpenID Connect
/// clients; Okta's own server-side middleware sends none), so `pkce_required` is off
/// unless asked for; `plain` only when allowed explicitly.
pub fn check_pkce_settings(
    public: bool,
    pkce_required: Option<bool>,
    pkce_allow_plain: Option<bool>,
) -> Result<(bool, bool), AdminError> {
    if public && pkce_required == Some(false) {
        return Err(AdminError::invalid(
            PKCE_REQUIRED_FIELD,
            "PKCE is required for public clients (token_endpoint_auth_method none) and cannot be turned off",
        ));
    }
    if public && pkce_allow_plain == Some(true) {
        return Err(AdminError::invalid(
            PKCE_ALLOW_PLAIN_FIELD,
            "public clients must use the S256 method; plain cannot be allowed",
        ));
    }
    Ok((
        public || pkce_required.unwrap_or(false),
        pkce_allow_plain.unwrap_or(false),
    ))
}

pub(super) const AUTH_METHOD_FIELD: &str = "credentials.oauthClient.token_endpoint_auth_method";
const GRANT_TYPES_FIELD: &str = "settings.oauthClient.grant_types";
const REDIRECT_URIS_FIELD: &str = "settings.oauthClient.redirect_uris";
const APPLICATION_TYPE_FIELD: &str = "settings.oauthClient.application_type";
pub(super) const JWKS_FIELD: &str = "settings.oauthClient.jwks";

/// A JWKS to register: public keys only (a private or symmetric member is refused,
/// naming it, in any key). Encryption keys (`use` `enc`) may be in the set and are
/// ignored (as when fetched from a `jwks_uri`, see `jose::parse_jwks`); every other key
/// must be a signature key this server can use — at least one — with distinct `kid`s
/// (required when there is more than one, so an assertion can name its key).
pub fn check_jwks(jwks: &Value) -> Result<String, AdminError> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| AdminError::invalid(JWKS_FIELD, "must be an object with a keys array"))?;
    if keys.is_empty() || keys.len() > MAX_JWKS_KEYS {
        return Err(AdminError::invalid(
            JWKS_FIELD,
            format!("must hold 1 to {MAX_JWKS_KEYS} keys"),
        ));
    }
    let mut kids: Vec<Option<String>> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        if key.get("use").and_then(Value::as_str) == Some("enc")
            && let Some(member) = key
                .as_object()
                .and_then(|m| jose::PRIVATE_MEMBERS.iter().find(|p| m.contains_key(**p)))
        {
            return Err(AdminError::invalid(
                JWKS_FIELD,
                format!(
                    "keys[{i}].{member}: a private key member must never be registered; register the public key only"
                ),
            ));
        }
        if key.get("use").and_then(Value::as_str) == Some("enc") {
            continue;
        }
        let parsed = jose::PublicJwk::parse(key).map_err(|e| match e {
            JoseError::PrivateMember(member) => AdminError::invalid(
                JWKS_FIELD,
                format!("keys[{i}].{member}: a private key member must never be registered; register the public key only"),
            ),
            other => AdminError::invalid(JWKS_FIELD, format!("keys[{i}]: {other}")),
        })?;
        if kids.contains(&parsed.kid) {
            return Err(AdminError::invalid(
                JWKS_FIELD,
                format!("keys[{i}].kid: each key needs a distinct kid"),
            ));
        }
        kids.push(parsed.kid);
    }
    if kids.is_empty() {
        return Err(AdminError::invalid(
            JWKS_FIELD,
            "must hold a signature key (use sig)",
        ));
    }
    if kids.len() > 1 && kids.iter().any(Option::is_none) {
        return Err(AdminError::invalid(
            JWKS_FIELD,
            "with more than one key, every key needs a kid",
        ));
    }
    Ok(jwks.to_string())
}

pub(super) fn check(new: NewApp) -> Result<Checked, AdminError> {
    if new.okta_name.as_deref().is_some_and(|n| n != OIDC_APP_NAME) {
        return Err(AdminError::invalid(
            "name",
            "only OpenID Connect apps (oidc_client) are supported",
        ));
    }
    if new
        .sign_on_mode
        .as_deref()
        .is_some_and(|m| m != "OPENID_CONNECT")
    {
        return Err(AdminError::invalid(
            "signOnMode",
            "only OPENID_CONNECT is supported",
        ));
    }
    let name = new.name.trim().to_string();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "label",
            "must be 1 to 100 printable characters",
        ));
    }
    let auth_method = match new.auth_method.as_deref() {
        None => AuthMethod::default(),
        Some(text) => AuthMethod::parse(text).ok_or_else(|| {
            AdminError::invalid(
                AUTH_METHOD_FIELD,
                format!("must be one of {}", AUTH_METHODS.join(", ")),
            )
        })?,
    };
    let public = auth_method == AuthMethod::None;
    let (pkce_required, pkce_allow_plain) =
        check_pkce_settings(public, new.pkce_required, new.pkce_allow_plain)?;
    let (jwks, jwks_uri) = match (auth_method, new.jwks, new.jwks_uri) {
        (AuthMethod::PrivateKeyJwt, Some(_), Some(_)) => {
            return Err(AdminError::invalid(
                JWKS_FIELD,
                "give jwks or jwks_uri, not both",
            ));
        }
        (AuthMethod::PrivateKeyJwt, Some(jwks), None) => (Some(check_jwks(&jwks)?), None),
        (AuthMethod::PrivateKeyJwt, None, Some(uri)) => (
            None,
            Some(check_jwks_uri(&uri, new.allow_private_jwks_uri)?),
        ),
        (AuthMethod::PrivateKeyJwt, None, None) => {
            return Err(AdminError::invalid(
                JWKS_FIELD,
                "private_key_jwt requires jwks or jwks_uri",
            ));
        }
        (_, None, None) => (None, None),
        _ => {
            return Err(AdminError::invalid(
                JWKS_FIELD,
                "jwks and jwks_uri are for private_key_jwt",
            ));
        }
    };
    let mut grant_types = dedup(new.grant_types);
    if grant_types.is_empty() {
        grant_types.push("authorization_code".into());
    }
    if let Some(bad) = grant_types.iter().find(|g| GrantType::parse(g).is_none()) {
        return Err(AdminError::invalid(
            GRANT_TYPES_FIELD,
            format!("{bad:?} is not supported"),
        ));
    }
    let has = |g: &str| grant_types.iter().any(|x| x == g);
    if has("client_credentials") && public {
        return Err(AdminError::invalid(
            GRANT_TYPES_FIELD,
            "client_credentials requires a confidential client",
        ));
    }
    if has(GrantType::TokenExchange.as_str()) && public {
        return Err(AdminError::invalid(
            GRANT_TYPES_FIELD,
            "urn:ietf:params:oauth:grant-type:token-exchange requires a confidential client",
        ));
    }
    // A refresh token comes from a grant with a user: the code or the device grant.
    if has("refresh_token") && !has("authorization_code") && !has(device_code::GRANT_TYPE) {
        return Err(AdminError::invalid(
            GRANT_TYPES_FIELD,
            "refresh_token requires authorization_code or urn:ietf:params:oauth:grant-type:device_code",
        ));
    }
    let mut response_types: Vec<String> = if has("authorization_code") {
        vec!["code".into()]
    } else {
        vec![]
    };
    if let Some(given) = new.response_types.map(dedup).filter(|g| !g.is_empty()) {
        // Okta's service app says `["token"]` with client_credentials alone: kept and
        // shown back; it opens no flow at /authorize, which answers only `code`.
        let service_token =
            !has("authorization_code") && has("client_credentials") && given == ["token"];
        if service_token {
            response_types = given;
        } else if given != response_types {
            return Err(AdminError::invalid(
                "settings.oauthClient.response_types",
                "must be [\"code\"] with authorization_code (the implicit and hybrid flows are not supported), [\"token\"] or empty with client_credentials alone, else empty",
            ));
        }
    }
    let refresh_token_leeway = new.refresh_token_leeway.unwrap_or(0);
    if !(0..=MAX_REFRESH_LEEWAY).contains(&refresh_token_leeway) {
        return Err(AdminError::invalid(
            "settings.oauthClient.refresh_token.leeway",
            "must be between 0 and 60 seconds",
        ));
    }
    let redirect_uris = dedup(new.redirect_uris);
    if has("authorization_code") && redirect_uris.is_empty() {
        return Err(AdminError::invalid(
            REDIRECT_URIS_FIELD,
            "at least one is required for authorization_code",
        ));
    }
    let redirect_uris = dedup(
        redirect_uris
            .iter()
            .map(|uri| check_redirect_uri(REDIRECT_URIS_FIELD, uri, public))
            .collect::<Result<_, _>>()?,
    );
    let post_logout_redirect_uris = dedup(
        dedup(new.post_logout_redirect_uris)
            .iter()
            .map(|uri| {
                check_redirect_uri(
                    "settings.oauthClient.post_logout_redirect_uris",
                    uri,
                    public,
                )
            })
            .collect::<Result<_, _>>()?,
    );
    let derived = if !has("authorization_code") && has(device_code::GRANT_TYPE) && public {
        // Okta's app for a TV or a CLI: a public native app with the device grant.
        "native"
    } else if !has("authorization_code") {
        "service"
    } else if !public {
        "web"
    } else if redirect_uris
        .iter()
        .any(|u| !u.starts_with("http://") && !u.starts_with("https://"))
    {
        "native"
    } else {
        "browser"
    };
    let application_type = match new.application_type {
        None => derived.to_string(),
        Some(given) if !APPLICATION_TYPES.contains(&given.as_str()) => {
            return Err(AdminError::invalid(
                APPLICATION_TYPE_FIELD,
                format!("must be one of {}", APPLICATION_TYPES.join(", ")),
            ));
        }
        Some(given) => {
            let fits = match given.as_str() {
                "service" => !has("authorization_code") && !public,
                "web" => has("authorization_code") && !public,
                "browser" => has("authorization_code") && public,
                "native" => has("authorization_code") || has(device_code::GRANT_TYPE),
                _ => has("authorization_code"),
            };
            if !fits {
                return Err(AdminError::invalid(
                    APPLICATION_TYPE_FIELD,
                    format!(
                        "{given:?} does not fit the grant types and authentication method (a {derived} app)"
                    ),
                ));
            }
            given
        }
    };
    let logout = LogoutChannels {
        frontchannel_logout_uri: new
            .logout
            .frontchannel_logout_uri
            .map(|uri| check_frontchannel_logout_uri(&uri, &redirect_uris))
            .transpose()?,
        backchannel_logout_uri: new
            .logout
            .backchannel_logout_uri
            .map(|uri| check_backchannel_logout_uri(&uri, new.allow_private_jwks_uri))
            .transpose()?,
        ..new.logout
    };
    let (request_object_signing_alg, require_signed_request_object) =
        check_request_object_settings(
            auth_method,
            new.request_object_signing_alg,
            new.require_signed_request_object,
        )?;
    Ok(Checked {
        name,
        auth_method,
        application_type,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        response_types,
        refresh_token_leeway,
        jwks,
        jwks_uri,
        dpop_bound_access_tokens: new.dpop_bound_access_tokens.unwrap_or(false),
        require_pushed_authorization_requests: new.require_pushed_authorization_requests,
        pkce_required,
        pkce_allow_plain,
        request_object_signing_alg,
        require_signed_request_object,
        logout,
    })
}
