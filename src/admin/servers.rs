//! Authorization servers and their scopes and claims. The org server and `default`
//! exist from the first start; more custom servers can be added. As in Okta, the org
//! server's scopes, claims and policies are fixed.

use serde_json::{Value, json};

use super::{AdminError, check_text, dedup};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::okta_id;
use crate::oauth::policy::{ALL_CLIENTS, DEFAULT_LIFETIMES, EVERYONE, ANY_SCOPE};
use crate::oauth::scope::Scope;
use crate::store::{
    AuthServer, ClaimDef, DEFAULT_SERVER_ID, DynStore, ORG_SERVER_ID, Policy, PolicyRule, ScopeDef,
    ServerSeed, StoreError,
};
use crate::tokens::custom_claims::{self, Expression, GroupFilter};

/// OpenID Connect Core §5.4's scopes and `offline_access` (§11): every server has them.
pub const SYSTEM_SCOPES: &[(&str, &str)] = &[
    ("openid", "Signals that a request is an OpenID request."),
    ("profile", "Allows this application to access your profile information."),
    ("email", "Allows this application to access your email address."),
    ("address", "Allows this application to access your address."),
    ("phone", "Allows this application to access your phone number."),
    ("offline_access", "Allows this application to access your data when you are not using it."),
];

/// The scope that asks for the `groups` claim on the `default` server.
pub const GROUPS_SCOPE: &str = "groups";

/// The servers every Gatehouse has: Okta's org server and the custom server `default`
/// (audience `api://default`).
pub fn builtin_servers(now: UnixTime) -> [AuthServer; 2] {
    [
        server(ORG_SERVER_ID, "Org Authorization Server", "The org authorization server", None, now),
        server(DEFAULT_SERVER_ID, "default", "Default Authorization Server", Some("api://default"), now),
    ]
}

fn server(id: &str, name: &str, description: &str, audience: Option<&str>, now: UnixTime) -> AuthServer {
    AuthServer {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        audience: audience.map(str::to_string),
        access_token_ttl: DEFAULT_LIFETIMES.access_token,
        id_token_ttl: 3600,
        access_token_typ_at_jwt: true,
        signing_alg: "RS256".into(),
        status: "ACTIVE".into(),
        created_at: now,
        updated_at: now,
    }
}

