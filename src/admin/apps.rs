//! OpenID Connect apps (OAuth clients): register, change, activate and deactivate,
//! delete, rotate the secret, and assign users and groups, in Okta's app shape.

use serde_json::{Value, json};
use url::{Host, Url};

use super::filter::{self, Attr, Kind};
use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, dedup, groups, users};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::{MasterKey, hex, hex_decode, okta_id, random_token};
use crate::store::{
    AuthMethod, Client, ClientSecret, DynStore, Expr, Group, Page, SqlValue, Status, User,
};
use crate::tokens::jose::{self, JoseError};

/// RFC 6749 §2.3.1, RFC 7523 §2.2 and OpenID Connect Core §9, as Okta names them.
pub const AUTH_METHODS: &[&str] = crate::oauth::client_auth::METHODS;
/// Okta allows two secrets per app: one in use and its replacement.
pub const MAX_SECRETS: usize = 2;
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
    /// The server's `allow_private_jwks_uri` (development): a `jwks_uri` may name a
    /// loopback or private address. Not the app's: the caller passes its setting.
    pub allow_private_jwks_uri: bool,
}

/// Okta's app `name` for an OpenID Connect app.
pub const OIDC_APP_NAME: &str = "oidc_client";
pub const APPLICATION_TYPES: &[&str] = &["web", "native", "browser", "service"];

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
///
/// Answers the URI as it is stored: as given, except that an internationalised host is
/// stored in its ASCII (punycode) form, the form a browser puts on the wire.
pub fn check_redirect_uri(
    field: &'static str,
    uri: &str,
    public_client: bool,
) -> Result<String, AdminError> {
    if uri.len() > 2000 || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AdminError::invalid(
            field,
            format!("{uri:?} is not a valid URI"),
        ));
    }
    let url = Url::parse(uri)
        .map_err(|_| AdminError::invalid(field, format!("{uri:?} is not an absolute URI")))?;
    check_uri_host(field, uri, &url)?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(AdminError::invalid(
            field,
            format!("{uri:?} must not have a fragment"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AdminError::invalid(
            field,
            format!("{uri:?} must not have user information"),
        ));
    }
    let stored = if uri.is_ascii() {
        uri.to_string()
    } else {
        url.to_string()
    };
    match url.scheme() {
        "https" => Ok(stored),
        "http" if is_loopback(&url) => Ok(stored),
        "http" => Err(AdminError::invalid(
            field,
            format!("{uri:?} must use https (http is allowed only for loopback)"),
        )),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "ftp" | "ws" | "wss" => {
            Err(AdminError::invalid(
                field,
                format!("{uri:?} uses a scheme that is not allowed"),
            ))
        }
        _ if public_client => Ok(stored),
        _ => Err(AdminError::invalid(
            field,
            format!("{uri:?}: custom schemes are for native apps (auth method none)"),
        )),
    }
}

/// What a registered URI's authority must be, whatever its scheme: no wildcard
/// (`*` anywhere: redirect URIs are compared as exact strings, RFC 9700 §4.1.3, and a
/// pattern would only mislead whoever reads the registration); for `http(s)`, written
/// `scheme://host` with a host (`https:///cb`, `https:/cb` and `https:cb` are read by
/// URL parsers as the host `cb`: refused, not guessed); and no label of the host mixing
/// Latin, Cyrillic and Greek letters, the look-alikes of a phishing registration
/// (`аpple.com` with a Cyrillic `а`), whether given in Unicode or punycode.
pub fn check_uri_host(field: &'static str, uri: &str, url: &Url) -> Result<(), AdminError> {
    if uri.contains('*') {
        return Err(AdminError::invalid(
            field,
            format!("{uri:?}: wildcards are not allowed; register each URI exactly"),
        ));
    }
    if matches!(url.scheme(), "http" | "https") {
        let rest = &uri[url.scheme().len()..];
        let authority_given = rest
            .strip_prefix("://")
            .is_some_and(|r| !r.is_empty() && !r.starts_with(['/', '?', '#']));
        if !authority_given || url.host().is_none() {
            return Err(AdminError::invalid(
                field,
                format!("{uri:?} has no host (write scheme://host/path)"),
            ));
        }
    }
    if let Some(Host::Domain(ascii)) = url.host() {
        let (unicode, _) = idna::domain_to_unicode(ascii);
        if let Some(label) = unicode.split('.').find(|l| mixes_scripts(l)) {
            return Err(AdminError::invalid(
                field,
                format!(
                    "{uri:?}: the host label {label:?} mixes Latin, Cyrillic or Greek letters (a look-alike of another name)"
                ),
            ));
        }
    }
    Ok(())
}

