//! Upstream identity providers (Okta's Identity Providers API, `/api/v1/idps`): created,
//! changed, activated, deactivated and deleted with validation, their linked users
//! listed and unlinked, each change written to the System Log (`system.idp.lifecycle.*`,
//! as Okta's). The client secret toward the provider is sealed under the master key
//! (AES-256-GCM, the provider's id authenticated) and never shown again; `client_secret`
//! opens it for the sign-in flow.
//!
//! What is checked: the endpoints are absolute https URLs without user information
//! or fragment, not pointing at this server's own network unless the server runs
//! with `allow_private_jwks_uri` (which then also allows plain http there), as for an
//! app's `jwks_uri`; `OIDC` needs an issuer, a JWKS and the `openid` scope, `OAUTH2`
//! a userinfo endpoint (who the person is); a secret method needs a secret,
//! `private_key_jwt` an algorithm the org server signs with; the groups named exist.

use serde_json::{Value, json};

use super::apps::check_outbound_uri;
use super::syslog::{self, Actor, Event, Target};
use super::users::next_page;
use super::{AdminError, check_text, dedup, filter};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::{MasterKey, okta_id};
use crate::oauth::idp_discovery::{Lookup, Route, Routing};
use crate::store::{
    AuthMethod, DynStore, GroupsAction, IdentifierPattern, IdentifierType, IdentityProvider,
    IdpDiscoveryPolicy, IdpDiscoveryRule, IdpPolicyAction, IdpQuery, IdpType, IdpUser,
    PatternMatchType, ProfileMapping, ROUTE_OKTA, RouteProvider, Status, StoreError,
    SubjectMatchType,
};
use crate::tokens::keys;

const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 200;
/// At most this many scopes, groups or mapped fields.
const MAX_ITEMS: usize = 50;
/// `policy.maxClockSkew` at most 10 minutes (in milliseconds, as Okta's).
pub const MAX_CLOCK_SKEW_MS: i64 = 600_000;

/// A provider as an admin describes it. `client_secret`: `None` keeps the stored one
/// on an update.
#[derive(Debug, Clone)]
pub struct NewIdp {
    pub idp_type: IdpType,
    pub name: String,
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub end_session_endpoint: Option<String>,
    pub scopes: Vec<String>,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub token_auth_method: AuthMethod,
    pub signing_alg: Option<String>,
    pub pkce: bool,
    pub max_clock_skew_ms: i64,
    pub provisioning_action: IdpPolicyAction,
    pub profile_master: bool,
    pub groups_action: GroupsAction,
    pub groups_source_attribute: Option<String>,
    pub groups_filter: Vec<String>,
    pub groups_assignments: Vec<String>,
    pub account_link_action: IdpPolicyAction,
    pub account_link_groups: Vec<String>,
    pub username_template: String,
    pub match_type: SubjectMatchType,
    pub match_attribute: Option<String>,
    pub profile_mapping: Vec<ProfileMapping>,
    pub end_upstream_session: bool,
    pub button_label: Option<String>,
    pub button_color: Option<String>,
}

impl NewIdp {
    /// Okta's defaults for a new OIDC provider: PKCE on, JIT provisioning, no account
    /// linking, the username from the e-mail.
    pub fn oidc(name: &str, client_id: &str) -> NewIdp {
        NewIdp {
            idp_type: IdpType::Oidc,
            name: name.into(),
            issuer: None,
            authorization_endpoint: None,
            token_endpoint: None,
            userinfo_endpoint: None,
            jwks_uri: None,
            end_session_endpoint: None,
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            client_id: client_id.into(),
            client_secret: None,
            token_auth_method: AuthMethod::ClientSecretPost,
            signing_alg: None,
            pkce: true,
            max_clock_skew_ms: 0,
            provisioning_action: IdpPolicyAction::Auto,
            profile_master: false,
            groups_action: GroupsAction::None,
            groups_source_attribute: None,
            groups_filter: vec![],
            groups_assignments: vec![],
            account_link_action: IdpPolicyAction::Disabled,
            account_link_groups: vec![],
            username_template: "idpuser.email".into(),
            match_type: SubjectMatchType::Username,
            match_attribute: None,
            profile_mapping: vec![],
            end_upstream_session: false,
            button_label: None,
            button_color: None,
        }
    }
}

impl From<&IdentityProvider> for NewIdp {
    /// A provider's settings as they are, the stored secret kept (`client_secret`
    /// None): the start of a change to some of them (`gatehouse idps update`).
    fn from(idp: &IdentityProvider) -> NewIdp {
        NewIdp {
            idp_type: idp.idp_type,
            name: idp.name.clone(),
            issuer: idp.issuer.clone(),
            authorization_endpoint: Some(idp.authorization_endpoint.clone()),
            token_endpoint: Some(idp.token_endpoint.clone()),
            userinfo_endpoint: idp.userinfo_endpoint.clone(),
            jwks_uri: idp.jwks_uri.clone(),
            end_session_endpoint: idp.end_session_endpoint.clone(),
            scopes: idp.scopes.clone(),
            client_id: idp.client_id.clone(),
            client_secret: None,
            token_auth_method: idp.token_auth_method,
            signing_alg: idp.signing_alg.clone(),
            pkce: idp.pkce,
            max_clock_skew_ms: idp.max_clock_skew_ms,
            provisioning_action: idp.provisioning_action,
            profile_master: idp.profile_master,
            groups_action: idp.groups_action,
            groups_source_attribute: idp.groups_source_attribute.clone(),
            groups_filter: idp.groups_filter.clone(),
            groups_assignments: idp.groups_assignments.clone(),
            account_link_action: idp.account_link_action,
            account_link_groups: idp.account_link_groups.clone(),
            username_template: idp.username_template.clone(),
            match_type: idp.match_type,
            match_attribute: idp.match_attribute.clone(),
            profile_mapping: idp.profile_mapping.clone(),
            end_upstream_session: idp.end_upstream_session,
            button_label: idp.button_label.clone(),
            button_color: idp.button_color.clone(),
        }
    }
}

