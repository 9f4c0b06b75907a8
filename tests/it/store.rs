//! The store contract: one named test per behaviour, each run on SQLite and on
//! PostgreSQL (`store::sqlite::NAME`, `store::postgres::NAME`), each on a fresh database
//! of its own, so one failure hides no other. A behaviour is a plain `async fn` taking
//! the store; `mod sqlite` and `mod postgres` at the end call each one on their backend.

use std::future::Future;
use std::sync::Arc;

use gatehouse::crypto::{MasterKey, sha256};
use gatehouse::store::postgres::{PoolSettings, PostgresStore};
use gatehouse::store::sqlite::SqliteStore;
use gatehouse::store::*;
use gatehouse::tokens::keys;

use crate::support::TestDatabase;

pub fn user(id: &str, login: &str) -> User {
    User {
        id: id.into(),
        login: login.into(),
        email: None,
        first_name: None,
        last_name: None,
        password_hash: Some("$argon2id$...".into()),
        status: UserStatus::Active,
        created_at: 1,
        updated_at: 1,
        profile_extra: Default::default(),
        activated_at: None,
        status_changed_at: None,
        password_changed_at: None,
        last_login_at: None,
        verified_email: None,
    }
}

pub fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        name: "n".into(),
        secrets: vec![ClientSecret {
            id: "ocs1".into(),
            hash: "010203".into(),
            sealed: None,
            status: Status::Active,
            created: 1,
            updated: 1,
        }],
        auth_method: AuthMethod::ClientSecretBasic,
        jwks: None,
        jwks_uri: None,
        dpop_bound_access_tokens: false,
        application_type: "web".into(),
        redirect_uris: vec!["https://a/cb".into(), "https://b/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into()],
        response_types: vec!["code".into()],
        refresh_token_leeway: 0,
        require_pushed_authorization_requests: false,
        request_object_signing_alg: None,
        require_signed_request_object: false,
        // Not the defaults, so the round trip shows both columns are stored.
        pkce_required: true,
        pkce_allow_plain: true,
        logout: gatehouse::store::LogoutChannels {
            frontchannel_logout_uri: Some("https://app.example.com/fc".into()),
            frontchannel_logout_session_required: true,
            backchannel_logout_uri: Some("https://app.example.com/bc".into()),
            backchannel_logout_session_required: false,
        },
        status: Status::Active,
        created_at: 1,
        updated_at: 1,
        version: 0,
    }
}

fn code(hash: &[u8], expires_at: i64) -> AuthCode {
    AuthCode {
        code_hash: hash.to_vec(),
        server_id: "default".into(),
        client_id: "c".into(),
        user_id: "u".into(),
        redirect_uri: "https://a/cb".into(),
        scope: "openid".into(),
        nonce: Some("n".into()),
        code_challenge: None,
        code_challenge_method: None,
        auth_time: 1,
        created_at: 1,
        expires_at,
        access_jti: None,
        access_expires_at: None,
        family_id: None,
        dpop_jkt: Some("jkt-of-the-code".into()),
        amr: Some(vec!["pwd".into(), "otp".into(), "mfa".into()]),
        sid: Some("102session-of-the-code".into()),
        acr: Some("urn:okta:loa:2fa:any".into()),
    }
}

/// The custom server most behaviours use.
pub fn server() -> AuthServer {
    AuthServer {
        id: "aus1".into(),
        name: "s".into(),
        description: String::new(),
        audience: Some("api://s".into()),
        access_token_ttl: 3600,
        id_token_ttl: 3600,
        access_token_typ_at_jwt: true,
        signing_alg: "RS256".into(),
        status: Status::Active,
        created_at: 1,
        updated_at: 1,
        settings_version: 0,
        introspection_restricted: false,
        resource_servers: vec![],
    }
}

/// What most behaviours stand on: the user `00u1`, the app `0oa1` and the server `aus1`.
async fn base(store: &DynStore) {
    store
        .insert_user(&user("00u1", "Alice@Example.com"))
        .await
        .unwrap();
    store.insert_client(&client("0oa1")).await.unwrap();
    assert!(store.insert_server_if_absent(&server()).await.unwrap());
}

/// An ACTIVE key (created at 1) and a NEXT key (created at 3) for `aus1`.
async fn active_and_next(store: &DynStore, master: &MasterKey) -> (StoredKey, StoredKey) {
    let first = keys::generate("aus1", KeyStatus::Active, 1, master);
    let next = keys::generate("aus1", KeyStatus::Next, 3, master);
    assert!(store.insert_signing_key(&first).await.unwrap());
    assert!(store.insert_signing_key(&next).await.unwrap());
    (first, next)
}

/// A family of `00u1` at `0oa1` on `aus1`.
fn family() -> RefreshFamily {
    RefreshFamily {
        id: "fam1".into(),
        server_id: "aus1".into(),
        client_id: "0oa1".into(),
        user_id: "00u1".into(),
        scope: "openid offline_access".into(),
        auth_time: 10,
        created_at: 10,
        expires_at: None,
        last_used_at: 10,
        revoked_at: None,
        dpop_jkt: Some("jkt-of-the-family".into()),
        sid: Some("102session-of-the-family".into()),
        amr: Some(vec!["pwd".into(), "hwk".into(), "mfa".into()]),
        acr: Some("phrh".into()),
    }
}

/// The users `00uA`, `00uB` (renamed robert@, made ACTIVE) and `00uC`.
async fn directory_users(store: &DynStore) {
    for (id, login, status, updated) in [
        ("00uA", "ann@example.com", UserStatus::Active, 10),
        ("00uB", "Bob@example.com", UserStatus::Staged, 20),
        ("00uC", "carl_x@example.com", UserStatus::Active, 30),
    ] {
        let mut u = user(id, login);
        u.status = status;
        u.updated_at = updated;
        u.first_name = Some(format!("{}name", &login[..1]));
        u.profile_extra
            .insert("nickName".into(), serde_json::json!("n"));
        store.insert_user(&u).await.unwrap();
    }
    let mut bob = store.get_user("00uB").await.unwrap().unwrap();
    bob.login = "robert@example.com".into();
    bob.status = UserStatus::Active;
    bob.activated_at = Some(21);
    assert!(store.update_user(&bob).await.unwrap());
}

/// Runs `change` and checks that it increased the server's `settings_version`
/// (migration 15's triggers keep it in the same statement; the settings cache relies
/// on it).
async fn bumps<T>(store: &DynStore, change: &str, run: impl Future<Output = T>) -> T {
    let before = settings_version(store, "aus1").await;
    let result = run.await;
    assert!(
        settings_version(store, "aus1").await > before,
        "{change} bumps settings_version"
    );
    result
}

fn refresh_token(hash: &[u8], family: &str, issued_at: i64, jti: &str) -> RefreshToken {
    RefreshToken {
        token_hash: hash.to_vec(),
        family_id: family.into(),
        scope: "openid offline_access".into(),
        issued_at,
        idle_expires_at: Some(issued_at + 600),
        rotated_at: None,
        successor_hash: None,
        access_jti: Some(jti.into()),
        access_expires_at: Some(issued_at + 3600),
    }
}

/// The server's `settings_version` (migration 15's triggers keep it).
async fn settings_version(store: &DynStore, server_id: &str) -> i64 {
    store
        .get_server(server_id)
        .await
        .unwrap()
        .unwrap()
        .settings_version
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}

fn ids_of(users: &[User]) -> Vec<String> {
    users.iter().map(|u| u.id.clone()).collect()
}

async fn futures_count(handles: impl Iterator<Item = tokio::task::JoinHandle<bool>>) -> usize {
    let mut n = 0;
    for h in handles.collect::<Vec<_>>() {
        n += usize::from(h.await.unwrap());
    }
    n
}

