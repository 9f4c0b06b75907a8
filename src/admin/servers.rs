//! Authorization servers and their scopes and claims. The org server and `default`
//! exist from the first start; more custom servers can be added. As in Okta, the org
//! server's scopes, claims and policies are fixed.

use serde_json::{Value, json};

use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, check_text, dedup};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::okta_id;
use crate::oauth::policy::{ALL_CLIENTS, ANY_SCOPE, DEFAULT_LIFETIMES, EVERYONE};
use crate::oauth::scope::Scope;
use crate::store::{
    AuthServer, ClaimDef, DEFAULT_SERVER_ID, DynStore, ORG_SERVER_ID, Policy, PolicyRule, ScopeDef,
    ServerSeed, Status, StoreError,
};
use crate::tokens::custom_claims::{self, Expression, GroupFilter};
use crate::tokens::keys;

/// OpenID Connect Core §5.4's scopes and `offline_access` (§11): every server has them.
pub const SYSTEM_SCOPES: &[(&str, &str)] = &[
    ("openid", "Signals that a request is an OpenID request."),
    (
        "profile",
        "Allows this application to access your profile information.",
    ),
    (
        "email",
        "Allows this application to access your email address.",
    ),
    ("address", "Allows this application to access your address."),
    (
        "phone",
        "Allows this application to access your phone number.",
    ),
    (
        "offline_access",
        "Allows this application to access your data when you are not using it.",
    ),
];

/// The scope that asks for the `groups` claim on the `default` server.
pub const GROUPS_SCOPE: &str = "groups";

/// The servers every Gatehouse has: Okta's org server and the custom server `default`
/// (audience `api://default`).
pub fn builtin_servers(now: UnixTime) -> [AuthServer; 2] {
    [
        server(
            ORG_SERVER_ID,
            "Org Authorization Server",
            "The org authorization server",
            None,
            now,
        ),
        server(
            DEFAULT_SERVER_ID,
            "default",
            "Default Authorization Server",
            Some("api://default"),
            now,
        ),
    ]
}

fn server(
    id: &str,
    name: &str,
    description: &str,
    audience: Option<&str>,
    now: UnixTime,
) -> AuthServer {
    AuthServer {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        audience: audience.map(str::to_string),
        access_token_ttl: DEFAULT_LIFETIMES.access_token,
        id_token_ttl: 3600,
        access_token_typ_at_jwt: true,
        signing_alg: "RS256".into(),
        status: Status::Active,
        created_at: now,
        updated_at: now,
        settings_version: 0,
        introspection_restricted: false,
        resource_servers: vec![],
    }
}

fn scope_def(
    server_id: &str,
    name: &str,
    description: &str,
    system: bool,
    now: UnixTime,
) -> ScopeDef {
    ScopeDef {
        id: okta_id("scp"),
        server_id: server_id.into(),
        name: name.into(),
        description: description.into(),
        consent: "IMPLICIT".into(),
        is_default: false,
        system,
        created_at: now,
    }
}

