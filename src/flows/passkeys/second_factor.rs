//! A passkey as the second factor, after the password: the options name the user's own
//! credentials (so a non-discoverable security key works too), and the assertion must
//! come from one of them. The challenge is bound to the step's transaction and to the
//! user, so neither another sign-in's assertion nor another user's credential passes.
//! User verification is preferred, not required: presence of the key is the second
//! factor; a verified user adds nothing the password did not already prove.

use serde_json::Value as Json;

use super::{AUTHENTICATE, AssertionResponse, Failure, Verified};
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::factors::Check;
use crate::oauth::OAuthError;
use crate::store::User;

fn binding(tx: &str) -> Vec<u8> {
    let mut text = b"gatehouse passkey second factor\0".to_vec();
    text.extend_from_slice(tx.as_bytes());
    text
}

/// Whether the user has a passkey to offer.
pub async fn available(services: &Services, user_id: &str) -> Result<bool, OAuthError> {
    Ok(!services.store.user_passkeys(user_id).await?.is_empty())
}

/// The request options for `user_id`'s passkeys in the step `tx`.
pub async fn options(
    services: &Services,
    user_id: &str,
    tx: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<Json, OAuthError> {
    let passkeys = services.store.user_passkeys(user_id).await?;
    let challenge =
        super::new_challenge(services, AUTHENTICATE, Some(user_id), &binding(tx), ip, now).await?;
    let rp = super::relying_party(services);
    Ok(super::request_options(
        &rp,
        &challenge,
        &passkeys,
        "preferred",
    ))
}

/// Verifies the assertion of `user_id` for the step `tx`.
pub async fn verify(
    services: &Services,
    user_id: &str,
    tx: &str,
    response: &AssertionResponse,
    now: UnixTime,
) -> Result<Result<Verified, Failure>, OAuthError> {
    let verified = super::verify_assertion(services, response, &binding(tx), false, now).await?;
    // The challenge named its user; a challenge for nobody in particular (a username-less
    // sign-in's) has another binding and never gets here.
    Ok(verified.and_then(|v| {
        if v.user.id == user_id {
            Ok(v)
        } else {
            Err(Failure::UnknownCredential)
        }
    }))
}

/// The second-factor step's check: `Verified` with the RFC 8176 value the key proves
/// (`hwk` or `swk`), or `Invalid`; the System Log records which, and why. A passkey has
/// no code to guess, so failures are not throttled.
pub async fn check(
    services: &Services,
    user: &User,
    tx: &str,
    response: &AssertionResponse,
    ip: Option<String>,
    now: UnixTime,
) -> Result<(Check, &'static str), OAuthError> {
    let actor = Actor::user(user, ip);
    match verify(services, &user.id, tx, response, now).await? {
        Ok(verified) => {
            let event = Event::success(
                "user.authentication.auth_via_mfa",
                "Authentication of user via MFA",
                vec![
                    Target::user(user),
                    super::sign_in::passkey_target(&verified.passkey),
                ],
            )
            .with_debug("factor", "webauthn");
            syslog::record(&services.store, &actor, event, now).await;
            Ok((Check::Verified, verified.key_amr()))
        }
        Err(failure) => {
            let event = Event::failure(
                "user.authentication.auth_via_mfa",
                "Authentication of user via MFA",
                format!("PASSKEY_REFUSED: {}", failure.describe()),
                vec![Target::user(user)],
            )
            .with_debug("factor", "webauthn");
            syslog::record(&services.store, &actor, event, now).await;
            Ok((Check::Invalid, "hwk"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::b64url;
    use crate::flows::testing::fixture;
    use crate::store::Passkey;
    use crate::webauthn::software::SoftAuthenticator;

    /// A software authenticator registered to `user_id` straight in the store.
    async fn enrolled(services: &Services, user_id: &str, now: UnixTime) -> SoftAuthenticator {
        let key = SoftAuthenticator::new("https://gatehouse.test", "gatehouse.test");
        let (data, object) = key.register("Y2hhbGxlbmdl", false);
        let rp = super::super::relying_party(services);
        let data = crate::webauthn::client_data(&data).unwrap();
        let new = crate::webauthn::register(&rp, &data, &object, false).unwrap();
        let passkey = Passkey {
            id: crate::crypto::okta_id("fwf"),
            user_id: user_id.into(),
            credential_id: new.credential_id,
            public_key: new.public_key,
            sign_count: 0,
            user_handle: vec![1; 32],
            discoverable: false,
            transports: vec!["usb".into()],
            name: "Key".into(),
            aaguid: new.aaguid.to_vec(),
            backup_eligible: false,
            backed_up: false,
            user_verified: false,
            created_at: now,
            last_used_at: None,
        };
        assert!(services.store.insert_passkey(&passkey).await.unwrap());
        key
    }

    fn response(key: &SoftAuthenticator, challenge: &str) -> AssertionResponse {
        let (data, auth, sig) = key.assert(challenge);
        AssertionResponse {
            credential_id: key.id(),
            client_data_json: b64url(&data),
            authenticator_data: b64url(&auth),
            signature: b64url(&sig),
            user_handle: String::new(),
        }
    }

    #[tokio::test]
    async fn only_the_users_own_passkey_for_this_step_passes_once() {
        let f = fixture().await;
        let s = &f.services;
        let alice = f.user("alice@example.com").await;
        let bob = f.user("bob@example.com").await;
        assert!(!available(s, &alice.id).await.unwrap());
        let mut alices = enrolled(s, &alice.id, f.now).await;
        let bobs = enrolled(s, &bob.id, f.now).await;
        assert!(available(s, &alice.id).await.unwrap());

        let first = options(s, &alice.id, "tx1", None, f.now).await.unwrap();
        assert_eq!(first["userVerification"], "preferred");
        assert_eq!(first["allowCredentials"][0]["id"], alices.id().as_str());
        assert_eq!(first["allowCredentials"].as_array().unwrap().len(), 1);
        let challenge = first["challenge"].as_str().unwrap();

        // Bob's key answering Alice's challenge: not hers.
        let wrong = response(&bobs, challenge);
        let refused = verify(s, &alice.id, "tx1", &wrong, f.now).await.unwrap();
        assert_eq!(refused.unwrap_err(), Failure::UnknownCredential);

        // Her own key, for another step: the challenge is bound to tx1 (and was taken).
        let fresh = options(s, &alice.id, "tx1", None, f.now).await.unwrap();
        let challenge = fresh["challenge"].as_str().unwrap();
        alices.verified = false;
        let answer = response(&alices, challenge);
        let elsewhere = verify(s, &alice.id, "tx2", &answer, f.now).await.unwrap();
        assert_eq!(elsewhere.unwrap_err(), Failure::Challenge);

        // Her own key for this step: a hardware key, present, not verified.
        let fresh = options(s, &alice.id, "tx1", None, f.now).await.unwrap();
        let challenge = fresh["challenge"].as_str().unwrap();
        let good = response(&alices, challenge);
        let verified = verify(s, &alice.id, "tx1", &good, f.now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(verified.amr(), ["hwk", "user"]);
        // The same response again: the challenge is gone.
        let replay = verify(s, &alice.id, "tx1", &good, f.now).await.unwrap();
        assert_eq!(replay.unwrap_err(), Failure::Challenge);
        // Past its five minutes a challenge is gone too.
        let late = options(s, &alice.id, "tx1", None, f.now).await.unwrap();
        let late = response(&alices, late["challenge"].as_str().unwrap());
        let expired = verify(
            s,
            &alice.id,
            "tx1",
            &late,
            f.now + super::super::CHALLENGE_TTL,
        );
        assert_eq!(expired.await.unwrap().unwrap_err(), Failure::Challenge);

        // An admin's reset of every factor takes the passkeys too.
        let actor = crate::admin::syslog::Actor::cli();
        let removed = crate::flows::factors::reset_all(&s.store, &actor, &alice, f.now).await;
        assert_eq!(removed.unwrap(), 1);
        assert!(!available(s, &alice.id).await.unwrap());
        assert!(available(s, &bob.id).await.unwrap());
    }
}
