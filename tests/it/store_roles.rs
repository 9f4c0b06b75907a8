//! The store contract for admin roles and app grants (migration 27), on SQLite and on
//! PostgreSQL, each behaviour on a fresh database of its own (as `store.rs`).

use gatehouse::store::*;

use crate::store::{client, on_postgres, on_sqlite, user};

fn role(id: &str, principal: RolePrincipal, role: &str, at: i64) -> RoleAssignment {
    RoleAssignment {
        id: id.into(),
        principal,
        role: role.into(),
        created_at: at,
    }
}

fn group(id: &str, name: &str) -> Group {
    Group {
        id: id.into(),
        name: name.into(),
        description: String::new(),
        created_at: 1,
        updated_at: 1,
    }
}

/// Ann has ORG_ADMIN herself and READ_ONLY_ADMIN and APP_ADMIN through two groups; Bob
/// nothing. Granting again changes nothing; effective roles are the union, read in one
/// query, oldest first.
async fn a_users_roles_are_their_own_and_their_groups(store: DynStore) {
    let store = &store;
    store
        .insert_user(&user("00uA", "ann@example.com"))
        .await
        .unwrap();
    store
        .insert_user(&user("00uB", "bob@example.com"))
        .await
        .unwrap();
    store.insert_group(&group("00gR", "readers")).await.unwrap();
    store.insert_group(&group("00gP", "apps")).await.unwrap();
    assert!(store.add_group_member("00gR", "00uA").await.unwrap());
    assert!(store.add_group_member("00gP", "00uA").await.unwrap());
    let ann = RolePrincipal::User("00uA".into());
    let readers = RolePrincipal::Group("00gR".into());
    assert!(
        store
            .insert_role(&role("ra1", ann.clone(), "ORG_ADMIN", 1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_role(&role("ra2", ann.clone(), "ORG_ADMIN", 2))
            .await
            .unwrap(),
        "the same role twice"
    );
    assert!(
        store
            .insert_role(&role("ra3", readers.clone(), "READ_ONLY_ADMIN", 3))
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_role(&role(
                "ra4",
                RolePrincipal::Group("00gP".into()),
                "APP_ADMIN",
                4
            ))
            .await
            .unwrap()
    );
    let effective = store.effective_roles("00uA").await.unwrap();
    let seen: Vec<(&str, &str)> = effective
        .iter()
        .map(|r| (r.id.as_str(), r.role.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("ra1", "ORG_ADMIN"),
            ("ra3", "READ_ONLY_ADMIN"),
            ("ra4", "APP_ADMIN")
        ]
    );
    assert_eq!(effective[1].principal, readers);
    assert!(store.effective_roles("00uB").await.unwrap().is_empty());
    assert_eq!(store.roles_of(&ann).await.unwrap().len(), 1);
    assert_eq!(store.roles_of(&readers).await.unwrap()[0].id, "ra3");
    assert_eq!(store.list_roles().await.unwrap().len(), 3);

    // Leaving the group takes its role away.
    assert!(store.remove_group_member("00gR", "00uA").await.unwrap());
    let roles: Vec<String> = store
        .effective_roles("00uA")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.role)
        .collect();
    assert_eq!(roles, ["ORG_ADMIN", "APP_ADMIN"]);
}

/// A role is revoked only from its own principal, once; deleting a user or a group
/// deletes what was granted to it. The database refuses a role it does not know.
async fn roles_are_revoked_once_and_go_with_their_holder(store: DynStore) {
    let store = &store;
    store
        .insert_user(&user("00uA", "ann@example.com"))
        .await
        .unwrap();
    store.insert_group(&group("00gR", "readers")).await.unwrap();
    assert!(store.add_group_member("00gR", "00uA").await.unwrap());
    let ann = RolePrincipal::User("00uA".into());
    let readers = RolePrincipal::Group("00gR".into());
    store
        .insert_role(&role("ra1", ann.clone(), "SUPER_ADMIN", 1))
        .await
        .unwrap();
    store
        .insert_role(&role("ra2", readers.clone(), "READ_ONLY_ADMIN", 2))
        .await
        .unwrap();
    assert!(
        !store.delete_role(&readers, "ra1").await.unwrap(),
        "not the group's"
    );
    assert!(store.delete_role(&ann, "ra1").await.unwrap());
    assert!(!store.delete_role(&ann, "ra1").await.unwrap(), "once");
    assert!(
        store
            .insert_role(&role("ra9", ann.clone(), "EMPEROR", 3))
            .await
            .is_err(),
        "an unknown role type"
    );
    assert!(
        store
            .insert_role(&role(
                "ra8",
                RolePrincipal::User("00unobody".into()),
                "APP_ADMIN",
                3
            ))
            .await
            .is_err(),
        "a user that does not exist"
    );
    store
        .insert_role(&role("ra3", ann.clone(), "APP_ADMIN", 3))
        .await
        .unwrap();
    assert!(store.delete_group("00gR").await.unwrap());
    assert!(store.roles_of(&readers).await.unwrap().is_empty());
    assert!(store.delete_user("00uA").await.unwrap());
    assert!(store.list_roles().await.unwrap().is_empty());
}

/// An app's okta.* grants: once per scope, revoked once, gone with the app.
async fn app_grants_are_kept_per_app_and_scope(store: DynStore) {
    let store = &store;
    store.insert_client(&client("0oaS")).await.unwrap();
    store.insert_client(&client("0oaT")).await.unwrap();
    let grant = |id: &str, client_id: &str, scope: &str, at: i64| AppGrant {
        id: id.into(),
        client_id: client_id.into(),
        scope: scope.into(),
        created_at: at,
    };
    assert!(
        store
            .insert_app_grant(&grant("oag1", "0oaS", "okta.users.read", 1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_app_grant(&grant("oag2", "0oaS", "okta.users.read", 2))
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_app_grant(&grant("oag3", "0oaS", "okta.apps.manage", 3))
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_app_grant(&grant("oag4", "0oaT", "okta.users.read", 4))
            .await
            .unwrap()
    );
    let scopes: Vec<String> = store
        .app_grants("0oaS")
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.scope)
        .collect();
    assert_eq!(scopes, ["okta.users.read", "okta.apps.manage"]);
    assert!(
        !store.delete_app_grant("0oaT", "oag1").await.unwrap(),
        "not that app's"
    );
    assert!(store.delete_app_grant("0oaS", "oag1").await.unwrap());
    assert!(!store.delete_app_grant("0oaS", "oag1").await.unwrap());
    assert!(store.delete_client("0oaS").await.unwrap());
    assert!(store.app_grants("0oaS").await.unwrap().is_empty());
    assert_eq!(store.app_grants("0oaT").await.unwrap().len(), 1);
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_users_roles_are_their_own_and_their_groups() {
        on_sqlite(super::a_users_roles_are_their_own_and_their_groups).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn roles_are_revoked_once_and_go_with_their_holder() {
        on_sqlite(super::roles_are_revoked_once_and_go_with_their_holder).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn app_grants_are_kept_per_app_and_scope() {
        on_sqlite(super::app_grants_are_kept_per_app_and_scope).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_users_roles_are_their_own_and_their_groups() {
        on_postgres(super::a_users_roles_are_their_own_and_their_groups).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn roles_are_revoked_once_and_go_with_their_holder() {
        on_postgres(super::roles_are_revoked_once_and_go_with_their_holder).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn app_grants_are_kept_per_app_and_scope() {
        on_postgres(super::app_grants_are_kept_per_app_and_scope).await;
    }
}