fn not_found(id: &str) -> AdminError {
    AdminError::NotFound(format!("{id} (IdentityProvider)"))
}

pub async fn find(store: &DynStore, id: &str) -> Result<IdentityProvider, AdminError> {
    store.get_idp(id).await?.ok_or_else(|| not_found(id))
}

/// A page of providers (`q` a prefix of the name, `idp_type` one type) and the next
/// page's cursor.
pub async fn list(
    store: &DynStore,
    q: Option<&str>,
    idp_type: Option<&str>,
    after: Option<String>,
    limit: Option<i64>,
) -> Result<(Vec<IdentityProvider>, Option<String>), AdminError> {
    let limit = filter::limit(limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    if q.is_some_and(|q| q.chars().any(char::is_control)) {
        return Err(AdminError::InvalidSearch {
            field: "q",
            message: "must not contain control characters".into(),
        });
    }
    let idp_type = match idp_type {
        None => None,
        Some(t) => Some(
            IdpType::parse(t)
                .ok_or_else(|| AdminError::invalid("type", "must be OIDC or OAUTH2"))?,
        ),
    };
    let rows = store
        .list_idps(&IdpQuery {
            q: q.filter(|q| !q.is_empty()).map(Into::into),
            idp_type,
            after,
            limit: limit + 1,
        })
        .await?;
    Ok(next_page(rows, limit, |p| p.id.clone()))
}

fn sealing_context(idp_id: &str) -> Vec<u8> {
    format!("idp-client-secret\0{idp_id}").into_bytes()
}

/// The provider's client secret, unsealed (`None`: it has none, or it was sealed under
/// another master key).
pub fn client_secret(idp: &IdentityProvider, master: &MasterKey) -> Option<String> {
    let sealed = idp.client_secret_sealed.as_deref()?;
    let plain = master.decrypt(sealed, &sealing_context(&idp.id)).ok()?;
    String::from_utf8(plain).ok()
}

fn endpoint(
    field: &'static str,
    value: Option<String>,
    required: bool,
    allow_private: bool,
) -> Result<Option<String>, AdminError> {
    match value.filter(|v| !v.trim().is_empty()) {
        Some(v) => Ok(Some(check_outbound_uri(field, v.trim(), allow_private)?)),
        None if required => Err(AdminError::invalid(field, "is required")),
        None => Ok(None),
    }
}

fn optional_text(
    field: &'static str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, AdminError> {
    match value.filter(|v| !v.trim().is_empty()) {
        Some(v) => {
            check_text(field, &v, max)?;
            Ok(Some(v.trim().to_string()))
        }
        None => Ok(None),
    }
}

async fn check_groups(
    store: &DynStore,
    field: &'static str,
    ids: Vec<String>,
) -> Result<Vec<String>, AdminError> {
    let ids = dedup(ids);
    if ids.len() > MAX_ITEMS {
        return Err(AdminError::invalid(
            field,
            format!("at most {MAX_ITEMS} groups"),
        ));
    }
    let groups = store.list_groups().await?;
    if let Some(unknown) = ids.iter().find(|id| !groups.iter().any(|g| &g.id == *id)) {
        return Err(AdminError::invalid(
            field,
            format!("{unknown:?} is not a group"),
        ));
    }
    Ok(ids)
}

/// Validates `new` into `base` (its id, status and times kept).
async fn apply(
    store: &DynStore,
    master: &MasterKey,
    new: NewIdp,
    base: IdentityProvider,
    allow_private: bool,
) -> Result<IdentityProvider, AdminError> {
    check_text("name", &new.name, 100)?;
    let oidc = new.idp_type == IdpType::Oidc;
    let issuer = match new.issuer.filter(|i| !i.trim().is_empty()) {
        // Kept as given: an ID token's `iss` is compared with it character for
        // character (OpenID Connect Core §3.1.3.7), and parsing would add a `/`.
        Some(i) => {
            check_outbound_uri("protocol.issuer.url", i.trim(), allow_private)?;
            Some(i.trim().to_string())
        }
        None if oidc => return Err(AdminError::invalid("protocol.issuer.url", "is required")),
        None => None,
    };
    let authorization_endpoint = endpoint(
        "protocol.endpoints.authorization.url",
        new.authorization_endpoint,
        true,
        allow_private,
    )?
    .unwrap_or_default();
    let token_endpoint = endpoint(
        "protocol.endpoints.token.url",
        new.token_endpoint,
        true,
        allow_private,
    )?
    .unwrap_or_default();
    let userinfo_endpoint = endpoint(
        "protocol.endpoints.userInfo.url",
        new.userinfo_endpoint,
        !oidc,
        allow_private,
    )?;
    let jwks_uri = endpoint(
        "protocol.endpoints.jwks.url",
        new.jwks_uri,
        oidc,
        allow_private,
    )?;
    let end_session_endpoint = endpoint(
        "gatehouse.endSessionEndpoint",
        new.end_session_endpoint,
        new.end_upstream_session,
        allow_private,
    )?;

    let scopes = dedup(
        new.scopes
            .into_iter()
            .map(|s| s.trim().to_string())
            .collect(),
    );
    if scopes.is_empty() || scopes.len() > MAX_ITEMS {
        return Err(AdminError::invalid(
            "protocol.scopes",
            format!("between 1 and {MAX_ITEMS} scopes"),
        ));
    }
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
    if let Some(bad) = scopes.iter().find(|s| {
        s.is_empty()
            || s.len() > 256
            || !s
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
    }) {
        return Err(AdminError::invalid(
            "protocol.scopes",
            format!("{bad:?} is not a scope"),
        ));
    }
    if oidc && !scopes.iter().any(|s| s == "openid") {
        return Err(AdminError::invalid(
            "protocol.scopes",
            "an OIDC provider is asked for the openid scope",
        ));
    }
    check_text(
        "protocol.credentials.client.client_id",
        &new.client_id,
        1024,
    )?;

    let method = new.token_auth_method;
    if !matches!(
        method,
        AuthMethod::ClientSecretPost | AuthMethod::ClientSecretBasic | AuthMethod::PrivateKeyJwt
    ) {
        return Err(AdminError::invalid(
            "protocol.credentials.client.token_endpoint_auth_method",
            "must be client_secret_post, client_secret_basic or private_key_jwt",
        ));
    }
    let (client_secret_sealed, signing_alg) = if method == AuthMethod::PrivateKeyJwt {
        let alg = new.signing_alg.unwrap_or_else(|| "RS256".into());
        if keys::Alg::parse(&alg).is_none() {
            let names: Vec<&str> = keys::Alg::ALL.iter().map(|a| a.as_str()).collect();
            return Err(AdminError::invalid(
                "protocol.credentials.signing.algorithm",
                format!("must be one of {}", names.join(", ")),
            ));
        }
        (None, Some(alg))
    } else {
        let sealed = match new.client_secret {
            Some(secret) => {
                if secret.is_empty() || secret.len() > 1024 || secret.chars().any(char::is_control)
                {
                    return Err(AdminError::invalid(
                        "protocol.credentials.client.client_secret",
                        "must be 1 to 1024 printable characters",
                    ));
                }
                Some(master.encrypt(secret.as_bytes(), &sealing_context(&base.id)))
            }
            None => base.client_secret_sealed.clone(),
        };
        if sealed.is_none() {
            return Err(AdminError::invalid(
                "protocol.credentials.client.client_secret",
                "is required with a client secret method",
            ));
        }
        (sealed, None)
    };

    if !(0..=MAX_CLOCK_SKEW_MS).contains(&new.max_clock_skew_ms) {
        return Err(AdminError::invalid(
            "policy.maxClockSkew",
            format!("must be between 0 and {MAX_CLOCK_SKEW_MS} milliseconds"),
        ));
    }
    let groups_source_attribute = optional_text(
        "policy.provisioning.groups.sourceAttributeName",
        new.groups_source_attribute,
        256,
    )?;
    if matches!(new.groups_action, GroupsAction::Append | GroupsAction::Sync)
        && groups_source_attribute.is_none()
    {
        return Err(AdminError::invalid(
            "policy.provisioning.groups.sourceAttributeName",
            "is required with APPEND and SYNC",
        ));
    }
    let groups_filter = check_groups(
        store,
        "policy.provisioning.groups.filter",
        new.groups_filter,
    )
    .await?;
    let groups_assignments = check_groups(
        store,
        "policy.provisioning.groups.assignments",
        new.groups_assignments,
    )
    .await?;
    if new.groups_action == GroupsAction::Assign && groups_assignments.is_empty() {
        return Err(AdminError::invalid(
            "policy.provisioning.groups.assignments",
            "ASSIGN needs at least one group",
        ));
    }
    let account_link_groups = check_groups(
        store,
        "policy.accountLink.filter.groups.include",
        new.account_link_groups,
    )
    .await?;
    check_text(
        "policy.subject.userNameTemplate.template",
        &new.username_template,
        1024,
    )?;
    let match_attribute = optional_text("policy.subject.matchAttribute", new.match_attribute, 256)?;
    if new.match_type == SubjectMatchType::CustomAttribute && match_attribute.is_none() {
        return Err(AdminError::invalid(
            "policy.subject.matchAttribute",
            "is required with CUSTOM_ATTRIBUTE",
        ));
    }
    if new.profile_mapping.len() > MAX_ITEMS {
        return Err(AdminError::invalid(
            "gatehouse.profileMapping",
            format!("at most {MAX_ITEMS} fields"),
        ));
    }
    for m in &new.profile_mapping {
        check_text("gatehouse.profileMapping.field", &m.field, 128)?;
        check_text("gatehouse.profileMapping.expression", &m.expression, 1024)?;
    }
    let button_label = optional_text("gatehouse.button.label", new.button_label, 64)?;
    let button_color = new.button_color.filter(|c| !c.is_empty());
    if let Some(color) = &button_color
        && !(color.len() == 7
            && color.starts_with('#')
            && color[1..].bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(AdminError::invalid(
            "gatehouse.button.color",
            "must be a colour #rrggbb",
        ));
    }

    Ok(IdentityProvider {
        idp_type: new.idp_type,
        name: new.name.trim().to_string(),
        issuer,
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        jwks_uri,
        end_session_endpoint,
        scopes,
        client_id: new.client_id,
        client_secret_sealed,
        token_auth_method: method,
        signing_alg,
        pkce: new.pkce,
        max_clock_skew_ms: new.max_clock_skew_ms,
        provisioning_action: new.provisioning_action,
        profile_master: new.profile_master,
        groups_action: new.groups_action,
        groups_source_attribute,
        groups_filter,
        groups_assignments,
        account_link_action: new.account_link_action,
        account_link_groups,
        username_template: new.username_template,
        match_type: new.match_type,
        match_attribute,
        profile_mapping: new.profile_mapping,
        end_upstream_session: new.end_upstream_session,
        button_label,
        button_color,
        ..base
    })
}

fn name_taken(e: StoreError) -> AdminError {
    match e {
        StoreError::Conflict(_) => {
            AdminError::invalid("name", "an identity provider has this name")
        }
        e => e.into(),
    }
}

fn target(idp: &IdentityProvider) -> Target {
    Target::new(&idp.id, "IdentityProvider", &idp.name)
}

/// Creates an ACTIVE provider (Okta's default).
pub async fn create(
    store: &DynStore,
    master: &MasterKey,
    actor: &Actor,
    new: NewIdp,
    allow_private: bool,
    now: UnixTime,
) -> Result<IdentityProvider, AdminError> {
    let base = IdentityProvider {
        id: okta_id("0oa"),
        idp_type: new.idp_type,
        name: String::new(),
        status: Status::Active,
        issuer: None,
        authorization_endpoint: String::new(),
        token_endpoint: String::new(),
        userinfo_endpoint: None,
        jwks_uri: None,
        end_session_endpoint: None,
        scopes: vec![],
        client_id: String::new(),
        client_secret_sealed: None,
        token_auth_method: new.token_auth_method,
        signing_alg: None,
        pkce: true,
        max_clock_skew_ms: 0,
        provisioning_action: IdpPolicyAction::Auto,
        profile_master: false,
        groups_action: GroupsAction::None,
        groups_source_attribute: None,
        groups_filter: vec![],
        groups_assignments: vec![],
        account_link_action: IdpPolicyAction::Disabled,
        account_link_groups: vec![],
        username_template: String::new(),
        match_type: SubjectMatchType::Username,
        match_attribute: None,
        profile_mapping: vec![],
        end_upstream_session: false,
        button_label: None,
        button_color: None,
        logo_url: None,
        created_at: now,
        updated_at: now,
    };
    let idp = apply(store, master, new, base, allow_private).await?;
    store.insert_idp(&idp).await.map_err(name_taken)?;
    syslog::record(
        store,
        actor,
        Event::success(
            "system.idp.lifecycle.create",
            "Create identity provider",
            vec![target(&idp).changed(None, Some(log_json(&idp)))],
        ),
        now,
    )
    .await;
    Ok(idp)
}

/// Replaces a provider's settings (Okta's PUT); its status is kept.
pub async fn update(
    store: &DynStore,
    master: &MasterKey,
    actor: &Actor,
    id: &str,
    new: NewIdp,
    allow_private: bool,
    now: UnixTime,
) -> Result<IdentityProvider, AdminError> {
    let before = find(store, id).await?;
    let idp = apply(
        store,
        master,
        new,
        IdentityProvider {
            updated_at: now,
            ..before.clone()
        },
        allow_private,
    )
    .await?;
    if !store.update_idp(&idp).await.map_err(name_taken)? {
        return Err(not_found(id));
    }
    syslog::record(
        store,
        actor,
        Event::success(
            "system.idp.lifecycle.update",
            "Update identity provider",
            vec![target(&idp).changed(Some(log_json(&before)), Some(log_json(&idp)))],
        ),
        now,
    )
    .await;
    Ok(idp)
}

/// `lifecycle/activate` and `deactivate`. An inactive provider signs no one in and
/// routing rules pass over it.
pub async fn set_active(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    active: bool,
    now: UnixTime,
) -> Result<IdentityProvider, AdminError> {
    let before = find(store, id).await?;
    let status = Status::active_if(active);
    if before.status == status {
        return Ok(before);
    }
    if !store.set_idp_status(id, status, now).await? {
        return Err(not_found(id));
    }
    let idp = IdentityProvider {
        status,
        updated_at: now,
        ..before.clone()
    };
    let (kind, message) = if active {
        (
            "system.idp.lifecycle.activate",
            "Activate identity provider",
        )
    } else {
        (
            "system.idp.lifecycle.deactivate",
            "Deactivate identity provider",
        )
    };
    let change = target(&idp).changed(
        Some(json!({ "status": before.status })),
        Some(json!({ "status": status })),
    );
    syslog::record(
        store,
        actor,
        Event::success(kind, message, vec![change]),
        now,
    )
    .await;
    Ok(idp)
}

/// Deletes a provider; its linked identities go with it (the users stay). A provider a
/// routing rule names cannot be deleted (the rule would change meaning silently): the
/// rule is changed or deleted first.
pub async fn delete(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let idp = find(store, id).await?;
    let rules = store.list_idp_discovery_rules().await?;
    if let Some(rule) = rules
        .iter()
        .find(|r| r.providers.iter().any(|p| p.id.as_deref() == Some(id)))
    {
        return Err(AdminError::not_allowed(
            "E0000148",
            format!(
                "The identity provider is used by the routing rule {:?} and cannot be deleted.",
                rule.name
            ),
        ));
    }
    if !store.delete_idp(id).await? {
        return Err(not_found(id));
    }
    syslog::record(
        store,
        actor,
        Event::success(
            "system.idp.lifecycle.delete",
            "Delete identity provider",
            vec![target(&idp).changed(Some(log_json(&idp)), None)],
        ),
        now,
    )
    .await;
    Ok(())
}

/// A page of the provider's linked users and the next cursor.
pub async fn users(
    store: &DynStore,
    idp_id: &str,
    after: Option<String>,
    limit: Option<i64>,
) -> Result<(Vec<IdpUser>, Option<String>), AdminError> {
    find(store, idp_id).await?;
    let limit = filter::limit(limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let rows = store
        .list_idp_users(idp_id, after.as_deref(), limit + 1)
        .await?;
    Ok(next_page(rows, limit, |l| l.user_id.clone()))
}

/// The user's identity at the provider.
pub async fn user(store: &DynStore, idp_id: &str, user_id: &str) -> Result<IdpUser, AdminError> {
    find(store, idp_id).await?;
    store
        .get_idp_user(idp_id, user_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("{user_id} (IdentityProviderUser)")))
}

/// The providers a user is linked to, with the identity at each.
pub async fn of_user(
    store: &DynStore,
    user_id: &str,
) -> Result<Vec<(IdentityProvider, IdpUser)>, AdminError> {
    if store.get_user(user_id).await?.is_none() {
        return Err(AdminError::NotFound(format!("{user_id} (User)")));
    }
    let mut out = Vec::new();
    for link in store.list_user_idps(user_id).await? {
        if let Some(idp) = store.get_idp(&link.idp_id).await? {
            out.push((idp, link));
        }
    }
    Ok(out)
}

/// Unlinks the user from the provider (Okta's `DELETE /idps/{id}/users/{userId}`): the
/// user stays; the next sign-in through the provider provisions or links anew, as its
/// policy says.
pub async fn unlink(
    store: &DynStore,
    actor: &Actor,
    idp_id: &str,
    user_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let idp = find(store, idp_id).await?;
    let link = user(store, idp_id, user_id).await?;
    if !store.unlink_idp_user(idp_id, user_id).await? {
        return Err(AdminError::NotFound(format!(
            "{user_id} (IdentityProviderUser)"
        )));
    }
    let user_target = Target::new(user_id, "User", user_id)
        .changed(Some(json!({ "externalId": link.external_id })), None);
    syslog::record(
        store,
        actor,
        Event::success(
            "system.idp.user.unlink",
            "Unlink user from identity provider",
            vec![target(&idp), user_target],
        ),
        now,
    )
    .await;
    Ok(())
}

/// What the System Log keeps of a provider: its settings, never the secret.
fn log_json(idp: &IdentityProvider) -> Value {
    json!({
        "name": idp.name,
        "type": idp.idp_type,
        "status": idp.status,
        "issuer": idp.issuer,
        "authorization": idp.authorization_endpoint,
        "token": idp.token_endpoint,
        "userInfo": idp.userinfo_endpoint,
        "jwks": idp.jwks_uri,
        "scopes": idp.scopes,
        "client_id": idp.client_id,
        "token_endpoint_auth_method": idp.token_auth_method,
        "provisioning": idp.provisioning_action,
        "accountLink": idp.account_link_action,
    })
}

fn url_binding(url: Option<&str>, binding: &str) -> Value {
    match url {
        Some(url) => json!({ "url": url, "binding": binding }),
        None => Value::Null,
    }
}

/// Okta's IdP shape, with Gatehouse's own settings under `gatehouse`. The client
/// secret is never in it (Okta returns it; Gatehouse does not).
pub fn to_json(base: &str, idp: &IdentityProvider) -> Value {
    let mut endpoints = serde_json::Map::new();
    for (name, url, binding) in [
        (
            "authorization",
            Some(idp.authorization_endpoint.as_str()),
            "HTTP-REDIRECT",
        ),
        ("token", Some(idp.token_endpoint.as_str()), "HTTP-POST"),
        (
            "userInfo",
            idp.userinfo_endpoint.as_deref(),
            "HTTP-REDIRECT",
        ),
        ("jwks", idp.jwks_uri.as_deref(), "HTTP-REDIRECT"),
    ] {
        if url.is_some() {
            endpoints.insert(name.into(), url_binding(url, binding));
        }
    }
    let mut credentials = json!({
        "client": {
            "client_id": idp.client_id,
            "pkce_required": idp.pkce,
        }
    });
    // Okta names the method only when it is not its default, `client_secret_post`
    // (its SDKs' models accept no other value there but `private_key_jwt`).
    if idp.token_auth_method != AuthMethod::ClientSecretPost {
        credentials["client"]["token_endpoint_auth_method"] = json!(idp.token_auth_method);
    }
    if let Some(alg) = &idp.signing_alg {
        credentials["signing"] = json!({ "algorithm": alg });
    }
    let groups = match idp.groups_action {
        GroupsAction::None => json!({ "action": "NONE" }),
        GroupsAction::Append | GroupsAction::Sync => json!({
            "action": idp.groups_action,
            "sourceAttributeName": idp.groups_source_attribute,
            "filter": idp.groups_filter,
        }),
        GroupsAction::Assign => json!({
            "action": "ASSIGN",
            "assignments": idp.groups_assignments,
        }),
    };
    let account_link_filter = if idp.account_link_groups.is_empty() {
        Value::Null
    } else {
        json!({ "groups": { "include": idp.account_link_groups } })
    };
    let api = format!("{base}/api/v1/idps/{}", idp.id);
    json!({
        "id": idp.id,
        "type": idp.idp_type,
        "issuerMode": "ORG_URL",
        "name": idp.name,
        "status": idp.status,
        "created": rfc3339(idp.created_at),
        "lastUpdated": rfc3339(idp.updated_at),
        "protocol": {
            "type": idp.idp_type,
            "endpoints": endpoints,
            "scopes": idp.scopes,
            "credentials": credentials,
            "issuer": idp.issuer.as_ref().map(|url| json!({ "url": url })),
        },
        "policy": {
            "provisioning": {
                "action": idp.provisioning_action,
                "profileMaster": idp.profile_master,
                "groups": groups,
                "conditions": {
                    "deprovisioned": { "action": "NONE" },
                    "suspended": { "action": "NONE" },
                },
            },
            "accountLink": {
                "action": idp.account_link_action,
                "filter": account_link_filter,
            },
            "subject": {
                "userNameTemplate": { "template": idp.username_template },
                "filter": null,
                "matchType": idp.match_type,
                "matchAttribute": idp.match_attribute,
            },
            "maxClockSkew": idp.max_clock_skew_ms,
        },
        "gatehouse": {
            "endSessionEndpoint": idp.end_session_endpoint,
            "endUpstreamSession": idp.end_upstream_session,
            "profileMapping": idp.profile_mapping,
            "button": {
                "label": idp.button_label,
                "color": idp.button_color,
            },
        },
        "_links": {
            "self": { "href": api, "hints": { "allow": ["GET", "PUT", "DELETE"] } },
            "authorize": {
                "href": format!("{base}/oauth2/v1/authorize?idp={}&client_id={{clientId}}&response_type={{responseType}}&response_mode={{responseMode}}&scope={{scopes}}&redirect_uri={{redirectUri}}&state={{state}}&nonce={{nonce}}", idp.id),
                "templated": true,
                "hints": { "allow": ["GET"] },
            },
            "clientRedirectUri": {
                "href": format!("{base}/oauth2/v1/authorize/callback"),
                "hints": { "allow": ["GET", "POST"] },
            },
            "users": { "href": format!("{api}/users"), "hints": { "allow": ["GET"] } },
            "activate": if idp.is_active() { Value::Null } else {
                json!({ "href": format!("{api}/lifecycle/activate"), "hints": { "allow": ["POST"] } })
            },
            "deactivate": if idp.is_active() {
                json!({ "href": format!("{api}/lifecycle/deactivate"), "hints": { "allow": ["POST"] } })
            } else { Value::Null },
        },
    })
}

/// Okta's IdentityProviderApplicationUser shape: a linked user.
pub fn user_json(base: &str, link: &IdpUser) -> Value {
    json!({
        "id": link.user_id,
        "externalId": link.external_id,
        "created": rfc3339(link.created_at),
        "lastUpdated": rfc3339(link.updated_at),
        "profile": link.profile,
        "_links": {
            "self": { "href": format!("{base}/api/v1/idps/{}/users/{}", link.idp_id, link.user_id) },
            "idp": { "href": format!("{base}/api/v1/idps/{}", link.idp_id) },
            "user": { "href": format!("{base}/api/v1/users/{}", link.user_id) },
        },
    })
}

/// A routing rule of the IdP discovery policy as an admin describes it.
#[derive(Debug, Clone, Default)]
pub struct NewRoute {
    pub name: String,
    /// None: any username.
    pub patterns: Vec<IdentifierPattern>,
    pub zones_include: Vec<String>,
    pub zones_exclude: Vec<String>,
    pub apps_include: Vec<String>,
    pub apps_exclude: Vec<String>,
    /// `OKTA` (a password), or a provider's type and id.
    pub providers: Vec<RouteProvider>,
    /// Where among the other rules (1 first); None: after them.
    pub priority: Option<i64>,
}

/// The IdP discovery policy (there is one) and its rules, in evaluation order.
pub async fn routes(
    store: &DynStore,
) -> Result<(IdpDiscoveryPolicy, Vec<IdpDiscoveryRule>), AdminError> {
    let policy = store
        .list_idp_discovery_policies()
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AdminError::NotFound("IDP_DISCOVERY (Policy)".into()))?;
    let rules = store
        .list_idp_discovery_rules()
        .await?
        .into_iter()
        .filter(|r| r.policy_id == policy.id)
        .collect();
    Ok((policy, rules))
}

