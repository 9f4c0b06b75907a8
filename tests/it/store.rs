//! The store contract: one suite that every backend passes, run
//! against SQLite and against PostgreSQL (each test on a fresh database of its own).

use std::sync::Arc;

use gatehouse::crypto::{MasterKey, sha256};
use gatehouse::store::postgres::{PoolSettings, PostgresStore};
use gatehouse::store::sqlite::SqliteStore;
use gatehouse::store::*;
use gatehouse::tokens::keys;

use crate::support::TestDatabase;

fn user(id: &str, login: &str) -> User {
    User {
        id: id.into(),
        login: login.into(),
        email: None,
        first_name: None,
        last_name: None,
        password_hash: Some("$argon2id$...".into()),
        status: "ACTIVE".into(),
        created_at: 1,
        updated_at: 1,
        profile_extra: Default::default(),
        activated_at: None,
        status_changed_at: None,
        password_changed_at: None,
        last_login_at: None,
    }
}

fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        name: "n".into(),
        secrets: vec![ClientSecret {
            id: "ocs1".into(),
            hash: "010203".into(),
            sealed: None,
            status: "ACTIVE".into(),
            created: 1,
            updated: 1,
        }],
        auth_method: "client_secret_basic".into(),
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
        status: "ACTIVE".into(),
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
    }
}