/// The scripts whose letters pass for each other in a host name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
}

fn script(c: char) -> Option<Script> {
    match c as u32 {
        _ if c.is_ascii_alphabetic() => Some(Script::Latin),
        0x00C0..=0x024F | 0x1E00..=0x1EFF => Some(Script::Latin),
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Some(Script::Greek),
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => {
            Some(Script::Cyrillic)
        }
        _ => None,
    }
}

/// True when `label` has letters of two of Latin, Cyrillic and Greek (digits, hyphens
/// and other scripts count for none).
pub fn mixes_scripts(label: &str) -> bool {
    let mut seen: Option<Script> = None;
    for s in label.chars().filter_map(script) {
        match seen {
            None => seen = Some(s),
            Some(first) if first != s => return true,
            _ => {}
        }
    }
    false
}

/// The settings of an app, checked: what `create` and `update` store.
struct Checked {
    name: String,
    auth_method: AuthMethod,
    application_type: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    response_types: Vec<String>,
    refresh_token_leeway: i64,
    jwks: Option<String>,
    jwks_uri: Option<String>,
    dpop_bound_access_tokens: bool,
    require_pushed_authorization_requests: bool,
    pkce_required: bool,
    pkce_allow_plain: bool,
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

const AUTH_METHOD_FIELD: &str = "credentials.oauthClient.token_endpoint_auth_method";
const GRANT_TYPES_FIELD: &str = "settings.oauthClient.grant_types";
const REDIRECT_URIS_FIELD: &str = "settings.oauthClient.redirect_uris";
const APPLICATION_TYPE_FIELD: &str = "settings.oauthClient.application_type";
const JWKS_FIELD: &str = "settings.oauthClient.jwks";
const JWKS_URI_FIELD: &str = "settings.oauthClient.jwks_uri";

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

/// A `jwks_uri`: an absolute https URL without user information or fragment, whose
/// host is not one that is clearly this server's own network: a loopback, private,
/// link-local (the cloud metadata address 169.254.169.254 among them), CGNAT or other
/// non-public literal address, `localhost` or a name under it, or a cloud metadata
/// name. `allow_private` (the server's `allow_private_jwks_uri`, for development)
/// lifts that and allows plain http to such hosts. A name that resolves to such an
/// address is refused again at each fetch (`tokens::remote_jwks`), which resolves it.
pub fn check_jwks_uri(uri: &str, allow_private: bool) -> Result<String, AdminError> {
    let url = Url::parse(uri)
        .map_err(|_| AdminError::invalid(JWKS_URI_FIELD, "must be an absolute URL"))?;
    check_uri_host(JWKS_URI_FIELD, uri, &url)?;
    let private = match url.host() {
        Some(Host::Ipv4(ip)) => !crate::tokens::remote_jwks::is_public(ip.into()),
        Some(Host::Ipv6(ip)) => !crate::tokens::remote_jwks::is_public(ip.into()),
        Some(Host::Domain(name)) => internal_name(name),
        None => true,
    };
    if private && !allow_private {
        return Err(AdminError::invalid(
            JWKS_URI_FIELD,
            "must not point at a loopback, private, link-local or metadata address (allow_private_jwks_uri is for development)",
        ));
    }
    if uri.len() > 2000
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
    {
        return Err(AdminError::invalid(
            JWKS_URI_FIELD,
            "must not have user information or a fragment",
        ));
    }
    match url.scheme() {
        "https" => Ok(url.to_string()),
        "http" if allow_private && private => Ok(url.to_string()),
        _ => Err(AdminError::invalid(JWKS_URI_FIELD, "must use https")),
    }
}

/// Names that are clearly a machine's own or its cloud's internal ones: `localhost` and
/// names under it (RFC 6761 §6.3), the metadata service names of the large clouds, and
/// the `.internal`, `.local` and `.localdomain` suffixes that never resolve publicly.
fn internal_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let under = |suffix: &str| name == suffix || name.ends_with(&format!(".{suffix}"));
    under("localhost")
        || under("internal")
        || under("local")
        || under("localdomain")
        || matches!(name.as_str(), "metadata" | "instance-data")
}

