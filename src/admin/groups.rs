//! Groups of users (Okta's `00g...`): the `groups` claim and policy rules use them.

use serde_json::{Value, json};

use super::syslog::{self, Actor, Event, Target};
use super::users::{self, next_page, prefix_of_names};
use super::{AdminError, check_text, filter};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::okta_id;
use crate::store::{DynStore, Expr, Group, Page, SqlValue, StoreError, User};

/// Okta's built-in `Everyone` group (migration 22): every user is a member, kept so by
/// a database trigger for users created later. It cannot be renamed or deleted, and
/// nobody can be taken out of it.
pub const EVERYONE_ID: &str = "00g0everyone00000000";

/// Okta's answer to changing a built-in group: 403 `E0000006`.
fn built_in(group: &Group) -> Result<(), AdminError> {
    if group.id == EVERYONE_ID {
        return Err(AdminError::not_allowed(
            "E0000006",
            format!(
                "{} is a built-in group: every user is a member; it cannot be renamed or deleted, and nobody can be taken out of it",
                group.name
            ),
        ));
    }
    Ok(())
}

fn check(name: &str, description: &str) -> Result<(), AdminError> {
    check_text("profile.name", name, 255)?;
    if name
        .trim()
        .eq_ignore_ascii_case(crate::oauth::policy::EVERYONE)
    {
        return Err(AdminError::invalid(
            "profile.name",
            "EVERYONE is reserved: policy rules use it for every user",
        ));
    }
    if description.len() > 1024 || description.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "profile.description",
            "must be at most 1024 printable characters",
        ));
    }
    Ok(())
}

fn conflict(e: StoreError) -> AdminError {
    match e {
        StoreError::Conflict(_) => {
            AdminError::invalid("profile.name", "a group with this name exists")
        }
        e => e.into(),
    }
}

pub async fn create(
    store: &DynStore,
    actor: &Actor,
    name: &str,
    description: &str,
    now: UnixTime,
) -> Result<Group, AdminError> {
    check(name, description)?;
    let group = Group {
        id: okta_id("00g"),
        name: name.trim().to_string(),
        description: description.to_string(),
        created_at: now,
        updated_at: now,
    };
    store.insert_group(&group).await.map_err(conflict)?;
    let target = Target::group(&group).changed(None, Some(to_json(&group)));
    syslog::record(
        store,
        actor,
        Event::success("group.lifecycle.create", "Create okta group", vec![target]),
        now,
    )
    .await;
    Ok(group)
}

/// Okta's PUT: a new name and description.
pub async fn update(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    name: &str,
    description: &str,
    now: UnixTime,
) -> Result<Group, AdminError> {
    let before = find(store, id).await?;
    built_in(&before)?;
    check(name, description)?;
    let group = Group {
        name: name.trim().to_string(),
        description: description.to_string(),
        updated_at: now,
        ..before.clone()
    };
    if !store.update_group(&group).await.map_err(conflict)? {
        return Err(AdminError::NotFound(format!("group {id}")));
    }
    let target = Target::group(&group).changed(Some(to_json(&before)), Some(to_json(&group)));
    syslog::record(
        store,
        actor,
        Event::success("group.profile.update", "Update group profile", vec![target]),
        now,
    )
    .await;
    Ok(group)
}

pub async fn delete(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    now: UnixTime,
) -> Result<(), AdminError> {
    let group = find(store, id).await?;
    built_in(&group)?;
    if !store.delete_group(&group.id).await? {
        return Err(AdminError::NotFound(format!("group {id}")));
    }
    let target = Target::group(&group).changed(Some(to_json(&group)), None);
    syslog::record(
        store,
        actor,
        Event::success("group.lifecycle.delete", "Delete okta group", vec![target]),
        now,
    )
    .await;
    Ok(())
}

/// A group by id or name.
pub async fn find(store: &DynStore, id_or_name: &str) -> Result<Group, AdminError> {
    store
        .find_group(id_or_name)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("group {id_or_name}")))
}

/// A user by id or login.
pub async fn find_user(store: &DynStore, id_or_login: &str) -> Result<User, AdminError> {
    users::find(store, id_or_login).await
}

/// Adds a user to a group; adding a member again changes nothing.
pub async fn add_member(
    store: &DynStore,
    actor: &Actor,
    group: &str,
    user: &str,
    now: UnixTime,
) -> Result<(Group, User), AdminError> {
    let group = find(store, group).await?;
    let user = find_user(store, user).await?;
    if store.add_group_member(&group.id, &user.id).await? {
        let event = Event::success(
            "group.user_membership.add",
            "Add user to group membership",
            vec![Target::user(&user), Target::group(&group)],
        );
        syslog::record(store, actor, event, now).await;
    }
    Ok((group, user))
}

pub async fn remove_member(
    store: &DynStore,
    actor: &Actor,
    group: &str,
    user: &str,
    now: UnixTime,
) -> Result<(Group, User), AdminError> {
    let group = find(store, group).await?;
    built_in(&group)?;
    let user = find_user(store, user).await?;
    if !store.remove_group_member(&group.id, &user.id).await? {
        return Err(AdminError::NotFound(format!(
            "{} is not a member of {}",
            user.login, group.name
        )));
    }
    let event = Event::success(
        "group.user_membership.remove",
        "Remove user from group membership",
        vec![Target::user(&user), Target::group(&group)],
    );
    syslog::record(store, actor, event, now).await;
    Ok((group, user))
}

pub const DEFAULT_LIMIT: i64 = 10_000;
pub const MAX_LIMIT: i64 = 10_000;

/// One page of groups (ordered by id; `q` a prefix of the name) and the next cursor.
pub async fn list(
    store: &DynStore,
    q: Option<&str>,
    after: Option<String>,
    limit: Option<i64>,
) -> Result<(Vec<Group>, Option<String>), AdminError> {
    let limit = filter::limit(limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let condition = match q.filter(|q| !q.is_empty()) {
        Some(q) => Some(prefix_of_names(q, &["name"])?),
        None => None,
    };
    let page = Page {
        filter: condition.map(|c| Expr::And(vec![c])),
        after: after.map(SqlValue::Text),
        limit: limit + 1,
    };
    let groups = store.query_groups(&page).await?;
    Ok(next_page(groups, limit, |g| g.id.clone()))
}

/// Okta's group shape.
pub fn to_json(group: &Group) -> Value {
    json!({
        "id": group.id,
        "type": if group.id == EVERYONE_ID { "BUILT_IN" } else { "OKTA_GROUP" },
        "created": rfc3339(group.created_at),
        "lastUpdated": rfc3339(group.updated_at),
        "lastMembershipUpdated": rfc3339(group.updated_at),
        "objectClass": ["okta:user_group"],
        "profile": { "name": group.name, "description": group.description },
    })
}