/// Everything a store must do, on an empty store.
pub async fn contract(store: DynStore) {
    // Users: unique login without regard to case.
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

    // Clients keep their lists.
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

    // Servers: inserted once.
    let server = AuthServer {
        id: "aus1".into(),
        name: "s".into(),
        description: String::new(),
        audience: Some("api://s".into()),
        access_token_ttl: 3600,
        id_token_ttl: 3600,
        access_token_typ_at_jwt: true,
        signing_alg: "RS256".into(),
        status: "ACTIVE".into(),
        created_at: 1,
        updated_at: 1,
        settings_version: 0,
    };
    assert!(store.insert_server_if_absent(&server).await.unwrap());
    assert!(!store.insert_server_if_absent(&server).await.unwrap());
    assert_eq!(store.get_server("aus1").await.unwrap().unwrap(), server);

    // Signing keys: at most one active per server.
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

    // Rotation: one transaction; of processes rotating at once, one rotates.
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
    // A server without a NEXT key: nothing changes.
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

    // Sessions: live until they end or expire.
    let s = Session {
        id_hash: sha256(b"sid"),
        user_id: "00u1".into(),
        auth_time: 10,
        created_at: 10,
        expires_at: 100,
    };
    store.insert_session(&s).await.unwrap();
    assert_eq!(
        store.live_session(&s.id_hash, 99).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(store.live_session(&s.id_hash, 100).await.unwrap(), None);
    store.end_session(&s.id_hash, 50).await.unwrap();
    assert_eq!(store.live_session(&s.id_hash, 60).await.unwrap(), None);

    // Pending authorizations: taken once, even when raced.
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

    // Codes: redeemed once, in one statement, under concurrency; the replay sees the jti.
    let c = code(&sha256(b"code"), 300);
    store.insert_code(&c).await.unwrap();
    let redeemers: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let access = IssuedAccess {
                    jti: format!("AT.{i}"),
                    expires_at: 3700,
                    family_id: "f".into(),
                };
                store
                    .redeem_code(&sha256(b"code"), &access, 5)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut replays = 0;
    for r in redeemers {
        match r.await.unwrap() {
            Redemption::Redeemed(row) => winners.push(row),
            Redemption::AlreadyRedeemed(_) => replays += 1,
            Redemption::NotFound => panic!("the code exists"),
        }
    }
    assert_eq!((winners.len(), replays), (1, 19));
    let winner_jti = winners[0].access_jti.clone().unwrap();
    let again = store
        .redeem_code(
            &sha256(b"code"),
            &IssuedAccess {
                jti: "AT.x".into(),
                expires_at: 1,
                family_id: "f".into(),
            },
            6,
        )
        .await
        .unwrap();
    match again {
        Redemption::AlreadyRedeemed(row) => {
            assert_eq!(row.access_jti.as_deref(), Some(winner_jti.as_str()))
        }
        other => panic!("{other:?}"),
    }
    let unknown = store
        .redeem_code(
            b"nope",
            &IssuedAccess {
                jti: "AT.y".into(),
                expires_at: 1,
                family_id: "f".into(),
            },
            6,
        )
        .await
        .unwrap();
    assert_eq!(unknown, Redemption::NotFound);

    // The deny list.
    assert!(!store.is_access_token_revoked(&winner_jti).await.unwrap());
    store.revoke_access_token(&winner_jti, 3700).await.unwrap();
    store.revoke_access_token(&winner_jti, 3700).await.unwrap();
    assert!(store.is_access_token_revoked(&winner_jti).await.unwrap());

    // The janitor keeps a redeemed code while its token lives, and the deny-list entry
    // until the token expires.
    store
        .insert_code(&code(&sha256(b"stale"), 10))
        .await
        .unwrap();
    store.purge_expired(3000).await.unwrap();
    assert!(matches!(
        store
            .redeem_code(
                &sha256(b"stale"),
                &IssuedAccess {
                    jti: "j".into(),
                    expires_at: 1,
                    family_id: "f".into()
                },
                3000
            )
            .await
            .unwrap(),
        Redemption::NotFound
    ));
    assert!(matches!(
        store
            .redeem_code(
                &sha256(b"code"),
                &IssuedAccess {
                    jti: "j".into(),
                    expires_at: 1,
                    family_id: "f".into()
                },
                3000
            )
            .await
            .unwrap(),
        Redemption::AlreadyRedeemed(_)
    ));
    assert!(store.is_access_token_revoked(&winner_jti).await.unwrap());
    store.purge_expired(3700).await.unwrap();
    assert!(!store.is_access_token_revoked(&winner_jti).await.unwrap());
    assert!(matches!(
        store
            .redeem_code(
                &sha256(b"code"),
                &IssuedAccess {
                    jti: "j".into(),
                    expires_at: 1,
                    family_id: "f".into()
                },
                3700
            )
            .await
            .unwrap(),
        Redemption::NotFound
    ));

    // The janitor deletes a retired key (private part and all) long after JWKS dropped it.
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

    refresh_contract(&store).await;
    replay_contract(&store).await;
    client_credentials_contract(&store).await;
    settings_contract(&store).await;
    directory_contract(&store).await;
    management_contract(&store).await;
    hardening_contract(&store).await;

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

/// Single-use JWT ids: once, concurrently once, taken over only after expiry, purged.
async fn replay_contract(store: &DynStore) {
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

/// Clients keep their secrets (ids, status, sealed copies), JWKS, jwks_uri and DPoP flag.
async fn client_credentials_contract(store: &DynStore) {
    let mut c = client("0oajwt");
    c.auth_method = "private_key_jwt".into();
    c.secrets.push(ClientSecret {
        id: "ocs2".into(),
        hash: "ff".into(),
        sealed: Some("abcd".into()),
        status: "INACTIVE".into(),
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
    // Optimistic concurrency: a write made from a stale read (the version before the
    // last update) is refused and changes nothing; every write bumps the version, even
    // within the same second.
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

/// Refresh-token families: rotation once under concurrency, revocation of the family
/// and of its access tokens, and the janitor.
async fn refresh_contract(store: &DynStore) {
    let family = RefreshFamily {
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
    };
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

    // A user's families end together (deactivation, a new password), with their access
    // tokens; other users' stay.
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

    // The janitor removes revoked families and idle ones; a live family stays.
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

/// Groups, and a server's scopes, claims, policies and rules.
/// The server's `settings_version` (migration 15's triggers keep it).
async fn settings_version(store: &DynStore, server_id: &str) -> i64 {
    store
        .get_server(server_id)
        .await
        .unwrap()
        .unwrap()
        .settings_version
}

async fn settings_contract(store: &DynStore) {
    // Every change to a server's scopes, claims, policies or rules increases its
    // settings_version in the same statement (the settings cache relies on it).
    macro_rules! bumps {
        ($change:expr) => {{
            let before = settings_version(store, "aus1").await;
            let result = $change;
            assert!(
                settings_version(store, "aus1").await > before,
                "{} bumps settings_version",
                stringify!($change)
            );
            result
        }};
    }
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
    assert_eq!(names, ["Admins", "staff"]);
    assert!(store.remove_group_member("00g1", "00u1").await.unwrap());
    assert!(!store.remove_group_member("00g1", "00u1").await.unwrap());
    assert_eq!(store.list_groups().await.unwrap().len(), 2);

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
        status: "ACTIVE".into(),
        clients: vec!["ALL_CLIENTS".into()],
        created_at: 1,
        updated_at: 1,
    };
    let rule = |id: &str, priority: i64| PolicyRule {
        id: id.into(),
        policy_id: "00p1".into(),
        name: id.into(),
        priority,
        status: "ACTIVE".into(),
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
    assert!(bumps!(store.seed_server("aus1", &seed).await.unwrap()));
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
    bumps!(store.insert_scope(&custom).await.unwrap());
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
    assert!(bumps!(store.update_scope(&renamed).await.unwrap()));
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
    assert!(bumps!(
        store.delete_scope("aus1", "api:write").await.unwrap()
    ));
    assert!(!store.delete_scope("aus1", "api:write").await.unwrap());

    let claim = ClaimDef {
        id: "ocl1".into(),
        server_id: "aus1".into(),
        name: "groups".into(),
        claim_type: "IDENTITY".into(),
        value_type: "GROUPS".into(),
        value: ".*".into(),
        group_filter_type: Some("REGEX".into()),
        scopes: vec!["groups".into()],
        status: "ACTIVE".into(),
        created_at: 1,
    };
    bumps!(store.insert_claim(&claim).await.unwrap());
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
        status: "INACTIVE".into(),
        ..email.clone()
    };
    assert!(bumps!(store.update_claim(&changed).await.unwrap()));
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
    assert!(bumps!(store.delete_claim("aus1", "ocl3").await.unwrap()));
    assert!(store.delete_claim("aus1", "ocl1").await.unwrap());

    assert_eq!(
        store.list_policies("aus1").await.unwrap(),
        vec![policy.clone()]
    );
    let first = Policy {
        id: "00p0".into(),
        priority: 1,
        ..policy.clone()
    };
    bumps!(store.insert_policy(&first).await.unwrap());
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
    bumps!(store.insert_rule(&rule("0pr3", 3)).await.unwrap());
    // Rules and policies updated in place.
    let changed = PolicyRule {
        name: "renamed".into(),
        priority: 0,
        status: "INACTIVE".into(),
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
    assert!(bumps!(store.update_rule(&changed).await.unwrap()));
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
    assert!(bumps!(store.delete_rule("00p1", "0pr3").await.unwrap()));
    let moved = Policy {
        name: "q".into(),
        description: "d".into(),
        priority: 0,
        status: "INACTIVE".into(),
        clients: vec!["0oa1".into()],
        updated_at: 9,
        ..policy.clone()
    };
    assert!(bumps!(store.update_policy(&moved).await.unwrap()));
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
    assert!(bumps!(store.delete_policy("aus1", "00p1").await.unwrap()));
    assert!(
        store.list_rules("aus1").await.unwrap().is_empty(),
        "rules go with their policy"
    );
    // Consent: per user, app and server; granting again keeps one row.
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

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}

fn ids_of(users: &[User]) -> Vec<String> {
    users.iter().map(|u| u.id.clone()).collect()
}

/// Users and apps: updates, deletes, filtered pages, sessions by user, assignments.
async fn directory_contract(store: &DynStore) {
    for (id, login, status, updated) in [
        ("00uA", "ann@example.com", "ACTIVE", 10),
        ("00uB", "Bob@example.com", "STAGED", 20),
        ("00uC", "carl_x@example.com", "ACTIVE", 30),
    ] {
        let mut u = user(id, login);
        u.status = status.into();
        u.updated_at = updated;
        u.first_name = Some(format!("{}name", &login[..1]));
        u.profile_extra
            .insert("nickName".into(), serde_json::json!("n"));
        store.insert_user(&u).await.unwrap();
    }
    let mut bob = store.get_user("00uB").await.unwrap().unwrap();
    assert_eq!(bob.profile_extra["nickName"], "n");
    bob.login = "robert@example.com".into();
    bob.status = "ACTIVE".into();
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

    // Pages: ordered by id, after a cursor, filtered, and nothing but allowed columns.
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

    // Sessions end by user.
    let s = |n: u8, user: &str| Session {
        id_hash: sha256(&[n]),
        user_id: user.into(),
        auth_time: 1,
        created_at: 1,
        expires_at: 1000,
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

    // Apps: update, pages, assignments that go with the app or the user.
    let mut app = client("0oaZ");
    app.name = "Zed".into();
    store.insert_client(&app).await.unwrap();
    app.status = "INACTIVE".into();
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
    // An app without assignments is open to every user; with any, to those assigned
    // directly or through a group.
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

    // Groups: update (names stay unique), pages, members, delete.
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

    // Deleting a user takes their sessions, memberships and assignments with them.
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

    // Servers: update and delete (with what belongs to them).
    let mut server = store.get_server("aus1").await.unwrap().unwrap();
    server.name = "renamed".into();
    server.status = "INACTIVE".into();
    assert!(store.update_server(&server).await.unwrap());
    assert_eq!(store.get_server("aus1").await.unwrap().unwrap(), server);
    assert!(store.delete_server("aus1").await.unwrap());
    assert!(store.get_server("aus1").await.unwrap().is_none());
    assert!(store.signing_keys("aus1").await.unwrap().is_empty());
    assert!(store.list_scopes("aus1").await.unwrap().is_empty());
}

/// Pushed authorization requests (taken once, by their app, before expiry), the
/// per-app PAR flag, and the brute-force counters (the check and the count atomic
/// under concurrency, the delay doubling, release, clear, and the janitor).
async fn hardening_contract(store: &DynStore) {
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

    // Window = longest delay (the defaults, 900 s): the attempt that ends a 900 s block
    // comes exactly 900 s after the last failure, and must not start from one again.
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

    // Parallel attempts: exactly `threshold` get through before the block, none more.
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

    // The janitor: counters after their window and longest wait, pushed requests after expiry.
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

async fn futures_count(handles: impl Iterator<Item = tokio::task::JoinHandle<bool>>) -> usize {
    let mut n = 0;
    for h in handles.collect::<Vec<_>>() {
        n += usize::from(h.await.unwrap());
    }
    n
}

/// API tokens and the System Log.
async fn management_contract(store: &DynStore) {
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_file(&dir.path().join("contract.db"))
        .await
        .unwrap();
    contract(Arc::new(store)).await;
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
async fn postgres_passes_the_contract() {
    let db = TestDatabase::create().await;
    let store = PostgresStore::open(&db.url, &PoolSettings::default())
        .await
        .unwrap();
    contract(Arc::new(store)).await;
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
    let db = TestDatabase::create().await;
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