/// What a server starts with. Every server: the system scopes. The org server and
/// `default`: Okta's default policy (every client, every user, access tokens 1 hour,
/// refresh tokens unlimited with a 7-day idle window). `default` also offers `groups`
/// with a `groups` claim in the ID token.
pub fn seed(server_id: &str, now: UnixTime) -> ServerSeed {
    let mut seed = ServerSeed {
        scopes: SYSTEM_SCOPES
            .iter()
            .map(|(n, d)| scope_def(server_id, n, d, true, now))
            .collect(),
        ..ServerSeed::default()
    };
    if server_id == DEFAULT_SERVER_ID {
        seed.scopes.push(scope_def(
            server_id,
            GROUPS_SCOPE,
            "Allows this application to see your groups.",
            false,
            now,
        ));
        seed.claims.push(ClaimDef {
            id: okta_id("ocl"),
            server_id: server_id.into(),
            name: "groups".into(),
            claim_type: "IDENTITY".into(),
            value_type: "GROUPS".into(),
            value: ".*".into(),
            group_filter_type: Some("REGEX".into()),
            scopes: vec![GROUPS_SCOPE.into()],
            status: Status::Active,
            created_at: now,
        });
    }
    if server_id == DEFAULT_SERVER_ID || server_id == ORG_SERVER_ID {
        let policy = Policy {
            id: okta_id("00p"),
            server_id: server_id.into(),
            name: "Default Policy".into(),
            description: "Default policy description".into(),
            priority: 1,
            status: Status::Active,
            clients: vec![ALL_CLIENTS.into()],
            created_at: now,
            updated_at: now,
        };
        let rule = PolicyRule {
            id: okta_id("0pr"),
            policy_id: policy.id.clone(),
            name: "Default Policy Rule".into(),
            priority: 1,
            status: Status::Active,
            // Okta's default rule covers the device grant too (RFC 8628).
            grant_types: vec![
                "authorization_code".into(),
                "client_credentials".into(),
                crate::oauth::grants::device_code::GRANT_TYPE.into(),
            ],
            scopes: vec![ANY_SCOPE.into()],
            users: vec![],
            groups: vec![EVERYONE.into()],
            access_token_ttl: DEFAULT_LIFETIMES.access_token,
            refresh_token_ttl: DEFAULT_LIFETIMES.refresh_token,
            refresh_token_idle: DEFAULT_LIFETIMES.refresh_idle,
            action: "ALLOW".into(),
            created_at: now,
            updated_at: now,
        };
        seed.policies.push((policy, vec![rule]));
    }
    seed
}

/// The server with this id, or `NotFound`.
pub async fn find(store: &DynStore, id: &str) -> Result<AuthServer, AdminError> {
    store
        .get_server(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("authorization server {id}")))
}

/// A custom server whose scopes, claims and policies may change (not the org server).
pub async fn find_custom(store: &DynStore, id: &str) -> Result<AuthServer, AdminError> {
    let server = find(store, id).await?;
    if server.is_org() {
        return Err(AdminError::not_allowed(
            "E0000006",
            "The org authorization server cannot be changed: its scopes, claims and policies are fixed; use a custom server.",
        ));
    }
    Ok(server)
}

/// Rotates a server's signing keys now (see `tokens::keys`): the ACTIVE key retires
/// (still published until its tokens expire), the NEXT key, published since the last
/// rotation, becomes ACTIVE, and a new NEXT key is made. `None` when another process
/// rotated the same key at the same moment. Recorded in the System Log.
pub async fn rotate_keys(
    store: &DynStore,
    master: &crate::crypto::MasterKey,
    actor: &Actor,
    server: &AuthServer,
    now: UnixTime,
) -> Result<Option<keys::Rotated>, AdminError> {
    let rotated = keys::rotate(store, master, &server.id, now)
        .await
        .map_err(|e| match e {
            keys::KeyError::Store(e) => AdminError::Store(e),
            corrupt => AdminError::Store(StoreError::Schema(corrupt.to_string())),
        })?;
    if let Some(r) = &rotated {
        let target = server_target(server).changed(
            Some(json!({ "activeKid": r.retired, "nextKid": r.active })),
            Some(json!({ "activeKid": r.active, "nextKid": r.next })),
        );
        syslog::record(
            store,
            actor,
            Event::success(
                "oauth2.as.key.lifecycle.rotate",
                "Rotate authorization server keys",
                vec![target],
            ),
            now,
        )
        .await;
    }
    Ok(rotated)
}

/// `server_target` for the policies module.
pub(super) fn target_of(server: &AuthServer) -> Target {
    server_target(server)
}

#[derive(Debug, Clone, Default)]
pub struct NewServer {
    pub name: String,
    pub description: String,
    pub audience: String,
    /// The JWS algorithm of its tokens (`RS256`, `ES256`); `None`: RS256 at creation,
    /// unchanged at an update. Gatehouse's extension: Okta signs with RS256 only.
    pub signing_alg: Option<String>,
    /// Gatehouse's `introspection.restricted` (RFC 7662 §4); `None`: off at creation,
    /// unchanged at an update.
    pub introspection_restricted: Option<bool>,
    /// `introspection.resourceServers`: client ids of registered apps; `None`: none at
    /// creation, unchanged at an update.
    pub resource_servers: Option<Vec<String>>,
}

