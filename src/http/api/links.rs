//! Okta's `_links` on users, groups, apps, client secrets and authorization servers:
//! `self`, the lists that hang off the object, and the lifecycle actions its current
//! status allows, each an Okta `HrefObject` (`href`, and `hints.allow` naming the
//! method of an action). Only what Gatehouse serves is linked.

use serde_json::{Map, Value, json};

use crate::admin::users::Lifecycle;
use crate::store::{AuthServer, Client, ClientSecret, Group, Status, User, UserStatus};

fn href(href: String) -> Value {
    json!({ "href": href })
}

fn action(href: String, method: &str) -> Value {
    json!({ "href": href, "hints": { "allow": [method] } })
}

/// The API's public root, `{base}/api/v1`, under which the links point.
pub fn root(base: &str) -> String {
    format!("{base}{}", super::PREFIX)
}

/// `value` with `_links` set to `links`.
pub fn with(mut value: Value, links: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.insert("_links".into(), links);
    }
    value
}

/// Okta's user (`admin::users::to_json`) with its `_links`; `base` is the public URL.
pub fn user_json(base: &str, user: &User) -> Value {
    with(
        crate::admin::users::to_json(user),
        self::user(&root(base), user),
    )
}

/// Okta's group with its `_links`.
pub fn group_json(base: &str, group: &Group) -> Value {
    with(
        crate::admin::groups::to_json(group),
        self::group(&root(base), group),
    )
}

/// Okta's app with its `_links`; `secret` only in the answer that makes it.
pub fn app_json(base: &str, client: &Client, secret: Option<&str>) -> Value {
    with(
        crate::admin::apps::to_json(client, secret),
        self::app(&root(base), client),
    )
}

/// One of an app's client secrets with its `_links`; `value` only when just made.
pub fn secret_json(base: &str, app_id: &str, secret: &ClientSecret, value: Option<&str>) -> Value {
    with(
        crate::admin::apps::secret_json(secret, value),
        self::secret(&root(base), app_id, secret),
    )
}

/// `api` is the API's public root (`https://host/api/v1`).
pub fn user(api: &str, user: &User) -> Value {
    let base = format!("{api}/users/{}", user.id);
    let mut links = Map::new();
    links.insert("self".into(), href(base.clone()));
    let has_password = user.password_hash.is_some();
    for (op, name) in [
        (Lifecycle::Activate, "activate"),
        (Lifecycle::Deactivate, "deactivate"),
        (Lifecycle::Suspend, "suspend"),
        (Lifecycle::Unsuspend, "unsuspend"),
    ] {
        if op.next(user.status, has_password).is_ok() {
            links.insert(
                name.into(),
                action(format!("{base}/lifecycle/{name}"), "POST"),
            );
        }
    }
    if matches!(
        user.status,
        UserStatus::Active | UserStatus::PasswordExpired
    ) && has_password
    {
        links.insert(
            "changePassword".into(),
            action(format!("{base}/credentials/change_password"), "POST"),
        );
    }
    if user.status == UserStatus::LockedOut {
        links.insert(
            "unlock".into(),
            action(format!("{base}/lifecycle/unlock"), "POST"),
        );
    }
    if user.status == UserStatus::Active && has_password {
        links.insert(
            "expirePassword".into(),
            action(format!("{base}/lifecycle/expire_password"), "POST"),
        );
    }
    Value::Object(links)
}

pub fn group(api: &str, group: &Group) -> Value {
    let base = format!("{api}/groups/{}", group.id);
    json!({ "self": href(base.clone()), "users": href(format!("{base}/users")) })
}

fn lifecycle(base: &str, status: Status) -> (&'static str, Value) {
    let name = if status == Status::Active {
        "deactivate"
    } else {
        "activate"
    };
    (name, action(format!("{base}/lifecycle/{name}"), "POST"))
}

pub fn app(api: &str, client: &Client) -> Value {
    let base = format!("{api}/apps/{}", client.client_id);
    let (name, link) = lifecycle(&base, client.status);
    let mut links = json!({
        "self": href(base.clone()),
        "users": href(format!("{base}/users")),
        "groups": href(format!("{base}/groups")),
    });
    links[name] = link;
    links
}

/// A client secret: activate or deactivate, and delete once INACTIVE (Okta's order).
pub fn secret(api: &str, app_id: &str, secret: &ClientSecret) -> Value {
    let base = format!("{api}/apps/{app_id}/credentials/secrets/{}", secret.id);
    let (name, link) = lifecycle(&base, secret.status);
    let mut links = Map::new();
    links.insert(name.into(), link);
    if secret.status != Status::Active {
        links.insert("delete".into(), action(base, "DELETE"));
    }
    Value::Object(links)
}

/// `issuer` is the server's issuer, under which its metadata documents are served.
pub fn server(api: &str, server: &AuthServer, issuer: &str) -> Value {
    let base = format!("{api}/authorizationServers/{}", server.id);
    let (name, link) = lifecycle(&base, server.status);
    let metadata = ["openid-configuration", "oauth-authorization-server"]
        .iter()
        .map(|doc| {
            json!({ "name": doc, "href": format!("{issuer}/.well-known/{doc}"), "hints": { "allow": ["GET"] } })
        })
        .collect::<Vec<_>>();
    let mut links = json!({
        "self": href(base.clone()),
        "scopes": href(format!("{base}/scopes")),
        "claims": href(format!("{base}/claims")),
        "policies": href(format!("{base}/policies")),
        "rotateKey": action(format!("{base}/credentials/lifecycle/keyRotate"), "POST"),
        "metadata": metadata,
    });
    links[name] = link;
    links
}