/// Checks what an admin asks of a routing rule: patterns, zones, apps and providers
/// that exist (Okta's E0000001 with the field at fault).
async fn check_route(store: &DynStore, new: &NewRoute) -> Result<(), AdminError> {
    check_text("name", &new.name, 100)?;
    if new.priority.is_some_and(|p| p < 1) {
        return Err(AdminError::invalid("priority", "must be 1 or more"));
    }
    if new.patterns.len() > MAX_ITEMS {
        return Err(AdminError::invalid(
            "conditions.userIdentifier.patterns",
            format!("at most {MAX_ITEMS} patterns"),
        ));
    }
    for p in &new.patterns {
        if p.match_type == PatternMatchType::Expression {
            return Err(AdminError::invalid(
                "conditions.userIdentifier.patterns",
                "EXPRESSION is not supported: use SUFFIX, EQUALS, STARTS_WITH or CONTAINS",
            ));
        }
        check_text("conditions.userIdentifier.patterns", &p.value, 256)?;
    }
    let zones = store.list_zones().await?;
    for id in new.zones_include.iter().chain(&new.zones_exclude) {
        if !zones.iter().any(|z| &z.id == id) {
            return Err(AdminError::invalid(
                "conditions.network",
                format!("{id:?} is not a network zone"),
            ));
        }
    }
    for id in new.apps_include.iter().chain(&new.apps_exclude) {
        if store.get_client(id).await?.is_none() {
            return Err(AdminError::invalid(
                "conditions.app",
                format!("{id:?} is not an app"),
            ));
        }
    }
    if new.providers.is_empty() {
        return Err(AdminError::invalid(
            "actions.idp.providers",
            "name at least one provider",
        ));
    }
    if new.providers.len() > MAX_ITEMS {
        return Err(AdminError::invalid(
            "actions.idp.providers",
            format!("at most {MAX_ITEMS} providers"),
        ));
    }
    for p in &new.providers {
        if p.provider_type == ROUTE_OKTA {
            if p.id.is_some() {
                return Err(AdminError::invalid(
                    "actions.idp.providers",
                    "an OKTA provider has no id",
                ));
            }
            continue;
        }
        let found = match &p.id {
            Some(id) => store.get_idp(id).await?,
            None => None,
        };
        if found.is_none_or(|idp| idp.idp_type.as_str() != p.provider_type) {
            return Err(AdminError::invalid(
                "actions.idp.providers",
                format!(
                    "{:?} {:?} is not an identity provider of that type",
                    p.provider_type,
                    p.id.as_deref().unwrap_or_default()
                ),
            ));
        }
    }
    Ok(())
}