/// At most this many resource servers per authorization server.
pub const MAX_RESOURCE_SERVERS: usize = 50;

/// The introspection settings of `new` over `before`'s: each resource server must be a
/// registered app (a typo would otherwise lock a real resource server out silently).
async fn introspection_settings(
    store: &DynStore,
    new: &NewServer,
    before: (bool, &[String]),
) -> Result<(bool, Vec<String>), AdminError> {
    let restricted = new.introspection_restricted.unwrap_or(before.0);
    let Some(list) = &new.resource_servers else {
        return Ok((restricted, before.1.to_vec()));
    };
    let list = super::dedup(list.clone());
    if list.len() > MAX_RESOURCE_SERVERS {
        return Err(AdminError::invalid(
            "introspection.resourceServers",
            format!("at most {MAX_RESOURCE_SERVERS} apps"),
        ));
    }
    for client_id in &list {
        if client_id.len() > 100 || store.get_client(client_id).await?.is_none() {
            return Err(AdminError::invalid(
                "introspection.resourceServers",
                format!(
                    "{:?} is not a registered app's client id",
                    client_id.chars().take(100).collect::<String>()
                ),
            ));
        }
    }
    Ok((restricted, list))
}

/// A new custom server (`aus...`) with the system scopes and no policy: as in Okta, it
/// issues nothing until a policy allows it.
pub async fn create(
    store: &DynStore,
    actor: &Actor,
    new: NewServer,
    now: UnixTime,
) -> Result<AuthServer, AdminError> {
    check_server(&new)?;
    let mut server = server(
        &okta_id("aus"),
        new.name.trim(),
        &new.description,
        Some(new.audience.trim()),
        now,
    );
    if let Some(alg) = &new.signing_alg {
        server.signing_alg = alg.clone();
    }
    (server.introspection_restricted, server.resource_servers) =
        introspection_settings(store, &new, (false, &[])).await?;
    store.insert_server_if_absent(&server).await?;
    store
        .seed_server(&server.id, &seed(&server.id, now))
        .await?;
    let target = server_target(&server).changed(None, Some(summary(&server)));
    syslog::record(
        store,
        actor,
        Event::success(
            "oauth2.as.created",
            "Create authorization server",
            vec![target],
        ),
        now,
    )
    .await;
    Ok(server)
}

fn check_server(new: &NewServer) -> Result<(), AdminError> {
    check_text("name", &new.name, 100)?;
    check_text("audiences", &new.audience, 1024)?;
    if new.description.len() > 1024 || new.description.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "description",
            "must be at most 1024 printable characters",
        ));
    }
    if let Some(alg) = &new.signing_alg
        && keys::Alg::parse(alg).is_none()
    {
        let names: Vec<&str> = keys::Alg::ALL.iter().map(|a| a.as_str()).collect();
        return Err(AdminError::invalid(
            "credentials.signing.alg",
            format!("must be one of {}", names.join(", ")),
        ));
    }
    Ok(())
}

fn server_target(server: &AuthServer) -> Target {
    Target::new(&server.id, "AuthorizationServer", &server.name)
}

/// What the System Log records of a server.
fn summary(server: &AuthServer) -> Value {
    json!({ "id": server.id, "name": server.name, "description": server.description, "audiences": [server.audience], "status": server.status, "signingAlg": server.signing_alg, "introspection": introspection_json(server) })
}

