//! The store contract of upstream identity providers, on SQLite and on PostgreSQL:
//! providers written and read back whole, listed by page, named once; linked identities
//! unique both ways and gone with their provider or user; a sign-in transaction taken
//! once however many callbacks race for it, and purged by the janitor when it expires;
//! the IdP discovery policy seeded with its catch-all rule; every change to providers
//! and routing raises the settings version the caches are keyed by.

use std::sync::Arc;

use gatehouse::crypto::sha256;
use gatehouse::store::*;

use crate::store::{server, user};

pub fn provider(id: &str, name: &str) -> IdentityProvider {
    IdentityProvider {
        id: id.into(),
        idp_type: IdpType::Oidc,
        name: name.into(),
        status: Status::Active,
        issuer: Some("https://idp.example".into()),
        authorization_endpoint: "https://idp.example/authorize".into(),
        token_endpoint: "https://idp.example/token".into(),
        userinfo_endpoint: Some("https://idp.example/userinfo".into()),
        jwks_uri: Some("https://idp.example/keys".into()),
        end_session_endpoint: None,
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        client_id: "gatehouse".into(),
        client_secret_sealed: Some(vec![1, 2, 3, 4]),
        token_auth_method: AuthMethod::ClientSecretPost,
        signing_alg: None,
        pkce: true,
        max_clock_skew_ms: 120_000,
        provisioning_action: IdpPolicyAction::Auto,
        profile_master: false,
        groups_action: GroupsAction::Sync,
        groups_source_attribute: Some("groups".into()),
        groups_filter: vec!["00g1".into()],
        groups_assignments: vec![],
        account_link_action: IdpPolicyAction::Disabled,
        account_link_groups: vec![],
        username_template: "idpuser.email".into(),
        match_type: SubjectMatchType::UsernameOrEmail,
        match_attribute: None,
        profile_mapping: vec![ProfileMapping {
            field: "firstName".into(),
            expression: "idpuser.given_name".into(),
        }],
        end_upstream_session: true,
        button_label: Some("Sign in with Corp".into()),
        button_color: Some("#112233".into()),
        logo_url: None,
        created_at: 100,
        updated_at: 100,
    }
}

/// The settings version of a server made on first use.
async fn version(store: &DynStore) -> i64 {
    store.insert_server_if_absent(&server()).await.unwrap();
    store
        .get_server("aus1")
        .await
        .unwrap()
        .unwrap()
        .settings_version
}