fn check(new: NewApp) -> Result<Checked, AdminError> {
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
    if let Some(bad) = grant_types
        .iter()
        .find(|g| crate::oauth::grants::GrantType::parse(g).is_none())
    {
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
    if has("refresh_token") && !has("authorization_code") {
        return Err(AdminError::invalid(
            GRANT_TYPES_FIELD,
            "refresh_token requires authorization_code",
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
    let derived = if !has("authorization_code") {
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
    })
}

/// A new ACTIVE secret and its value. For `client_secret_jwt` a copy is also sealed
/// under the master key (AES-256-GCM, the client and secret ids authenticated): an
/// HMAC-signed assertion can only be checked with the secret itself. For every other
/// method only the keyed hash is kept.
///
/// A `client_secret_jwt` secret is 512 random bits (86 base64url characters): RFC 7518
/// §3.2 wants an HMAC key at least as long as the hash, so HS512 needs 64 bytes.
fn new_secret(
    master: &MasterKey,
    client_id: &str,
    auth_method: AuthMethod,
    now: UnixTime,
) -> (ClientSecret, String) {
    let value = if auth_method == AuthMethod::ClientSecretJwt {
        crate::crypto::b64url(&crate::crypto::random_bytes::<64>())
    } else {
        random_token()
    };
    let id = okta_id("ocs");
    let sealed = (auth_method == AuthMethod::ClientSecretJwt)
        .then(|| hex(&master.encrypt(value.as_bytes(), &sealing_context(client_id, &id))));
    let secret = ClientSecret {
        hash: hex(&master.hash_client_secret(&value)),
        sealed,
        id,
        status: Status::Active,
        created: now,
        updated: now,
    };
    (secret, value)
}

fn sealing_context(client_id: &str, secret_id: &str) -> Vec<u8> {
    format!("client-secret\0{client_id}\0{secret_id}").into_bytes()
}

/// The values of a `client_secret_jwt` client's ACTIVE secrets, unsealed: the HMAC keys
/// its assertions may be signed with.
pub fn jwt_secrets(client: &Client, master: &MasterKey) -> Vec<Vec<u8>> {
    client
        .secrets
        .iter()
        .filter(|s| s.is_active())
        .filter_map(|s| {
            let sealed = hex_decode(s.sealed.as_deref()?)?;
            master
                .decrypt(&sealed, &sealing_context(&client.client_id, &s.id))
                .ok()
        })
        .collect()
}

/// Validates and stores a new app (ACTIVE unless `activate` is false); a
/// confidential one gets a fresh secret.
pub async fn create(
    store: &DynStore,
    master: &MasterKey,
    actor: &Actor,
    new: NewApp,
    now: UnixTime,
) -> Result<CreatedApp, AdminError> {
    let active = new.activate.unwrap_or(true);
    let c = check(new)?;
    let client_id = okta_id("0oa");
    let (secrets, secret) = match c.auth_method.uses_secret() {
        true => {
            let (stored, value) = new_secret(master, &client_id, c.auth_method, now);
            (vec![stored], Some(value))
        }
        false => (vec![], None),
    };
    let client = Client {
        client_id,
        name: c.name,
        secrets,
        auth_method: c.auth_method,
        jwks: c.jwks,
        jwks_uri: c.jwks_uri,
        dpop_bound_access_tokens: c.dpop_bound_access_tokens,
        application_type: c.application_type,
        response_types: c.response_types,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        grant_types: c.grant_types,
        refresh_token_leeway: c.refresh_token_leeway,
        require_pushed_authorization_requests: c.require_pushed_authorization_requests,
        pkce_required: c.pkce_required,
        pkce_allow_plain: c.pkce_allow_plain,
        status: Status::active_if(active),
        created_at: now,
        updated_at: now,
        version: 0,
    };
    store.insert_client(&client).await?;
    let target = Target::app(&client).changed(None, Some(to_json(&client, None)));
    syslog::record(
        store,
        actor,
        Event::success(
            "application.lifecycle.create",
            "Add application",
            vec![target],
        ),
        now,
    )
    .await;
    Ok(CreatedApp { client, secret })
}

/// An app by client id.
pub async fn find(store: &DynStore, client_id: &str) -> Result<Client, AdminError> {
    store
        .get_client(client_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("app {client_id}")))
}

/// How many times a read-modify-write of an app is retried when another write got in
/// between its read and its write.
const WRITE_ATTEMPTS: usize = 5;

/// A read-modify-write of one app under optimistic concurrency: `change` decides from
/// the current row alone (`Ok(None)`: nothing to write) and the write applies only if
/// the row is still the one read (`ClientStore::update_client` checks its version);
/// otherwise the row is read again and `change` decides again. So no operation ever
/// writes a stale list of secrets over a concurrent one (a deactivated, leaked secret
/// brought back; a created one lost). Answers the row read and, if written, the new row.
async fn modify<T>(
    store: &DynStore,
    client_id: &str,
    mut change: impl FnMut(&Client) -> Result<Option<(Client, T)>, AdminError>,
) -> Result<(Client, Option<(Client, T)>), AdminError> {
    for _ in 0..WRITE_ATTEMPTS {
        let before = find(store, client_id).await?;
        let Some((mut after, extra)) = change(&before)? else {
            return Ok((before, None));
        };
        after.version = before.version;
        if store.update_client(&after).await? {
            after.version += 1;
            return Ok((before, Some((after, extra))));
        }
        // Changed (or deleted) since read: `find` tells which on the next round.
    }
    Err(AdminError::Conflict(format!(
        "app {client_id} was changed concurrently; retry"
    )))
}

/// Okta's PUT: new settings for an app. A public client stays public and a
/// confidential one confidential (its secrets are kept); the status does not change.
///
/// Switching to `client_secret_jwt` needs a secret this server can key HMAC with, which
/// secrets made for the other methods are not (only their keyed hash is stored). As
/// Okta has the admin generate a new secret for it, so does this: when no ACTIVE secret
/// has a sealed copy, the switch generates a new sealed ACTIVE secret, answered once
/// (as at creation) — refused when the app already has `MAX_SECRETS`. Switching away
/// from `client_secret_jwt` drops the sealed copies (RFC 7523 §2.2).
pub async fn update(
    store: &DynStore,
    master: &MasterKey,
    actor: &Actor,
    client_id: &str,
    new: NewApp,
    now: UnixTime,
) -> Result<(Client, Option<String>), AdminError> {
    super::console::not_the_console(client_id)?;
    let c = check(new)?;
    let (before, written) = modify(store, client_id, |before| {
        if (c.auth_method == AuthMethod::None) != before.is_public() {
            return Err(AdminError::invalid(
                AUTH_METHOD_FIELD,
                "cannot change between none (a public client) and a client secret; create a new app",
            ));
        }
        if c.auth_method.uses_secret() && !before.secrets.iter().any(ClientSecret::is_active) {
            return Err(AdminError::invalid(AUTH_METHOD_FIELD, "the app has no active client secret; create one first"));
        }
        let mut secrets = before.secrets.clone();
        let mut value = None;
        if c.auth_method == AuthMethod::ClientSecretJwt && !secrets.iter().any(|s| s.is_active() && s.sealed.is_some()) {
            if secrets.len() >= MAX_SECRETS {
                return Err(AdminError::invalid(
                    AUTH_METHOD_FIELD,
                    format!("client_secret_jwt needs a new client secret (the existing ones are kept only as hashes) and the app already has {MAX_SECRETS}; deactivate and delete one first"),
                ));
            }
            let (stored, shown) = new_secret(master, client_id, AuthMethod::ClientSecretJwt, now);
            secrets.push(stored);
            value = Some(shown);
        }
        if c.auth_method != AuthMethod::ClientSecretJwt {
            for s in &mut secrets {
                s.sealed = None;
            }
        }
        let client = Client {
            name: c.name.clone(),
            secrets,
            auth_method: c.auth_method,
            jwks: c.jwks.clone(),
            jwks_uri: c.jwks_uri.clone(),
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            application_type: c.application_type.clone(),
            response_types: c.response_types.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            grant_types: c.grant_types.clone(),
            refresh_token_leeway: c.refresh_token_leeway,
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            pkce_required: c.pkce_required,
            pkce_allow_plain: c.pkce_allow_plain,
            updated_at: now,
            ..before.clone()
        };
        Ok(Some((client, value)))
    })
    .await?;
    let (client, value) = written.expect("update always writes");
    let target =
        Target::app(&client).changed(Some(to_json(&before, None)), Some(to_json(&client, None)));
    syslog::record(
        store,
        actor,
        Event::success(
            "application.lifecycle.update",
            "Update application",
            vec![target],
        ),
        now,
    )
    .await;
    Ok((client, value))
}

/// Activates (`true`) or deactivates an app. An inactive app is refused at /token
/// (`invalid_client`) and /authorize (an error page); its tokens stop introspecting.
pub async fn set_active(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    active: bool,
    now: UnixTime,
) -> Result<Client, AdminError> {
    if !active {
        super::console::not_the_console(client_id)?;
    }
    let status = Status::active_if(active);
    let (before, written) = modify(store, client_id, |before| {
        Ok((before.status != status).then(|| {
            (
                Client {
                    status,
                    updated_at: now,
                    ..before.clone()
                },
                (),
            )
        }))
    })
    .await?;
    let Some((client, ())) = written else {
        return Ok(before);
    };
    let (event_type, message) = if active {
        ("application.lifecycle.activate", "Activate application")
    } else {
        ("application.lifecycle.deactivate", "Deactivate application")
    };
    let target = Target::app(&client).changed(
        Some(json!({ "status": before.status })),
        Some(json!({ "status": status })),
    );
    syslog::record(
        store,
        actor,
        Event::success(event_type, message, vec![target]),
        now,
    )
    .await;
    Ok(client)
}

/// Deletes an app; as in Okta, only an INACTIVE one.
pub async fn delete(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    super::console::not_the_console(client_id)?;
    let client = find(store, client_id).await?;
    if client.status != Status::Inactive {
        return Err(AdminError::not_allowed(
            "E0000056",
            "Delete application forbidden: the application must be deactivated first.",
        ));
    }
    if !store.delete_client(client_id).await? {
        return Err(AdminError::NotFound(format!("app {client_id}")));
    }
    let target = Target::app(&client).changed(Some(to_json(&client, None)), None);
    syslog::record(
        store,
        actor,
        Event::success(
            "application.lifecycle.delete",
            "Delete application",
            vec![target],
        ),
        now,
    )
    .await;
    Ok(())
}

const SECRETS_FIELD: &str = "credentials.oauthClient.client_secret";

/// Okta's `POST /apps/{id}/credentials/secrets`: a new ACTIVE secret beside the one in
/// use (at most `MAX_SECRETS`), so clients can move to it before the old one is
/// deactivated. For `client_secret_jwt` apps the new secret is also sealed (see
/// `new_secret`).
pub async fn create_secret(
    store: &DynStore,
    master: &MasterKey,
    actor: &Actor,
    client_id: &str,
    now: UnixTime,
) -> Result<(Client, ClientSecret, String), AdminError> {
    let (_, written) = modify(store, client_id, |before| {
        // A private_key_jwt app may hold a secret too: it is unused until the app switches
        // to a secret method (which needs one). A public client never has one.
        if before.is_public() {
            return Err(AdminError::invalid(
                AUTH_METHOD_FIELD,
                "a public client (none) has no secret",
            ));
        }
        if before.secrets.len() >= MAX_SECRETS {
            return Err(AdminError::invalid(
                SECRETS_FIELD,
                format!(
                    "an app has at most {MAX_SECRETS} secrets; deactivate and delete one first"
                ),
            ));
        }
        let (stored, value) = new_secret(master, &before.client_id, before.auth_method, now);
        let mut client = before.clone();
        client.secrets.push(stored.clone());
        client.updated_at = now;
        Ok(Some((client, (stored, value))))
    })
    .await?;
    let (client, (stored, value)) = written.expect("create_secret always writes");
    let event = Event::success(
        "application.lifecycle.update",
        "Create a client secret for the application",
        vec![Target::app(&client)],
    );
    syslog::record(store, actor, event, now).await;
    Ok((client, stored, value))
}

/// Okta's `lifecycle/activate|deactivate` of one secret. The last ACTIVE secret of an
/// app cannot be deactivated (the app would be locked out).
pub async fn set_secret_active(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    secret_id: &str,
    active: bool,
    now: UnixTime,
) -> Result<ClientSecret, AdminError> {
    let status = Status::active_if(active);
    let (before, written) = modify(store, client_id, |before| {
        let index = before
            .secrets
            .iter()
            .position(|s| s.id == secret_id)
            .ok_or_else(|| AdminError::NotFound(format!("secret {secret_id}")))?;
        if before.secrets[index].status == status {
            return Ok(None);
        }
        if !active && before.secrets.iter().filter(|s| s.is_active()).count() == 1 {
            return Err(AdminError::not_allowed(
                "E0000001",
                "Api validation failed: cannot deactivate the only active client secret.",
            ));
        }
        let mut client = before.clone();
        client.secrets[index].status = status;
        client.secrets[index].updated = now;
        client.updated_at = now;
        Ok(Some((client, index)))
    })
    .await?;
    let Some((client, index)) = written else {
        return before
            .secrets
            .iter()
            .find(|s| s.id == secret_id)
            .cloned()
            .ok_or_else(|| AdminError::NotFound(format!("secret {secret_id}")));
    };
    let message = if active {
        "Activate a client secret of the application"
    } else {
        "Deactivate a client secret of the application"
    };
    syslog::record(
        store,
        actor,
        Event::success(
            "application.lifecycle.update",
            message,
            vec![Target::app(&client)],
        ),
        now,
    )
    .await;
    Ok(client.secrets[index].clone())
}

/// Okta's `DELETE /apps/{id}/credentials/secrets/{secretId}`: only an INACTIVE secret.
pub async fn delete_secret(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    secret_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let (_, written) = modify(store, client_id, |before| {
        let index = before.secrets.iter().position(|s| s.id == secret_id).ok_or_else(|| AdminError::NotFound(format!("secret {secret_id}")))?;
        if before.secrets[index].is_active() {
            return Err(AdminError::not_allowed("E0000001", "Api validation failed: cannot delete an active client secret; deactivate it first."));
        }
        let mut client = before.clone();
        client.secrets.remove(index);
        client.updated_at = now;
        Ok(Some((client, ())))
    })
    .await?;
    let (client, ()) = written.expect("delete_secret always writes");
    syslog::record(
        store,
        actor,
        Event::success(
            "application.lifecycle.update",
            "Delete a client secret of the application",
            vec![Target::app(&client)],
        ),
        now,
    )
    .await;
    Ok(())
}

pub async fn assign_user(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    user: &str,
    now: UnixTime,
) -> Result<(Client, User), AdminError> {
    let client = find(store, client_id).await?;
    let user = users::find(store, user).await?;
    if store.assign_user(&client.client_id, &user.id, now).await? {
        let event = Event::success(
            "application.user_membership.add",
            "Add user to application membership",
            vec![Target::user(&user), Target::app(&client)],
        );
        syslog::record(store, actor, event, now).await;
    }
    Ok((client, user))
}

pub async fn unassign_user(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    user: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let client = find(store, client_id).await?;
    let user = users::find(store, user).await?;
    if !store.unassign_user(&client.client_id, &user.id).await? {
        return Err(AdminError::NotFound(format!(
            "user {} is not assigned to app {}",
            user.id, client.client_id
        )));
    }
    let event = Event::success(
        "application.user_membership.remove",
        "Remove user from application membership",
        vec![Target::user(&user), Target::app(&client)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}

pub async fn assign_group(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    group: &str,
    priority: Option<i64>,
    now: UnixTime,
) -> Result<(Client, Group, i64), AdminError> {
    let client = find(store, client_id).await?;
    let group = groups::find(store, group).await?;
    let priority = priority.unwrap_or(0);
    if !(0..=100).contains(&priority) {
        return Err(AdminError::invalid("priority", "must be between 0 and 100"));
    }
    if store
        .assign_group(&client.client_id, &group.id, priority, now)
        .await?
    {
        let event = Event::success(
            "group.application_assignment.add",
            "Add assigned application to group",
            vec![Target::group(&group), Target::app(&client)],
        );
        syslog::record(store, actor, event, now).await;
    }
    Ok((client, group, priority))
}

pub async fn unassign_group(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    group: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let client = find(store, client_id).await?;
    let group = groups::find(store, group).await?;
    if !store.unassign_group(&client.client_id, &group.id).await? {
        return Err(AdminError::NotFound(format!(
            "group {} is not assigned to app {}",
            group.id, client.client_id
        )));
    }
    let event = Event::success(
        "group.application_assignment.remove",
        "Remove assigned application from group",
        vec![Target::group(&group), Target::app(&client)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}

/// What `filter` may name on apps.
pub const APP_ATTRS: &[Attr] = &[
    Attr {
        name: "id",
        column: "client_id",
        kind: Kind::Text,
    },
    Attr {
        name: "status",
        column: "status",
        kind: Kind::Text,
    },
    Attr {
        name: "label",
        column: "name",
        kind: Kind::Text,
    },
    Attr {
        name: "created",
        column: "created_at",
        kind: Kind::Time,
    },
    Attr {
        name: "lastUpdated",
        column: "updated_at",
        kind: Kind::Time,
    },
];

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 200;

/// One page of apps (ordered by id; `q` a prefix of the label) and the next cursor.
pub async fn list(
    store: &DynStore,
    q: Option<&str>,
    filter_text: Option<&str>,
    after: Option<String>,
    limit: Option<i64>,
) -> Result<(Vec<Client>, Option<String>), AdminError> {
    let limit = filter::limit(limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let mut conditions = Vec::new();
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        conditions.push(users::prefix_of_names(q, &["name"])?);
    }
    if let Some(text) = filter_text.filter(|t| !t.trim().is_empty()) {
        conditions.push(filter::parse("filter", text, APP_ATTRS)?);
    }
    let page = Page {
        filter: (!conditions.is_empty()).then_some(Expr::And(conditions)),
        after: after.map(SqlValue::Text),
        limit: limit + 1,
    };
    let clients = store.query_clients(&page).await?;
    Ok(users::next_page(clients, limit, |c| c.client_id.clone()))
}

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
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://app.example.com/cb",
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/x",
        ] {
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

    #[test]
    fn wildcards_missing_hosts_and_look_alikes_are_refused_idn_stored_as_punycode() {
        for bad in [
            "https://*.example.com/cb",
            "https://app.example.com/*",
            "com.example.*:/cb",
            "https:///cb",
            "https:/cb",
            "https:cb",
            "http:///127.0.0.1/cb",
            "https://\u{430}pple.com/cb",
            "https://p\u{430}ypal.example/cb",
            "https://\u{3bf}ne.example/cb",
        ] {
            assert!(check_redirect_uri("r", bad, true).is_err(), "{bad}");
        }
        let punycode = idna::domain_to_ascii("\u{430}pple.com").unwrap();
        assert!(punycode.starts_with("xn--"));
        assert!(check_redirect_uri("r", &format!("https://{punycode}/cb"), true).is_err());
        // Whole labels in one script are names like any other; stored in ASCII.
        assert_eq!(
            check_redirect_uri("r", "https://b\u{fc}cher.example/cb", false).unwrap(),
            "https://xn--bcher-kva.example/cb"
        );
        assert_eq!(
            check_redirect_uri(
                "r",
                "https://\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{440}\u{444}/cb",
                false
            )
            .unwrap(),
            "https://xn--e1afmkfd.xn--p1ai/cb"
        );
        assert!(check_redirect_uri("r", "https://xn--bcher-kva.example/cb", false).is_ok());
        assert!(check_redirect_uri("r", "com.example.app:/cb", true).is_ok());
        assert!(
            mixes_scripts("\u{430}pple")
                && !mixes_scripts("app-1")
                && !mixes_scripts("\u{444}\u{43e}\u{442}\u{43e}")
        );
    }

    #[test]
    fn jwks_uri_on_internal_addresses_only_when_allowed() {
        for bad in [
            "https://127.0.0.1/jwks",
            "https://10.1.2.3/jwks",
            "https://192.168.0.1/jwks",
            "https://172.16.0.1/jwks",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/jwks",
            "https://[::1]/jwks",
            "https://[fd00::1]/jwks",
            "https://[fe80::1]/jwks",
            "https://[::ffff:127.0.0.1]/jwks",
            "https://0.0.0.0/jwks",
            "https://localhost/jwks",
            "https://api.localhost/jwks",
            "https://metadata.google.internal/computeMetadata/v1/",
            "https://metadata/jwks",
            "https://printer.local/jwks",
            "http://127.0.0.1:8080/jwks",
        ] {
            assert!(check_jwks_uri(bad, false).is_err(), "{bad}");
        }
        assert!(check_jwks_uri("http://127.0.0.1:8080/jwks", true).is_ok());
        assert!(check_jwks_uri("https://10.1.2.3/jwks", true).is_ok());
        assert!(
            check_jwks_uri("http://keys.example.com/jwks", true).is_err(),
            "http only to private hosts"
        );
        assert!(check_jwks_uri("https://keys.example.com/jwks", false).is_ok());
        assert!(check_jwks_uri("https://*.example.com/jwks", true).is_err());
        assert!(check_jwks_uri("https:///jwks", true).is_err());
    }
}