/// Okta's PUT: a custom server's name, description and audience, and Gatehouse's
/// signing algorithm. A new algorithm applies to the keys made from then on: the NEXT
/// key the next rotation makes signs from the rotation after it, so a key is always
/// published before it signs (see `tokens::keys`).
pub async fn update(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    new: NewServer,
    now: UnixTime,
) -> Result<AuthServer, AdminError> {
    let before = find_custom(store, id).await?;
    check_server(&new)?;
    let (introspection_restricted, resource_servers) = introspection_settings(
        store,
        &new,
        (before.introspection_restricted, &before.resource_servers),
    )
    .await?;
    let server = AuthServer {
        introspection_restricted,
        resource_servers,
        name: new.name.trim().into(),
        description: new.description,
        audience: Some(new.audience.trim().into()),
        signing_alg: new
            .signing_alg
            .unwrap_or_else(|| before.signing_alg.clone()),
        updated_at: now,
        ..before.clone()
    };
    if !store.update_server(&server).await? {
        return Err(AdminError::NotFound(format!("authorization server {id}")));
    }
    let target = server_target(&server).changed(Some(summary(&before)), Some(summary(&server)));
    syslog::record(
        store,
        actor,
        Event::success(
            "oauth2.as.updated",
            "Update authorization server",
            vec![target],
        ),
        now,
    )
    .await;
    Ok(server)
}

/// Activates or deactivates a custom server; an inactive one answers nothing (404).
pub async fn set_active(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    active: bool,
    now: UnixTime,
) -> Result<AuthServer, AdminError> {
    let before = find_custom(store, id).await?;
    let status = Status::active_if(active);
    if before.status == status {
        return Ok(before);
    }
    let server = AuthServer {
        status,
        updated_at: now,
        ..before.clone()
    };
    store.update_server(&server).await?;
    let (event_type, message) = if active {
        ("oauth2.as.activated", "Activate authorization server")
    } else {
        ("oauth2.as.deactivated", "Deactivate authorization server")
    };
    let target = server_target(&server).changed(
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
    Ok(server)
}

/// Deletes a custom server with its keys, scopes, claims and policies.
pub async fn delete(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let server = find_custom(store, id).await?;
    // Every start makes sure `default` exists, with Okta's allow-all default policy:
    // deleting it would bring it back, wide open, at the next start. Deactivate it.
    if server.id == DEFAULT_SERVER_ID {
        return Err(AdminError::not_allowed(
            "E0000006",
            "The default authorization server cannot be deleted; deactivate it instead.",
        ));
    }
    if !store.delete_server(&server.id).await? {
        return Err(AdminError::NotFound(format!("authorization server {id}")));
    }
    let target = server_target(&server).changed(Some(summary(&server)), None);
    syslog::record(
        store,
        actor,
        Event::success(
            "oauth2.as.deleted",
            "Delete authorization server",
            vec![target],
        ),
        now,
    )
    .await;
    Ok(())
}

/// Okta's `audiences`: exactly one here.
pub fn one_audience(audiences: Option<Vec<String>>) -> Result<String, AdminError> {
    match audiences.as_deref() {
        Some([one]) => Ok(one.clone()),
        _ => Err(AdminError::invalid(
            "audiences",
            "must hold exactly one audience",
        )),
    }
}

/// Okta's scope `consent`: `IMPLICIT` (the default) or `REQUIRED`.
pub fn consent_required(consent: Option<&str>) -> Result<bool, AdminError> {
    match consent {
        None | Some("IMPLICIT") => Ok(false),
        Some("REQUIRED") => Ok(true),
        Some(_) => Err(AdminError::invalid(
            "consent",
            "must be IMPLICIT or REQUIRED",
        )),
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewScope {
    pub name: String,
    pub description: String,
    /// Ask the user before granting it (`REQUIRED`) or not (`IMPLICIT`, the default).
    pub consent_required: bool,
    pub is_default: bool,
}

/// `base` with the fields `new` sets, checked: what creation and Okta's PUT share.
fn apply_scope(new: NewScope, base: ScopeDef) -> Result<ScopeDef, AdminError> {
    if new.name.len() > 300
        || Scope::parse(&new.name)
            .map(|s| s.iter().count() != 1)
            .unwrap_or(true)
    {
        return Err(AdminError::invalid(
            "name",
            "must be one scope token (RFC 6749 §3.3), at most 300 characters",
        ));
    }
    if new.name == ANY_SCOPE {
        return Err(AdminError::invalid(
            "name",
            "* is reserved: policy rules use it for any scope",
        ));
    }
    if new.description.len() > 1024 || new.description.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "description",
            "must be at most 1024 printable characters",
        ));
    }
    Ok(ScopeDef {
        name: new.name,
        description: new.description,
        consent: if new.consent_required {
            "REQUIRED"
        } else {
            "IMPLICIT"
        }
        .into(),
        is_default: new.is_default,
        ..base
    })
}