fn scope_def(server_id: &str, name: &str, description: &str, system: bool, now: UnixTime) -> ScopeDef {
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
        scopes: SYSTEM_SCOPES.iter().map(|(n, d)| scope_def(server_id, n, d, true, now)).collect(),
        ..ServerSeed::default()
    };
    if server_id == DEFAULT_SERVER_ID {
        seed.scopes.push(scope_def(server_id, GROUPS_SCOPE, "Allows this application to see your groups.", false, now));
        seed.claims.push(ClaimDef {
            id: okta_id("ocl"),
            server_id: server_id.into(),
            name: "groups".into(),
            claim_type: "IDENTITY".into(),
            value_type: "GROUPS".into(),
            value: ".*".into(),
            group_filter_type: Some("REGEX".into()),
            scopes: vec![GROUPS_SCOPE.into()],
            status: "ACTIVE".into(),
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
            status: "ACTIVE".into(),
            clients: vec![ALL_CLIENTS.into()],
            created_at: now,
            updated_at: now,
        };
        let rule = PolicyRule {
            id: okta_id("0pr"),
            policy_id: policy.id.clone(),
            name: "Default Policy Rule".into(),
            priority: 1,
            status: "ACTIVE".into(),
            grant_types: vec!["authorization_code".into(), "client_credentials".into()],
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
        return Err(AdminError::invalid(
            "authorizationServer",
            "the org authorization server's scopes, claims and policies cannot be changed; use a custom server",
        ));
    }
    Ok(server)
}

#[derive(Debug, Clone, Default)]
pub struct NewServer {
    pub name: String,
    pub description: String,
    pub audience: String,
}

/// A new custom server (`aus...`) with the system scopes and no policy: as in Okta, it
/// issues nothing until a policy allows it.
pub async fn create(store: &DynStore, new: NewServer, now: UnixTime) -> Result<AuthServer, AdminError> {
    check_text("name", &new.name, 100)?;
    check_text("audiences", &new.audience, 1024)?;
    if new.description.len() > 1024 || new.description.chars().any(char::is_control) {
        return Err(AdminError::invalid("description", "must be at most 1024 printable characters"));
    }
    let server = server(&okta_id("aus"), new.name.trim(), &new.description, Some(new.audience.trim()), now);
    store.insert_server_if_absent(&server).await?;
    store.seed_server(&server.id, &seed(&server.id, now)).await?;
    Ok(server)
}

#[derive(Debug, Clone, Default)]
pub struct NewScope {
    pub name: String,
    pub description: String,
    /// Ask the user before granting it (`REQUIRED`) or not (`IMPLICIT`, the default).
    pub consent_required: bool,
    pub is_default: bool,
}

pub async fn create_scope(store: &DynStore, server_id: &str, new: NewScope, now: UnixTime) -> Result<ScopeDef, AdminError> {
    let server = find_custom(store, server_id).await?;
    if new.name.len() > 300 || Scope::parse(&new.name).map(|s| s.iter().count() != 1).unwrap_or(true) {
        return Err(AdminError::invalid("name", "must be one scope token (RFC 6749 §3.3), at most 300 characters"));
    }
    if new.name == ANY_SCOPE {
        return Err(AdminError::invalid("name", "* is reserved: policy rules use it for any scope"));
    }
    if new.description.len() > 1024 || new.description.chars().any(char::is_control) {
        return Err(AdminError::invalid("description", "must be at most 1024 printable characters"));
    }
    let mut scope = scope_def(&server.id, &new.name, &new.description, false, now);
    scope.consent = if new.consent_required { "REQUIRED" } else { "IMPLICIT" }.into();
    scope.is_default = new.is_default;
    match store.insert_scope(&scope).await {
        Ok(()) => Ok(scope),
        Err(StoreError::Conflict(_)) => Err(AdminError::invalid("name", "the server has a scope with this name")),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_scope(store: &DynStore, server_id: &str, name: &str) -> Result<(), AdminError> {
    let server = find_custom(store, server_id).await?;
    let scopes = store.list_scopes(&server.id).await?;
    match scopes.iter().find(|s| s.name == name) {
        None => Err(AdminError::NotFound(format!("scope {name}"))),
        Some(s) if s.system => Err(AdminError::invalid("name", "system scopes cannot be deleted")),
        Some(_) => {
            store.delete_scope(&server.id, name).await?;
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

pub async fn create_claim(store: &DynStore, server_id: &str, new: NewClaim, now: UnixTime) -> Result<ClaimDef, AdminError> {
    let server = find_custom(store, server_id).await?;
    check_text("name", &new.name, 100)?;
    if custom_claims::RESERVED.contains(&new.name.as_str()) {
        return Err(AdminError::invalid("name", format!("{:?} is set by the server and cannot be a custom claim", new.name)));
    }
    if !matches!(new.claim_type.as_str(), "IDENTITY" | "RESOURCE") {
        return Err(AdminError::invalid("claimType", "must be IDENTITY (ID token) or RESOURCE (access token)"));
    }
    check_text("value", &new.value, 1024)?;
    let value_type = match &new.group_filter_type {
        Some(filter) => {
            GroupFilter::parse(filter, &new.value).map_err(|e| AdminError::invalid("group_filter_type", e))?;
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
        return Err(AdminError::invalid("conditions.scopes", format!("{bad:?} is not a scope of this server")));
    }
    let claim = ClaimDef {
        id: okta_id("ocl"),
        server_id: server.id,
        name: new.name,
        claim_type: new.claim_type,
        value_type: value_type.into(),
        value: new.value,
        group_filter_type: new.group_filter_type,
        scopes,
        status: "ACTIVE".into(),
        created_at: now,
    };
    match store.insert_claim(&claim).await {
        Ok(()) => Ok(claim),
        Err(StoreError::Conflict(_)) => Err(AdminError::invalid("name", "the server has a claim with this name for this token")),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_claim(store: &DynStore, server_id: &str, claim_id: &str) -> Result<(), AdminError> {
    let server = find_custom(store, server_id).await?;
    if !store.delete_claim(&server.id, claim_id).await? {
        return Err(AdminError::NotFound(format!("claim {claim_id}")));
    }
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
        "credentials": { "signing": { "rotationMode": "AUTO" } },
    })
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
