//! The store contract of device authorization requests (RFC 8628), on SQLite and on
//! PostgreSQL: a user code is unique, the user's answer and the redemption are each
//! taken once however many race for them, a poll decides `slow_down` against the row
//! as it was, and the janitor purges expired requests.

use gatehouse::crypto::sha256;
use gatehouse::store::*;

use crate::store::{on_postgres, on_sqlite};

fn device(n: u8, now: i64) -> DeviceCode {
    DeviceCode {
        device_code_hash: sha256(&[b'd', n]),
        user_code_hash: sha256(&[b'u', n]),
        server_id: "default".into(),
        client_id: "c".into(),
        scope: "openid offline_access".into(),
        status: DeviceStatus::Pending,
        poll_interval: 5,
        last_polled_at: None,
        slowed: false,
        user_id: None,
        auth_time: None,
        decided_at: None,
        redeemed_at: None,
        created_at: now,
        expires_at: now + 600,
    }
}

async fn a_device_code_is_answered_once_polled_and_redeemed_once(store: DynStore) {
    let now = 1_000;
    let d = device(1, now);
    assert!(store.insert_device_code(&d).await.unwrap());
    // The same user code again (a collision): refused, nothing written.
    let mut twin = device(2, now);
    twin.user_code_hash = d.user_code_hash.clone();
    assert!(!store.insert_device_code(&twin).await.unwrap());
    assert_eq!(
        store.find_user_code(&d.user_code_hash).await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(store.find_user_code(&sha256(b"none")).await.unwrap(), None);

    // Polls: the first is on time; one 2 s later is too soon (slowed, +5 s); one 8 s
    // after that is too soon for the new 10 s interval; one 15 s later is on time.
    let poll = |at| {
        let store = store.clone();
        let hash = d.device_code_hash.clone();
        async move {
            store
                .poll_device_code(&hash, "c", "default", at)
                .await
                .unwrap()
                .expect("found")
        }
    };
    let p = poll(now).await;
    assert_eq!(
        (p.slowed, p.poll_interval, p.last_polled_at),
        (false, 5, Some(now))
    );
    let p = poll(now + 2).await;
    assert_eq!((p.slowed, p.poll_interval), (true, 10));
    let p = poll(now + 10).await;
    assert_eq!((p.slowed, p.poll_interval), (true, 15));
    let p = poll(now + 25).await;
    assert_eq!((p.slowed, p.poll_interval), (false, 15));
    // Another client's or another server's poll finds nothing.
    let other = store
        .poll_device_code(&d.device_code_hash, "c2", "default", now)
        .await
        .unwrap();
    assert_eq!(other, None);
    let other = store
        .poll_device_code(&d.device_code_hash, "c", "org", now)
        .await
        .unwrap();
    assert_eq!(other, None);

    // Not approved yet: nothing to redeem.
    let grant = CodeGrant::default();
    assert!(
        !store
            .redeem_device_code(&d.device_code_hash, &grant, now + 30)
            .await
            .unwrap()
    );
    // Twenty answers at once: one wins.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        let hash = d.user_code_hash.clone();
        tasks.push(tokio::spawn(async move {
            store
                .decide_device_code(&hash, i % 2 == 0, "u", now, now + 30)
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "one answer");
    let answered = store
        .find_user_code(&d.user_code_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answered.user_id.as_deref(), Some("u"));
    assert_eq!(answered.decided_at, Some(now + 30));
    if answered.status == DeviceStatus::Denied {
        assert!(
            !store
                .redeem_device_code(&d.device_code_hash, &grant, now + 31)
                .await
                .unwrap(),
            "a denied request is never redeemed"
        );
        return;
    }
    assert_eq!(answered.status, DeviceStatus::Approved);
    // A poll of an approved request is never slowed (its answer is the tokens).
    assert!(!poll(now + 30).await.slowed);
    // Twenty redemptions at once: one wins, and only its event is written.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        let hash = d.device_code_hash.clone();
        tasks.push(tokio::spawn(async move {
            let grant = CodeGrant {
                event: Some(LogEvent {
                    seq: 0,
                    uuid: format!("device-race-{i}"),
                    published: 5,
                    event_type: "app.oauth2.token.grant".into(),
                    outcome_result: "SUCCESS".into(),
                    actor_id: "c".into(),
                    target_ids: vec!["u".into()],
                    event: "{}".into(),
                }),
                ..CodeGrant::default()
            };
            store
                .redeem_device_code(&hash, &grant, now + 40)
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "one redemption");
    let page = Page {
        limit: 100,
        ..Page::default()
    };
    let events = store.query_events(&page).await.unwrap();
    assert_eq!(events.len(), 1, "only the winner's event is written");
    let redeemed = poll(now + 50).await;
    assert_eq!(redeemed.status, DeviceStatus::Redeemed);
    assert_eq!(redeemed.redeemed_at, Some(now + 40));
}

async fn an_expired_device_code_is_not_answered_and_the_janitor_purges_it(store: DynStore) {
    let now = 1_000;
    let d = device(3, now);
    assert!(store.insert_device_code(&d).await.unwrap());
    assert!(
        !store
            .decide_device_code(&d.user_code_hash, true, "u", now, now + 600)
            .await
            .unwrap(),
        "expired"
    );
    // Kept an hour past its expiry (a late poll hears expired_token), then purged.
    store.purge_expired(now + 600 + 3599).await.unwrap();
    assert!(
        store
            .find_user_code(&d.user_code_hash)
            .await
            .unwrap()
            .is_some()
    );
    store.purge_expired(now + 600 + 3600).await.unwrap();
    assert!(
        store
            .find_user_code(&d.user_code_hash)
            .await
            .unwrap()
            .is_none()
    );
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_device_code_is_answered_once_polled_and_redeemed_once() {
        on_sqlite(super::a_device_code_is_answered_once_polled_and_redeemed_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_expired_device_code_is_not_answered_and_the_janitor_purges_it() {
        on_sqlite(super::an_expired_device_code_is_not_answered_and_the_janitor_purges_it).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_device_code_is_answered_once_polled_and_redeemed_once() {
        on_postgres(super::a_device_code_is_answered_once_polled_and_redeemed_once).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_expired_device_code_is_not_answered_and_the_janitor_purges_it() {
        on_postgres(super::an_expired_device_code_is_not_answered_and_the_janitor_purges_it).await;
    }
}
