//! Second factors without I/O: RFC 6238 TOTP (`totp`), one-time recovery codes
//! (`recovery`), the enrollment QR code (`qr`), and what a sign-in proved, as RFC 8176
//! `amr` values and the `acr` an ID token reports. The use-cases that store and check
//! factors are `flows::factors` (enroll, activate, verify, remove) and `flows::mfa`
//! (the sign-in step); when a second factor is asked for is `flows::assurance`.

pub mod qr;
pub mod recovery;
pub mod totp;

use crate::clock::UnixTime;

/// Okta's `factorType` of an authenticator-app code.
pub const TOTP: &str = "token:software:totp";
/// Okta's `provider` of a TOTP factor from any RFC 6238 app (Okta names it after Google
/// Authenticator; every app reading `otpauth://` URIs works).
pub const TOTP_PROVIDER: &str = "GOOGLE";
/// The prefix of a TOTP factor's id (Okta's ids are three characters and 17 more).
pub const TOTP_ID_PREFIX: &str = "uft";

/// Okta's `factorType` of one-time codes sent by e-mail.
pub const EMAIL: &str = "email";
/// Okta's `provider` of an e-mail factor.
pub const EMAIL_PROVIDER: &str = "OKTA";
/// The prefix of an e-mail factor's id.
pub const EMAIL_ID_PREFIX: &str = "emf";

/// RFC 8176 §2 `amr` values Gatehouse records, and `email`, which RFC 8176 does not
/// register and Okta reports for its e-mail authenticator.
pub mod amr {
    /// Password-based authentication.
    pub const PWD: &str = "pwd";
    /// A one-time password (TOTP, or a recovery code).
    pub const OTP: &str = "otp";
    /// More than one factor.
    pub const MFA: &str = "mfa";
    /// A one-time code sent by e-mail (Okta's value; not in RFC 8176's registry).
    pub const EMAIL: &str = "email";
}

/// Okta's `acr` values (levels of assurance): one factor, or two.
pub mod acr {
    pub const ONE_FACTOR_ANY: &str = "urn:okta:loa:1fa:any";
    pub const ONE_FACTOR_PWD: &str = "urn:okta:loa:1fa:pwd";
    pub const TWO_FACTOR_ANY: &str = "urn:okta:loa:2fa:any";
    pub const TWO_FACTOR_IF_POSSIBLE: &str = "urn:okta:loa:2fa:any:ifpossible";
    pub const PHISHING_RESISTANT: &str = "phr";
    pub const PHISHING_RESISTANT_HARDWARE: &str = "phrh";
}

/// What a sign-in proved: when the password (the first factor) was entered, the
/// methods used (`amr`), and when a second factor was last verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub auth_time: UnixTime,
    pub amr: Vec<String>,
    pub mfa_at: Option<UnixTime>,
}

impl Proof {
    /// A password alone, entered at `auth_time`.
    pub fn password(auth_time: UnixTime) -> Self {
        Proof {
            auth_time,
            amr: vec![amr::PWD.to_string()],
            mfa_at: None,
        }
    }

    /// This proof with a second factor (`method`, an `amr` value) verified at `now`:
    /// the method is added, and `mfa` once two different methods were used.
    pub fn with_second_factor(mut self, method: &str, now: UnixTime) -> Self {
        if !self.amr.iter().any(|m| m == method) {
            self.amr.push(method.to_string());
        }
        let factors = self.amr.iter().filter(|m| *m != amr::MFA).count();
        if factors >= 2 && !self.amr.iter().any(|m| m == amr::MFA) {
            self.amr.push(amr::MFA.to_string());
        }
        self.mfa_at = Some(now);
        self
    }

    /// How many distinct factors were proven (the `mfa` marker is not one).
    pub fn factor_count(&self) -> usize {
        factor_count(&self.amr)
    }
}

/// How many distinct authentication methods an `amr` list holds (`mfa` itself aside).
pub fn factor_count(amr: &[String]) -> usize {
    amr.iter().filter(|m| *m != amr::MFA).count()
}

/// The `acr` an ID token reports for a sign-in that proved `amr`: Okta's two-factor
/// level once two factors were used, else its password level.
pub fn acr_of(amr: &[String]) -> &'static str {
    if factor_count(amr) >= 2 {
        acr::TWO_FACTOR_ANY
    } else {
        acr::ONE_FACTOR_PWD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_factor_adds_its_method_and_mfa_once() {
        let proof = Proof::password(100);
        assert_eq!(proof.amr, ["pwd"]);
        assert_eq!(acr_of(&proof.amr), acr::ONE_FACTOR_PWD);
        let proof = proof.with_second_factor(amr::OTP, 130);
        assert_eq!(proof.amr, ["pwd", "otp", "mfa"]);
        assert_eq!(proof.mfa_at, Some(130));
        assert_eq!(acr_of(&proof.amr), acr::TWO_FACTOR_ANY);
        let again = proof.with_second_factor(amr::OTP, 160);
        assert_eq!(again.amr, ["pwd", "otp", "mfa"]);
        assert_eq!(again.factor_count(), 2);
    }
}