/// Gives the non-system rules priorities 1, 2, ... in this order, with `moved` at
/// `priority` (clamped to the end), writing only the rules whose priority changes.
/// Returns the priority `moved` gets. A failure part-way leaves the order intact (a
/// gap at most), as rules are shifted before the moved one is written.
async fn place(
    store: &DynStore,
    rules: &[IdpDiscoveryRule],
    moved: &str,
    priority: Option<i64>,
    now: UnixTime,
) -> Result<i64, AdminError> {
    let mut order: Vec<&IdpDiscoveryRule> = rules
        .iter()
        .filter(|r| !r.system && r.id != moved)
        .collect();
    let at = priority
        .map(|p| (p.max(1) as usize - 1).min(order.len()))
        .unwrap_or(order.len());
    // The rule itself is written by the caller; the others make room around it.
    for (i, rule) in order.drain(..).enumerate() {
        let wanted = if i < at { i as i64 + 1 } else { i as i64 + 2 };
        if rule.priority != wanted {
            let shifted = IdpDiscoveryRule {
                priority: wanted,
                updated_at: now,
                ..rule.clone()
            };
            if !store.update_idp_discovery_rule(&shifted).await? {
                return Err(AdminError::NotFound(format!("{} (PolicyRule)", rule.id)));
            }
        }
    }
    Ok(at as i64 + 1)
}

