//! When a sign-in needs more than a password. `requirement` decides what a request
//! asks of the person signing in; `Requirement::met_by` says whether what a session
//! proved is enough. The sign-in page (`flows::login`) and `/authorize` with a session
//! (`flows::authorize`) ask both before a code is issued; what falls short goes to the
//! second-factor step (`flows::mfa`): `start` stores the request as a `PendingVerify`
//! and names the step's page.
//!
//! What is asked is the stronger of two asks (Okta's model): the org's sign-on
//! policies for this person, app and address (`oauth::sign_on`: the global session
//! policy and the app's authentication policy; the defaults ask for the password
//! alone), and the request's `acr_values` (`urn:okta:loa:1fa:any`, `…:1fa:pwd`,
//! `…:2fa:any`, `…:2fa:any:ifpossible` for people who have a factor enrolled, `phr`,
//! `phrh`). A policy that denies is answered where the code would be issued
//! (`flows::authorize::complete`), with `access_denied`.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::crypto::{hex, hex_decode, random_token, sha256};
use crate::factors::{Proof, acr, factor_count};
use crate::flows::Services;
use crate::flows::factors;
use crate::flows::settings::{Settings, Subject};
use crate::oauth::OAuthError;
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::sign_on::{Needed, Verdict, acr_needed};
use crate::store::{PendingAuthorization, Session, SessionFederation, User};

/// What a sign-in must have proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// Distinct factors: 1 (the password) or 2.
    pub factors: u8,
    /// A phishing-resistant factor among them (RFC 8176 `hwk`/`swk`: a key bound to the
    /// origin, such as a passkey).
    pub phishing_resistant: bool,
    /// The second factor must have been verified within this many seconds (`None`:
    /// once in the session is enough).
    pub max_age: Option<i64>,
    /// A policy's re-authentication frequency for a one-factor sign-in: the password
    /// must have been entered within this many seconds (`None`: once per session).
    pub password_max_age: Option<i64>,
    /// The password must be among the factors (`urn:okta:loa:1fa:pwd`): a session
    /// begun another way (a passkey alone) is asked for it.
    pub password: bool,
}

impl Requirement {
    /// The password alone.
    pub const PASSWORD: Requirement = Requirement {
        factors: 1,
        phishing_resistant: false,
        max_age: None,
        password_max_age: None,
        password: false,
    };

    /// What the policies and `acr_values` ask together, as the second-factor step and
    /// the session check read it. A phishing-resistant factor is a second factor
    /// beside the password; a re-authentication frequency applies to the second factor
    /// when two are asked, else to the password.
    pub fn from_needed(needed: Needed) -> Requirement {
        let phishing_resistant = needed.possession != crate::store::Possession::Any;
        let two = needed.factors >= 2 || phishing_resistant;
        Requirement {
            factors: if two { 2 } else { 1 },
            phishing_resistant,
            max_age: needed.max_age.filter(|_| two),
            password_max_age: needed.max_age.filter(|_| !two),
            password: needed.password,
        }
    }

    /// The sign-in page must ask the password again for `session` at `now`: it is
    /// older than a policy's frequency allows, or the session was begun without one
    /// and the request asks for it.
    pub fn password_again(&self, session: &Session, now: UnixTime) -> bool {
        let too_old = self
            .password_max_age
            .is_some_and(|age| now >= session.auth_time.saturating_add(age));
        let missing = self.password && !session.amr.iter().any(|m| m == crate::factors::amr::PWD);
        too_old || missing
    }

    /// Whether a second factor is asked for at all.
    pub fn needs_second_factor(&self) -> bool {
        self.factors >= 2 || self.phishing_resistant
    }

    /// Whether what `session` proved meets this requirement at `now`.
    pub fn met_by(&self, session: &Session, now: UnixTime) -> bool {
        self.met_by_amr(&session.amr, session.mfa_at, now)
    }

    /// `met_by` for a sign-in not (yet) kept in a session.
    pub fn met_by_amr(&self, amr: &[String], mfa_at: Option<UnixTime>, now: UnixTime) -> bool {
        if factor_count(amr) < usize::from(self.factors) {
            return false;
        }
        if self.phishing_resistant && !amr.iter().any(|m| m == "hwk" || m == "swk") {
            return false;
        }
        if !self.needs_second_factor() {
            return true;
        }
        match (self.max_age, mfa_at) {
            (None, Some(_)) => true,
            (Some(age), Some(at)) => now < at.saturating_add(age),
            (_, None) => false,
        }
    }
}

/// What the request asks of `user`, who is signing in (or signed in) for it from
/// `ip` (the address as the System Log has it): the sign-on policies' ask and the
/// `acr_values`' ask, the stronger of each. A policy that denies asks nothing more
/// here: `flows::authorize::complete` refuses the request.
pub async fn requirement(
    services: &Services,
    request: &AuthorizationRequest,
    user: &User,
    ip: Option<&str>,
    _now: UnixTime,
) -> Result<Requirement, OAuthError> {
    let settings = Settings::load_by_id(services, &request.server_id).await?;
    let groups = services.store.user_groups(&user.id).await?;
    let subject = Subject {
        user: user.clone(),
        groups,
    };
    requirement_of(services, &settings, &subject, request, ip).await
}

