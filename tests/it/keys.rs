//! Signing-key rotation: `gatehouse keys rotate` while servers run, JWKS publishing
//! NEXT, ACTIVE and recently RETIRED keys (public parts only), tokens signed before a
//! rotation staying valid, another instance's new key verifying at once, and the
//! janitor's automatic rotation happening once across instances.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use gatehouse::clock::Clock;
use gatehouse::crypto::b64url_decode;
use gatehouse::tokens::keys::{KEY_CACHE_TTL, KEY_RETENTION};
use serde_json::Value;

use crate::cli::{gatehouse, gatehouse_env, json_of};
use crate::code_flow::jwt_header;
use crate::support::*;

/// Members a public JWK must never have: RSA's private parts (RFC 7518 §6.3.2).
const PRIVATE: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

pub async fn jwks(t: &TestApp, server: &str) -> Value {
    let r = t.http.get(t.endpoint(server, "keys")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let jwks: Value = r.json().await.unwrap();
    for key in jwks["keys"].as_array().unwrap() {
        for name in PRIVATE {
            assert!(
                key.get(name).is_none(),
                "JWKS must not contain {name}: {key}"
            );
        }
        assert_eq!(key["kty"], "RSA");
    }
    jwks
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

fn kid(token: &str) -> String {
    jwt_header(token)["kid"].as_str().unwrap().to_string()
}

/// Verifies an RS256 JWT with the JWKS key its header names, as a relying party does.
pub fn verifies_with(token: &str, jwks: &Value) -> bool {
    let kid = kid(token);
    let Some(key) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
    else {
        return false;
    };
    let part = |name: &str| b64url_decode(key[name].as_str().unwrap()).unwrap();
    let public = RsaPublicKeyComponents {
        n: part("n"),
        e: part("e"),
    };
    let (signed, signature) = token.rsplit_once('.').unwrap();
    public
        .verify(
            &RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &b64url_decode(signature).unwrap(),
        )
        .is_ok()
}

async fn userinfo_status(t: &TestApp, access_token: &str) -> u16 {
    let r = t
        .http
        .get(t.endpoint("default", "userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

fn text<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name].as_str().unwrap_or_else(|| panic!("{name} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_from_the_cli_keeps_old_tokens_valid_and_promotes_the_published_next_key() {
    let t = TestApp::spawn().await;
    t.user("alice@example.com").await;
    let app = t.web_app().await;
    let before = t
        .tokens("default", &app, "alice@example.com", "openid profile")
        .await;
    let (old_access, old_id) = (text(&before, "access_token"), text(&before, "id_token"));

    // Every server publishes its ACTIVE key and its NEXT key.
    let published = jwks(&t, "default").await;
    let [active, next] = <[String; 2]>::try_from(kids(&published)).unwrap();
    assert_eq!(kid(old_access), active, "the ACTIVE key signs");
    assert_eq!(kid(old_id), active);
    assert!(verifies_with(old_access, &published) && verifies_with(old_id, &published));

    let (ok, out, err) = gatehouse(&t, &["keys", "list"], None);
    assert!(ok, "{err}");
    let listed = json_of(&out);
    assert_eq!(listed[0]["kid"], active.as_str());
    assert_eq!(listed[0]["status"], "ACTIVE");
    assert_eq!(listed[1]["status"], "NEXT");
    assert!(
        !out.contains("private") && !out.contains("\"d\""),
        "public data only: {out}"
    );

    let (ok, out, err) = gatehouse(&t, &["keys", "rotate"], None);
    assert!(ok, "{err}");
    let rotated = json_of(&out);
    assert_eq!(
        (text(&rotated, "retired"), text(&rotated, "active")),
        (active.as_str(), next.as_str())
    );
    let new_next = text(&rotated, "next").to_string();
    assert!(
        err.contains("warning"),
        "the NEXT key was published moments ago: {err}"
    );

    // Tokens signed before the rotation still verify, by JWKS and at userinfo.
    assert_eq!(userinfo_status(&t, old_access).await, 200);
    t.clock.advance(KEY_CACHE_TTL + 1);
    // The server serves the JWKS it read up to a second ago: the new NEXT key (which
    // signs nothing yet) appears within that second.
    tokio::time::sleep(gatehouse::http::published::PUBLISHED_TTL).await;
    let published = jwks(&t, "default").await;
    assert_eq!(
        kids(&published),
        [next.clone(), new_next.clone(), active.clone()],
        "ACTIVE, NEXT, RETIRED"
    );
    assert!(verifies_with(old_access, &published) && verifies_with(old_id, &published));
    assert_eq!(userinfo_status(&t, old_access).await, 200);

    // After the cache's lifetime the server signs with the promoted key.
    let after = t
        .tokens("default", &app, "alice@example.com", "openid profile")
        .await;
    let (new_access, new_id) = (text(&after, "access_token"), text(&after, "id_token"));
    assert_eq!(kid(new_access), next);
    assert_eq!(kid(new_id), next);
    assert!(verifies_with(new_access, &published) && verifies_with(new_id, &published));
    assert_eq!(userinfo_status(&t, new_access).await, 200);
    // The org server's keys were not touched.
    assert_eq!(kids(&jwks(&t, "org").await).len(), 2);

    let (ok, out, _) = gatehouse(&t, &["keys", "list", "--server", "default"], None);
    let listed = json_of(&out);
    assert!(ok);
    let retired = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == active.as_str())
        .unwrap();
    assert_eq!(retired["status"], "RETIRED");
    assert!(retired["retired"].is_string() && retired["activated"].is_string());

    // Once every token it signed has expired, the retired key leaves JWKS.
    t.clock.advance(KEY_RETENTION);
    let published = jwks(&t, "default").await;
    assert_eq!(kids(&published), [next, new_next]);
    assert_eq!(userinfo_status(&t, old_access).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_commands_refuse_unknown_servers_and_rotate_all() {
    let t = TestApp::spawn().await;
    let (ok, _, err) = gatehouse(&t, &["keys", "list", "--server", "ausMISSING"], None);
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, _, err) = gatehouse(&t, &["keys", "rotate", "--all", "--server", "org"], None);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
    let (ok, out, err) = gatehouse(&t, &["keys", "rotate", "--all"], None);
    assert!(ok, "{err}");
    let rotated = json_of(&out);
    let servers: Vec<&str> = rotated
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["server"].as_str().unwrap())
        .collect();
    assert_eq!(servers.len(), 2, "org and default: {out}");
    assert!(servers.contains(&"org") && servers.contains(&"default"));
}

/// Two instances on one PostgreSQL database. Two rotations in a row promote a key that
/// instance B's cached keys have never seen: a token signed with it makes B read the
/// keys again, and it verifies at once, long before B's cache would expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_with_another_instances_new_key_verifies_at_once() {
    let a = TestApp::spawn_postgres().await;
    let b = a.sibling().await;
    a.user("alice@example.com").await;
    let app = a.web_app().await;
    let seen_by_b = kids(&jwks(&b, "default").await);
    assert_eq!(
        seen_by_b,
        kids(&jwks(&a, "default").await),
        "one set of keys for both instances"
    );

    let data_dir = a.dir.path().to_str().unwrap();
    let url = a.database.as_ref().unwrap().url.as_str();
    let env = [
        ("GATEHOUSE_DATA_DIR", data_dir),
        ("GATEHOUSE_DATABASE_URL", url),
    ];
    for _ in 0..2 {
        let (ok, _, err) = gatehouse_env(&env, &["keys", "rotate"]);
        assert!(ok, "{err}");
    }
    a.clock.advance(KEY_CACHE_TTL + 1);
    let tokens = a
        .tokens("default", &app, "alice@example.com", "openid")
        .await;
    let access = text(&tokens, "access_token");
    assert!(
        !seen_by_b.contains(&kid(access)),
        "a key B's cache does not hold"
    );
    assert_eq!(
        userinfo_status(&b, access).await,
        200,
        "B reloads its keys for the unknown kid"
    );
    assert!(kids(&jwks(&b, "default").await).contains(&kid(access)));

    // A made-up kid is refused, and does not break anything.
    let forged = format!(
        "{}.{}.AAAA",
        gatehouse::crypto::b64url(br#"{"alg":"RS256","kid":"nope"}"#),
        access.split('.').nth(1).unwrap()
    );
    assert_eq!(userinfo_status(&b, &forged).await, 401);
    assert_eq!(userinfo_status(&b, access).await, 200);
}

/// The janitor's rotation on two instances at once: each server's key rotates once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_rotation_happens_once_across_instances() {
    let a = TestApp::spawn_postgres().await;
    let b = a.sibling().await;
    let before = kids(&jwks(&a, "default").await);
    let now = a.clock.now();
    assert!(
        gatehouse::app::rotate_due_keys(&a.state, now)
            .await
            .is_empty(),
        "a new key is not due"
    );

    let later = now + 90 * 86_400;
    let (by_a, by_b) = tokio::join!(
        gatehouse::app::rotate_due_keys(&a.state, later),
        gatehouse::app::rotate_due_keys(&b.state, later),
    );
    let mut servers: Vec<String> = by_a
        .iter()
        .chain(&by_b)
        .map(|(server, _)| server.clone())
        .collect();
    servers.sort();
    assert_eq!(
        servers,
        ["default", "org"],
        "each server rotated once: {by_a:?} {by_b:?}"
    );
    let (_, rotated) = by_a
        .iter()
        .chain(&by_b)
        .find(|(s, _)| s == "default")
        .unwrap();
    assert_eq!(
        (rotated.retired.as_str(), rotated.active.as_str()),
        (before[0].as_str(), before[1].as_str())
    );

    // Nothing is due again; the promoted key is ACTIVE since the rotation.
    assert!(
        gatehouse::app::rotate_due_keys(&a.state, later + 1)
            .await
            .is_empty()
    );
    let mut keys = a.backend.store.signing_keys("default").await.unwrap();
    keys.retain(|k| k.status == gatehouse::store::KeyStatus::Active);
    assert_eq!(keys[0].kid, rotated.active);
    assert_eq!(keys[0].activated_at, Some(later));
}