/// Adds a routing rule at `priority` (after the existing ones when absent), always
/// before the catch-all.
pub async fn create_route(
    store: &DynStore,
    actor: &Actor,
    new: NewRoute,
    now: UnixTime,
) -> Result<IdpDiscoveryRule, AdminError> {
    check_route(store, &new).await?;
    let (policy, rules) = routes(store).await?;
    let id = okta_id("0pr");
    let priority = place(store, &rules, &id, new.priority, now).await?;
    let rule = IdpDiscoveryRule {
        id,
        policy_id: policy.id.clone(),
        name: new.name.trim().to_string(),
        priority,
        status: Status::Active,
        system: false,
        identifier_type: IdentifierType::Identifier,
        identifier_attribute: None,
        patterns: new.patterns,
        zones_include: dedup(new.zones_include),
        zones_exclude: dedup(new.zones_exclude),
        apps_include: dedup(new.apps_include),
        apps_exclude: dedup(new.apps_exclude),
        providers: new.providers,
        created_at: now,
        updated_at: now,
    };
    store.insert_idp_discovery_rule(&rule).await?;
    let target =
        Target::new(&rule.id, "PolicyRule", &rule.name).changed(None, Some(route_json(&rule)));
    syslog::record(
        store,
        actor,
        Event::success("policy.rule.add", "Add policy rule", vec![target]),
        now,
    )
    .await;
    Ok(rule)
}

