//! Admin roles granted to users and groups (Okta's role assignment API,
//! `/api/v1/users/{id}/roles` and `/api/v1/groups/{id}/roles`), and the okta.* scopes
//! granted to apps (Okta's `/api/v1/apps/{appId}/grants`). Every change is in the
//! System Log: Okta's `user.account.privilege.grant`/`revoke` and
//! `group.privilege.grant`/`revoke`, `app.oauth2.client.grant`... for app grants.
//! What each role may do is `admin::permissions::MATRIX`.

use serde_json::{Value, json};

use super::permissions::{self, Role};
use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, groups, users};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::okta_id;
use crate::store::{AppGrant, DynStore, Group, RoleAssignment, RolePrincipal, User};

/// A user or a group, found, that roles are granted to.
pub enum Holder {
    User(User),
    Group(Group),
}

impl Holder {
    fn principal(&self) -> RolePrincipal {
        match self {
            Holder::User(u) => RolePrincipal::User(u.id.clone()),
            Holder::Group(g) => RolePrincipal::Group(g.id.clone()),
        }
    }

    fn target(&self) -> Target {
        match self {
            Holder::User(u) => Target::user(u),
            Holder::Group(g) => Target::group(g),
        }
    }

    fn event_type(&self, grant: bool) -> &'static str {
        match (self, grant) {
            (Holder::User(_), true) => "user.account.privilege.grant",
            (Holder::User(_), false) => "user.account.privilege.revoke",
            (Holder::Group(_), true) => "group.privilege.grant",
            (Holder::Group(_), false) => "group.privilege.revoke",
        }
    }
}

/// The user with this id or login.
pub async fn user(store: &DynStore, id_or_login: &str) -> Result<Holder, AdminError> {
    Ok(Holder::User(users::find(store, id_or_login).await?))
}

/// The group with this id or name.
pub async fn group(store: &DynStore, id_or_name: &str) -> Result<Holder, AdminError> {
    Ok(Holder::Group(groups::find(store, id_or_name).await?))
}

/// A role type as Okta names it (`SUPER_ADMIN`, ...) or as the command line does
/// (`super`, ...); anything else is E0000001 naming `type`.
pub fn parse_role(text: &str) -> Result<Role, AdminError> {
    Role::parse(text.trim()).ok_or_else(|| {
        AdminError::invalid(
            "type",
            "must be one of SUPER_ADMIN, ORG_ADMIN, APP_ADMIN, READ_ONLY_ADMIN",
        )
    })
}

/// Grants `role` to the user or group. Granting a role it already has answers the
/// existing assignment and changes nothing (Okta answers the same role).
pub async fn grant(
    store: &DynStore,
    actor: &Actor,
    holder: &Holder,
    role: Role,
    now: UnixTime,
) -> Result<RoleAssignment, AdminError> {
    let assignment = RoleAssignment {
        id: okta_id("ra1"),
        principal: holder.principal(),
        role: role.okta_type().into(),
        created_at: now,
    };
    if !store.insert_role(&assignment).await? {
        return store
            .roles_of(&assignment.principal)
            .await?
            .into_iter()
            .find(|r| r.role == assignment.role)
            .ok_or_else(|| AdminError::Conflict("the role was revoked meanwhile".into()));
    }
    let event = Event::success(
        holder.event_type(true),
        format!("Grant {}", role.label()),
        vec![
            holder
                .target()
                .changed(None, Some(json!({ "role": role.okta_type() }))),
        ],
    );
    syslog::record(store, actor, event, now).await;
    Ok(assignment)
}

/// The roles granted to the user or group itself.
pub async fn list(store: &DynStore, holder: &Holder) -> Result<Vec<RoleAssignment>, AdminError> {
    Ok(store.roles_of(&holder.principal()).await?)
}

/// Every role granted, to whom.
pub async fn list_all(store: &DynStore) -> Result<Vec<RoleAssignment>, AdminError> {
    Ok(store.list_roles().await?)
}

/// A user's roles now: their own and their groups'.
pub async fn effective(store: &DynStore, user_id: &str) -> Result<Vec<Role>, AdminError> {
    let mut roles: Vec<Role> = Vec::new();
    for assignment in store.effective_roles(user_id).await? {
        if let Some(role) = Role::parse(&assignment.role)
            && !roles.contains(&role)
        {
            roles.push(role);
        }
    }
    Ok(roles)
}