/// `requirement`, with the server's settings and the user's groups the request has
/// read already (/authorize with a session reads both for its own checks).
pub async fn requirement_of(
    services: &Services,
    settings: &Settings,
    subject: &Subject,
    request: &AuthorizationRequest,
    ip: Option<&str>,
) -> Result<Requirement, OAuthError> {
    let user = &subject.user;
    let policy = match settings.sign_on(subject, &request.client_id, ip) {
        Verdict::Allow(needed) => needed,
        Verdict::Deny { .. } => return Ok(Requirement::PASSWORD),
    };
    let if_possible = request
        .acr_values
        .iter()
        .any(|v| v == acr::TWO_FACTOR_IF_POSSIBLE);
    // A passkey counts as an enrolled factor, as an authenticator app does.
    let enrolled = if_possible && factors::has_active_factor(services, &user.id).await?;
    let asked = acr_needed(&request.acr_values, enrolled).map_or(Needed::PASSWORD, |(_, n)| n);
    Ok(Requirement::from_needed(policy.and(asked)))
}

/// How long the second-factor step waits (as the sign-in page).
pub const VERIFY_TTL: i64 = 600;

/// A request waiting for a second factor. Its shape differs from a request waiting
/// for sign-in or consent (`verify` is not a field of theirs), so no page can take one
/// for another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingVerify {
    pub verify: AuthorizationRequest,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub amr: Vec<String>,
    pub mfa_at: Option<UnixTime>,
    pub factors: u8,
    pub phishing_resistant: bool,
    pub max_age: Option<i64>,
    /// The second factor was verified (at enrollment, before the recovery codes were
    /// shown): only `resume` is left.
    #[serde(default)]
    pub verified: bool,
    /// The sign-in began at this identity provider (`flows::federation`): the session
    /// the step starts records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_id: Option<String>,
    /// With it, the provider's ID token sealed (`sessions::seal_id_token`), hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_id_token: Option<String>,
}

impl PendingVerify {
    pub fn proof(&self) -> Proof {
        Proof {
            auth_time: self.auth_time,
            amr: self.amr.clone(),
            mfa_at: self.mfa_at,
        }
    }

    /// The identity provider the sign-in began at, as the session records it.
    pub fn federation(&self) -> Option<SessionFederation> {
        let idp_id = self.idp_id.clone()?;
        Some(SessionFederation {
            idp_id,
            sealed_id_token: self.idp_id_token.as_deref().and_then(hex_decode),
        })
    }

    pub fn requirement(&self) -> Requirement {
        Requirement {
            factors: self.factors,
            phishing_resistant: self.phishing_resistant,
            max_age: self.max_age,
            password_max_age: None,
            password: false,
        }
    }
}

/// Sends a request to the second-factor step for `user`, who has proved `proof`:
/// the page's address, `/signin/verify?tx=…` when the person has a factor, else
/// `/signin/enroll?tx=…`.
pub async fn start(
    services: &Services,
    request: &AuthorizationRequest,
    user: &User,
    proof: &Proof,
    requirement: Requirement,
    now: UnixTime,
) -> Result<String, OAuthError> {
    start_federated(services, request, user, proof, requirement, None, now).await
}

/// `start`, for a sign-in that began at an identity provider (`federation`): the
/// session the step starts records it.
pub async fn start_federated(
    services: &Services,
    request: &AuthorizationRequest,
    user: &User,
    proof: &Proof,
    requirement: Requirement,
    federation: Option<SessionFederation>,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let (idp_id, idp_id_token) = match federation {
        Some(f) => (Some(f.idp_id), f.sealed_id_token.as_deref().map(hex)),
        None => (None, None),
    };
    let pending = PendingVerify {
        verify: request.clone(),
        user_id: user.id.clone(),
        auth_time: proof.auth_time,
        amr: proof.amr.clone(),
        mfa_at: proof.mfa_at,
        factors: requirement.factors,
        phishing_resistant: requirement.phishing_resistant,
        max_age: requirement.max_age,
        verified: false,
        idp_id,
        idp_id_token,
    };
    let tx = store_pending(services, &pending, now).await?;
    let page = if factors::has_active_factor(services, &user.id).await? {
        "verify"
    } else {
        "enroll"
    };
    Ok(format!("/signin/{page}?tx={tx}"))
}

pub async fn store_pending(
    services: &Services,
    pending: &PendingVerify,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let tx = random_token();
    let row = PendingAuthorization {
        id_hash: sha256(tx.as_bytes()),
        request: serde_json::to_string(pending).map_err(|e| OAuthError::internal(&e))?,
        created_at: now,
        expires_at: now + VERIFY_TTL,
    };
    services.store.insert_pending(&row).await?;
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amr(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn two_factors_need_a_second_factor_recent_enough() {
        let two = Requirement {
            factors: 2,
            ..Requirement::PASSWORD
        };
        assert!(Requirement::PASSWORD.met_by_amr(&amr(&["pwd"]), None, 0));
        assert!(!two.met_by_amr(&amr(&["pwd"]), None, 0));
        assert!(two.met_by_amr(&amr(&["pwd", "otp", "mfa"]), Some(10), 1000));
        let recent = Requirement {
            max_age: Some(60),
            ..two
        };
        assert!(recent.met_by_amr(&amr(&["pwd", "otp", "mfa"]), Some(10), 69));
        assert!(!recent.met_by_amr(&amr(&["pwd", "otp", "mfa"]), Some(10), 70));
        let phr = Requirement {
            phishing_resistant: true,
            ..two
        };
        assert!(!phr.met_by_amr(&amr(&["pwd", "otp", "mfa"]), Some(10), 20));
        assert!(phr.met_by_amr(&amr(&["pwd", "hwk", "mfa"]), Some(10), 20));
    }
}