/// One routing rule of the IdP discovery policy `policy_id`.
pub async fn find_route(
    store: &DynStore,
    policy_id: &str,
    rule_id: &str,
) -> Result<IdpDiscoveryRule, AdminError> {
    let (policy, rules) = routes(store).await?;
    if policy.id != policy_id {
        return Err(AdminError::NotFound(format!("{policy_id} (Policy)")));
    }
    rules
        .into_iter()
        .find(|r| r.id == rule_id)
        .ok_or_else(|| AdminError::NotFound(format!("{rule_id} (PolicyRule)")))
}

/// Replaces a routing rule (Okta's PUT: its status is kept, its priority too when
/// absent). The catch-all keeps matching everyone: only its name and providers change.
pub async fn update_route(
    store: &DynStore,
    actor: &Actor,
    policy_id: &str,
    rule_id: &str,
    new: NewRoute,
    now: UnixTime,
) -> Result<IdpDiscoveryRule, AdminError> {
    let before = find_route(store, policy_id, rule_id).await?;
    check_route(store, &new).await?;
    let priority = if before.system {
        let conditions = !new.patterns.is_empty()
            || !new.zones_include.is_empty()
            || !new.zones_exclude.is_empty()
            || !new.apps_include.is_empty()
            || !new.apps_exclude.is_empty();
        if conditions {
            return Err(AdminError::invalid(
                "conditions",
                "the default rule matches every sign-in: it has no conditions",
            ));
        }
        before.priority
    } else if new.priority.is_some_and(|p| p != before.priority) {
        let (_, rules) = routes(store).await?;
        place(store, &rules, rule_id, new.priority, now).await?
    } else {
        before.priority
    };
    let rule = IdpDiscoveryRule {
        name: new.name.trim().to_string(),
        priority,
        patterns: new.patterns,
        zones_include: dedup(new.zones_include),
        zones_exclude: dedup(new.zones_exclude),
        apps_include: dedup(new.apps_include),
        apps_exclude: dedup(new.apps_exclude),
        providers: new.providers,
        updated_at: now,
        ..before.clone()
    };
    if !store.update_idp_discovery_rule(&rule).await? {
        return Err(AdminError::NotFound(format!("{rule_id} (PolicyRule)")));
    }
    let target = Target::new(&rule.id, "PolicyRule", &rule.name)
        .changed(Some(route_json(&before)), Some(route_json(&rule)));
    syslog::record(
        store,
        actor,
        Event::success("policy.rule.update", "Update policy rule", vec![target]),
        now,
    )
    .await;
    Ok(rule)
}