/// Revokes the role assignment `id` (or, as the command line names it, the role
/// type) of the user or group.
pub async fn revoke(
    store: &DynStore,
    actor: &Actor,
    holder: &Holder,
    id_or_type: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let principal = holder.principal();
    let found = store
        .roles_of(&principal)
        .await?
        .into_iter()
        .find(|r| {
            r.id == id_or_type || Role::parse(id_or_type).is_some_and(|t| t.okta_type() == r.role)
        })
        .ok_or_else(|| AdminError::NotFound(format!("role {id_or_type}")))?;
    if !store.delete_role(&principal, &found.id).await? {
        return Err(AdminError::NotFound(format!("role {id_or_type}")));
    }
    let label = Role::parse(&found.role).map_or(found.role.as_str(), |r| r.label());
    let event = Event::success(
        holder.event_type(false),
        format!("Revoke {label}"),
        vec![
            holder
                .target()
                .changed(Some(json!({ "role": found.role })), None),
        ],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}

/// Okta's role object.
pub fn to_json(assignment: &RoleAssignment) -> Value {
    let label = Role::parse(&assignment.role).map_or("", |r| r.label());
    json!({
        "id": assignment.id,
        "label": label,
        "type": assignment.role,
        "status": "ACTIVE",
        "created": rfc3339(assignment.created_at),
        "lastUpdated": rfc3339(assignment.created_at),
        "assignmentType": match assignment.principal {
            RolePrincipal::User(_) => "USER",
            RolePrincipal::Group(_) => "GROUP",
        },
    })
}

/// Grants an okta.* scope to an app (Okta's app grant): the app may then ask the org
/// server for it. `issuer` must be the org server's (the public URL).
pub async fn grant_scope(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    issuer: &str,
    expected_issuer: &str,
    scope: &str,
    now: UnixTime,
) -> Result<AppGrant, AdminError> {
    let client = super::apps::find(store, client_id).await?;
    if issuer.trim_end_matches('/') != expected_issuer.trim_end_matches('/') {
        return Err(AdminError::invalid(
            "issuer",
            format!("must be the org authorization server's issuer, {expected_issuer}"),
        ));
    }
    if !permissions::okta_scopes().iter().any(|(n, _)| n == scope) {
        return Err(AdminError::invalid(
            "scopeId",
            "must be one of the org authorization server's okta.* scopes",
        ));
    }
    let grant = AppGrant {
        id: okta_id("oag"),
        client_id: client.client_id.clone(),
        scope: scope.into(),
        created_at: now,
    };
    if !store.insert_app_grant(&grant).await? {
        return store
            .app_grants(&client.client_id)
            .await?
            .into_iter()
            .find(|g| g.scope == scope)
            .ok_or_else(|| AdminError::Conflict("the grant was revoked meanwhile".into()));
    }
    let event = Event::success(
        "app.oauth2.client.grant",
        format!("Grant {scope} to the application"),
        vec![Target::app(&client).changed(None, Some(json!({ "scopeId": scope })))],
    );
    syslog::record(store, actor, event, now).await;
    Ok(grant)
}

/// The okta.* scopes granted to an app.
pub async fn scope_grants(store: &DynStore, client_id: &str) -> Result<Vec<AppGrant>, AdminError> {
    let client = super::apps::find(store, client_id).await?;
    Ok(store.app_grants(&client.client_id).await?)
}

/// Revokes an app grant: the app's tokens stop carrying it at their next use.
pub async fn revoke_scope(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    grant_id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let client = super::apps::find(store, client_id).await?;
    let grant = store
        .app_grants(&client.client_id)
        .await?
        .into_iter()
        .find(|g| g.id == grant_id)
        .ok_or_else(|| AdminError::NotFound(format!("grant {grant_id}")))?;
    if !store.delete_app_grant(&client.client_id, grant_id).await? {
        return Err(AdminError::NotFound(format!("grant {grant_id}")));
    }
    let event = Event::success(
        "app.oauth2.client.grant.revoke",
        format!("Revoke {} from the application", grant.scope),
        vec![Target::app(&client).changed(Some(json!({ "scopeId": grant.scope })), None)],
    );
    syslog::record(store, actor, event, now).await;
    Ok(())
}

/// Okta's app grant object.
pub fn grant_json(grant: &AppGrant, issuer: &str) -> Value {
    json!({
        "id": grant.id,
        "status": "ACTIVE",
        "created": rfc3339(grant.created_at),
        "lastUpdated": rfc3339(grant.created_at),
        "issuer": issuer,
        "clientId": grant.client_id,
        "scopeId": grant.scope,
        "source": "ADMIN",
    })
}