async fn providers_are_kept_whole_named_once_and_listed_by_page(store: DynStore) {
    let before = version(&store).await;
    let a = provider("0oaA", "Corp");
    store.insert_idp(&a).await.unwrap();
    assert!(version(&store).await > before, "an insert raises the stamp");
    assert_eq!(store.get_idp("0oaA").await.unwrap(), Some(a.clone()));
    assert!(matches!(
        store.insert_idp(&provider("0oaB", "Corp")).await,
        Err(StoreError::Conflict(_))
    ));
    let mut b = provider("0oaB", "GitHub_ 100%");
    b.idp_type = IdpType::OAuth2;
    b.issuer = None;
    b.jwks_uri = None;
    b.client_secret_sealed = None;
    b.token_auth_method = AuthMethod::PrivateKeyJwt;
    b.signing_alg = Some("RS256".into());
    store.insert_idp(&b).await.unwrap();
    store
        .insert_idp(&provider("0oaC", "Corporate"))
        .await
        .unwrap();
    assert_eq!(store.get_idp("0oaB").await.unwrap(), Some(b.clone()));

    let ids = |list: Vec<IdentityProvider>| list.into_iter().map(|p| p.id).collect::<Vec<_>>();
    let page = |q: Option<&str>, t: Option<IdpType>, after: Option<&str>, limit| IdpQuery {
        q: q.map(Into::into),
        idp_type: t,
        after: after.map(Into::into),
        limit,
    };
    assert_eq!(
        ids(store.list_idps(&page(None, None, None, 2)).await.unwrap()),
        ["0oaA", "0oaB"]
    );
    assert_eq!(
        ids(store
            .list_idps(&page(None, None, Some("0oaB"), 2))
            .await
            .unwrap()),
        ["0oaC"]
    );
    assert_eq!(
        ids(store
            .list_idps(&page(Some("corp"), None, None, 20))
            .await
            .unwrap()),
        ["0oaA", "0oaC"]
    );
    // `%` and `_` are characters, not wildcards.
    assert_eq!(
        ids(store
            .list_idps(&page(Some("github_ 1"), None, None, 20))
            .await
            .unwrap()),
        ["0oaB"]
    );
    assert!(
        store
            .list_idps(&page(Some("c%"), None, None, 20))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(store
            .list_idps(&page(None, Some(IdpType::OAuth2), None, 20))
            .await
            .unwrap()),
        ["0oaB"]
    );
    assert_eq!(
        ids(store.all_idps().await.unwrap()),
        ["0oaA", "0oaB", "0oaC"]
    );

    let mut changed = a.clone();
    changed.name = "Corp SSO".into();
    changed.scopes = vec!["openid".into()];
    changed.client_secret_sealed = Some(vec![9; 40]);
    changed.pkce = false;
    changed.profile_mapping.clear();
    changed.end_upstream_session = false;
    changed.updated_at = 200;
    let before = version(&store).await;
    assert!(store.update_idp(&changed).await.unwrap());
    assert!(version(&store).await > before, "an update raises the stamp");
    assert_eq!(store.get_idp("0oaA").await.unwrap(), Some(changed.clone()));
    changed.name = "Corporate".into();
    assert!(matches!(
        store.update_idp(&changed).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(!store.update_idp(&provider("0oaZ", "Nobody")).await.unwrap());

    assert!(
        store
            .set_idp_status("0oaA", Status::Inactive, 300)
            .await
            .unwrap()
    );
    let read = store.get_idp("0oaA").await.unwrap().unwrap();
    assert_eq!((read.status, read.updated_at), (Status::Inactive, 300));
    assert!(
        !store
            .set_idp_status("0oaZ", Status::Active, 300)
            .await
            .unwrap()
    );

    let before = version(&store).await;
    assert!(store.delete_idp("0oaC").await.unwrap());
    assert!(version(&store).await > before, "a delete raises the stamp");
    assert!(!store.delete_idp("0oaC").await.unwrap());
    assert_eq!(store.get_idp("0oaC").await.unwrap(), None);
}

fn link(idp: &str, sub: &str, user: &str) -> IdpUser {
    let mut profile = serde_json::Map::new();
    profile.insert(
        "email".into(),
        serde_json::json!(format!("{sub}@corp.example")),
    );
    IdpUser {
        idp_id: idp.into(),
        external_id: sub.into(),
        user_id: user.into(),
        profile,
        created_at: 10,
        updated_at: 10,
    }
}

async fn an_identity_is_one_user_and_a_user_one_identity_per_provider(store: DynStore) {
    store.insert_idp(&provider("0oaA", "A")).await.unwrap();
    store.insert_idp(&provider("0oaB", "B")).await.unwrap();
    for (id, login) in [("00u1", "ann"), ("00u2", "bob"), ("00u3", "cy")] {
        store.insert_user(&user(id, login)).await.unwrap();
    }
    store
        .link_idp_user(&link("0oaA", "sub-1", "00u1"))
        .await
        .unwrap();
    // The same identity for another user, or a second identity for the same user.
    assert!(matches!(
        store.link_idp_user(&link("0oaA", "sub-1", "00u2")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.link_idp_user(&link("0oaA", "sub-9", "00u1")).await,
        Err(StoreError::Conflict(_))
    ));
    // The same person at another provider, and the same `sub` there for someone else.
    store
        .link_idp_user(&link("0oaB", "sub-1", "00u1"))
        .await
        .unwrap();
    store
        .link_idp_user(&link("0oaA", "sub-2", "00u2"))
        .await
        .unwrap();
    store
        .link_idp_user(&link("0oaA", "sub-3", "00u3"))
        .await
        .unwrap();

    assert_eq!(
        store.find_idp_user("0oaA", "sub-1").await.unwrap(),
        Some(link("0oaA", "sub-1", "00u1"))
    );
    assert_eq!(store.find_idp_user("0oaA", "sub-9").await.unwrap(), None);
    assert_eq!(
        store.get_idp_user("0oaB", "00u1").await.unwrap(),
        Some(link("0oaB", "sub-1", "00u1"))
    );
    let mut seen = serde_json::Map::new();
    seen.insert("name".into(), serde_json::json!("Ann"));
    assert!(
        store
            .update_idp_user_profile("0oaA", "sub-1", &seen, 50)
            .await
            .unwrap()
    );
    let read = store.find_idp_user("0oaA", "sub-1").await.unwrap().unwrap();
    assert_eq!(
        (read.profile, read.updated_at, read.created_at),
        (seen, 50, 10)
    );

    let users = |list: Vec<IdpUser>| list.into_iter().map(|l| l.user_id).collect::<Vec<_>>();
    assert_eq!(
        users(store.list_idp_users("0oaA", None, 2).await.unwrap()),
        ["00u1", "00u2"]
    );
    assert_eq!(
        users(store.list_idp_users("0oaA", Some("00u2"), 2).await.unwrap()),
        ["00u3"]
    );
    let idps = store.list_user_idps("00u1").await.unwrap();
    assert_eq!(
        idps.iter().map(|l| l.idp_id.as_str()).collect::<Vec<_>>(),
        ["0oaA", "0oaB"]
    );

    assert!(store.unlink_idp_user("0oaA", "00u2").await.unwrap());
    assert!(!store.unlink_idp_user("0oaA", "00u2").await.unwrap());
    assert_eq!(store.find_idp_user("0oaA", "sub-2").await.unwrap(), None);
    // Unlinked, the identity may be linked again.
    store
        .link_idp_user(&link("0oaA", "sub-2", "00u2"))
        .await
        .unwrap();
    // A deleted user's identities go with it; a deleted provider's too.
    assert!(store.delete_user("00u3").await.unwrap());
    assert_eq!(store.find_idp_user("0oaA", "sub-3").await.unwrap(), None);
    assert!(store.delete_idp("0oaB").await.unwrap());
    assert!(
        store
            .list_user_idps("00u1")
            .await
            .unwrap()
            .iter()
            .all(|l| l.idp_id == "0oaA")
    );
}

fn transaction(state: &str, now: i64) -> IdpTransaction {
    IdpTransaction {
        state_hash: sha256(state.as_bytes()),
        idp_id: "0oaA".into(),
        nonce: format!("nonce-{state}"),
        code_verifier: Some("verifier".into()),
        redirect_uri: "https://gatehouse.example/oauth2/v1/authorize/callback".into(),
        pending_id: Some("pending".into()),
        return_to: None,
        login_hint: Some("ann@corp.example".into()),
        created_at: now,
        expires_at: now + IDP_TRANSACTION_SECONDS,
    }
}

async fn a_transaction_is_taken_once_and_the_janitor_purges_expired_ones(store: DynStore) {
    store.insert_idp(&provider("0oaA", "A")).await.unwrap();
    let now = 1_000;
    let t = transaction("s1", now);
    store.insert_idp_transaction(&t).await.unwrap();
    // Twenty callbacks with the same state race: one gets it.
    let mut racers = Vec::new();
    for _ in 0..20 {
        let store = Arc::clone(&store);
        let hash = t.state_hash.clone();
        racers.push(tokio::spawn(async move {
            store.take_idp_transaction(&hash, now + 5).await.unwrap()
        }));
    }
    let mut taken = Vec::new();
    for racer in racers {
        taken.extend(racer.await.unwrap());
    }
    assert_eq!(taken, vec![t.clone()], "exactly one racer takes it, whole");

    // Expired: not taken, and kept until the janitor purges it.
    let late = transaction("s2", now);
    store.insert_idp_transaction(&late).await.unwrap();
    assert_eq!(
        store
            .take_idp_transaction(&late.state_hash, late.expires_at)
            .await
            .unwrap(),
        None
    );
    let fresh = transaction("s3", now + 500);
    store.insert_idp_transaction(&fresh).await.unwrap();
    store.purge_expired(late.expires_at).await.unwrap();
    assert_eq!(
        store
            .take_idp_transaction(&fresh.state_hash, late.expires_at)
            .await
            .unwrap(),
        Some(fresh)
    );
    // Deleting a provider ends its transactions.
    let orphan = transaction("s4", now);
    store.insert_idp_transaction(&orphan).await.unwrap();
    assert!(store.delete_idp("0oaA").await.unwrap());
    assert_eq!(
        store
            .take_idp_transaction(&orphan.state_hash, now)
            .await
            .unwrap(),
        None
    );
}

async fn the_discovery_policy_is_seeded_and_its_rules_kept_in_order(store: DynStore) {
    let policies = store.list_idp_discovery_policies().await.unwrap();
    assert_eq!(policies.len(), 1);
    let policy = &policies[0];
    assert!(policy.system);
    assert_eq!(policy.status, Status::Active);
    let rules = store.list_idp_discovery_rules().await.unwrap();
    assert_eq!(rules.len(), 1);
    let default = rules[0].clone();
    assert!(default.system);
    assert_eq!(default.policy_id, policy.id);
    assert!(default.patterns.is_empty());
    assert_eq!(
        default.providers,
        vec![RouteProvider {
            provider_type: ROUTE_OKTA.into(),
            id: None
        }]
    );

    let rule = IdpDiscoveryRule {
        id: "0prCorp".into(),
        policy_id: policy.id.clone(),
        name: "Corp".into(),
        priority: 1,
        status: Status::Active,
        system: false,
        identifier_type: IdentifierType::Identifier,
        identifier_attribute: None,
        patterns: vec![IdentifierPattern {
            match_type: PatternMatchType::Suffix,
            value: "corp.example".into(),
        }],
        zones_include: vec!["nzo1".into()],
        zones_exclude: vec![],
        apps_include: vec![],
        apps_exclude: vec!["0oaX".into()],
        providers: vec![RouteProvider {
            provider_type: "OIDC".into(),
            id: Some("0oaA".into()),
        }],
        created_at: 10,
        updated_at: 10,
    };
    let before = version(&store).await;
    store.insert_idp_discovery_rule(&rule).await.unwrap();
    assert!(version(&store).await > before, "a rule raises the stamp");
    let rules = store.list_idp_discovery_rules().await.unwrap();
    assert_eq!(rules, vec![rule.clone(), default.clone()], "system last");

    let mut changed = rule.clone();
    changed.name = "Corp users".into();
    changed.patterns.push(IdentifierPattern {
        match_type: PatternMatchType::Equals,
        value: "ceo@elsewhere.example".into(),
    });
    changed.status = Status::Inactive;
    changed.updated_at = 20;
    assert!(store.update_idp_discovery_rule(&changed).await.unwrap());
    assert_eq!(store.list_idp_discovery_rules().await.unwrap()[0], changed);

    let mut renamed = policy.clone();
    renamed.name = "Routing".into();
    renamed.updated_at = 30;
    assert!(store.update_idp_discovery_policy(&renamed).await.unwrap());
    assert_eq!(
        store.list_idp_discovery_policies().await.unwrap(),
        vec![renamed]
    );

    assert!(
        !store
            .delete_idp_discovery_rule(&policy.id, &default.id)
            .await
            .unwrap(),
        "the catch-all rule stays"
    );
    assert!(
        store
            .delete_idp_discovery_rule(&policy.id, "0prCorp")
            .await
            .unwrap()
    );
    assert_eq!(
        store.list_idp_discovery_rules().await.unwrap(),
        vec![default]
    );
}

macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::store::on_sqlite(super::$name).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::store::on_postgres(super::$name).await;
                }
            )+
        }
    };
}

on_both!(
    providers_are_kept_whole_named_once_and_listed_by_page,
    an_identity_is_one_user_and_a_user_one_identity_per_provider,
    a_transaction_is_taken_once_and_the_janitor_purges_expired_ones,
    the_discovery_policy_is_seeded_and_its_rules_kept_in_order,
);