/// Okta's rule `lifecycle/activate` and `deactivate`: an inactive routing rule is
/// skipped; the catch-all stays active.
pub async fn set_route_active(
    store: &DynStore,
    actor: &Actor,
    policy_id: &str,
    rule_id: &str,
    active: bool,
    now: UnixTime,
) -> Result<IdpDiscoveryRule, AdminError> {
    let before = find_route(store, policy_id, rule_id).await?;
    if before.system && !active {
        return Err(AdminError::not_allowed(
            "E0000099",
            "The default rule cannot be deactivated.",
        ));
    }
    let status = Status::active_if(active);
    if before.status == status {
        return Ok(before);
    }
    let rule = IdpDiscoveryRule {
        status,
        updated_at: now,
        ..before.clone()
    };
    if !store.update_idp_discovery_rule(&rule).await? {
        return Err(AdminError::NotFound(format!("{rule_id} (PolicyRule)")));
    }
    let event =
        super::policy_status_event(true, (&rule.id, &rule.name), before.status, status, vec![]);
    syslog::record(store, actor, event, now).await;
    Ok(rule)
}

/// Deletes a routing rule; the catch-all stays (Okta's E0000099 answer to deleting a
/// default rule).
pub async fn delete_route(
    store: &DynStore,
    actor: &Actor,
    rule_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let (policy, rules) = routes(store).await?;
    let rule = rules
        .into_iter()
        .find(|r| r.id == rule_id)
        .ok_or_else(|| AdminError::NotFound(format!("{rule_id} (PolicyRule)")))?;
    if rule.system {
        return Err(AdminError::not_allowed(
            "E0000099",
            "The default rule cannot be deleted.",
        ));
    }
    if !store.delete_idp_discovery_rule(&policy.id, rule_id).await? {
        return Err(AdminError::NotFound(format!("{rule_id} (PolicyRule)")));
    }
    let target =
        Target::new(&rule.id, "PolicyRule", &rule.name).changed(Some(route_json(&rule)), None);
    syslog::record(
        store,
        actor,
        Event::success("policy.rule.delete", "Delete policy rule", vec![target]),
        now,
    )
    .await;
    Ok(())
}

