//! Groups of users (Okta's `00g...`): the `groups` claim and policy rules use them.

use serde_json::{Value, json};

use super::{AdminError, check_text};
use crate::clock::{UnixTime, rfc3339};
use crate::crypto::okta_id;
use crate::store::{DynStore, Group, StoreError, User};

pub async fn create(store: &DynStore, name: &str, description: &str, now: UnixTime) -> Result<Group, AdminError> {
    check_text("name", name, 255)?;
    if name.trim().eq_ignore_ascii_case(crate::oauth::policy::EVERYONE) {
        return Err(AdminError::invalid("name", "EVERYONE is reserved: policy rules use it for every user"));
    }
    if description.len() > 1024 || description.chars().any(char::is_control) {
        return Err(AdminError::invalid("description", "must be at most 1024 printable characters"));
    }
    let group = Group {
        id: okta_id("00g"),
        name: name.trim().to_string(),
        description: description.to_string(),
        created_at: now,
        updated_at: now,
    };
    match store.insert_group(&group).await {
        Ok(()) => Ok(group),
        Err(StoreError::Conflict(_)) => Err(AdminError::invalid("name", "a group with this name exists")),
        Err(e) => Err(e.into()),
    }
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
    if let Some(user) = store.get_user(id_or_login).await? {
        return Ok(user);
    }
    store
        .find_user_by_login(id_or_login)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("user {id_or_login}")))
}

/// Adds a user to a group; adding a member again changes nothing.
pub async fn add_member(store: &DynStore, group: &str, user: &str) -> Result<(Group, User), AdminError> {
    let group = find(store, group).await?;
    let user = find_user(store, user).await?;
    store.add_group_member(&group.id, &user.id).await?;
    Ok((group, user))
}

pub async fn remove_member(store: &DynStore, group: &str, user: &str) -> Result<(Group, User), AdminError> {
    let group = find(store, group).await?;
    let user = find_user(store, user).await?;
    if !store.remove_group_member(&group.id, &user.id).await? {
        return Err(AdminError::NotFound(format!("{} is not a member of {}", user.login, group.name)));
    }
    Ok((group, user))
}

/// Okta's group shape.
pub fn to_json(group: &Group) -> Value {
    json!({
        "id": group.id,
        "type": "OKTA_GROUP",
        "created": rfc3339(group.created_at),
        "lastUpdated": rfc3339(group.updated_at),
        "profile": { "name": group.name, "description": group.description },
    })
}
