//! Which users and groups an app is assigned to (Okta's `/apps/{id}/users` and
//! `/apps/{id}/groups`): only they may sign in to it.

use super::rows::find;
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::admin::{AdminError, groups, users};
use crate::clock::UnixTime;
use crate::store::{Client, DynStore, Group, User};

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
