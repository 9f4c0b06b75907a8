//! The janitor keeps the database bounded: `purge_expired` deletes exactly the rows
//! that can no longer matter (expired codes, pending and pushed requests, throttle
//! counters, sessions, deny-list entries, JWT ids, refresh families and old rotated
//! tokens) and nothing live, in batches; `purge_events` deletes System Log events past
//! retention, in batches. Each behaviour on SQLite and on PostgreSQL. Rows are written
//! and read back only through the store, and "gone" is told from "expired" by reading
//! at time 0, when every row written here would still be live.

use gatehouse::crypto::sha256;
use gatehouse::store::*;

use crate::store::{on_postgres, on_sqlite};

/// The janitor's clock in these tests.
const NOW: i64 = 100_000_000;
/// Rotated refresh tokens are kept this long for reuse detection.
const ROTATED_KEPT: i64 = 2_592_000;

fn user() -> User {
    User {
        id: "00u1".into(),
        login: "alice@example.com".into(),
        email: None,
        first_name: None,
        last_name: None,
        password_hash: None,
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

fn code(name: &str, expires_at: i64) -> AuthCode {
    AuthCode {
        code_hash: sha256(name.as_bytes()).to_vec(),
        server_id: "default".into(),
        client_id: "0oa1".into(),
        user_id: "00u1".into(),
        redirect_uri: "https://a/cb".into(),
        scope: "openid".into(),
        nonce: None,
        code_challenge: None,
        code_challenge_method: None,
        auth_time: 1,
        created_at: 1,
        expires_at,
        access_jti: None,
        access_expires_at: None,
        family_id: None,
        dpop_jkt: None,
        amr: None,
        sid: None,
        acr: None,
    }
}

fn access(jti: &str, expires_at: i64) -> CodeGrant {
    CodeGrant {
        access_jti: Some(jti.into()),
        access_expires_at: Some(expires_at),
        refresh: None,
        event: None,
    }
}

fn family(id: &str, expires_at: Option<i64>) -> RefreshFamily {
    RefreshFamily {
        id: id.into(),
        server_id: "default".into(),
        client_id: "0oa1".into(),
        user_id: "00u1".into(),
        scope: "openid offline_access".into(),
        auth_time: 1,
        created_at: 1,
        expires_at,
        last_used_at: 1,
        revoked_at: None,
        dpop_jkt: None,
        sid: None,
        amr: None,
        acr: None,
    }
}

fn refresh(name: &str, family_id: &str, idle_expires_at: Option<i64>) -> RefreshToken {
    RefreshToken {
        token_hash: sha256(name.as_bytes()).to_vec(),
        family_id: family_id.into(),
        scope: "openid offline_access".into(),
        issued_at: 1,
        idle_expires_at,
        rotated_at: None,
        successor_hash: None,
        access_jti: None,
        access_expires_at: None,
    }
}

async fn is_refresh_kept(store: &DynStore, name: &str) -> bool {
    store
        .find_refresh(&sha256(name.as_bytes()))
        .await
        .unwrap()
        .is_some()
}

/// Every kind of row the janitor purges, some expired (several of a kind, so that with
/// a batch of 2 they take more than one statement) and some live; one purge removes
/// exactly the expired ones, a second removes nothing, and every live row still reads.
async fn the_janitor_deletes_exactly_the_expired_rows_in_batches(store: DynStore) {
    store.insert_user(&user()).await.unwrap();
    let mut expired = 0;

    // Pending authorizations and pushed requests: 3 expired, 1 live each.
    for (n, expires_at) in [(0, NOW - 1), (1, NOW), (2, NOW - 500), (3, NOW + 1)] {
        let id_hash = sha256(format!("pending {n}").as_bytes()).to_vec();
        store
            .insert_pending(&PendingAuthorization {
                id_hash,
                request: "{}".into(),
                created_at: 1,
                expires_at,
            })
            .await
            .unwrap();
        let id_hash = sha256(format!("pushed {n}").as_bytes()).to_vec();
        store
            .insert_pushed(&PushedRequest {
                id_hash,
                server_id: "default".into(),
                client_id: "0oa1".into(),
                params: "scope=openid".into(),
                created_at: 1,
                expires_at,
            })
            .await
            .unwrap();
    }
    expired += 6;

    // Throttle counters: kept for window + max_delay after the last failure.
    let rule = ThrottleRule {
        threshold: 5,
        window: 100,
        max_delay: 20,
    };
    for (key, at) in [
        ("old 1", NOW - 120),
        ("old 2", NOW - 500),
        ("recent", NOW - 119),
    ] {
        store.throttle_attempt(key, &rule, at).await.unwrap();
    }
    expired += 2;

    // Sessions: two past their expiry, one ended (signed out) while unexpired, one live.
    for (n, expires_at) in [(0, NOW - 1), (1, NOW), (2, NOW + 3600), (3, NOW + 3600)] {
        store
            .insert_session(&Session {
                id_hash: sha256(format!("session {n}").as_bytes()).to_vec(),
                user_id: "00u1".into(),
                auth_time: 1,
                created_at: 1,
                expires_at,
                amr: vec!["pwd".into()],
                mfa_at: None,
                user_agent: None,
                ip: None,
                last_seen_at: None,
            })
            .await
            .unwrap();
    }
    store
        .end_session(&sha256(b"session 2"), NOW - 10)
        .await
        .unwrap();
    expired += 3;

    // Deny-listed access tokens and JWT ids: kept until the token could no longer be used.
    for (jti, expires_at) in [("AT.old1", NOW - 1), ("AT.old2", NOW), ("AT.live", NOW + 1)] {
        store.revoke_access_token(jti, expires_at).await.unwrap();
        assert!(
            store
                .use_jti_once(&sha256(jti.as_bytes()), expires_at, 1)
                .await
                .unwrap()
        );
    }
    expired += 4;

    // Codes: an unredeemed one until its own expiry; a redeemed one until the access
    // token minted from it expires too (a replay must still revoke it).
    for (name, expires_at) in [
        ("code expired 1", NOW - 1),
        ("code expired 2", NOW - 2),
        ("code expired 3", NOW),
        ("code live", NOW + 60),
        ("code redeemed, token live", NOW - 60),
        ("code redeemed, token expired", NOW - 3600),
    ] {
        store.insert_code(&code(name, expires_at)).await.unwrap();
    }
    for (name, token_expires) in [
        ("code redeemed, token live", NOW + 3540),
        ("code redeemed, token expired", NOW - 1),
    ] {
        let redeemed = store
            .redeem_code(
                &sha256(name.as_bytes()),
                &access(&format!("AT {name}"), token_expires),
                1,
            )
            .await
            .unwrap();
        assert!(redeemed, "{name} is redeemed");
    }
    expired += 4;

    // Refresh families: revoked; past their absolute lifetime; idle (current token past
    // its idle expiry). Each goes with its tokens.
    store
        .insert_refresh_family(
            &family("revoked", None),
            &refresh("rt revoked", "revoked", None),
        )
        .await
        .unwrap();
    assert!(store.revoke_family("revoked", NOW - 5).await.unwrap());
    store
        .insert_refresh_family(
            &family("lifetime over", Some(NOW)),
            &refresh("rt lifetime over", "lifetime over", Some(NOW + 100)),
        )
        .await
        .unwrap();
    store
        .insert_refresh_family(
            &family("idle", Some(NOW + 100)),
            &refresh("rt idle 1", "idle", Some(NOW - 50)),
        )
        .await
        .unwrap();
    // Rotated once, then left idle: the current token's idle expiry counts.
    assert_eq!(
        store
            .rotate_refresh(
                "idle",
                &sha256(b"rt idle 1"),
                &refresh("rt idle 2", "idle", Some(NOW - 1)),
                10
            )
            .await
            .unwrap(),
        Rotation::Rotated
    );
    expired += 3;
    // Live: an unlimited family; one whose current token is still within its idle time
    // although its first token's idle time is over; one rotated just now.
    store
        .insert_refresh_family(
            &family("unlimited", None),
            &refresh("rt unlimited", "unlimited", None),
        )
        .await
        .unwrap();
    store
        .insert_refresh_family(
            &family("active", None),
            &refresh("rt active 1", "active", Some(NOW - 100)),
        )
        .await
        .unwrap();
    // Its first token was rotated more than 30 days ago and its access token is long
    // expired: that token goes, the family stays.
    let mut second = refresh("rt active 2", "active", Some(NOW + 100));
    second.access_jti = Some("AT active 2".into());
    second.access_expires_at = Some(NOW + 100);
    assert_eq!(
        store
            .rotate_refresh(
                "active",
                &sha256(b"rt active 1"),
                &second,
                NOW - ROTATED_KEPT - 1
            )
            .await
            .unwrap(),
        Rotation::Rotated
    );
    expired += 1;
    // Rotated within the 30 days: kept for reuse detection.
    assert_eq!(
        store
            .rotate_refresh(
                "active",
                &sha256(b"rt active 2"),
                &refresh("rt active 3", "active", Some(NOW + 100)),
                NOW - ROTATED_KEPT + 1
            )
            .await
            .unwrap(),
        Rotation::Rotated
    );

    // Two rows a statement: every kind above needs more than one batch or none.
    assert_eq!(
        store.purge_expired_in_batches(NOW, 2).await.unwrap(),
        expired
    );
    assert_eq!(
        store.purge_expired_in_batches(NOW, 2).await.unwrap(),
        0,
        "nothing live goes"
    );

    for n in 0..3 {
        let gone = sha256(format!("pending {n}").as_bytes());
        assert!(
            store.get_pending(&gone, 0).await.unwrap().is_none(),
            "pending {n}"
        );
        let gone = sha256(format!("pushed {n}").as_bytes());
        assert!(
            store
                .take_pushed(&gone, "0oa1", "default", 0)
                .await
                .unwrap()
                .is_none(),
            "pushed {n}"
        );
    }
    assert!(
        store
            .get_pending(&sha256(b"pending 3"), 0)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .take_pushed(&sha256(b"pushed 3"), "0oa1", "default", 0)
            .await
            .unwrap()
            .is_some()
    );

    assert!(store.throttle_state("old 1").await.unwrap().is_none());
    assert!(store.throttle_state("old 2").await.unwrap().is_none());
    assert!(store.throttle_state("recent").await.unwrap().is_some());

    for n in 0..3 {
        let gone = sha256(format!("session {n}").as_bytes());
        assert!(
            store.live_session(&gone, 0).await.unwrap().is_none(),
            "session {n}"
        );
    }
    assert!(
        store
            .live_session(&sha256(b"session 3"), NOW)
            .await
            .unwrap()
            .is_some()
    );

    assert!(!store.is_access_token_revoked("AT.old1").await.unwrap());
    assert!(!store.is_access_token_revoked("AT.old2").await.unwrap());
    assert!(store.is_access_token_revoked("AT.live").await.unwrap());
    assert!(
        !store
            .use_jti_once(&sha256(b"AT.live"), NOW + 1, NOW)
            .await
            .unwrap(),
        "a live JWT id is still remembered"
    );
    assert!(
        store
            .use_jti_once(&sha256(b"AT.old1"), NOW + 1, 0)
            .await
            .unwrap(),
        "an expired JWT id was forgotten"
    );

    let find = |name: &'static str| {
        let store = store.clone();
        async move { store.find_code(&sha256(name.as_bytes())).await.unwrap() }
    };
    for gone in [
        "code expired 1",
        "code expired 2",
        "code expired 3",
        "code redeemed, token expired",
    ] {
        assert_eq!(find(gone).await, CodeState::NotFound, "{gone}");
    }
    assert!(matches!(
        find("code redeemed, token live").await,
        CodeState::Redeemed(_)
    ));
    assert!(matches!(find("code live").await, CodeState::Unredeemed(_)));
    assert!(
        store
            .redeem_code(
                &sha256("code live".as_bytes()),
                &access("AT again", NOW + 1),
                0
            )
            .await
            .unwrap()
    );

    for gone in [
        "rt revoked",
        "rt lifetime over",
        "rt idle 1",
        "rt idle 2",
        "rt active 1",
    ] {
        assert!(!is_refresh_kept(&store, gone).await, "{gone}");
    }
    for kept in ["rt unlimited", "rt active 2", "rt active 3"] {
        assert!(is_refresh_kept(&store, kept).await, "{kept}");
    }
}

/// System Log events older than the retention bound go, oldest first, more than one
/// batch of them (`PURGE_BATCH` a statement); newer ones stay.
async fn the_janitor_deletes_old_events_in_batches(store: DynStore) {
    let old = PURGE_BATCH + 7;
    let event = |n: i64, published: i64| LogEvent {
        seq: 0,
        uuid: format!("uuid-{n}"),
        published,
        event_type: "user.session.start".into(),
        outcome_result: "SUCCESS".into(),
        actor_id: "00u1".into(),
        target_ids: vec!["00u1".into()],
        event: format!("{{\"n\": {n}}}"),
    };
    for n in 0..old {
        store.insert_event(&event(n, NOW - 100 - n)).await.unwrap();
    }
    for n in old..old + 3 {
        store.insert_event(&event(n, NOW + n)).await.unwrap();
    }
    assert_eq!(store.purge_events(NOW).await.unwrap(), old as u64);
    assert_eq!(store.purge_events(NOW).await.unwrap(), 0);
    let left = store
        .query_events(&Page {
            limit: 100,
            ..Page::default()
        })
        .await
        .unwrap();
    let uuids: Vec<&str> = left.iter().map(|e| e.uuid.as_str()).collect();
    assert_eq!(
        uuids,
        [old, old + 1, old + 2].map(|n| format!("uuid-{n}")),
        "only the events within retention are kept"
    );
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_deletes_exactly_the_expired_rows_in_batches() {
        on_sqlite(super::the_janitor_deletes_exactly_the_expired_rows_in_batches).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_deletes_old_events_in_batches() {
        on_sqlite(super::the_janitor_deletes_old_events_in_batches).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_deletes_exactly_the_expired_rows_in_batches() {
        on_postgres(super::the_janitor_deletes_exactly_the_expired_rows_in_batches).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_janitor_deletes_old_events_in_batches() {
        on_postgres(super::the_janitor_deletes_old_events_in_batches).await;
    }
}
