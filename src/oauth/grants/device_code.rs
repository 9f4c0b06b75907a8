//! The device authorization grant (RFC 8628): the codes a device authorization request
//! is answered with, the user code's spelling, and what a poll at the token endpoint
//! is answered (§3.5). No I/O: callers read and write the `DeviceCode` row.

use super::super::scope::Scope;
use super::super::{ErrorCode, OAuthError};
use crate::clock::UnixTime;
use crate::crypto::{random_bytes, random_token, sha256};
use crate::store::{DeviceCode, DeviceStatus, ScopeDef};

/// The `grant_type` of a poll (RFC 8628 §3.4), and Okta's name for the grant in an
/// app's `grant_types` and a policy rule's `grantTypes`.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// How long the user has to enter the code: Okta's 600 seconds (RFC 8628 §3.2
/// `expires_in`).
pub const DEVICE_CODE_TTL: i64 = 600;

/// RFC 8628 §3.2: the seconds a client waits between polls, 5 unless told otherwise.
pub const POLL_INTERVAL: i64 = 5;

/// RFC 8628 §6.1's example alphabet: consonants only (no vowels, so no words), no
/// letters easily taken for another or for a digit.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Eight characters of twenty: 20^8 ≈ 2^34.5 codes (RFC 8628 §5.1 asks for enough
/// entropy against online guessing, which `/activate` throttles besides).
pub const USER_CODE_LEN: usize = 8;

/// A fresh user code, normalised (eight letters, no dash). Uniform over the alphabet:
/// a random byte is used only when below 240, the largest multiple of 20.
pub fn new_user_code() -> String {
    let mut code = String::with_capacity(USER_CODE_LEN);
    while code.len() < USER_CODE_LEN {
        for b in random_bytes::<16>() {
            if b < 240 && code.len() < USER_CODE_LEN {
                code.push(USER_CODE_ALPHABET[usize::from(b % 20)] as char);
            }
        }
    }
    code
}

