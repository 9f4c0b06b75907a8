//! "Sign in with a passkey" on the sign-in page, with no username: the options carry no
//! credential list, so the browser offers the discoverable credentials it holds for
//! this server; the one chosen names its user by its user handle. The challenge is
//! bound to the pending authorization request (`tx`), so an assertion made for one
//! sign-in cannot finish another. User verification is required: the passkey alone
//! stands for possession and a PIN or biometric.

use serde_json::Value as Json;

use super::{AUTHENTICATE, AssertionResponse, Failure, Verified};
use crate::admin::syslog::{self, Actor, Event, Target};
use crate::clock::UnixTime;
use crate::crypto::sha256;
use crate::factors::Proof;
use crate::flows::Services;
use crate::flows::assurance;
use crate::flows::authorize::{self, Known, Outcome};
use crate::flows::login;
use crate::flows::sessions;
use crate::identity::session::Device;
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::{ErrorCode, OAuthError};

/// The binding of a sign-in's challenge: its transaction.
fn binding(tx: &str) -> Vec<u8> {
    let mut text = b"gatehouse passkey sign-in\0".to_vec();
    text.extend_from_slice(tx.as_bytes());
    text
}

/// The request options for the pending sign-in `tx`; `None` when it has expired.
pub async fn options(
    services: &Services,
    tx: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<Option<Json>, OAuthError> {
    if login::pending(services, tx, now).await?.is_none() {
        return Ok(None);
    }
    let challenge =
        super::new_challenge(services, AUTHENTICATE, None, &binding(tx), ip, now).await?;
    let rp = super::relying_party(services);
    Ok(Some(super::request_options(
        &rp,
        &challenge,
        &[],
        "required",
    )))
}

/// What the browser gets.
pub enum PasskeySignIn {
    /// The pending request expired or was used already.
    Expired,
    /// The assertion was refused: the sign-in page again (the System Log says why).
    Failed(Box<AuthorizationRequest>),
    /// The passkey did not prove all the request needs (a recent second factor, say):
    /// the second-factor step's page.
    SecondFactor(String),
    /// Signed in: the new session's cookie value and the authorization's outcome.
    SignedIn {
        session_id: String,
        outcome: Outcome,
    },
}

/// Finishes a passkey sign-in for the pending request `tx`.
pub async fn finish(
    services: &Services,
    tx: &str,
    response: &AssertionResponse,
    session_cookie: Option<&str>,
    device: &Device,
    now: UnixTime,
) -> Result<PasskeySignIn, OAuthError> {
    let ip = device.ip.clone();
    let Some(request) = login::pending(services, tx, now).await? else {
        return Ok(PasskeySignIn::Expired);
    };
    let verified =
        match super::verify_assertion(services, response, &binding(tx), true, now).await? {
            Ok(verified) => verified,
            Err(failure) => {
                failed(services, &failure, ip, now).await;
                return Ok(PasskeySignIn::Failed(Box::new(request)));
            }
        };
    // Take the request once: a double-submitted form issues one code.
    let taken = services
        .store
        .take_pending(&sha256(tx.as_bytes()), now)
        .await?;
    if taken.is_none() {
        return Ok(PasskeySignIn::Expired);
    }
    let user = &verified.user;
    services.store.record_login(&user.id, now).await?;
    services.metrics.login(true);
    signed_in(services, &verified, ip.clone(), now).await;
    // The passkey with user verification is possession and a PIN or biometric: two
    // factors, phishing-resistant, proven now.
    let proof = Proof {
        auth_time: now,
        amr: verified.amr(),
        mfa_at: verified.user_verified.then_some(now),
    };
    let requirement = assurance::requirement(services, &request, user, ip.as_deref(), now).await?;
    if !requirement.met_by_amr(&proof.amr, proof.mfa_at, now) {
        let location = assurance::start(services, &request, user, &proof, requirement, now).await?;
        return Ok(PasskeySignIn::SecondFactor(location));
    }
    let (session_id, session) = sessions::start_proven(
        services,
        &user.id,
        proof.clone(),
        now,
        session_cookie,
        device,
    )
    .await?;
    let outcome = match &request.hint_sub {
        // OpenID Connect Core §3.1.2.1, as after a password.
        Some(sub) if *sub != user.id => Outcome::Reply(request.reply.error(&OAuthError::new(
            ErrorCode::LoginRequired,
            "The user who signed in is not the one the id_token_hint names.",
        ))),
        _ => {
            let known = Known {
                ip,
                user: Some(user.clone()),
                amr: proof.amr,
                session_hash: Some(session.id_hash),
                ..Known::default()
            };
            authorize::complete(services, &request, &user.id, now, now, known).await
        }
    };
    Ok(PasskeySignIn::SignedIn {
        session_id,
        outcome,
    })
}

async fn signed_in(services: &Services, verified: &Verified, ip: Option<String>, now: UnixTime) {
    let user = &verified.user;
    let event = Event::success(
        "user.session.start",
        "User login to Gatehouse",
        vec![Target::user(user), passkey_target(&verified.passkey)],
    )
    .with_debug("factor", "webauthn")
    .with_debug("amr", verified.amr());
    syslog::record(&services.store, &Actor::user(user, ip), event, now).await;
}

/// A refused assertion: counted as a failed sign-in, its reason in the System Log.
/// No username was given and the credential may be unknown, so the actor is unknown.
async fn failed(services: &Services, failure: &Failure, ip: Option<String>, now: UnixTime) {
    services.metrics.login(false);
    let event = Event::failure(
        "user.session.start",
        "User login to Gatehouse",
        format!("PASSKEY_REFUSED: {}", failure.describe()),
        vec![],
    )
    .with_debug("factor", "webauthn");
    syslog::record(&services.store, &Actor::unknown_user("", ip), event, now).await;
}

/// A passkey as a System Log target (the Okta factor id, its name).
pub fn passkey_target(passkey: &crate::store::Passkey) -> Target {
    Target::new(&passkey.id, "Factor", &passkey.name)
}