/// Where the routing rules send `identifier` signing in to `client_id` from `ip`, read
/// from the store (the CLI's check; the sign-in flow asks its cached `Settings`).
pub async fn route(
    store: &DynStore,
    identifier: Option<&str>,
    client_id: Option<&str>,
    ip: Option<std::net::IpAddr>,
) -> Result<Route, AdminError> {
    let routing = Routing {
        policies: store.list_idp_discovery_policies().await?,
        rules: store.list_idp_discovery_rules().await?,
        providers: store.all_idps().await?,
        zones: store.list_zones().await?,
    };
    Ok(routing.route(&Lookup {
        identifier,
        ip,
        client_id,
    }))
}

/// Okta's IDP_DISCOVERY policy shape.
pub fn discovery_policy_json(policy: &IdpDiscoveryPolicy) -> Value {
    json!({
        "id": policy.id,
        "type": "IDP_DISCOVERY",
        "name": policy.name,
        "description": policy.description,
        "priority": policy.priority,
        "status": policy.status,
        "system": policy.system,
        "created": rfc3339(policy.created_at),
        "lastUpdated": rfc3339(policy.updated_at),
    })
}

/// Okta's IDP_DISCOVERY rule shape.
pub fn route_json(rule: &IdpDiscoveryRule) -> Value {
    let ids =
        |include: &[String], exclude: &[String]| json!({ "include": include, "exclude": exclude });
    json!({
        "id": rule.id,
        "type": "IDP_DISCOVERY",
        "name": rule.name,
        "priority": rule.priority,
        "status": rule.status,
        "system": rule.system,
        "created": rfc3339(rule.created_at),
        "lastUpdated": rfc3339(rule.updated_at),
        "conditions": {
            "userIdentifier": { "type": rule.identifier_type, "patterns": rule.patterns },
            "network": {
                "connection": if rule.zones_include.is_empty() && rule.zones_exclude.is_empty() { "ANYWHERE" } else { "ZONE" },
                "include": rule.zones_include,
                "exclude": rule.zones_exclude,
            },
            "app": ids(&rule.apps_include, &rule.apps_exclude),
        },
        "actions": { "idp": { "providers": rule.providers } },
    })
}