/// What a person typed, normalised (RFC 8628 §6.1: case, dashes and spaces ignored):
/// `None` when it cannot be a user code at all.
pub fn normalise(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

/// How a user code is shown: `XXXX-XXXX`.
pub fn display(normalised: &str) -> String {
    let (a, b) = normalised.split_at(normalised.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

/// The hash a normalised user code is stored and looked up by.
pub fn user_code_hash(normalised: &str) -> Vec<u8> {
    sha256(normalised.as_bytes())
}

/// A new request for `client_id` at `server_id`: the device code and user code to
/// send, and the row to store (their hashes only).
pub fn issue(
    server_id: &str,
    client_id: &str,
    scope: &Scope,
    now: UnixTime,
) -> (String, String, DeviceCode) {
    let device_code = random_token();
    let user_code = new_user_code();
    let row = DeviceCode {
        device_code_hash: sha256(device_code.as_bytes()),
        user_code_hash: user_code_hash(&user_code),
        server_id: server_id.to_string(),
        client_id: client_id.to_string(),
        scope: scope.to_string(),
        status: DeviceStatus::Pending,
        poll_interval: POLL_INTERVAL,
        last_polled_at: None,
        slowed: false,
        user_id: None,
        auth_time: None,
        decided_at: None,
        redeemed_at: None,
        created_at: now,
        expires_at: now + DEVICE_CODE_TTL,
    };
    (device_code, user_code, row)
}

/// The scope of a device authorization request (RFC 8628 §3.1): the requested one, or
/// the server's default scopes when it names none (as Okta does); each must be one
/// the server offers (RFC 6749 §3.3).
pub fn scope(requested: Option<&str>, offered: &[ScopeDef]) -> Result<Scope, OAuthError> {
    let scope = match requested {
        Some(text) => Scope::parse(text)?,
        None => {
            let defaults: Vec<&str> = offered
                .iter()
                .filter(|s| s.is_default)
                .map(|s| s.name.as_str())
                .collect();
            if defaults.is_empty() {
                return Err(OAuthError::invalid_scope(
                    "The client must request scopes: the authorization server has no default scopes.",
                ));
            }
            Scope::parse(&defaults.join(" "))?
        }
    };
    if scope.iter().all(|s| offered.iter().any(|d| d.name == s)) {
        Ok(scope)
    } else {
        Err(OAuthError::invalid_scope(
            "One or more scopes are not configured for the authorization server resource.",
        ))
    }
}

/// An approved request, ready to be redeemed: who approved it, and when they signed in.
#[derive(Debug, PartialEq, Eq)]
pub struct Approved {
    pub user_id: String,
    pub auth_time: UnixTime,
}

/// RFC 8628 §3.5: the answer to a poll, on the row as `poll_device_code` left it. A
/// redeemed code is `invalid_grant` whatever its age (it was used); then an expired one
/// is `expired_token`, a denied one `access_denied`, a poll that came too soon
/// `slow_down` and a pending one `authorization_pending`.
pub fn check_poll(device: &DeviceCode, now: UnixTime) -> Result<Approved, OAuthError> {
    if device.status == DeviceStatus::Redeemed {
        return Err(OAuthError::invalid_grant(
            "The device code is invalid or has already been used.",
        ));
    }
    if now >= device.expires_at {
        return Err(OAuthError::new(
            ErrorCode::ExpiredToken,
            "The device code has expired.",
        ));
    }
    match (device.status, &device.user_id, device.auth_time) {
        (DeviceStatus::Approved, Some(user_id), Some(auth_time)) => Ok(Approved {
            user_id: user_id.clone(),
            auth_time,
        }),
        (DeviceStatus::Denied, _, _) => Err(OAuthError::new(
            ErrorCode::DeviceAccessDenied,
            "The resource owner denied the request.",
        )),
        _ if device.slowed => Err(OAuthError::new(
            ErrorCode::SlowDown,
            "The client is polling too quickly; wait longer between requests.",
        )),
        _ => Err(OAuthError::new(
            ErrorCode::AuthorizationPending,
            "The device authorization is pending. Please try again later.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_alphabet_and_normalise_back() {
        for _ in 0..200 {
            let code = new_user_code();
            assert_eq!(code.len(), USER_CODE_LEN);
            assert!(
                code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)),
                "{code}"
            );
            let shown = display(&code);
            assert_eq!(shown.len(), 9);
            assert_eq!(normalise(&shown).as_deref(), Some(code.as_str()));
            let typed = format!(" {} ", shown.to_lowercase().replace('-', " - "));
            assert_eq!(normalise(&typed).as_deref(), Some(code.as_str()));
        }
        assert_eq!(normalise("bcdf-ghjk").as_deref(), Some("BCDFGHJK"));
        // A vowel, a digit, too short, too long: never a code.
        for bad in [
            "BCDF-GHJA",
            "BCDF-GHJ1",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "",
            "ÄBCD-FGHJ",
        ] {
            assert_eq!(normalise(bad), None, "{bad}");
        }
        assert_eq!(normalise(&"B".repeat(100)), None);
    }

    fn row(status: DeviceStatus, slowed: bool) -> DeviceCode {
        let (_, _, mut row) = issue("default", "c1", &Scope::parse("openid").unwrap(), 100);
        row.status = status;
        row.slowed = slowed;
        if status == DeviceStatus::Approved {
            row.user_id = Some("00u1".into());
            row.auth_time = Some(90);
        }
        row
    }

    #[test]
    fn each_state_gets_its_rfc_8628_answer() {
        let code = |d: &DeviceCode, now| check_poll(d, now).unwrap_err().code();
        assert_eq!(
            code(&row(DeviceStatus::Pending, false), 101),
            "authorization_pending"
        );
        assert_eq!(code(&row(DeviceStatus::Pending, true), 101), "slow_down");
        assert_eq!(
            code(&row(DeviceStatus::Denied, false), 101),
            "access_denied"
        );
        assert_eq!(
            check_poll(&row(DeviceStatus::Denied, false), 101)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            code(&row(DeviceStatus::Pending, false), 700),
            "expired_token"
        );
        assert_eq!(
            code(&row(DeviceStatus::Approved, false), 700),
            "expired_token"
        );
        assert_eq!(
            code(&row(DeviceStatus::Redeemed, false), 101),
            "invalid_grant"
        );
        assert_eq!(
            code(&row(DeviceStatus::Redeemed, false), 9999),
            "invalid_grant"
        );
        assert_eq!(
            check_poll(&row(DeviceStatus::Approved, true), 101).unwrap(),
            Approved {
                user_id: "00u1".into(),
                auth_time: 90
            }
        );
    }

    #[test]
    fn the_row_holds_hashes_and_expires_in_600_seconds() {
        let (device_code, user_code, row) =
            issue("default", "c1", &Scope::parse("openid").unwrap(), 100);
        assert_eq!(row.device_code_hash, sha256(device_code.as_bytes()));
        assert_eq!(row.user_code_hash, user_code_hash(&user_code));
        assert_eq!((row.expires_at, row.poll_interval), (700, 5));
    }
}