/// Users: one per login, found by it in any case.
async fn users_are_unique_by_login_without_regard_to_case(store: DynStore) {
    store
        .insert_user(&user("00u1", "Alice@Example.com"))
        .await
        .unwrap();
    assert!(matches!(
        store.insert_user(&user("00u2", "alice@example.COM")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .find_user_by_login("ALICE@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        "00u1"
    );
    assert_eq!(
        store.get_user("00u1").await.unwrap().unwrap(),
        user("00u1", "Alice@Example.com")
    );
    assert!(store.get_user("nope").await.unwrap().is_none());
    assert_eq!(store.list_users().await.unwrap().len(), 1);
}

/// Apps keep their lists; a client id is unique.
async fn clients_keep_their_lists(store: DynStore) {
    store.insert_client(&client("0oa1")).await.unwrap();
    assert_eq!(
        store.get_client("0oa1").await.unwrap().unwrap(),
        client("0oa1")
    );
    assert!(matches!(
        store.insert_client(&client("0oa1")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.list_clients().await.unwrap().len(), 1);
}

/// Servers: inserted once.
async fn servers_are_inserted_once(store: DynStore) {
    let server = AuthServer {
        id: "aus1".into(),
        name: "s".into(),
        description: String::new(),
        audience: Some("api://s".into()),
        access_token_ttl: 3600,
        id_token_ttl: 3600,
        access_token_typ_at_jwt: true,
        signing_alg: "RS256".into(),
        status: Status::Active,
        created_at: 1,
        updated_at: 1,
        settings_version: 0,
        // Not the defaults, so the round trip shows both columns are stored.
        introspection_restricted: true,
        resource_servers: vec!["0oa1".into(), "0oa2".into()],
    };
    assert!(store.insert_server_if_absent(&server).await.unwrap());
    assert!(!store.insert_server_if_absent(&server).await.unwrap());
    assert_eq!(store.get_server("aus1").await.unwrap().unwrap(), server);
}

/// Signing keys: at most one ACTIVE and one NEXT per server, listed ACTIVE first.
async fn a_server_has_at_most_one_active_and_one_next_key(store: DynStore) {
    base(&store).await;
    let master = MasterKey::from_bytes(&[1; 32]);
    let first = keys::generate("aus1", KeyStatus::Active, 1, &master);
    let second = keys::generate("aus1", KeyStatus::Active, 2, &master);
    assert!(store.insert_signing_key(&first).await.unwrap());
    assert!(
        !store.insert_signing_key(&second).await.unwrap(),
        "a second active key is refused"
    );
    let next = keys::generate("aus1", KeyStatus::Next, 3, &master);
    assert!(store.insert_signing_key(&next).await.unwrap());
    let listed = store.signing_keys("aus1").await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].kid, first.kid, "the active key first");
    assert_eq!(listed[0].private_key_sealed, first.private_key_sealed);
    assert_eq!(
        (listed[0].activated_at, listed[0].retired_at),
        (Some(1), None)
    );
    assert_eq!(listed[1].kid, next.kid);
    assert!(
        !store
            .insert_signing_key(&keys::generate("aus1", KeyStatus::Next, 4, &master))
            .await
            .unwrap(),
        "a second NEXT key is refused"
    );
}

/// Rotation: one transaction; of processes rotating at once, one rotates.
async fn of_concurrent_key_rotations_one_wins(store: DynStore) {
    base(&store).await;
    let master = MasterKey::from_bytes(&[1; 32]);
    let (first, next) = active_and_next(&store, &master).await;
    let rotations: Vec<_> = (0..4)
        .map(|i| {
            let (store, expected) = (store.clone(), first.kid.clone());
            let fresh = keys::generate("aus1", KeyStatus::Next, 10 + i, &master);
            tokio::spawn(async move {
                (
                    fresh.kid.clone(),
                    store
                        .rotate_signing_key(&expected, &fresh, 20)
                        .await
                        .unwrap(),
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    for r in rotations {
        match r.await.unwrap() {
            (kid, KeyRotation::Rotated) => winners.push(kid),
            (_, outcome) => assert_eq!(outcome, KeyRotation::NotActive),
        }
    }
    assert_eq!(winners.len(), 1, "one rotation wins");
    let listed = store.signing_keys("aus1").await.unwrap();
    let summary: Vec<_> = listed
        .iter()
        .map(|k| (k.kid.clone(), k.status, k.activated_at, k.retired_at))
        .collect();
    assert_eq!(
        summary,
        [
            (next.kid.clone(), KeyStatus::Active, Some(20), None),
            (winners[0].clone(), KeyStatus::Next, None, None),
            (first.kid.clone(), KeyStatus::Retired, Some(1), Some(20)),
        ]
    );
    let late = keys::generate("aus1", KeyStatus::Next, 30, &master);
    assert_eq!(
        store
            .rotate_signing_key(&first.kid, &late, 30)
            .await
            .unwrap(),
        KeyRotation::NotActive
    );
    assert_eq!(
        store.signing_keys("aus1").await.unwrap().len(),
        3,
        "nothing changed"
    );
}

/// A server without a NEXT key: a rotation changes nothing.
async fn a_rotation_without_a_next_key_changes_nothing(store: DynStore) {
    base(&store).await;
    let master = MasterKey::from_bytes(&[1; 32]);
    let server = server();
    store
        .insert_server_if_absent(&AuthServer {
            id: "aus2".into(),
            ..server.clone()
        })
        .await
        .unwrap();
    let lone = keys::generate("aus2", KeyStatus::Active, 1, &master);
    assert!(store.insert_signing_key(&lone).await.unwrap());
    let fresh = keys::generate("aus2", KeyStatus::Next, 2, &master);
    assert_eq!(
        store
            .rotate_signing_key(&lone.kid, &fresh, 3)
            .await
            .unwrap(),
        KeyRotation::NoNextKey
    );
    let kept = store.signing_keys("aus2").await.unwrap();
    assert_eq!(
        (kept.len(), kept[0].status),
        (1, KeyStatus::Active),
        "rolled back"
    );
}

/// Sessions: live until they end or expire.
async fn sessions_live_until_they_end_or_expire(store: DynStore) {
    base(&store).await;
    let s = Session {
        id_hash: sha256(b"sid"),
        user_id: "00u1".into(),
        auth_time: 10,
        created_at: 10,
        expires_at: 100,
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        mfa_at: Some(5),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into()),
        ip: Some("2001:db8::1".into()),
        last_seen_at: Some(10),
    };
    store.insert_session(&s).await.unwrap();
    assert_eq!(
        store.live_session(&s.id_hash, 99).await.unwrap(),
        Some(s.clone())
    );
    // Last seen moves only when it is more than a minute old, and never on another
    // session.
    let touched = Session {
        id_hash: sha256(b"touched"),
        ..s.clone()
    };
    store.insert_session(&touched).await.unwrap();
    store.touch_session(&touched.id_hash, 70).await.unwrap();
    let seen = |at| {
        let store = store.clone();
        let id = touched.id_hash.clone();
        async move {
            store
                .live_session(&id, at)
                .await
                .unwrap()
                .unwrap()
                .last_seen_at
        }
    };
    assert_eq!(
        seen(70).await,
        Some(10),
        "a minute is not more than a minute"
    );
    store.touch_session(&touched.id_hash, 71).await.unwrap();
    assert_eq!(seen(71).await, Some(71));
    store.touch_session(&touched.id_hash, 90).await.unwrap();
    assert_eq!(seen(90).await, Some(71));
    assert_eq!(
        store
            .live_session(&s.id_hash, 90)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        Some(10)
    );
    store.end_session(&touched.id_hash, 91).await.unwrap();
    assert_eq!(store.live_session(&s.id_hash, 100).await.unwrap(), None);
    // The app issued a code in the session (twice: recorded once), with its logout URIs.
    for _ in 0..2 {
        store
            .record_session_app(&s.id_hash, "0oa1", "aus1", 20)
            .await
            .unwrap();
    }
    let front = store.frontchannel_apps(&s.id_hash).await.unwrap();
    assert_eq!(front.len(), 1);
    assert_eq!(
        (front[0].0.client_id.as_str(), front[0].1.as_str()),
        ("0oa1", "aus1")
    );
    store.end_session(&s.id_hash, 50).await.unwrap();
    assert_eq!(store.live_session(&s.id_hash, 60).await.unwrap(), None);
    // Ending it stored one back-channel delivery; ending it again stores none.
    store.end_session(&s.id_hash, 55).await.unwrap();
    let jobs = store.pending_logout_jobs().await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        (
            jobs[0].session_hash.as_slice(),
            jobs[0].user_id.as_str(),
            jobs[0].attempts
        ),
        (s.id_hash.as_slice(), "00u1", 0)
    );
    // Taken once under a lease; retried when told; done once finished.
    let taken = store.take_logout_jobs(50, 110, 10).await.unwrap();
    assert_eq!((taken.len(), taken[0].attempts), (1, 1));
    assert!(
        store
            .take_logout_jobs(60, 120, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .retry_logout_job(taken[0].id, 200, "down")
        .await
        .unwrap();
    assert!(
        store
            .take_logout_jobs(199, 260, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.take_logout_jobs(200, 260, 10).await.unwrap();
    assert_eq!(
        (again[0].attempts, again[0].last_error.as_deref()),
        (2, Some("down"))
    );
    store.finish_logout_job(again[0].id).await.unwrap();
    assert!(store.pending_logout_jobs().await.unwrap().is_empty());
    // Clearing a user's sessions stores theirs too.
    let s2 = Session {
        id_hash: sha256(b"sid2"),
        ..s.clone()
    };
    store.insert_session(&s2).await.unwrap();
    store
        .record_session_app(&s2.id_hash, "0oa1", "aus1", 20)
        .await
        .unwrap();
    assert_eq!(store.end_user_sessions("00u1", 60).await.unwrap(), 1);
    let jobs = store.pending_logout_jobs().await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].session_hash, s2.id_hash);
}

/// Pending authorizations: taken once, even when raced.
async fn a_pending_authorization_is_taken_once(store: DynStore) {
    let p = PendingAuthorization {
        id_hash: sha256(b"tx"),
        request: "{}".into(),
        created_at: 1,
        expires_at: 100,
    };
    store.insert_pending(&p).await.unwrap();
    assert!(store.get_pending(&p.id_hash, 50).await.unwrap().is_some());
    assert!(
        store.get_pending(&p.id_hash, 100).await.unwrap().is_none(),
        "expired"
    );
    let takers: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            let hash = p.id_hash.clone();
            tokio::spawn(async move { store.take_pending(&hash, 50).await.unwrap().is_some() })
        })
        .collect();
    let mut taken = 0;
    for t in takers {
        taken += usize::from(t.await.unwrap());
    }
    assert_eq!(taken, 1);
}

/// What one of the racers below grants: family `fam{i}` with its first token
/// `tok{i}` (access token `AT.{i}`) and System Log event `ev-{i}`.
fn code_grant(i: usize) -> CodeGrant {
    let mut family = family();
    family.id = format!("fam{i}");
    let first = refresh_token(
        &sha256(format!("tok{i}").as_bytes()),
        &family.id,
        5,
        &format!("AT.{i}"),
    );
    CodeGrant {
        access_jti: Some(format!("AT.{i}")),
        access_expires_at: Some(3700),
        refresh: Some((family, first)),
        event: Some(LogEvent {
            seq: 0,
            uuid: format!("ev-{i}"),
            published: 5,
            event_type: "app.oauth2.token.grant".into(),
            outcome_result: "SUCCESS".into(),
            actor_id: "0oa1".into(),
            target_ids: vec!["00u1".into()],
            event: "{}".into(),
        }),
    }
}

/// Codes: of 20 concurrent redemptions exactly one commits, and with it everything it
/// grants (the family, its first token, the System Log event); the others write
/// nothing. The code then reads as redeemed, with the winner's access token and family
/// for a replay to revoke.
async fn a_code_is_redeemed_once_with_everything_it_grants(store: DynStore) {
    base(&store).await;
    let c = code(&sha256(b"code"), 300);
    store.insert_code(&c).await.unwrap();
    assert_eq!(
        store.find_code(&sha256(b"code")).await.unwrap(),
        CodeState::Unredeemed(c.clone())
    );
    let redeemers: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let won = store
                    .redeem_code(&sha256(b"code"), &code_grant(i), 5)
                    .await
                    .unwrap();
                won.then_some(i)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for r in redeemers {
        winners.extend(r.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let w = winners[0];
    let CodeState::Redeemed(row) = store.find_code(&sha256(b"code")).await.unwrap() else {
        panic!("redeemed")
    };
    assert_eq!(row.access_jti, Some(format!("AT.{w}")));
    assert_eq!(row.access_expires_at, Some(3700));
    assert_eq!(row.family_id, Some(format!("fam{w}")));
    for i in 0..20 {
        let found = store
            .find_refresh(&sha256(format!("tok{i}").as_bytes()))
            .await
            .unwrap();
        assert_eq!(found.is_some(), i == w, "tok{i}");
    }
    let events = store
        .query_events(&Page {
            limit: 100,
            ..Page::default()
        })
        .await
        .unwrap();
    let uuids: Vec<&str> = events.iter().map(|e| e.uuid.as_str()).collect();
    assert_eq!(uuids, [format!("ev-{w}")]);

    // Again, and an unknown code: nothing.
    assert!(
        !store
            .redeem_code(&sha256(b"code"), &code_grant(99), 6)
            .await
            .unwrap()
    );
    assert!(
        store
            .find_refresh(&sha256(b"tok99"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.find_code(b"nope").await.unwrap(), CodeState::NotFound);
    assert!(
        !store
            .redeem_code(b"nope", &code_grant(98), 6)
            .await
            .unwrap()
    );
    assert!(
        store
            .find_refresh(&sha256(b"tok98"))
            .await
            .unwrap()
            .is_none()
    );
}

/// A redemption whose writes fail commits nothing: the code stays unredeemed and the
/// next redemption wins. A refused one (nothing granted) only spends the code.
async fn a_failed_redemption_leaves_the_code_unspent(store: DynStore) {
    base(&store).await;
    store
        .insert_code(&code(&sha256(b"code"), 300))
        .await
        .unwrap();
    // A family id that exists already: the insert after the code's update fails.
    let taken = code_grant(1);
    let (family, first) = taken.refresh.clone().unwrap();
    store.insert_refresh_family(&family, &first).await.unwrap();
    let mut clash = code_grant(2);
    clash.refresh.as_mut().unwrap().0.id = family.id.clone();
    assert!(
        store
            .redeem_code(&sha256(b"code"), &clash, 5)
            .await
            .is_err()
    );
    assert!(matches!(
        store.find_code(&sha256(b"code")).await.unwrap(),
        CodeState::Unredeemed(_)
    ));
    assert!(
        store
            .find_refresh(&sha256(b"tok2"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .redeem_code(&sha256(b"code"), &code_grant(3), 6)
            .await
            .unwrap()
    );
    assert!(
        store
            .find_refresh(&sha256(b"tok3"))
            .await
            .unwrap()
            .is_some()
    );

    store
        .insert_code(&code(&sha256(b"refused"), 300))
        .await
        .unwrap();
    assert!(
        store
            .redeem_code(&sha256(b"refused"), &CodeGrant::default(), 5)
            .await
            .unwrap()
    );
    let CodeState::Redeemed(row) = store.find_code(&sha256(b"refused")).await.unwrap() else {
        panic!("spent")
    };
    assert_eq!((row.access_jti, row.family_id), (None, None));
}

/// A code issued at /authorize is stored with the session's record of the app, or,
/// when either cannot be written, neither is; its System Log event is written before
/// `issue_code` returns. On PostgreSQL the event is in the same statement, so an event
/// that cannot be written stops the code too (`event_in_the_transaction`); on SQLite
/// it goes through the System Log's group commit after the code's commit, and one that
/// cannot be written is logged, not returned (the code was issued).
async fn a_code_is_issued_with_its_sessions_record_or_not_at_all_then_logged(
    store: DynStore,
    event_in_the_transaction: bool,
) {
    base(&store).await;
    let session = |name: &[u8]| Session {
        id_hash: sha256(name),
        user_id: "00u1".into(),
        auth_time: 10,
        created_at: 10,
        expires_at: 100,
        amr: vec!["pwd".into()],
        mfa_at: None,
        user_agent: None,
        ip: None,
        last_seen_at: Some(10),
    };
    let event = |uuid: &str| LogEvent {
        seq: 0,
        uuid: uuid.into(),
        published: 10_000,
        event_type: "user.authentication.sso".into(),
        outcome_result: "SUCCESS".into(),
        actor_id: "00u1".into(),
        target_ids: vec!["0oa1".into()],
        event: "{}".into(),
    };
    let sso_events = || async {
        store
            .query_events(&Page {
                filter: Some(Expr::cond(
                    "event_type",
                    Op::Eq,
                    text("user.authentication.sso"),
                )),
                after: None,
                limit: 10,
            })
            .await
            .unwrap()
            .len()
    };
    let first = session(b"first");
    store.insert_session(&first).await.unwrap();
    let mut issued = code(&sha256(b"issued"), 300);
    issued.client_id = "0oa1".into();
    issued.server_id = "aus1".into();
    store
        .issue_code(&issued, Some(&first.id_hash), Some(&event("uuid-1")))
        .await
        .unwrap();
    assert!(matches!(
        store.find_code(&sha256(b"issued")).await.unwrap(),
        CodeState::Unredeemed(_)
    ));
    let apps = store.frontchannel_apps(&first.id_hash).await.unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(sso_events().await, 1);

    // The same code again (its hash is taken), from another session: nothing of it.
    let second = session(b"second");
    store.insert_session(&second).await.unwrap();
    assert!(
        store
            .issue_code(&issued, Some(&second.id_hash), Some(&event("uuid-2")))
            .await
            .is_err()
    );
    assert!(
        store
            .frontchannel_apps(&second.id_hash)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(sso_events().await, 1);
    // An event that cannot be written (its uuid is taken).
    let mut other = code(&sha256(b"other"), 300);
    other.client_id = "0oa1".into();
    other.server_id = "aus1".into();
    let issued = store
        .issue_code(&other, Some(&second.id_hash), Some(&event("uuid-1")))
        .await;
    let apps = store.frontchannel_apps(&second.id_hash).await.unwrap();
    let found = store.find_code(&sha256(b"other")).await.unwrap();
    if event_in_the_transaction {
        // No code, no record.
        assert!(issued.is_err());
        assert!(matches!(found, CodeState::NotFound));
        assert!(apps.is_empty());
    } else {
        // The code and its record, without the event.
        issued.unwrap();
        assert!(matches!(found, CodeState::Unredeemed(_)));
        assert_eq!(apps.len(), 1);
    }
    assert_eq!(sso_events().await, 1);
}

/// A rotation racing its family's revocation: whichever is first, nothing stays usable.
/// Either the rotation lost (the family was revoked: nothing written) or it won and the
/// revocation, ordered after it by the family row, deny-lists the successor's access
/// token too. Never a rotated token without its family's `last_used_at` or the reverse.
async fn a_rotation_racing_a_revocation_leaves_nothing_usable(store: DynStore) {
    base(&store).await;
    for i in 0..12u8 {
        let mut family = family();
        family.id = format!("race{i}");
        let first = sha256(&[b'r', i]);
        store
            .insert_refresh_family(&family, &refresh_token(&first, &family.id, 10, "AT.first"))
            .await
            .unwrap();
        let successor = refresh_token(&sha256(&[b's', i]), &family.id, 20, &format!("AT.s{i}"));
        let (rotation, revoked) = {
            let (a, b) = (store.clone(), store.clone());
            let (id_a, id_b) = (family.id.clone(), family.id.clone());
            let succ = successor.clone();
            let rotate =
                tokio::spawn(async move { a.rotate_refresh(&id_a, &first, &succ, 20).await });
            let revoke = tokio::spawn(async move { b.revoke_family(&id_b, 20).await });
            (
                rotate.await.unwrap().unwrap(),
                revoke.await.unwrap().unwrap(),
            )
        };
        assert!(revoked, "the revocation always revokes: {rotation:?}");
        let (token, fam) = store
            .find_refresh(&sha256(&[b'r', i]))
            .await
            .unwrap()
            .unwrap();
        assert!(fam.revoked_at.is_some());
        let written = store.find_refresh(&successor.token_hash).await.unwrap();
        match rotation {
            Rotation::Rotated => {
                assert_eq!(token.rotated_at, Some(20));
                assert_eq!(fam.last_used_at, 20);
                assert!(written.is_some());
                assert!(
                    store
                        .is_access_token_revoked(&format!("AT.s{i}"))
                        .await
                        .unwrap()
                );
            }
            Rotation::Revoked => {
                assert_eq!((token.rotated_at, fam.last_used_at), (None, 10));
                assert!(written.is_none(), "a lost rotation leaves nothing");
            }
            Rotation::AlreadyRotated => panic!("nobody else rotated it"),
        }
    }
}

/// The deny list: revoking twice is revoking once.
async fn a_revoked_access_token_is_denied(store: DynStore) {
    let winner_jti = "AT.0".to_string();
    assert!(!store.is_access_token_revoked(&winner_jti).await.unwrap());
    store.revoke_access_token(&winner_jti, 3700).await.unwrap();
    store.revoke_access_token(&winner_jti, 3700).await.unwrap();
    assert!(store.is_access_token_revoked(&winner_jti).await.unwrap());
}

/// Introspection's one statement reads what `throttle_state`, `is_access_token_revoked`
/// and `get_user` read, each argument on its own, and nothing for a `None`.
async fn introspection_reads_the_throttle_counter_deny_list_and_user_at_once(store: DynStore) {
    let none = store.introspection_facts(None, None, None).await.unwrap();
    assert!(none.throttle.is_none() && !none.revoked && none.user.is_none());
    let missing = store
        .introspection_facts(Some("k"), Some("AT.1"), Some("u1"))
        .await
        .unwrap();
    assert!(missing.throttle.is_none() && !missing.revoked && missing.user.is_none());

    let mut u = user("u1", "ann@example.com");
    u.status = UserStatus::Suspended;
    store.insert_user(&u).await.unwrap();
    store.revoke_access_token("AT.1", 3700).await.unwrap();
    let rule = ThrottleRule {
        threshold: 1,
        window: 900,
        max_delay: 20,
    };
    store.throttle_attempt("k", &rule, 10_000).await.unwrap();
    let found = store
        .introspection_facts(Some("k"), Some("AT.1"), Some("u1"))
        .await
        .unwrap();
    assert_eq!(found.throttle, store.throttle_state("k").await.unwrap());
    assert!(found.throttle.is_some());
    assert!(found.revoked);
    let found_user = found.user.unwrap();
    assert_eq!(found_user.login, "ann@example.com");
    assert_eq!(found_user.status, UserStatus::Suspended);

    // Each argument alone: another key, token or user finds nothing of these.
    let others = store
        .introspection_facts(Some("k2"), Some("AT.2"), Some("u2"))
        .await
        .unwrap();
    assert!(others.throttle.is_none() && !others.revoked && others.user.is_none());
    let only_user = store
        .introspection_facts(None, None, Some("u1"))
        .await
        .unwrap();
    assert!(only_user.throttle.is_none() && !only_user.revoked && only_user.user.is_some());
}

/// The janitor keeps a redeemed code while its token lives, and the deny-list entry until
/// the token expires.
async fn the_janitor_keeps_a_redeemed_code_and_its_deny_listing_while_its_token_lives(
    store: DynStore,
) {
    store
        .insert_code(&code(&sha256(b"code"), 300))
        .await
        .unwrap();
    let winner_jti = "AT.0".to_string();
    let grant = CodeGrant {
        access_jti: Some(winner_jti.clone()),
        access_expires_at: Some(3700),
        ..CodeGrant::default()
    };
    assert!(
        store
            .redeem_code(&sha256(b"code"), &grant, 5)
            .await
            .unwrap()
    );
    store.revoke_access_token(&winner_jti, 3700).await.unwrap();
    store
        .insert_code(&code(&sha256(b"stale"), 10))
        .await
        .unwrap();
    store.purge_expired(3000).await.unwrap();
    assert_eq!(
        store.find_code(&sha256(b"stale")).await.unwrap(),
        CodeState::NotFound
    );
    assert!(matches!(
        store.find_code(&sha256(b"code")).await.unwrap(),
        CodeState::Redeemed(_)
    ));
    assert!(store.is_access_token_revoked(&winner_jti).await.unwrap());
    store.purge_expired(3700).await.unwrap();
    assert!(!store.is_access_token_revoked(&winner_jti).await.unwrap());
    assert_eq!(
        store.find_code(&sha256(b"code")).await.unwrap(),
        CodeState::NotFound
    );
}

/// The janitor deletes a retired key (private part and all) long after JWKS dropped it.
async fn the_janitor_deletes_a_retired_key_after_it_is_kept(store: DynStore) {
    base(&store).await;
    let master = MasterKey::from_bytes(&[1; 32]);
    let (first, _) = active_and_next(&store, &master).await;
    let fresh = keys::generate("aus1", KeyStatus::Next, 10, &master);
    assert_eq!(
        store
            .rotate_signing_key(&first.kid, &fresh, 20)
            .await
            .unwrap(),
        KeyRotation::Rotated
    );
    store
        .purge_expired(20 + RETIRED_KEY_KEPT_SECONDS - 1)
        .await
        .unwrap();
    assert_eq!(store.signing_keys("aus1").await.unwrap().len(), 3);
    store
        .purge_expired(20 + RETIRED_KEY_KEPT_SECONDS)
        .await
        .unwrap();
    let left = store.signing_keys("aus1").await.unwrap();
    assert!(left.iter().all(|k| k.status != KeyStatus::Retired) && left.len() == 2);
}

/// Maintenance: ping, the schema version, pool statistics, and closing.
async fn the_store_answers_pings_reports_its_schema_and_pool_and_closes(store: DynStore) {
    store.ping().await.unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        latest_schema_version()
    );

    let pool = store.pool_stats();
    assert!(
        pool.max >= 1 && pool.idle + pool.in_use <= pool.max,
        "{pool:?}"
    );
    store.close().await;
    assert!(
        matches!(store.ping().await, Err(StoreError::Unavailable(_))),
        "closed"
    );
}

/// Single-use JWT ids: once, concurrently once, taken over only after expiry, purged.
async fn a_jti_is_used_once(store: DynStore) {
    let store = &store;
    let key = sha256(b"client_assertion\0c\0j1");
    assert!(
        store.use_jti_once(&key, 100, 50).await.unwrap(),
        "first use"
    );
    assert!(
        !store.use_jti_once(&key, 200, 60).await.unwrap(),
        "a replay while it is live"
    );
    assert!(
        !store.use_jti_once(&key, 200, 99).await.unwrap(),
        "still live just before expiry"
    );
    assert!(
        store
            .use_jti_once(&sha256(b"other"), 100, 50)
            .await
            .unwrap(),
        "another id is independent"
    );
    assert!(
        store.use_jti_once(&key, 300, 100).await.unwrap(),
        "an expired record not yet purged is taken over"
    );
    assert!(
        !store.use_jti_once(&key, 300, 150).await.unwrap(),
        "and is live again until its new expiry"
    );

    // Many at once: exactly one wins.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .use_jti_once(&sha256(b"raced"), 1000, 10)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for r in racers {
        wins += usize::from(r.await.unwrap());
    }
    assert_eq!(wins, 1, "one winner among concurrent uses");

    // The janitor forgets expired ids (and only those).
    assert!(store.purge_expired(200).await.unwrap() >= 1);
    assert!(
        !store
            .use_jti_once(&sha256(b"raced"), 2000, 200)
            .await
            .unwrap(),
        "not expired, so kept"
    );
}

/// Apps keep their secrets (ids, status, sealed copies), JWKS, jwks_uri and DPoP flag.
async fn a_client_keeps_its_secrets_keys_and_dpop_flag(store: DynStore) {
    let store = &store;
    let mut c = client("0oajwt");
    c.auth_method = AuthMethod::PrivateKeyJwt;
    c.secrets.push(ClientSecret {
        id: "ocs2".into(),
        hash: "ff".into(),
        sealed: Some("abcd".into()),
        status: Status::Inactive,
        created: 2,
        updated: 3,
    });
    c.jwks = Some(r#"{"keys":[]}"#.into());
    c.dpop_bound_access_tokens = true;
    store.insert_client(&c).await.unwrap();
    assert_eq!(store.get_client("0oajwt").await.unwrap().unwrap(), c);
    c.jwks = None;
    c.jwks_uri = Some("https://rp.example/jwks".into());
    c.secrets.remove(0);
    c.dpop_bound_access_tokens = false;
    assert!(store.update_client(&c).await.unwrap());
    c.version += 1;
    assert_eq!(store.get_client("0oajwt").await.unwrap().unwrap(), c);
}

/// Every change to an app raises every server's `settings_version` in its own
/// transaction (migration 40): the per-process app cache (`flows::ClientCache`) relies
/// on it to see a rotated secret or a deactivated app at the next request.
async fn every_app_change_bumps_every_servers_settings_version(store: DynStore) {
    let store = &store;
    base(store).await;
    let mut other = server();
    other.id = "aus2".into();
    assert!(store.insert_server_if_absent(&other).await.unwrap());
    let versions = || async {
        (
            settings_version(store, "aus1").await,
            settings_version(store, "aus2").await,
        )
    };
    let mut last = versions().await;
    let mut c = client("0oa2");
    store.insert_client(&c).await.unwrap();
    let mut check = |change: &str, now: (i64, i64)| {
        assert!(
            now.0 > last.0 && now.1 > last.1,
            "{change}: {last:?} -> {now:?}"
        );
        last = now;
    };
    check("insert", versions().await);
    c.secrets.clear();
    assert!(store.update_client(&c).await.unwrap());
    c.version += 1;
    check("secret removed", versions().await);
    c.status = Status::Inactive;
    assert!(store.update_client(&c).await.unwrap());
    check("deactivated", versions().await);
    assert!(store.delete_client("0oa2").await.unwrap());
    check("deleted", versions().await);
}

/// Optimistic concurrency: a write made from a stale read (the version before the last
/// update) is refused and changes nothing; every write bumps the version, even within
/// the same second.
async fn a_client_write_from_a_stale_read_is_refused(store: DynStore) {
    let c = client("0oajwt");
    store.insert_client(&c).await.unwrap();
    let store = &store;
    let mut stale = c.clone();
    stale.version -= 1;
    stale.secrets.clear();
    stale.name = "stale".into();
    assert!(!store.update_client(&stale).await.unwrap());
    assert_eq!(store.get_client("0oajwt").await.unwrap().unwrap(), c);
    let mut racers = Vec::new();
    for i in 0..5 {
        let store = store.clone();
        let mut w = c.clone();
        w.name = format!("racer {i}");
        racers.push(tokio::spawn(async move {
            store.update_client(&w).await.unwrap()
        }));
    }
    assert_eq!(
        futures_count(racers.into_iter()).await,
        1,
        "exactly one write from the same read lands"
    );
    assert_eq!(
        store.get_client("0oajwt").await.unwrap().unwrap().version,
        c.version + 1
    );
    let mut gone = c.clone();
    gone.client_id = "0oaNOPE".into();
    assert!(!store.update_client(&gone).await.unwrap());
}

/// Refresh-token families: rotation once under concurrency; revoking the family denies
/// its access tokens and stops rotation.
async fn a_refresh_token_rotates_once_and_not_after_its_family_is_revoked(store: DynStore) {
    base(&store).await;
    let family = family();
    let store = &store;
    store
        .insert_refresh_family(
            &family,
            &refresh_token(&sha256(b"rt1"), "fam1", 10, "AT.r1"),
        )
        .await
        .unwrap();
    let (t1, f1) = store.find_refresh(&sha256(b"rt1")).await.unwrap().unwrap();
    assert_eq!((t1.rotated_at, f1), (None, family.clone()));
    assert!(
        store
            .find_refresh(&sha256(b"other"))
            .await
            .unwrap()
            .is_none()
    );

    let rotate = |from: &'static [u8], to: Vec<u8>, now: i64| {
        let store = store.clone();
        async move {
            store
                .rotate_refresh(
                    "fam1",
                    &sha256(from),
                    &refresh_token(&to, "fam1", now, &format!("AT.{}", to[0])),
                    now,
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(rotate(b"rt1", sha256(b"rt2"), 20).await, Rotation::Rotated);
    assert_eq!(
        rotate(b"rt1", sha256(b"rt2b"), 21).await,
        Rotation::AlreadyRotated
    );
    let (t1, f1) = store.find_refresh(&sha256(b"rt1")).await.unwrap().unwrap();
    assert_eq!(
        (t1.rotated_at, t1.successor_hash),
        (Some(20), Some(sha256(b"rt2")))
    );
    assert_eq!(f1.last_used_at, 20);
    assert!(
        store
            .find_refresh(&sha256(b"rt2b"))
            .await
            .unwrap()
            .is_none(),
        "a lost rotation leaves nothing"
    );

    // Twenty concurrent rotations of one token: exactly one wins.
    let racers: Vec<_> = (0..20u8)
        .map(|i| tokio::spawn(rotate(b"rt2", sha256(&[b'x', i]), 30)))
        .collect();
    let mut outcomes = Vec::new();
    for r in racers {
        outcomes.push(r.await.unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|o| **o == Rotation::Rotated).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Rotation::AlreadyRotated)
            .count(),
        19
    );

    // Revoking the family: once; every unexpired access token from it is denied; no
    // rotation after it.
    assert!(store.revoke_family("fam1", 40).await.unwrap());
    assert!(!store.revoke_family("fam1", 41).await.unwrap());
    assert!(store.is_access_token_revoked("AT.r1").await.unwrap());
    let (t2, _) = store.find_refresh(&sha256(b"rt2")).await.unwrap().unwrap();
    let winner = store
        .find_refresh(&t2.successor_hash.unwrap())
        .await
        .unwrap()
        .unwrap()
        .0;
    assert!(
        store
            .is_access_token_revoked(winner.access_jti.as_deref().unwrap())
            .await
            .unwrap()
    );
    assert_eq!(rotate(b"rt1", sha256(b"rt9"), 42).await, Rotation::Revoked);
    assert!(store.revoke_family("no-such-family", 42).await.is_ok());
}

/// A token's scope (narrowed by a refresh) and its family's (the grant) are read apart,
/// though both columns are named `scope`: a retry within the leeway answers with the
/// token's.
async fn a_refresh_token_and_its_family_keep_their_own_scopes(store: DynStore) {
    base(&store).await;
    let store = &store;
    let mut first = refresh_token(&sha256(b"rt1"), "fam1", 10, "AT.r1");
    first.scope = "openid".into();
    store
        .insert_refresh_family(&family(), &first)
        .await
        .unwrap();
    let (token, family) = store.find_refresh(&sha256(b"rt1")).await.unwrap().unwrap();
    assert_eq!(token, first);
    assert_eq!(family.scope, "openid offline_access");
}

/// A user's families end together (deactivation, a new password), with their access
/// tokens; other users' stay.
async fn a_users_refresh_families_are_revoked_together(store: DynStore) {
    base(&store).await;
    let family = family();
    store
        .insert_refresh_family(
            &family,
            &refresh_token(&sha256(b"rt1"), "fam1", 10, "AT.r1"),
        )
        .await
        .unwrap();
    assert!(store.revoke_family("fam1", 40).await.unwrap());
    let store = &store;
    let mine = RefreshFamily {
        id: "fam3".into(),
        ..family.clone()
    };
    let theirs = RefreshFamily {
        id: "fam4".into(),
        user_id: "00u9".into(),
        ..family.clone()
    };
    store
        .insert_refresh_family(
            &mine,
            &refresh_token(&sha256(b"mine"), "fam3", 45, "AT.mine"),
        )
        .await
        .unwrap();
    store
        .insert_refresh_family(
            &theirs,
            &refresh_token(&sha256(b"theirs"), "fam4", 45, "AT.theirs"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.revoke_user_families("00u1", 46).await.unwrap(),
        1,
        "fam1 was revoked before"
    );
    assert!(
        store
            .find_refresh(&sha256(b"mine"))
            .await
            .unwrap()
            .unwrap()
            .1
            .revoked_at
            .is_some()
    );
    assert!(store.is_access_token_revoked("AT.mine").await.unwrap());
    assert!(
        store
            .find_refresh(&sha256(b"theirs"))
            .await
            .unwrap()
            .unwrap()
            .1
            .revoked_at
            .is_none()
    );
    assert!(!store.is_access_token_revoked("AT.theirs").await.unwrap());
    assert_eq!(store.revoke_user_families("00u1", 47).await.unwrap(), 0);
}

/// The janitor removes revoked families and idle ones; a live family stays.
async fn the_janitor_purges_revoked_and_idle_families(store: DynStore) {
    base(&store).await;
    let family = family();
    store
        .insert_refresh_family(
            &family,
            &refresh_token(&sha256(b"rt1"), "fam1", 10, "AT.r1"),
        )
        .await
        .unwrap();
    assert!(store.revoke_family("fam1", 40).await.unwrap());
    let store = &store;
    let live = RefreshFamily {
        id: "fam2".into(),
        ..family.clone()
    };
    store
        .insert_refresh_family(&live, &refresh_token(&sha256(b"live"), "fam2", 100, "AT.l"))
        .await
        .unwrap();
    store.purge_expired(50).await.unwrap();
    assert!(
        store.find_refresh(&sha256(b"rt1")).await.unwrap().is_none(),
        "revoked family purged"
    );
    assert!(
        store
            .find_refresh(&sha256(b"live"))
            .await
            .unwrap()
            .is_some()
    );
    store.purge_expired(700).await.unwrap();
    assert!(
        store
            .find_refresh(&sha256(b"live"))
            .await
            .unwrap()
            .is_none(),
        "idle family purged"
    );
}

/// Groups: names unique without regard to case, found by id or name; members.
async fn groups_are_unique_by_name_and_hold_members(store: DynStore) {
    base(&store).await;
    let store = &store;
    let group = |id: &str, name: &str| Group {
        id: id.into(),
        name: name.into(),
        description: String::new(),
        created_at: 1,
        updated_at: 1,
    };
    store.insert_group(&group("00g1", "Admins")).await.unwrap();
    store.insert_group(&group("00g2", "staff")).await.unwrap();
    assert!(matches!(
        store.insert_group(&group("00g3", "admins")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.find_group("ADMINS").await.unwrap().unwrap().id,
        "00g1"
    );
    assert_eq!(
        store.find_group("00g2").await.unwrap().unwrap().name,
        "staff"
    );
    assert!(store.find_group("nobody").await.unwrap().is_none());
    assert!(store.add_group_member("00g2", "00u1").await.unwrap());
    assert!(!store.add_group_member("00g2", "00u1").await.unwrap());
    assert!(store.add_group_member("00g1", "00u1").await.unwrap());
    let names: Vec<String> = store
        .user_groups("00u1")
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(
        names,
        ["Admins", "Everyone", "staff"],
        "and the built-in group"
    );
    assert!(store.remove_group_member("00g1", "00u1").await.unwrap());
    assert!(!store.remove_group_member("00g1", "00u1").await.unwrap());
    assert_eq!(store.list_groups().await.unwrap().len(), 3);
}

/// A server is seeded once; its scopes are unique by name and updated by id.
async fn a_server_is_seeded_once_and_its_scopes_are_unique(store: DynStore) {
    base(&store).await;
    let store = &store;
    let scope = |id: &str, name: &str| ScopeDef {
        id: id.into(),
        server_id: "aus1".into(),
        name: name.into(),
        description: String::new(),
        consent: "IMPLICIT".into(),
        is_default: false,
        system: true,
        created_at: 1,
    };
    let policy = Policy {
        id: "00p1".into(),
        server_id: "aus1".into(),
        name: "p".into(),
        description: String::new(),
        priority: 2,
        status: Status::Active,
        clients: vec!["ALL_CLIENTS".into()],
        created_at: 1,
        updated_at: 1,
    };
    let rule = |id: &str, priority: i64| PolicyRule {
        id: id.into(),
        policy_id: "00p1".into(),
        name: id.into(),
        priority,
        status: Status::Active,
        grant_types: vec!["authorization_code".into()],
        scopes: vec!["*".into()],
        users: vec![],
        groups: vec!["EVERYONE".into()],
        access_token_ttl: 300,
        refresh_token_ttl: None,
        refresh_token_idle: Some(600),
        action: "ALLOW".into(),
        created_at: 1,
        updated_at: 1,
    };
    let seed = ServerSeed {
        scopes: vec![scope("scp1", "openid")],
        claims: vec![],
        policies: vec![(policy.clone(), vec![rule("0pr2", 2), rule("0pr1", 1)])],
    };
    assert!(
        bumps(
            store,
            "store.seed_server(\"aus1\", &seed).await.unwrap()",
            async { store.seed_server("aus1", &seed).await.unwrap() }
        )
        .await
    );
    assert!(
        !store.seed_server("aus1", &seed).await.unwrap(),
        "seeded once"
    );
    assert!(matches!(
        store.insert_scope(&scope("scp2", "openid")).await,
        Err(StoreError::Conflict(_))
    ));
    let mut custom = scope("scp3", "api:read");
    custom.system = false;
    custom.is_default = true;
    bumps(store, "store.insert_scope(&custom).await.unwrap()", async {
        store.insert_scope(&custom).await.unwrap()
    })
    .await;
    assert_eq!(
        store.list_scopes("aus1").await.unwrap(),
        vec![scope("scp1", "openid"), custom.clone()]
    );
    // Updated by id: name, description, consent and default flag; names stay unique.
    let renamed = ScopeDef {
        name: "api:write".into(),
        description: "d".into(),
        consent: "REQUIRED".into(),
        is_default: false,
        ..custom.clone()
    };
    assert!(
        bumps(
            store,
            "store.update_scope(&renamed).await.unwrap()",
            async { store.update_scope(&renamed).await.unwrap() }
        )
        .await
    );
    assert_eq!(
        store.list_scopes("aus1").await.unwrap(),
        vec![scope("scp1", "openid"), renamed.clone()]
    );
    assert!(matches!(
        store
            .update_scope(&ScopeDef {
                name: "openid".into(),
                ..renamed.clone()
            })
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        !store
            .update_scope(&ScopeDef {
                id: "scpNone".into(),
                ..renamed.clone()
            })
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_scope(&ScopeDef {
                server_id: "default".into(),
                ..renamed.clone()
            })
            .await
            .unwrap(),
        "another server's"
    );
    assert!(
        bumps(
            store,
            "store.delete_scope(\"aus1\", \"api:write\").await.unwrap()",
            async { store.delete_scope("aus1", "api:write").await.unwrap() }
        )
        .await
    );
    assert!(!store.delete_scope("aus1", "api:write").await.unwrap());
}

/// A server's claims: unique by name for the same token, updated by id.
async fn a_servers_claims_are_unique_per_token_and_updated_by_id(store: DynStore) {
    base(&store).await;
    let store = &store;
    let claim = ClaimDef {
        id: "ocl1".into(),
        server_id: "aus1".into(),
        name: "groups".into(),
        claim_type: "IDENTITY".into(),
        value_type: "GROUPS".into(),
        value: ".*".into(),
        group_filter_type: Some("REGEX".into()),
        scopes: vec!["groups".into()],
        status: Status::Active,
        created_at: 1,
    };
    bumps(store, "store.insert_claim(&claim).await.unwrap()", async {
        store.insert_claim(&claim).await.unwrap()
    })
    .await;
    assert!(matches!(
        store
            .insert_claim(&ClaimDef {
                id: "ocl2".into(),
                ..claim.clone()
            })
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.list_claims("aus1").await.unwrap(),
        vec![claim.clone()]
    );
    let email = ClaimDef {
        id: "ocl3".into(),
        name: "mail".into(),
        value_type: "EXPRESSION".into(),
        value: "user.email".into(),
        group_filter_type: None,
        scopes: vec![],
        ..claim.clone()
    };
    store.insert_claim(&email).await.unwrap();
    let changed = ClaimDef {
        name: "email_addr".into(),
        claim_type: "RESOURCE".into(),
        value: "user.login".into(),
        scopes: vec!["openid".into()],
        status: Status::Inactive,
        ..email.clone()
    };
    assert!(
        bumps(
            store,
            "store.update_claim(&changed).await.unwrap()",
            async { store.update_claim(&changed).await.unwrap() }
        )
        .await
    );
    assert_eq!(
        store.list_claims("aus1").await.unwrap(),
        vec![changed.clone(), claim.clone()],
        "by creation, then name"
    );
    assert!(matches!(
        store
            .update_claim(&ClaimDef {
                name: "groups".into(),
                claim_type: "IDENTITY".into(),
                ..changed.clone()
            })
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        !store
            .update_claim(&ClaimDef {
                id: "oclNone".into(),
                ..changed.clone()
            })
            .await
            .unwrap()
    );
    assert!(
        bumps(
            store,
            "store.delete_claim(\"aus1\", \"ocl3\").await.unwrap()",
            async { store.delete_claim("aus1", "ocl3").await.unwrap() }
        )
        .await
    );
    assert!(store.delete_claim("aus1", "ocl1").await.unwrap());
}

/// Policies and their rules: listed by priority, updated in place, rules go with their policy.
async fn policies_and_rules_are_listed_by_priority_and_updated_in_place(store: DynStore) {
    base(&store).await;
    let store = &store;
    let scope = |id: &str, name: &str| ScopeDef {
        id: id.into(),
        server_id: "aus1".into(),
        name: name.into(),
        description: String::new(),
        consent: "IMPLICIT".into(),
        is_default: false,
        system: true,
        created_at: 1,
    };
    let policy = Policy {
        id: "00p1".into(),
        server_id: "aus1".into(),
        name: "p".into(),
        description: String::new(),
        priority: 2,
        status: Status::Active,
        clients: vec!["ALL_CLIENTS".into()],
        created_at: 1,
        updated_at: 1,
    };
    let rule = |id: &str, priority: i64| PolicyRule {
        id: id.into(),
        policy_id: "00p1".into(),
        name: id.into(),
        priority,
        status: Status::Active,
        grant_types: vec!["authorization_code".into()],
        scopes: vec!["*".into()],
        users: vec![],
        groups: vec!["EVERYONE".into()],
        access_token_ttl: 300,
        refresh_token_ttl: None,
        refresh_token_idle: Some(600),
        action: "ALLOW".into(),
        created_at: 1,
        updated_at: 1,
    };
    let seed = ServerSeed {
        scopes: vec![scope("scp1", "openid")],
        claims: vec![],
        policies: vec![(policy.clone(), vec![rule("0pr2", 2), rule("0pr1", 1)])],
    };
    store.seed_server("aus1", &seed).await.unwrap();
    assert_eq!(
        store.list_policies("aus1").await.unwrap(),
        vec![policy.clone()]
    );
    let first = Policy {
        id: "00p0".into(),
        priority: 1,
        ..policy.clone()
    };
    bumps(store, "store.insert_policy(&first).await.unwrap()", async {
        store.insert_policy(&first).await.unwrap()
    })
    .await;
    let ids: Vec<String> = store
        .list_policies("aus1")
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, ["00p0", "00p1"], "by priority");
    let rules: Vec<String> = store
        .list_rules("aus1")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(rules, ["0pr1", "0pr2"]);
    bumps(
        store,
        "store.insert_rule(&rule(\"0pr3\", 3)).await.unwrap()",
        async { store.insert_rule(&rule("0pr3", 3)).await.unwrap() },
    )
    .await;
    // Rules and policies updated in place.
    let changed = PolicyRule {
        name: "renamed".into(),
        priority: 0,
        status: Status::Inactive,
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["openid".into()],
        users: vec!["00u1".into()],
        groups: vec!["00g2".into()],
        access_token_ttl: 600,
        refresh_token_ttl: Some(6000),
        refresh_token_idle: None,
        action: "DENY".into(),
        updated_at: 9,
        ..rule("0pr3", 3)
    };
    assert!(
        bumps(store, "store.update_rule(&changed).await.unwrap()", async {
            store.update_rule(&changed).await.unwrap()
        })
        .await
    );
    assert_eq!(
        store.list_rules("aus1").await.unwrap()[0],
        changed,
        "first by its new priority"
    );
    assert!(
        !store
            .update_rule(&PolicyRule {
                policy_id: "00p0".into(),
                ..changed.clone()
            })
            .await
            .unwrap(),
        "another policy's"
    );
    assert!(
        bumps(
            store,
            "store.delete_rule(\"00p1\", \"0pr3\").await.unwrap()",
            async { store.delete_rule("00p1", "0pr3").await.unwrap() }
        )
        .await
    );
    let moved = Policy {
        name: "q".into(),
        description: "d".into(),
        priority: 0,
        status: Status::Inactive,
        clients: vec!["0oa1".into()],
        updated_at: 9,
        ..policy.clone()
    };
    assert!(
        bumps(store, "store.update_policy(&moved).await.unwrap()", async {
            store.update_policy(&moved).await.unwrap()
        })
        .await
    );
    assert_eq!(
        store.list_policies("aus1").await.unwrap(),
        vec![moved.clone(), first.clone()]
    );
    assert!(
        !store
            .update_policy(&Policy {
                server_id: "default".into(),
                ..moved.clone()
            })
            .await
            .unwrap(),
        "another server's"
    );
    assert!(
        bumps(
            store,
            "store.delete_policy(\"aus1\", \"00p1\").await.unwrap()",
            async { store.delete_policy("aus1", "00p1").await.unwrap() }
        )
        .await
    );
    assert!(
        store.list_rules("aus1").await.unwrap().is_empty(),
        "rules go with their policy"
    );
}

/// Consent: per user, app and server; granting again keeps one row.
async fn consent_is_kept_per_user_app_and_server(store: DynStore) {
    base(&store).await;
    let store = &store;
    let scopes = vec!["orders:read".to_string(), "email".to_string()];
    store
        .grant_consent("00u1", "0oa1", "aus1", &scopes, 5)
        .await
        .unwrap();
    store
        .grant_consent("00u1", "0oa1", "aus1", &scopes[..1], 6)
        .await
        .unwrap();
    assert_eq!(
        store.granted_scopes("00u1", "0oa1", "aus1").await.unwrap(),
        ["email", "orders:read"]
    );
    assert!(
        store
            .granted_scopes("00u1", "0oa1", "default")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .granted_scopes("00u1", "0oa2", "aus1")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.revoke_consents("00u1", "0oa1").await.unwrap(), 2);
    assert!(
        store
            .granted_scopes("00u1", "0oa1", "aus1")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Users: updated whole but for `last_login_at`, which only a sign-in sets; logins stay unique.
async fn a_user_is_updated_and_keeps_their_last_sign_in(store: DynStore) {
    let store = &store;
    for (id, login, status, updated) in [
        ("00uA", "ann@example.com", UserStatus::Active, 10),
        ("00uB", "Bob@example.com", UserStatus::Staged, 20),
        ("00uC", "carl_x@example.com", UserStatus::Active, 30),
    ] {
        let mut u = user(id, login);
        u.status = status;
        u.updated_at = updated;
        u.first_name = Some(format!("{}name", &login[..1]));
        u.profile_extra
            .insert("nickName".into(), serde_json::json!("n"));
        store.insert_user(&u).await.unwrap();
    }
    let mut bob = store.get_user("00uB").await.unwrap().unwrap();
    assert_eq!(bob.profile_extra["nickName"], "n");
    bob.login = "robert@example.com".into();
    bob.status = UserStatus::Active;
    bob.activated_at = Some(21);
    assert!(store.update_user(&bob).await.unwrap());
    assert_eq!(
        store
            .find_user_by_login("ROBERT@example.com")
            .await
            .unwrap()
            .unwrap(),
        bob
    );
    let mut clash = bob.clone();
    clash.login = "ANN@example.com".into();
    assert!(matches!(
        store.update_user(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(!store.update_user(&user("00uNone", "x")).await.unwrap());
    // A sign-in sets last_login_at; an update made from an older read keeps it.
    assert!(store.record_login("00uB", 25).await.unwrap());
    assert!(!store.record_login("00uNone", 25).await.unwrap());
    assert!(store.update_user(&bob).await.unwrap());
    bob.last_login_at = Some(25);
    assert_eq!(store.get_user("00uB").await.unwrap().unwrap(), bob);
}

/// Pages: ordered by id, after a cursor, filtered, and nothing but allowed columns.
async fn users_are_paged_filtered_and_only_by_allowed_columns(store: DynStore) {
    base(&store).await;
    directory_users(&store).await;
    let store = &store;
    let page = |filter: Option<Expr>, after: Option<&str>, limit: i64| Page {
        filter,
        after: after.map(text),
        limit,
    };
    assert_eq!(
        ids_of(&store.query_users(&page(None, None, 2)).await.unwrap()),
        ["00u1", "00uA"]
    );
    assert_eq!(
        ids_of(
            &store
                .query_users(&page(None, Some("00uA"), 10))
                .await
                .unwrap()
        ),
        ["00uB", "00uC"]
    );
    let active = Expr::cond("status", Op::Eq, text("ACTIVE"));
    let recent = Expr::cond("updated_at", Op::Gt, SqlValue::Int(15));
    assert_eq!(
        ids_of(
            &store
                .query_users(&page(Some(active.clone().and(recent)), None, 10))
                .await
                .unwrap()
        ),
        ["00uB", "00uC"]
    );
    let prefix = |p: &str| Expr::cond("login_key", Op::StartsWith, text(p));
    assert_eq!(
        ids_of(
            &store
                .query_users(&page(Some(prefix("ROB")), None, 10))
                .await
                .unwrap()
        ),
        ["00uB"]
    );
    assert!(
        store
            .query_users(&page(Some(prefix("carl%")), None, 10))
            .await
            .unwrap()
            .is_empty(),
        "% is literal"
    );
    assert_eq!(
        ids_of(
            &store
                .query_users(&page(Some(prefix("carl_")), None, 10))
                .await
                .unwrap()
        ),
        ["00uC"],
        "_ is literal"
    );
    let either = Expr::Or(vec![
        Expr::cond("first_name", Op::Eq, text("aname")),
        Expr::cond("email", Op::Contains, text("x")),
    ]);
    assert_eq!(
        ids_of(
            &store
                .query_users(&page(Some(either), None, 10))
                .await
                .unwrap()
        ),
        ["00uA"]
    );
    let secret = Expr::cond("password_hash", Op::StartsWith, text("$"));
    assert!(matches!(
        store.query_users(&page(Some(secret), None, 10)).await,
        Err(StoreError::Schema(_))
    ));
}

/// Sessions end by user.
async fn a_users_sessions_end_together(store: DynStore) {
    directory_users(&store).await;
    let store = &store;
    let s = |n: u8, user: &str| Session {
        id_hash: sha256(&[n]),
        user_id: user.into(),
        auth_time: 1,
        created_at: 1,
        expires_at: 1000,
        amr: vec!["pwd".into()],
        mfa_at: None,
        user_agent: None,
        ip: None,
        last_seen_at: None,
    };
    store.insert_session(&s(1, "00uA")).await.unwrap();
    store.insert_session(&s(2, "00uA")).await.unwrap();
    store.insert_session(&s(3, "00uC")).await.unwrap();
    assert_eq!(store.end_user_sessions("00uA", 5).await.unwrap(), 2);
    assert!(
        store
            .live_session(&sha256(&[1]), 6)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .live_session(&sha256(&[3]), 6)
            .await
            .unwrap()
            .is_some()
    );
}

/// okta-authn: a `sessionToken` is redeemed once, even when raced, and not once
/// expired; a session's expiry moves only while it is live.
async fn a_session_token_is_redeemed_once_and_a_session_refreshed_while_live(store: DynStore) {
    directory_users(&store).await;
    let token = |n: u8| SessionToken {
        token_hash: sha256(&[n, 7]),
        user_id: "00uA".into(),
        auth_time: 10,
        created_at: 10,
        expires_at: 310,
    };
    store.insert_session_token(&token(1)).await.unwrap();
    store.insert_session_token(&token(2)).await.unwrap();
    assert!(
        store
            .redeem_session_token(&token(2).token_hash, 310)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    let takers: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            let hash = token(1).token_hash;
            tokio::spawn(async move { store.redeem_session_token(&hash, 300).await.unwrap() })
        })
        .collect();
    let mut won = Vec::new();
    for t in takers {
        won.extend(t.await.unwrap());
    }
    assert_eq!(won, [token(1)]);
    // The janitor forgets expired tokens.
    store.purge_expired(1000).await.unwrap();
    assert!(
        store
            .redeem_session_token(&token(2).token_hash, 0)
            .await
            .unwrap()
            .is_none()
    );

    let s = Session {
        id_hash: sha256(b"refreshed"),
        user_id: "00uA".into(),
        auth_time: 1,
        created_at: 1,
        expires_at: 100,
        amr: vec!["pwd".into()],
        mfa_at: None,
        user_agent: None,
        ip: None,
        last_seen_at: None,
    };
    store.insert_session(&s).await.unwrap();
    let moved = store.refresh_session(&s.id_hash, 500, 50).await.unwrap();
    assert_eq!(moved.map(|m| m.expires_at), Some(500));
    assert_eq!(
        store.refresh_session(&s.id_hash, 900, 500).await.unwrap(),
        None
    );
    store.end_session(&s.id_hash, 60).await.unwrap();
    assert_eq!(
        store.refresh_session(&s.id_hash, 900, 60).await.unwrap(),
        None
    );
}

/// Apps: updated whole, and paged by a filter.
async fn apps_are_updated_and_paged(store: DynStore) {
    let store = &store;
    let mut app = client("0oaZ");
    app.name = "Zed".into();
    store.insert_client(&app).await.unwrap();
    app.status = Status::Inactive;
    app.redirect_uris = vec!["https://z/cb".into()];
    assert!(store.update_client(&app).await.unwrap());
    app.version += 1;
    assert_eq!(store.get_client("0oaZ").await.unwrap().unwrap(), app);
    let inactive = Page {
        filter: Some(Expr::cond("status", Op::Eq, text("INACTIVE"))),
        after: None,
        limit: 10,
    };
    assert_eq!(
        store.query_clients(&inactive).await.unwrap(),
        vec![app.clone()]
    );
}

/// An app without assignments is open to every user; with any, to those assigned
/// directly or through a group; once assigned, closed even with none left.
async fn assignments_open_and_close_an_app(store: DynStore) {
    directory_users(&store).await;
    store.insert_client(&client("0oaZ")).await.unwrap();
    let store = &store;
    let may =
        |user: &'static str| async move { store.user_may_use_app("0oaZ", user).await.unwrap() };
    assert!(
        may("00uC").await && may("00uA").await,
        "no assignment: open"
    );
    assert!(store.assign_user("0oaZ", "00uA", 1).await.unwrap());
    assert!(!store.assign_user("0oaZ", "00uA", 1).await.unwrap());
    assert!(store.assign_user("0oaZ", "00uC", 1).await.unwrap());
    assert_eq!(
        ids_of(&store.assigned_users("0oaZ").await.unwrap()),
        ["00uA", "00uC"]
    );
    assert!(store.unassign_user("0oaZ", "00uC").await.unwrap());
    assert!(!store.unassign_user("0oaZ", "00uC").await.unwrap());
    assert!(
        may("00uA").await && !may("00uC").await,
        "assigned directly, or not"
    );
    store.insert_client(&client("0oaOther")).await.unwrap();
    assert!(
        store.user_may_use_app("0oaOther", "00uC").await.unwrap(),
        "another app's assignments do not count"
    );
    assert!(
        !store.user_may_use_app("0oaMissing", "00uC").await.unwrap(),
        "no such app: nobody"
    );
    let group = Group {
        id: "00gZ".into(),
        name: "zeds".into(),
        description: String::new(),
        created_at: 1,
        updated_at: 1,
    };
    store.insert_group(&group).await.unwrap();
    assert!(store.assign_group("0oaZ", "00gZ", 3, 1).await.unwrap());
    assert!(
        !store.assign_group("0oaZ", "00gZ", 7, 1).await.unwrap(),
        "a second assignment changes the priority"
    );
    assert_eq!(
        store.assigned_groups("0oaZ").await.unwrap(),
        vec![(group.clone(), 7)]
    );
    assert!(!may("00uC").await, "not a member of the assigned group");
    assert!(store.add_group_member("00gZ", "00uC").await.unwrap());
    assert!(may("00uC").await, "through the group");
    assert!(store.remove_group_member("00gZ", "00uC").await.unwrap());
    assert!(!may("00uC").await);
    // Every assignment removed: closed to all, never open again by itself.
    assert!(store.unassign_user("0oaZ", "00uA").await.unwrap());
    assert!(store.unassign_group("0oaZ", "00gZ").await.unwrap());
    assert!(
        !may("00uA").await && !may("00uC").await,
        "once assigned, closed even with none left"
    );
    assert!(store.assign_group("0oaZ", "00gZ", 3, 1).await.unwrap());
}

/// Groups: update (names stay unique), pages, members.
async fn groups_are_updated_paged_and_listed_with_members(store: DynStore) {
    directory_users(&store).await;
    let group = |id: &str, name: &str| Group {
        id: id.into(),
        name: name.into(),
        description: String::new(),
        created_at: 1,
        updated_at: 1,
    };
    store.insert_group(&group("00g1", "Admins")).await.unwrap();
    let group = group("00gZ", "zeds");
    store.insert_group(&group).await.unwrap();
    let store = &store;
    let mut renamed = group.clone();
    renamed.name = "Admins".into();
    assert!(matches!(
        store.update_group(&renamed).await,
        Err(StoreError::Conflict(_))
    ));
    renamed.name = "zed team".into();
    renamed.updated_at = 9;
    assert!(store.update_group(&renamed).await.unwrap());
    assert_eq!(
        store.find_group("ZED TEAM").await.unwrap().unwrap(),
        renamed
    );
    let named = Page {
        filter: Some(Expr::cond("name", Op::StartsWith, text("ZED"))),
        after: None,
        limit: 10,
    };
    assert_eq!(
        store.query_groups(&named).await.unwrap(),
        vec![renamed.clone()]
    );
    assert!(store.add_group_member("00gZ", "00uA").await.unwrap());
    assert_eq!(
        ids_of(&store.group_members("00gZ").await.unwrap()),
        ["00uA"]
    );
}

/// The built-in Everyone group (migration 22) holds every user, those inserted later
/// too (a trigger, whoever inserts), and an app assigned to it is open to all of them.
async fn every_user_is_in_the_built_in_everyone_group(store: DynStore) {
    let store = &store;
    let everyone = gatehouse::admin::groups::EVERYONE_ID;
    let group = store.find_group("everyone").await.unwrap().unwrap();
    assert_eq!(
        (group.id.as_str(), group.name.as_str()),
        (everyone, "Everyone")
    );
    directory_users(store).await;
    assert_eq!(
        ids_of(&store.group_members(everyone).await.unwrap()),
        ["00uA", "00uB", "00uC"]
    );
    store.insert_client(&client("0oaE")).await.unwrap();
    assert!(store.assign_group("0oaE", everyone, 0, 1).await.unwrap());
    store
        .insert_user(&user("00uD", "dee@example.com"))
        .await
        .unwrap();
    assert!(
        store.user_may_use_app("0oaE", "00uD").await.unwrap(),
        "a user created after the assignment may use the app"
    );
    assert!(store.delete_user("00uD").await.unwrap());
    assert_eq!(store.group_members(everyone).await.unwrap().len(), 3);
}

/// Deleting a user takes their sessions, memberships and assignments with them; a group
/// and an app likewise.
async fn deleting_a_user_group_or_app_takes_what_is_theirs(store: DynStore) {
    let store = &store;
    directory_users(store).await;
    store.insert_client(&client("0oaZ")).await.unwrap();
    store
        .insert_group(&Group {
            id: "00gZ".into(),
            name: "zeds".into(),
            description: String::new(),
            created_at: 1,
            updated_at: 1,
        })
        .await
        .unwrap();
    assert!(store.assign_user("0oaZ", "00uA", 1).await.unwrap());
    assert!(store.assign_group("0oaZ", "00gZ", 3, 1).await.unwrap());
    assert!(store.add_group_member("00gZ", "00uA").await.unwrap());
    let may =
        |user: &'static str| async move { store.user_may_use_app("0oaZ", user).await.unwrap() };
    assert!(store.delete_user("00uA").await.unwrap());
    assert!(!store.delete_user("00uA").await.unwrap());
    assert!(store.group_members("00gZ").await.unwrap().is_empty());
    assert!(store.assigned_users("0oaZ").await.unwrap().is_empty());
    assert!(!may("00uC").await, "only the group is assigned now");
    assert!(store.delete_group("00gZ").await.unwrap());
    assert!(store.assigned_groups("0oaZ").await.unwrap().is_empty());
    assert!(!may("00uC").await, "no assignment left: still closed");
    assert!(store.delete_client("0oaZ").await.unwrap());
    assert!(!store.delete_client("0oaZ").await.unwrap());
}

/// Servers: update and delete (with their keys, scopes, claims and policies).
async fn a_server_is_updated_and_deleted_with_what_is_its(store: DynStore) {
    base(&store).await;
    let master = MasterKey::from_bytes(&[1; 32]);
    active_and_next(&store, &master).await;
    store
        .insert_scope(&ScopeDef {
            id: "scp1".into(),
            server_id: "aus1".into(),
            name: "openid".into(),
            description: String::new(),
            consent: "IMPLICIT".into(),
            is_default: false,
            system: true,
            created_at: 1,
        })
        .await
        .unwrap();
    let store = &store;
    let mut server = store.get_server("aus1").await.unwrap().unwrap();
    server.name = "renamed".into();
    server.status = Status::Inactive;
    assert!(store.update_server(&server).await.unwrap());
    assert_eq!(store.get_server("aus1").await.unwrap().unwrap(), server);
    assert!(store.delete_server("aus1").await.unwrap());
    assert!(store.get_server("aus1").await.unwrap().is_none());
    assert!(store.signing_keys("aus1").await.unwrap().is_empty());
    assert!(store.list_scopes("aus1").await.unwrap().is_empty());
}

/// The per-app PAR flag (Okta's `require_pushed_authorization_requests`).
async fn an_apps_par_flag_is_kept(store: DynStore) {
    let store = &store;
    let mut c = client("0oaPAR");
    c.require_pushed_authorization_requests = true;
    store.insert_client(&c).await.unwrap();
    assert!(
        store
            .get_client("0oaPAR")
            .await
            .unwrap()
            .unwrap()
            .require_pushed_authorization_requests
    );
    c.require_pushed_authorization_requests = false;
    assert!(store.update_client(&c).await.unwrap());
    assert!(
        !store
            .get_client("0oaPAR")
            .await
            .unwrap()
            .unwrap()
            .require_pushed_authorization_requests
    );
}

/// The per-app request-object settings (RFC 9101 §10.5), written and changed.
async fn an_apps_request_object_settings_are_kept(store: DynStore) {
    let store = &store;
    let mut c = client("0oaJAR");
    c.request_object_signing_alg = Some("PS256".into());
    c.require_signed_request_object = true;
    store.insert_client(&c).await.unwrap();
    let read = store.get_client("0oaJAR").await.unwrap().unwrap();
    assert_eq!(read.request_object_signing_alg.as_deref(), Some("PS256"));
    assert!(read.require_signed_request_object);
    c.request_object_signing_alg = None;
    c.require_signed_request_object = false;
    assert!(store.update_client(&c).await.unwrap());
    let read = store.get_client("0oaJAR").await.unwrap().unwrap();
    assert_eq!(read.request_object_signing_alg, None);
    assert!(!read.require_signed_request_object);
}

/// Pushed authorization requests: taken once, by their app and server, before expiry, even
/// when raced.
async fn a_pushed_request_is_taken_once_by_its_app_before_expiry(store: DynStore) {
    let store = &store;
    let pushed = PushedRequest {
        id_hash: sha256(b"par1"),
        server_id: "default".into(),
        client_id: "0oaPAR".into(),
        params: "response_type=code&scope=openid".into(),
        created_at: 1000,
        expires_at: 1060,
    };
    store.insert_pushed(&pushed).await.unwrap();
    assert!(
        store
            .take_pushed(&sha256(b"par1"), "0oaOTHER", "default", 1001)
            .await
            .unwrap()
            .is_none(),
        "another app"
    );
    assert!(
        store
            .take_pushed(&sha256(b"par1"), "0oaPAR", "aus1", 1001)
            .await
            .unwrap()
            .is_none(),
        "another server"
    );
    assert!(
        store
            .take_pushed(&sha256(b"par1"), "0oaPAR", "default", 1060)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert_eq!(
        store
            .take_pushed(&sha256(b"par1"), "0oaPAR", "default", 1059)
            .await
            .unwrap(),
        Some(pushed.clone())
    );
    assert!(
        store
            .take_pushed(&sha256(b"par1"), "0oaPAR", "default", 1002)
            .await
            .unwrap()
            .is_none(),
        "once"
    );
    // Taken once when many try at once.
    store
        .insert_pushed(&PushedRequest {
            id_hash: sha256(b"par2"),
            ..pushed.clone()
        })
        .await
        .unwrap();
    let takes = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .take_pushed(&sha256(b"par2"), "0oaPAR", "default", 1001)
                .await
                .unwrap()
                .is_some()
        })
    });
    let won = futures_count(takes).await;
    assert_eq!(won, 1, "one winner");
    store
        .insert_pushed(&PushedRequest {
            id_hash: sha256(b"par3"),
            ..pushed.clone()
        })
        .await
        .unwrap();
}

/// Brute-force counters: the delay doubles from the threshold on, capped; a blocked attempt
/// is not counted; the quiet window runs from the end of the last block; clearing forgets.
async fn failed_attempts_are_throttled_with_a_doubling_delay(store: DynStore) {
    let store = &store;
    let rule = ThrottleRule {
        threshold: 3,
        window: 900,
        max_delay: 20,
    };
    assert_eq!(
        (
            rule.delay(2),
            rule.delay(3),
            rule.delay(4),
            rule.delay(5),
            rule.delay(6),
            rule.delay(99)
        ),
        (0, 2, 4, 8, 16, 20)
    );
    let t = 10_000;
    assert_eq!(
        store.throttle_attempt("k", &rule, t).await.unwrap(),
        Attempt::Allowed { failures: 1 }
    );
    assert_eq!(
        store.throttle_attempt("k", &rule, t).await.unwrap(),
        Attempt::Allowed { failures: 2 }
    );
    assert_eq!(
        store.throttle_attempt("k", &rule, t).await.unwrap(),
        Attempt::Allowed { failures: 3 }
    );
    assert_eq!(
        store.throttle_attempt("k", &rule, t + 1).await.unwrap(),
        Attempt::Blocked { until: t + 2 },
        "2 s after the third"
    );
    assert_eq!(
        store.throttle_state("k").await.unwrap().unwrap().failures,
        3,
        "a blocked attempt is not counted"
    );
    assert_eq!(
        store.throttle_attempt("k", &rule, t + 2).await.unwrap(),
        Attempt::Allowed { failures: 4 }
    );
    assert_eq!(
        store.throttle_attempt("k", &rule, t + 5).await.unwrap(),
        Attempt::Blocked { until: t + 6 }
    );
    assert_eq!(
        store.throttle_attempt("k", &rule, t + 6).await.unwrap(),
        Attempt::Allowed { failures: 5 }
    );
    for (at, failures) in [(t + 14, 6), (t + 30, 7), (t + 50, 8)] {
        assert_eq!(
            store.throttle_attempt("k", &rule, at).await.unwrap(),
            Attempt::Allowed { failures }
        );
    }
    assert_eq!(
        store
            .throttle_state("k")
            .await
            .unwrap()
            .unwrap()
            .blocked_until,
        t + 70,
        "capped at max_delay"
    );
    // The quiet window runs from the end of the last block (t + 70), not from the last
    // failure: 900 s after the failure the count still grows.
    assert_eq!(
        store
            .throttle_attempt("k", &rule, t + 50 + 900)
            .await
            .unwrap(),
        Attempt::Allowed { failures: 9 }
    );
    assert_eq!(
        store
            .throttle_attempt("k", &rule, t + 970 + 900)
            .await
            .unwrap(),
        Attempt::Allowed { failures: 1 },
        "a quiet window"
    );
    store.throttle_clear("k").await.unwrap();
    assert!(store.throttle_state("k").await.unwrap().is_none());
}

/// Window = longest delay (the defaults, 900 s): the attempt that ends a 900 s block comes
/// exactly 900 s after the last failure, and must not start from one again.
async fn a_block_as_long_as_the_window_keeps_counting(store: DynStore) {
    let t = 10_000;
    let store = &store;
    let long = ThrottleRule {
        threshold: 3,
        window: 900,
        max_delay: 900,
    };
    let mut at = t;
    let mut failures = 0;
    while long.delay(failures) < 900 {
        at += long.delay(failures);
        failures += 1;
        assert_eq!(
            store.throttle_attempt("long", &long, at).await.unwrap(),
            Attempt::Allowed { failures }
        );
    }
    assert_eq!(
        store
            .throttle_attempt("long", &long, at + 899)
            .await
            .unwrap(),
        Attempt::Blocked { until: at + 900 }
    );
    assert_eq!(
        store
            .throttle_attempt("long", &long, at + 900)
            .await
            .unwrap(),
        Attempt::Allowed {
            failures: failures + 1
        },
        "still counting"
    );
    assert_eq!(
        store
            .throttle_state("long")
            .await
            .unwrap()
            .unwrap()
            .blocked_until,
        at + 1800,
        "and blocked for the longest delay again"
    );
    store.throttle_clear("long").await.unwrap();
}

/// Parallel attempts: exactly `threshold` get through before the block, none more.
async fn parallel_attempts_are_counted_atomically(store: DynStore) {
    let rule = ThrottleRule {
        threshold: 3,
        window: 900,
        max_delay: 20,
    };
    let t = 10_000;
    let store = &store;
    let tries = (0..12).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            matches!(
                store.throttle_attempt("burst", &rule, t).await.unwrap(),
                Attempt::Allowed { .. }
            )
        })
    });
    assert_eq!(
        futures_count(tries).await,
        3,
        "the check and the count are atomic"
    );
}

/// The janitor: counters after their window and longest wait, pushed requests after expiry.
async fn the_janitor_purges_counters_and_pushed_requests(store: DynStore) {
    let rule = ThrottleRule {
        threshold: 3,
        window: 900,
        max_delay: 20,
    };
    let t = 10_000;
    store.throttle_attempt("burst", &rule, t).await.unwrap();
    store
        .insert_pushed(&PushedRequest {
            id_hash: sha256(b"par3"),
            server_id: "default".into(),
            client_id: "0oaPAR".into(),
            params: "response_type=code&scope=openid".into(),
            created_at: 1000,
            expires_at: 1060,
        })
        .await
        .unwrap();
    let store = &store;
    store.purge_expired(t + 900 + 20 + 51).await.unwrap();
    assert!(store.throttle_state("burst").await.unwrap().is_none());
    assert!(
        store
            .take_pushed(&sha256(b"par3"), "0oaPAR", "default", 0)
            .await
            .unwrap()
            .is_none(),
        "purged"
    );
}

/// API tokens: unique, found by hash until revoked once, listed with revoked ones.
async fn api_tokens_are_found_until_revoked(store: DynStore) {
    let store = &store;
    let token = ApiToken {
        id: "00T1".into(),
        name: "ci".into(),
        token_hash: sha256(b"t1"),
        created_by: "cli".into(),
        created_at: 5,
        revoked_at: None,
    };
    store.insert_api_token(&token).await.unwrap();
    assert!(matches!(
        store
            .insert_api_token(&ApiToken {
                id: "00T2".into(),
                ..token.clone()
            })
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.find_api_token(&sha256(b"t1")).await.unwrap(),
        Some(token.clone())
    );
    assert!(
        store
            .find_api_token(&sha256(b"t2"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.revoke_api_token("00T1", 9).await.unwrap());
    assert!(
        !store.revoke_api_token("00T1", 10).await.unwrap(),
        "revoked once"
    );
    assert!(
        store
            .find_api_token(&sha256(b"t1"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.list_api_tokens().await.unwrap()[0].revoked_at,
        Some(9)
    );
}

/// Dynamic client registration: 10 registrations racing on an initial access token
/// with 3 uses store 3 clients; 10 updates racing with one registration access token
/// write once and leave the winner's token; a deletion needs the current token.
async fn registration_tokens_are_spent_and_replaced_once(store: DynStore) {
    let initial = InitialAccessToken {
        id: "iat1".into(),
        name: "race".into(),
        token_hash: sha256(b"initial"),
        created_by: "cli".into(),
        created_at: 100,
        expires_at: 200,
        max_uses: 3,
        uses: 0,
        revoked_at: None,
    };
    store.insert_initial_token(&initial).await.unwrap();
    let handles = (0..10).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let token = format!("rat{i}");
            store
                .register_client(
                    Some(&sha256(b"initial")),
                    &client(&format!("0oa{i}")),
                    &sha256(token.as_bytes()),
                    150,
                )
                .await
                .unwrap()
        })
    });
    assert_eq!(futures_count(handles).await, 3, "three uses, three clients");
    assert_eq!(store.list_clients().await.unwrap().len(), 3);
    let found = store
        .find_initial_token(&sha256(b"initial"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.uses, 3);
    // Past its expiry or revoked, a token with uses left registers nothing.
    store
        .insert_initial_token(&InitialAccessToken {
            id: "iat2".into(),
            token_hash: sha256(b"second"),
            ..initial.clone()
        })
        .await
        .unwrap();
    let late = client("0oalate");
    assert!(
        !store
            .register_client(Some(&sha256(b"second")), &late, &sha256(b"x"), 200)
            .await
            .unwrap()
    );
    assert!(store.revoke_initial_token("iat2", 150).await.unwrap());
    assert!(
        !store.revoke_initial_token("iat2", 151).await.unwrap(),
        "revoked once"
    );
    assert!(
        !store
            .register_client(Some(&sha256(b"second")), &late, &sha256(b"x"), 150)
            .await
            .unwrap()
    );
    assert!(
        store.get_client("0oalate").await.unwrap().is_none(),
        "nothing half-written"
    );

    // One client, its token `rat`; 10 updates present it at once.
    let id = store.list_clients().await.unwrap()[0].client_id.clone();
    let old = store.get_client(&id).await.unwrap().unwrap();
    let old_token = format!("rat{}", &id[3..]);
    assert_eq!(
        store
            .registered_client_id(&sha256(old_token.as_bytes()))
            .await
            .unwrap(),
        Some(id.clone())
    );
    let handles = (0..10).map(|i| {
        let store = store.clone();
        let mut changed = old.clone();
        changed.name = format!("updated {i}");
        let old_token = old_token.clone();
        tokio::spawn(async move {
            let new = format!("new{i}");
            let written = store
                .update_registered(
                    &changed,
                    &sha256(old_token.as_bytes()),
                    &sha256(new.as_bytes()),
                    160,
                )
                .await
                .unwrap();
            assert_ne!(written, RegisteredWrite::Stale);
            written == RegisteredWrite::Done
        })
    });
    assert_eq!(futures_count(handles).await, 1, "one winner");
    let after = store.get_client(&id).await.unwrap().unwrap();
    let winner = after.name.strip_prefix("updated ").unwrap().to_string();
    assert_eq!(after.version, old.version + 1);
    assert!(
        store
            .registered_client_id(&sha256(old_token.as_bytes()))
            .await
            .unwrap()
            .is_none()
    );
    let current = sha256(format!("new{winner}").as_bytes());
    assert_eq!(
        store.registered_client_id(&current).await.unwrap(),
        Some(id.clone())
    );
    // A write from a stale read changes nothing, not even the token.
    let newer = sha256(b"newer");
    assert_eq!(
        store
            .update_registered(&old, &current, &newer, 170)
            .await
            .unwrap(),
        RegisteredWrite::Stale
    );
    assert_eq!(
        store.registered_client_id(&current).await.unwrap(),
        Some(id.clone())
    );
    // Deleted only with the current token; the token goes with the client.
    assert!(
        !store
            .delete_registered(&id, &sha256(old_token.as_bytes()))
            .await
            .unwrap()
    );
    assert!(store.delete_registered(&id, &current).await.unwrap());
    assert!(
        store
            .registered_client_id(&current)
            .await
            .unwrap()
            .is_none()
    );
}

/// Events written at once (the group commit shares a statement between them) are each
/// acknowledged only once stored, every one of them, with its columns and JSON intact,
/// and an event the database refuses is answered as an error.
async fn events_written_at_once_are_each_stored(store: DynStore) {
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let event = LogEvent {
                    seq: 0,
                    uuid: format!("uuid-{n}"),
                    published: 1_000 + n,
                    event_type: "app.oauth2.token.grant".into(),
                    outcome_result: if n % 2 == 0 { "SUCCESS" } else { "FAILURE" }.into(),
                    actor_id: format!("0oa{n}"),
                    target_ids: vec![format!("00u{n}"), "aus1".into()],
                    event: format!("{{\"n\": {n}, \"quote\": \"a \\\"b\\\" c\"}}"),
                };
                store.insert_event(&event).await.map(|()| event)
            })
        })
        .collect();
    let mut written = Vec::new();
    for task in tasks {
        written.push(task.await.unwrap().unwrap());
    }
    let mut stored = store
        .query_events(&Page {
            limit: 100,
            ..Page::default()
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 40);
    stored.sort_by_key(|e| e.published);
    for (mut got, want) in stored.into_iter().zip(written) {
        assert!(got.seq > 0);
        got.seq = 0;
        assert_eq!(got, want);
    }
    // The same uuid twice in one burst: the batch holding the second fails, and says so.
    let dup = LogEvent {
        seq: 0,
        uuid: "uuid-1".into(),
        published: 5,
        event_type: "x".into(),
        outcome_result: "SUCCESS".into(),
        actor_id: "a".into(),
        target_ids: vec![],
        event: "{}".into(),
    };
    assert!(store.insert_event(&dup).await.is_err());
}

/// The System Log: in the order written, paged by `seq`, filtered, purged by age.
async fn the_system_log_is_paged_filtered_and_purged(store: DynStore) {
    let store = &store;
    let event = |n: i64, event_type: &str, result: &str, targets: &[&str]| LogEvent {
        seq: 0,
        uuid: format!("uuid-{n}"),
        published: n * 100,
        event_type: event_type.into(),
        outcome_result: result.into(),
        actor_id: if n % 2 == 0 {
            "00T1".into()
        } else {
            "cli".into()
        },
        target_ids: targets.iter().map(|t| t.to_string()).collect(),
        event: format!("{{\"n\": {n}, \"note\": \"Event_{n}\"}}"),
    };
    for n in 1..=5 {
        let result = if n == 3 { "FAILURE" } else { "SUCCESS" };
        store
            .insert_event(&event(
                n,
                if n <= 2 {
                    "user.session.start"
                } else {
                    "app.oauth2.token.grant"
                },
                result,
                &["00u1", &format!("0oa{n}")],
            ))
            .await
            .unwrap();
    }
    let all = store
        .query_events(&Page {
            limit: 10,
            ..Page::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.uuid.as_str()).collect::<Vec<_>>(),
        ["uuid-1", "uuid-2", "uuid-3", "uuid-4", "uuid-5"]
    );
    assert_eq!(
        all[0],
        LogEvent {
            seq: all[0].seq,
            ..event(1, "user.session.start", "SUCCESS", &["00u1", "0oa1"])
        }
    );
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    let next = store
        .query_events(&Page {
            after: Some(SqlValue::Int(all[1].seq)),
            limit: 2,
            ..Page::default()
        })
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|e| e.uuid.as_str()).collect::<Vec<_>>(),
        ["uuid-3", "uuid-4"]
    );
    let filtered = |filter: Expr| async move {
        store
            .query_events(&Page {
                filter: Some(filter),
                after: None,
                limit: 10,
            })
            .await
            .unwrap()
            .len()
    };
    assert_eq!(
        filtered(Expr::cond(
            "event_type",
            Op::Eq,
            text("app.oauth2.token.grant")
        ))
        .await,
        3
    );
    assert_eq!(
        filtered(Expr::cond("outcome_result", Op::Eq, text("FAILURE"))).await,
        1
    );
    assert_eq!(
        filtered(Expr::cond("actor_id", Op::Eq, text("00T1"))).await,
        2
    );
    assert_eq!(
        filtered(Expr::cond("target_ids", Op::HasWord, text("0oa4"))).await,
        1
    );
    assert_eq!(
        filtered(Expr::cond("target_ids", Op::HasWord, text("0oa"))).await,
        0,
        "whole ids only"
    );
    assert_eq!(
        filtered(Expr::cond("target_ids", Op::HasWord, text("00u1"))).await,
        5
    );
    assert_eq!(
        filtered(Expr::cond("event", Op::Contains, text("event_4"))).await,
        1,
        "ignoring case"
    );
    assert_eq!(
        filtered(
            Expr::cond("published", Op::Ge, SqlValue::Int(300)).and(Expr::cond(
                "published",
                Op::Lt,
                SqlValue::Int(500)
            ))
        )
        .await,
        2
    );
    assert_eq!(
        filtered(Expr::cond("target_ids", Op::HasWord, text("00U1"))).await,
        0,
        "an id exactly, case and all"
    );
    assert_eq!(store.purge_events(300).await.unwrap(), 2);
    assert_eq!(
        store
            .query_events(&Page {
                limit: 10,
                ..Page::default()
            })
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        filtered(Expr::cond("target_ids", Op::HasWord, text("00u1"))).await,
        3
    );
    // An id holding quotes and a backslash, named twice by one event: found, once.
    let odd = "0oa\"x\\y";
    store
        .insert_event(&event(6, "user.session.start", "SUCCESS", &[odd, odd]))
        .await
        .unwrap();
    assert_eq!(
        filtered(Expr::cond("target_ids", Op::HasWord, text(odd))).await,
        1
    );
}

/// Runs a behaviour on a fresh SQLite file.
pub async fn on_sqlite<F: Future<Output = ()>>(behaviour: impl FnOnce(DynStore) -> F) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_file(&dir.path().join("contract.db"))
        .await
        .unwrap();
    behaviour(Arc::new(store)).await;
}

/// Runs a behaviour on a fresh PostgreSQL database.
pub async fn on_postgres<F: Future<Output = ()>>(behaviour: impl FnOnce(DynStore) -> F) {
    let db = TestDatabase::create().await;
    let store = PostgresStore::open(&db.url, &PoolSettings::default())
        .await
        .unwrap();
    behaviour(Arc::new(store)).await;
}

/// Every behaviour on SQLite.
async fn the_brand_is_written_only_at_the_version_it_was_read(store: DynStore) {
    assert_eq!(store.get_brand().await.unwrap(), None);
    let mut brand = Brand {
        name: "Acme".into(),
        primary_color: "#1662dd".into(),
        secondary_color: "#ebebed".into(),
        logo_version: None,
        favicon_version: None,
        updated_at: 1,
        version: 0,
    };
    assert!(
        store.put_brand(&brand).await.unwrap(),
        "the first write inserts"
    );
    assert!(
        !store.put_brand(&brand).await.unwrap(),
        "a second first write finds the row"
    );
    let read = store.get_brand().await.unwrap().unwrap();
    assert_eq!((read.name.as_str(), read.version), ("Acme", 1));
    brand = read.clone();
    brand.name = "Acme Corp".into();
    brand.logo_version = Some(5);
    assert!(store.put_brand(&brand).await.unwrap());
    let mut stale = read;
    stale.primary_color = "#000000".into();
    assert!(
        !store.put_brand(&stale).await.unwrap(),
        "a write from an older read is refused"
    );
    let now = store.get_brand().await.unwrap().unwrap();
    assert_eq!(
        (
            now.name.as_str(),
            now.primary_color.as_str(),
            now.logo_version,
            now.version
        ),
        ("Acme Corp", "#1662dd", Some(5), 2)
    );

    assert_eq!(store.get_brand_image(ImageKind::Logo).await.unwrap(), None);
    let png = BrandImage {
        content_type: "image/png".into(),
        bytes: b"\x89PNG\r\n\x1a\n\x00\xff".to_vec(),
    };
    store
        .put_brand_image(ImageKind::Logo, Some(&png))
        .await
        .unwrap();
    let gif = BrandImage {
        content_type: "image/gif".into(),
        bytes: b"GIF89a".to_vec(),
    };
    store
        .put_brand_image(ImageKind::Logo, Some(&gif))
        .await
        .unwrap();
    assert_eq!(
        store.get_brand_image(ImageKind::Logo).await.unwrap(),
        Some(gif)
    );
    assert_eq!(
        store.get_brand_image(ImageKind::Favicon).await.unwrap(),
        None
    );
    store.put_brand_image(ImageKind::Logo, None).await.unwrap();
    assert_eq!(store.get_brand_image(ImageKind::Logo).await.unwrap(), None);
}

/// Trusted servers (token exchange): added once, listed oldest first, removed, and
/// gone with either server; an unknown server is refused by the foreign key.
async fn a_servers_trust_is_kept_once_and_goes_with_either_server(store: DynStore) {
    base(&store).await;
    for id in ["aus2", "aus3"] {
        let other = AuthServer {
            id: id.into(),
            ..server()
        };
        assert!(store.insert_server_if_absent(&other).await.unwrap());
    }
    assert!(store.trusted_servers("aus1").await.unwrap().is_empty());
    assert!(store.trust_server("aus1", "aus3", 5).await.unwrap());
    assert!(store.trust_server("aus1", "aus2", 6).await.unwrap());
    assert!(!store.trust_server("aus1", "aus2", 7).await.unwrap());
    assert_eq!(
        store.trusted_servers("aus1").await.unwrap(),
        ["aus3", "aus2"]
    );
    // Trust is one way.
    assert!(store.trusted_servers("aus2").await.unwrap().is_empty());
    assert!(store.trust_server("aus1", "ausNOPE", 8).await.is_err());
    assert!(store.untrust_server("aus1", "aus3").await.unwrap());
    assert!(!store.untrust_server("aus1", "aus3").await.unwrap());
    assert!(store.delete_server("aus2").await.unwrap());
    assert!(store.trusted_servers("aus1").await.unwrap().is_empty());
}

/// Passkeys: a challenge is taken once, for its purpose, before it expires; a credential
/// id is registered once; the counter moves only forward (both 0 stays allowed); a
/// rename or removal touches only the owner's credential; a user's removal takes them.
async fn passkeys_and_their_challenges_are_single_use(store: DynStore) {
    let store = &store;
    store
        .insert_user(&user("00uP", "pk@example.com"))
        .await
        .unwrap();
    store
        .insert_user(&user("00uQ", "other@example.com"))
        .await
        .unwrap();
    let challenge = WebauthnChallenge {
        challenge_hash: sha256(b"c1"),
        purpose: "authenticate".into(),
        user_id: None,
        binding: sha256(b"tx"),
        expires_at: 100,
    };
    store.insert_webauthn_challenge(&challenge).await.unwrap();
    let hash = sha256(b"c1");
    assert_eq!(
        store
            .take_webauthn_challenge(&hash, "register", 50)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_webauthn_challenge(&hash, "authenticate", 100)
            .await
            .unwrap(),
        None
    );
    let taken = store
        .take_webauthn_challenge(&hash, "authenticate", 99)
        .await
        .unwrap();
    assert_eq!(taken, Some(challenge.clone()));
    assert_eq!(
        store
            .take_webauthn_challenge(&hash, "authenticate", 99)
            .await
            .unwrap(),
        None
    );
    let mine = WebauthnChallenge {
        challenge_hash: sha256(b"c2"),
        purpose: "register".into(),
        user_id: Some("00uP".into()),
        ..challenge
    };
    store.insert_webauthn_challenge(&mine).await.unwrap();
    let taken = store
        .take_webauthn_challenge(&sha256(b"c2"), "register", 1)
        .await
        .unwrap();
    assert_eq!(taken.unwrap().user_id.as_deref(), Some("00uP"));

    let passkey = Passkey {
        id: "fwfP1".into(),
        user_id: "00uP".into(),
        credential_id: vec![1, 2, 3],
        public_key: vec![0xa0],
        sign_count: 0,
        user_handle: vec![9; 32],
        discoverable: true,
        transports: vec!["internal".into(), "hybrid".into()],
        name: "Laptop".into(),
        aaguid: vec![0; 16],
        backup_eligible: true,
        backed_up: false,
        user_verified: true,
        created_at: 10,
        last_used_at: None,
    };
    assert!(store.insert_passkey(&passkey).await.unwrap());
    let again = Passkey {
        id: "fwfP2".into(),
        user_id: "00uQ".into(),
        ..passkey.clone()
    };
    assert!(
        !store.insert_passkey(&again).await.unwrap(),
        "a credential id is registered once"
    );
    assert_eq!(
        store.find_passkey(&[1, 2, 3]).await.unwrap(),
        Some(passkey.clone())
    );
    assert_eq!(store.find_passkey(&[1, 2]).await.unwrap(), None);

    assert!(
        store
            .record_passkey_use("fwfP1", 0, true, 20)
            .await
            .unwrap(),
        "0 after 0"
    );
    assert!(
        store
            .record_passkey_use("fwfP1", 7, true, 21)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_passkey_use("fwfP1", 7, true, 22)
            .await
            .unwrap(),
        "the same counter"
    );
    assert!(
        !store
            .record_passkey_use("fwfP1", 3, true, 22)
            .await
            .unwrap(),
        "a lower one"
    );
    assert!(
        !store
            .record_passkey_use("fwfP1", 0, true, 22)
            .await
            .unwrap(),
        "back to 0"
    );
    let used = store.find_passkey(&[1, 2, 3]).await.unwrap().unwrap();
    assert_eq!(
        (used.sign_count, used.backed_up, used.last_used_at),
        (7, true, Some(21))
    );

    assert!(
        !store
            .rename_passkey("00uQ", "fwfP1", "Mine now")
            .await
            .unwrap()
    );
    assert!(
        store
            .rename_passkey("00uP", "fwfP1", "Phone")
            .await
            .unwrap()
    );
    assert!(!store.delete_passkey("00uQ", "fwfP1").await.unwrap());
    let second = Passkey {
        id: "fwfP3".into(),
        credential_id: vec![4],
        created_at: 11,
        ..passkey
    };
    assert!(store.insert_passkey(&second).await.unwrap());
    let names: Vec<_> = store
        .user_passkeys("00uP")
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Phone", "Laptop"]);
    assert!(store.delete_passkey("00uP", "fwfP1").await.unwrap());
    assert!(!store.delete_passkey("00uP", "fwfP1").await.unwrap());
    assert_eq!(store.delete_user_passkeys("00uP").await.unwrap(), 1);
    assert!(store.user_passkeys("00uP").await.unwrap().is_empty());
}

/// Second factors: one TOTP factor per type, activated once; a time step accepted
/// once and only forward, raced; recovery codes used once, raced; another user's
/// factor id reaches nothing; reset takes factors and codes.
async fn factors_accept_each_code_once(store: DynStore) {
    directory_users(&store).await;
    let factor = |id: &str, user: &str| UserFactor {
        id: id.into(),
        user_id: user.into(),
        factor_type: "token:software:totp".into(),
        provider: "GOOGLE".into(),
        status: FactorStatus::PendingActivation,
        secret_sealed: Some(vec![1, 2, 3]),
        last_step: None,
        email: None,
        created_at: 1,
        updated_at: 1,
    };
    store.enroll_factor(&factor("uft1", "00uA")).await.unwrap();
    // A second pending enrollment replaces the first.
    store.enroll_factor(&factor("uft2", "00uA")).await.unwrap();
    let found = store.user_factors("00uA").await.unwrap();
    assert_eq!(
        found.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["uft2"]
    );
    assert!(store.get_factor("00uC", "uft2").await.unwrap().is_none());
    assert!(!store.activate_factor("00uC", "uft2", 10, 5).await.unwrap());
    assert!(store.activate_factor("00uA", "uft2", 10, 5).await.unwrap());
    assert!(!store.activate_factor("00uA", "uft2", 11, 5).await.unwrap());
    // An active factor of the type is not replaced.
    assert!(matches!(
        store.enroll_factor(&factor("uft3", "00uA")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        !store.use_totp_step("00uA", "uft2", 10, 6).await.unwrap(),
        "the activation's step"
    );
    assert!(
        !store.use_totp_step("00uA", "uft2", 9, 6).await.unwrap(),
        "an earlier step"
    );
    assert!(
        !store.use_totp_step("00uC", "uft2", 12, 6).await.unwrap(),
        "another user"
    );
    let racers: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.use_totp_step("00uA", "uft2", 12, 7).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for r in racers {
        wins += usize::from(r.await.unwrap());
    }
    assert_eq!(wins, 1, "one winner among concurrent uses of one step");

    let hashes: Vec<Vec<u8>> = (0..10u8).map(|n| sha256(&[n])).collect();
    store
        .replace_recovery_codes("00uA", &hashes, 8)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left("00uA").await.unwrap(), 10);
    assert!(
        !store
            .use_recovery_code("00uC", &hashes[0], 9)
            .await
            .unwrap()
    );
    let racers: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            let hash = hashes[0].clone();
            tokio::spawn(async move { store.use_recovery_code("00uA", &hash, 9).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for r in racers {
        wins += usize::from(r.await.unwrap());
    }
    assert_eq!(wins, 1, "a recovery code works once");
    assert_eq!(store.recovery_codes_left("00uA").await.unwrap(), 9);

    assert!(!store.delete_factor("00uC", "uft2").await.unwrap());
    assert_eq!(store.reset_factors("00uA").await.unwrap(), 1);
    assert!(store.user_factors("00uA").await.unwrap().is_empty());
    assert_eq!(store.recovery_codes_left("00uA").await.unwrap(), 0);
}

/// Twenty wrong passwords at once with `max_attempts` 5: the count stops at 5 and one
/// of them locked; the lock lifts by time only past `auto_unlock_minutes`, and an
/// admin's unlock only of a locked user.
async fn racing_failures_lock_once_and_unlocks_need_a_lock(store: DynStore) {
    let u = user("00ulock", "lock@example.com");
    store.insert_user(&u).await.unwrap();
    let mut policy = store.password_policy().await.unwrap();
    assert_eq!((policy.max_attempts, policy.auto_unlock_minutes), (0, 0));
    policy.max_attempts = 5;
    policy.auto_unlock_minutes = 10;
    assert!(store.update_password_policy(&policy).await.unwrap());
    assert_eq!(store.password_policy().await.unwrap(), policy);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.count_failed_sign_in("00ulock", 100).await.unwrap() })
        })
        .collect();
    let (mut counted, mut locked) = (0, 0);
    for task in tasks {
        if let Some(failed) = task.await.unwrap() {
            counted += 1;
            locked += usize::from(failed.locked);
        }
    }
    assert_eq!((counted, locked), (5, 1));
    assert_eq!(store.failed_sign_ins("00ulock").await.unwrap(), 5);
    let now = store.get_user("00ulock").await.unwrap().unwrap();
    assert_eq!(now.status, UserStatus::LockedOut);
    assert_eq!(now.status_changed_at, Some(100));
    assert!(!store.auto_unlock("00ulock", 699).await.unwrap());
    assert!(store.auto_unlock("00ulock", 700).await.unwrap());
    assert!(!store.auto_unlock("00ulock", 700).await.unwrap(), "once");
    assert_eq!(store.failed_sign_ins("00ulock").await.unwrap(), 0);
    assert!(
        !store.unlock_user("00ulock", 701).await.unwrap(),
        "not locked"
    );
    // A success forgets the count.
    store.count_failed_sign_in("00ulock", 702).await.unwrap();
    assert!(store.record_login("00ulock", 703).await.unwrap());
    assert_eq!(store.failed_sign_ins("00ulock").await.unwrap(), 0);
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_failures_lock_once_and_unlocks_need_a_lock() {
        on_sqlite(super::racing_failures_lock_once_and_unlocks_need_a_lock).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn registration_tokens_are_spent_and_replaced_once() {
        on_sqlite(super::registration_tokens_are_spent_and_replaced_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passkeys_and_their_challenges_are_single_use() {
        on_sqlite(super::passkeys_and_their_challenges_are_single_use).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn factors_accept_each_code_once() {
        on_sqlite(super::factors_accept_each_code_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_servers_trust_is_kept_once_and_goes_with_either_server() {
        on_sqlite(super::a_servers_trust_is_kept_once_and_goes_with_either_server).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_user_is_in_the_built_in_everyone_group() {
        on_sqlite(super::every_user_is_in_the_built_in_everyone_group).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_session_token_is_redeemed_once_and_a_session_refreshed_while_live() {
        on_sqlite(super::a_session_token_is_redeemed_once_and_a_session_refreshed_while_live).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_app_change_bumps_every_servers_settings_version() {
        on_sqlite(super::every_app_change_bumps_every_servers_settings_version).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_brand_is_written_only_at_the_version_it_was_read() {
        on_sqlite(super::the_brand_is_written_only_at_the_version_it_was_read).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn users_are_unique_by_login_without_regard_to_case() {
        on_sqlite(super::users_are_unique_by_login_without_regard_to_case).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clients_keep_their_lists() {
        on_sqlite(super::clients_keep_their_lists).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn servers_are_inserted_once() {
        on_sqlite(super::servers_are_inserted_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_has_at_most_one_active_and_one_next_key() {
        on_sqlite(super::a_server_has_at_most_one_active_and_one_next_key).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_concurrent_key_rotations_one_wins() {
        on_sqlite(super::of_concurrent_key_rotations_one_wins).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rotation_without_a_next_key_changes_nothing() {
        on_sqlite(super::a_rotation_without_a_next_key_changes_nothing).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sessions_live_until_they_end_or_expire() {
        on_sqlite(super::sessions_live_until_they_end_or_expire).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pending_authorization_is_taken_once() {
        on_sqlite(super::a_pending_authorization_is_taken_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_code_is_redeemed_once_with_everything_it_grants() {
        on_sqlite(super::a_code_is_redeemed_once_with_everything_it_grants).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_redemption_leaves_the_code_unspent() {
        on_sqlite(super::a_failed_redemption_leaves_the_code_unspent).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_code_is_issued_with_its_sessions_record_or_not_at_all_then_logged() {
        on_sqlite(|store| {
            super::a_code_is_issued_with_its_sessions_record_or_not_at_all_then_logged(store, false)
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_revoked_access_token_is_denied() {
        on_sqlite(super::a_revoked_access_token_is_denied).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_written_at_once_are_each_stored() {
        on_sqlite(super::events_written_at_once_are_each_stored).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn introspection_reads_the_throttle_counter_deny_list_and_user_at_once() {
        on_sqlite(super::introspection_reads_the_throttle_counter_deny_list_and_user_at_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_keeps_a_redeemed_code_and_its_deny_listing_while_its_token_lives() {
        on_sqlite(
            super::the_janitor_keeps_a_redeemed_code_and_its_deny_listing_while_its_token_lives,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_deletes_a_retired_key_after_it_is_kept() {
        on_sqlite(super::the_janitor_deletes_a_retired_key_after_it_is_kept).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_store_answers_pings_reports_its_schema_and_pool_and_closes() {
        on_sqlite(super::the_store_answers_pings_reports_its_schema_and_pool_and_closes).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_jti_is_used_once() {
        on_sqlite(super::a_jti_is_used_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_keeps_its_secrets_keys_and_dpop_flag() {
        on_sqlite(super::a_client_keeps_its_secrets_keys_and_dpop_flag).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_write_from_a_stale_read_is_refused() {
        on_sqlite(super::a_client_write_from_a_stale_read_is_refused).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refresh_token_rotates_once_and_not_after_its_family_is_revoked() {
        on_sqlite(super::a_refresh_token_rotates_once_and_not_after_its_family_is_revoked).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rotation_racing_a_revocation_leaves_nothing_usable() {
        on_sqlite(super::a_rotation_racing_a_revocation_leaves_nothing_usable).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refresh_token_and_its_family_keep_their_own_scopes() {
        on_sqlite(super::a_refresh_token_and_its_family_keep_their_own_scopes).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_users_refresh_families_are_revoked_together() {
        on_sqlite(super::a_users_refresh_families_are_revoked_together).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_purges_revoked_and_idle_families() {
        on_sqlite(super::the_janitor_purges_revoked_and_idle_families).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn groups_are_unique_by_name_and_hold_members() {
        on_sqlite(super::groups_are_unique_by_name_and_hold_members).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_is_seeded_once_and_its_scopes_are_unique() {
        on_sqlite(super::a_server_is_seeded_once_and_its_scopes_are_unique).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_servers_claims_are_unique_per_token_and_updated_by_id() {
        on_sqlite(super::a_servers_claims_are_unique_per_token_and_updated_by_id).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn policies_and_rules_are_listed_by_priority_and_updated_in_place() {
        on_sqlite(super::policies_and_rules_are_listed_by_priority_and_updated_in_place).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn consent_is_kept_per_user_app_and_server() {
        on_sqlite(super::consent_is_kept_per_user_app_and_server).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_user_is_updated_and_keeps_their_last_sign_in() {
        on_sqlite(super::a_user_is_updated_and_keeps_their_last_sign_in).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn users_are_paged_filtered_and_only_by_allowed_columns() {
        on_sqlite(super::users_are_paged_filtered_and_only_by_allowed_columns).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_users_sessions_end_together() {
        on_sqlite(super::a_users_sessions_end_together).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn apps_are_updated_and_paged() {
        on_sqlite(super::apps_are_updated_and_paged).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn assignments_open_and_close_an_app() {
        on_sqlite(super::assignments_open_and_close_an_app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn groups_are_updated_paged_and_listed_with_members() {
        on_sqlite(super::groups_are_updated_paged_and_listed_with_members).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deleting_a_user_group_or_app_takes_what_is_theirs() {
        on_sqlite(super::deleting_a_user_group_or_app_takes_what_is_theirs).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_is_updated_and_deleted_with_what_is_its() {
        on_sqlite(super::a_server_is_updated_and_deleted_with_what_is_its).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_apps_par_flag_is_kept() {
        on_sqlite(super::an_apps_par_flag_is_kept).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_apps_request_object_settings_are_kept() {
        on_sqlite(super::an_apps_request_object_settings_are_kept).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pushed_request_is_taken_once_by_its_app_before_expiry() {
        on_sqlite(super::a_pushed_request_is_taken_once_by_its_app_before_expiry).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failed_attempts_are_throttled_with_a_doubling_delay() {
        on_sqlite(super::failed_attempts_are_throttled_with_a_doubling_delay).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_block_as_long_as_the_window_keeps_counting() {
        on_sqlite(super::a_block_as_long_as_the_window_keeps_counting).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_attempts_are_counted_atomically() {
        on_sqlite(super::parallel_attempts_are_counted_atomically).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_purges_counters_and_pushed_requests() {
        on_sqlite(super::the_janitor_purges_counters_and_pushed_requests).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn api_tokens_are_found_until_revoked() {
        on_sqlite(super::api_tokens_are_found_until_revoked).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_system_log_is_paged_filtered_and_purged() {
        on_sqlite(super::the_system_log_is_paged_filtered_and_purged).await;
    }
}

/// Every behaviour on PostgreSQL.
mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_failures_lock_once_and_unlocks_need_a_lock() {
        on_postgres(super::racing_failures_lock_once_and_unlocks_need_a_lock).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn registration_tokens_are_spent_and_replaced_once() {
        on_postgres(super::registration_tokens_are_spent_and_replaced_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passkeys_and_their_challenges_are_single_use() {
        on_postgres(super::passkeys_and_their_challenges_are_single_use).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn factors_accept_each_code_once() {
        on_postgres(super::factors_accept_each_code_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_servers_trust_is_kept_once_and_goes_with_either_server() {
        on_postgres(super::a_servers_trust_is_kept_once_and_goes_with_either_server).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_user_is_in_the_built_in_everyone_group() {
        on_postgres(super::every_user_is_in_the_built_in_everyone_group).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_session_token_is_redeemed_once_and_a_session_refreshed_while_live() {
        on_postgres(super::a_session_token_is_redeemed_once_and_a_session_refreshed_while_live)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_app_change_bumps_every_servers_settings_version() {
        on_postgres(super::every_app_change_bumps_every_servers_settings_version).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_brand_is_written_only_at_the_version_it_was_read() {
        on_postgres(super::the_brand_is_written_only_at_the_version_it_was_read).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn users_are_unique_by_login_without_regard_to_case() {
        on_postgres(super::users_are_unique_by_login_without_regard_to_case).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clients_keep_their_lists() {
        on_postgres(super::clients_keep_their_lists).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn servers_are_inserted_once() {
        on_postgres(super::servers_are_inserted_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_has_at_most_one_active_and_one_next_key() {
        on_postgres(super::a_server_has_at_most_one_active_and_one_next_key).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_concurrent_key_rotations_one_wins() {
        on_postgres(super::of_concurrent_key_rotations_one_wins).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rotation_without_a_next_key_changes_nothing() {
        on_postgres(super::a_rotation_without_a_next_key_changes_nothing).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sessions_live_until_they_end_or_expire() {
        on_postgres(super::sessions_live_until_they_end_or_expire).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pending_authorization_is_taken_once() {
        on_postgres(super::a_pending_authorization_is_taken_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_code_is_redeemed_once_with_everything_it_grants() {
        on_postgres(super::a_code_is_redeemed_once_with_everything_it_grants).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_redemption_leaves_the_code_unspent() {
        on_postgres(super::a_failed_redemption_leaves_the_code_unspent).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_code_is_issued_with_its_sessions_record_or_not_at_all_then_logged() {
        on_postgres(|store| {
            super::a_code_is_issued_with_its_sessions_record_or_not_at_all_then_logged(store, true)
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_revoked_access_token_is_denied() {
        on_postgres(super::a_revoked_access_token_is_denied).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_written_at_once_are_each_stored() {
        on_postgres(super::events_written_at_once_are_each_stored).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn introspection_reads_the_throttle_counter_deny_list_and_user_at_once() {
        on_postgres(super::introspection_reads_the_throttle_counter_deny_list_and_user_at_once)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_keeps_a_redeemed_code_and_its_deny_listing_while_its_token_lives() {
        on_postgres(
            super::the_janitor_keeps_a_redeemed_code_and_its_deny_listing_while_its_token_lives,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_deletes_a_retired_key_after_it_is_kept() {
        on_postgres(super::the_janitor_deletes_a_retired_key_after_it_is_kept).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_store_answers_pings_reports_its_schema_and_pool_and_closes() {
        on_postgres(super::the_store_answers_pings_reports_its_schema_and_pool_and_closes).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_jti_is_used_once() {
        on_postgres(super::a_jti_is_used_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_keeps_its_secrets_keys_and_dpop_flag() {
        on_postgres(super::a_client_keeps_its_secrets_keys_and_dpop_flag).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_write_from_a_stale_read_is_refused() {
        on_postgres(super::a_client_write_from_a_stale_read_is_refused).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refresh_token_rotates_once_and_not_after_its_family_is_revoked() {
        on_postgres(super::a_refresh_token_rotates_once_and_not_after_its_family_is_revoked).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rotation_racing_a_revocation_leaves_nothing_usable() {
        on_postgres(super::a_rotation_racing_a_revocation_leaves_nothing_usable).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refresh_token_and_its_family_keep_their_own_scopes() {
        on_postgres(super::a_refresh_token_and_its_family_keep_their_own_scopes).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_users_refresh_families_are_revoked_together() {
        on_postgres(super::a_users_refresh_families_are_revoked_together).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_purges_revoked_and_idle_families() {
        on_postgres(super::the_janitor_purges_revoked_and_idle_families).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn groups_are_unique_by_name_and_hold_members() {
        on_postgres(super::groups_are_unique_by_name_and_hold_members).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_is_seeded_once_and_its_scopes_are_unique() {
        on_postgres(super::a_server_is_seeded_once_and_its_scopes_are_unique).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_servers_claims_are_unique_per_token_and_updated_by_id() {
        on_postgres(super::a_servers_claims_are_unique_per_token_and_updated_by_id).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn policies_and_rules_are_listed_by_priority_and_updated_in_place() {
        on_postgres(super::policies_and_rules_are_listed_by_priority_and_updated_in_place).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn consent_is_kept_per_user_app_and_server() {
        on_postgres(super::consent_is_kept_per_user_app_and_server).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_user_is_updated_and_keeps_their_last_sign_in() {
        on_postgres(super::a_user_is_updated_and_keeps_their_last_sign_in).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn users_are_paged_filtered_and_only_by_allowed_columns() {
        on_postgres(super::users_are_paged_filtered_and_only_by_allowed_columns).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_users_sessions_end_together() {
        on_postgres(super::a_users_sessions_end_together).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn apps_are_updated_and_paged() {
        on_postgres(super::apps_are_updated_and_paged).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn assignments_open_and_close_an_app() {
        on_postgres(super::assignments_open_and_close_an_app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn groups_are_updated_paged_and_listed_with_members() {
        on_postgres(super::groups_are_updated_paged_and_listed_with_members).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deleting_a_user_group_or_app_takes_what_is_theirs() {
        on_postgres(super::deleting_a_user_group_or_app_takes_what_is_theirs).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_is_updated_and_deleted_with_what_is_its() {
        on_postgres(super::a_server_is_updated_and_deleted_with_what_is_its).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_apps_par_flag_is_kept() {
        on_postgres(super::an_apps_par_flag_is_kept).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_apps_request_object_settings_are_kept() {
        on_postgres(super::an_apps_request_object_settings_are_kept).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pushed_request_is_taken_once_by_its_app_before_expiry() {
        on_postgres(super::a_pushed_request_is_taken_once_by_its_app_before_expiry).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failed_attempts_are_throttled_with_a_doubling_delay() {
        on_postgres(super::failed_attempts_are_throttled_with_a_doubling_delay).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_block_as_long_as_the_window_keeps_counting() {
        on_postgres(super::a_block_as_long_as_the_window_keeps_counting).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_attempts_are_counted_atomically() {
        on_postgres(super::parallel_attempts_are_counted_atomically).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_purges_counters_and_pushed_requests() {
        on_postgres(super::the_janitor_purges_counters_and_pushed_requests).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn api_tokens_are_found_until_revoked() {
        on_postgres(super::api_tokens_are_found_until_revoked).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_system_log_is_paged_filtered_and_purged() {
        on_postgres(super::the_system_log_is_paged_filtered_and_purged).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_a_newer_schema_and_reopens_a_current_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    drop(SqliteStore::open_file(&path).await.unwrap());
    // Opening again applies nothing and works.
    drop(SqliteStore::open_file(&path).await.unwrap());
    let url = format!("sqlite:{}", path.display());
    let raw = sqlx_insert_version(&url, 999).await;
    assert!(raw);
    let err = SqliteStore::open_file(&path).await.unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}

/// Marks the database as migrated to `version` by a future binary.
async fn sqlx_insert_version(url: &str, version: i64) -> bool {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)")
        .bind(version)
        .execute(&mut conn)
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_a_newer_schema_and_reopens_a_current_one() {
    let db = TestDatabase::create().await;
    let settings = PoolSettings::default();
    let store = PostgresStore::open(&db.url, &settings).await.unwrap();
    let version = store.schema_version().await.unwrap();
    assert!(version >= 1);
    drop(store);
    // Opening again applies nothing and works.
    let store = PostgresStore::open(&db.url, &settings).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), version);
    drop(store);
    assert!(pg_insert_version(&db.url, 999).await);
    let err = PostgresStore::open(&db.url, &settings).await.unwrap_err();
    assert!(matches!(err, StoreError::Schema(_)), "{err:?}");
    assert!(err.to_string().contains("newer"), "{err}");
}

/// Processes starting together on an empty database: the advisory lock lets one
/// migrate while the others wait, then find the schema applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stores_opened_together_on_an_empty_database_all_succeed() {
    let db = TestDatabase::create_empty().await;
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { PostgresStore::open(&url, &PoolSettings::default()).await })
        })
        .collect();
    let mut stores = Vec::new();
    for open in opens {
        stores.push(open.await.unwrap().expect("every concurrent open succeeds"));
    }
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let (rows, distinct, highest): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_migrations",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows, distinct, "each migration applied once");
    assert_eq!(stores[0].schema_version().await.unwrap(), highest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_is_unavailable() {
    // A port nothing listens on: the store says unavailable (a 503), not a schema error.
    let settings = PoolSettings {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    let err = PostgresStore::open("postgres://postgres@127.0.0.1:1/postgres", &settings)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

/// Marks the PostgreSQL database as migrated to `version` by a future binary.
async fn pg_insert_version(url: &str, version: i64) -> bool {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)")
        .bind(version)
        .execute(&mut conn)
        .await
        .is_ok()
}

/// The guard drops its database when the test using it panics, so failed runs leave no
/// databases behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_database_is_dropped_even_when_its_test_panics() {
    let (name_tx, name_rx) = tokio::sync::oneshot::channel();
    let failed = tokio::spawn(async move {
        let db = TestDatabase::create().await;
        name_tx.send(db.name.clone()).unwrap();
        panic!("a failing test (expected in this test's output)");
    })
    .await;
    assert!(failed.is_err());
    let name = name_rx.await.unwrap();
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&crate::support::postgres_admin_url())
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(left, 0, "{name} was dropped");
}

/// What one statement through the store costs on each backend, sequentially: an
/// upsert (`use_jti_once`) and a keyed read mapped to a 19-column row (`get_client`).
/// The best of five rounds, so other work on the machine inflates it least. A
/// measurement, not a check:
/// `cargo test --test it store::statement_cost -- --ignored --nocapture`
#[ignore = "a measurement; run it by name"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_cost() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite: DynStore = Arc::new(
        SqliteStore::open_file(&dir.path().join("cost.db"))
            .await
            .unwrap(),
    );
    time_statements("SQLite", &sqlite).await;
    let db = TestDatabase::create().await;
    let postgres: DynStore = Arc::new(
        PostgresStore::open(&db.url, &PoolSettings::default())
            .await
            .unwrap(),
    );
    time_statements("PostgreSQL", &postgres).await;
}

async fn time_statements(backend: &str, store: &DynStore) {
    const CALLS: u32 = 1000;
    store.insert_client(&client("0oa1")).await.unwrap();
    let (mut upsert, mut read) = (std::time::Duration::MAX, std::time::Duration::MAX);
    for round in 0..5u32 {
        let started = std::time::Instant::now();
        for i in 0..CALLS {
            let key = sha256(&(round * CALLS + i).to_be_bytes());
            assert!(store.use_jti_once(&key, 10, 1).await.unwrap());
        }
        upsert = upsert.min(started.elapsed() / CALLS);
        let started = std::time::Instant::now();
        for _ in 0..CALLS {
            store.get_client("0oa1").await.unwrap().unwrap();
        }
        read = read.min(started.elapsed() / CALLS);
    }
    println!("{backend}: use_jti_once {upsert:?}/call, get_client {read:?}/call");
}