pub async fn create_scope(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    new: NewScope,
    now: UnixTime,
) -> Result<ScopeDef, AdminError> {
    let server = find_custom(store, server_id).await?;
    let scope = apply_scope(new, scope_def(&server.id, "", "", false, now))?;
    match store.insert_scope(&scope).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AdminError::invalid(
                "name",
                "the server has a scope with this name",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let target =
        Target::new(&scope.id, "OAuth2Scope", &scope.name).changed(None, Some(scope_json(&scope)));
    let event = Event::success(
        "oauth2.scope.created",
        "Create authorization server scope",
        vec![target, server_target(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(scope)
}

/// Okta's PUT on a scope: its name, description, consent and default flag.
///
/// A system scope (OpenID Connect's) keeps its name, and is never a default scope
/// (client_credentials grants custom scopes only). A scope that claims or policy rules
/// name keeps its name too: renaming it under them would silently change what they
/// grant, so it is refused, naming them; take the scope out of them first. Tokens
/// already issued with the old name are not rewritten: their refreshes then ask for a
/// scope the server no longer offers (`invalid_scope`), as after a delete.
pub async fn update_scope(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    scope_id: &str,
    new: NewScope,
    now: UnixTime,
) -> Result<ScopeDef, AdminError> {
    let server = find_custom(store, server_id).await?;
    let scopes = store.list_scopes(&server.id).await?;
    let before = scopes
        .into_iter()
        .find(|s| s.id == scope_id)
        .ok_or_else(|| AdminError::NotFound(format!("scope {scope_id}")))?;
    let scope = apply_scope(new, before.clone())?;
    if scope.name != before.name {
        if before.system {
            return Err(AdminError::invalid(
                "name",
                format!("{:?} is a system scope and cannot be renamed", before.name),
            ));
        }
        let users = scope_users(store, &server.id, &before.name).await?;
        if !users.is_empty() {
            return Err(AdminError::invalid(
                "name",
                format!(
                    "{:?} is named by {}: take it out of them before renaming it",
                    before.name,
                    users.join(", ")
                ),
            ));
        }
    }
    if before.system && scope.is_default {
        return Err(AdminError::invalid(
            "default",
            "a system scope cannot be a default scope: client_credentials grants custom scopes only",
        ));
    }
    match store.update_scope(&scope).await {
        Ok(true) => {}
        Ok(false) => return Err(AdminError::NotFound(format!("scope {scope_id}"))),
        Err(StoreError::Conflict(_)) => {
            return Err(AdminError::invalid(
                "name",
                "the server has a scope with this name",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let target = Target::new(&scope.id, "OAuth2Scope", &scope.name)
        .changed(Some(scope_json(&before)), Some(scope_json(&scope)));
    let event = Event::success(
        "oauth2.scope.updated",
        "Update authorization server scope",
        vec![target, server_target(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(scope)
}

/// The claims and policy rules of a server that name the scope `name`, as `claim "x"`
/// and `rule "y"`.
async fn scope_users(
    store: &DynStore,
    server_id: &str,
    name: &str,
) -> Result<Vec<String>, AdminError> {
    let claims = store.list_claims(server_id).await?;
    let rules = store.list_rules(server_id).await?;
    let claims = claims
        .iter()
        .filter(|c| c.scopes.iter().any(|s| s == name))
        .map(|c| format!("claim {:?}", c.name));
    let rules = rules
        .iter()
        .filter(|r| r.scopes.iter().any(|s| s == name))
        .map(|r| format!("rule {:?}", r.name));
    Ok(claims.chain(rules).collect())
}

/// Deletes a scope named by its name or its id, unless claims or rules name it.
pub async fn delete_scope(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    name_or_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let server = find_custom(store, server_id).await?;
    let scopes = store.list_scopes(&server.id).await?;
    match scopes
        .iter()
        .find(|s| s.name == name_or_id || s.id == name_or_id)
    {
        None => Err(AdminError::NotFound(format!("scope {name_or_id}"))),
        Some(s) if s.system => Err(AdminError::invalid(
            "name",
            "system scopes cannot be deleted",
        )),
        Some(scope) => {
            // As for a rename: deleting it under the claims and rules that name it would
            // silently change what they grant.
            let users = scope_users(store, &server.id, &scope.name).await?;
            if !users.is_empty() {
                return Err(AdminError::invalid(
                    "name",
                    format!(
                        "{:?} is named by {}: take it out of them before deleting it",
                        scope.name,
                        users.join(", ")
                    ),
                ));
            }
            store.delete_scope(&server.id, &scope.name).await?;
            let target = Target::new(&scope.id, "OAuth2Scope", &scope.name)
                .changed(Some(scope_json(scope)), None);
            let event = Event::success(
                "oauth2.scope.deleted",
                "Delete authorization server scope",
                vec![target, server_target(&server)],
            );
            syslog::record(store, actor, event, now).await;
            Ok(())
        }
    }
}

/// What a new claim holds.
#[derive(Debug, Clone, Default)]
pub struct NewClaim {
    pub name: String,
    /// `IDENTITY` (ID token) or `RESOURCE` (access token).
    pub claim_type: String,
    /// An expression (`user.email`, `"literal"`), or a group filter when `group_filter_type` is set.
    pub value: String,
    pub group_filter_type: Option<String>,
    /// Scopes the claim comes with; empty: any.
    pub scopes: Vec<String>,
}

/// `base` with the fields `new` sets, checked against the server's scopes: what
/// creation and Okta's PUT share.
async fn apply_claim(
    store: &DynStore,
    server: &AuthServer,
    new: NewClaim,
    base: ClaimDef,
) -> Result<ClaimDef, AdminError> {
    check_text("name", &new.name, 100)?;
    // Okta lets an admin change the access token's `sub` (its default is the user's
    // login, else the client id): a RESOURCE expression claim named `sub` replaces it.
    let custom_sub =
        new.name == "sub" && new.claim_type == "RESOURCE" && new.group_filter_type.is_none();
    if custom_claims::RESERVED.contains(&new.name.as_str()) && !custom_sub {
        return Err(AdminError::invalid(
            "name",
            format!(
                "{:?} is set by the server and cannot be a custom claim",
                new.name
            ),
        ));
    }
    if !matches!(new.claim_type.as_str(), "IDENTITY" | "RESOURCE") {
        return Err(AdminError::invalid(
            "claimType",
            "must be IDENTITY (ID token) or RESOURCE (access token)",
        ));
    }
    check_text("value", &new.value, 1024)?;
    let value_type = match &new.group_filter_type {
        Some(filter) => {
            GroupFilter::parse(filter, &new.value)
                .map_err(|e| AdminError::invalid("group_filter_type", e))?;
            "GROUPS"
        }
        None => {
            Expression::parse(&new.value).map_err(|e| AdminError::invalid("value", e))?;
            "EXPRESSION"
        }
    };
    let scopes = dedup(new.scopes);
    let known = store.list_scopes(&server.id).await?;
    if let Some(bad) = scopes.iter().find(|s| !known.iter().any(|k| &k.name == *s)) {
        return Err(AdminError::invalid(
            "conditions.scopes",
            format!("{bad:?} is not a scope of this server"),
        ));
    }
    Ok(ClaimDef {
        name: new.name,
        claim_type: new.claim_type,
        value_type: value_type.into(),
        value: new.value,
        group_filter_type: new.group_filter_type,
        scopes,
        ..base
    })
}

pub async fn create_claim(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    new: NewClaim,
    now: UnixTime,
) -> Result<ClaimDef, AdminError> {
    let server = find_custom(store, server_id).await?;
    let base = ClaimDef {
        id: okta_id("ocl"),
        server_id: server.id.clone(),
        name: String::new(),
        claim_type: String::new(),
        value_type: String::new(),
        value: String::new(),
        group_filter_type: None,
        scopes: vec![],
        status: Status::Active,
        created_at: now,
    };
    let claim = apply_claim(store, &server, new, base).await?;
    match store.insert_claim(&claim).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AdminError::invalid(
                "name",
                "the server has a claim with this name for this token",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let target =
        Target::new(&claim.id, "OAuth2Claim", &claim.name).changed(None, Some(claim_json(&claim)));
    let event = Event::success(
        "oauth2.claim.created",
        "Create authorization server claim",
        vec![target, server_target(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(claim)
}

/// Okta's PUT on a claim: everything `create_claim` takes, with the same checks.
pub async fn update_claim(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    claim_id: &str,
    new: NewClaim,
    now: UnixTime,
) -> Result<ClaimDef, AdminError> {
    let server = find_custom(store, server_id).await?;
    let claims = store.list_claims(&server.id).await?;
    let before = claims
        .into_iter()
        .find(|c| c.id == claim_id)
        .ok_or_else(|| AdminError::NotFound(format!("claim {claim_id}")))?;
    let claim = apply_claim(store, &server, new, before.clone()).await?;
    match store.update_claim(&claim).await {
        Ok(true) => {}
        Ok(false) => return Err(AdminError::NotFound(format!("claim {claim_id}"))),
        Err(StoreError::Conflict(_)) => {
            return Err(AdminError::invalid(
                "name",
                "the server has a claim with this name for this token",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let target = Target::new(&claim.id, "OAuth2Claim", &claim.name)
        .changed(Some(claim_json(&before)), Some(claim_json(&claim)));
    let event = Event::success(
        "oauth2.claim.updated",
        "Update authorization server claim",
        vec![target, server_target(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(claim)
}

pub async fn delete_claim(
    store: &DynStore,
    actor: &Actor,
    server_id: &str,
    claim_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let server = find_custom(store, server_id).await?;
    let claims = store.list_claims(&server.id).await?;
    let claim = claims
        .iter()
        .find(|c| c.id == claim_id)
        .ok_or_else(|| AdminError::NotFound(format!("claim {claim_id}")))?;
    if !store.delete_claim(&server.id, claim_id).await? {
        return Err(AdminError::NotFound(format!("claim {claim_id}")));
    }
    let target =
        Target::new(&claim.id, "OAuth2Claim", &claim.name).changed(Some(claim_json(claim)), None);
    let event = Event::success(
        "oauth2.claim.deleted",
        "Delete authorization server claim",
        vec![target, server_target(&server)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}

/// Okta's authorization server shape.
pub fn to_json(server: &AuthServer, issuer: &str, audience: &str) -> Value {
    json!({
        "id": server.id,
        "name": server.name,
        "description": server.description,
        "audiences": [audience],
        "issuer": issuer,
        "status": server.status,
        "created": rfc3339(server.created_at),
        "lastUpdated": rfc3339(server.updated_at),
        "credentials": { "signing": { "rotationMode": "AUTO", "alg": server.signing_alg } },
        "introspection": introspection_json(server),
    })
}

/// Gatehouse's `introspection` member of a server (RFC 7662 §4).
fn introspection_json(server: &AuthServer) -> Value {
    json!({ "restricted": server.introspection_restricted, "resourceServers": server.resource_servers })
}

/// Okta's scope shape.
pub fn scope_json(scope: &ScopeDef) -> Value {
    json!({
        "id": scope.id,
        "name": scope.name,
        "description": scope.description,
        "system": scope.system,
        "consent": scope.consent,
        "default": scope.is_default,
        "metadataPublish": "ALL_CLIENTS",
    })
}

/// Okta's claim shape.
pub fn claim_json(claim: &ClaimDef) -> Value {
    let mut v = json!({
        "id": claim.id,
        "name": claim.name,
        "status": claim.status,
        "claimType": claim.claim_type,
        "valueType": claim.value_type,
        "value": claim.value,
        "alwaysIncludeInToken": true,
        "conditions": { "scopes": claim.scopes },
        "system": false,
    });
    if let Some(filter) = &claim.group_filter_type {
        v["group_filter_type"] = json!(filter);
    }
    v
}
