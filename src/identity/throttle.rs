//! Brute-force throttling with counters in the store, so that it holds across every
//! instance on one database (OWASP Authentication Cheat Sheet, "Protect against
//! automated attacks"; NIST SP 800-63B §5.2.2, rate limiting rather than lockout).
//!
//! - Sign-in: one counter per (username, client address) and one per address. A
//!   username is never locked out everywhere: an attacker elsewhere slows down only
//!   their own address, and the owner signs in from theirs. The per-address counter
//!   has a higher threshold and catches password spraying (one address, many
//!   usernames). While either is blocked the password is not checked at all (no
//!   Argon2 work), and the answer is the same for known and unknown usernames (the
//!   counters are keyed by the username as typed, not by a user).
//! - Client authentication: one counter per (client_id, address). Not per client_id
//!   alone: client ids are public, so a counter shared by every address would let
//!   anyone lock a real client out by sending wrong secrets under its id.
//!
//! Keys are SHA-256 of what they count (the store never holds a username or address
//! from here). A sign-in attempt is counted before the password is checked, in the
//! same statement that checks the block (`ThrottleStore::throttle_attempt`), so a burst
//! of parallel guesses is throttled like a sequence; a success takes its count back.
//! Client authentication reads its counter first and counts only failures, so the
//! token endpoint's usual path writes nothing: a burst of parallel wrong secrets may
//! overshoot the threshold by the burst's size, which matters little against 256-bit
//! random secrets (the throttle is there to make guessing slow and noisy).

use crate::clock::UnixTime;
use crate::config::ThrottleConfig;
use crate::crypto::sha256;
use crate::store::{Attempt, DynStore, StoreResult, ThrottleRule};

/// What a key counts, hashed with a label so that keys of different kinds never meet.
fn key(kind: &str, parts: &[&str]) -> String {
    let mut text = String::from(kind);
    for part in parts {
        // A separator no username, address or client id holds.
        text.push('\u{0}');
        text.push_str(part);
    }
    let digest: String = sha256(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{digest}")
}

/// The peer address, or a fixed stand-in when the server does not know it.
fn address(ip: Option<&str>) -> &str {
    ip.unwrap_or("unknown")
}

/// Sign-in logins are compared without regard to case (`UserStore::find_user_by_login`):
/// so are their counters.
pub fn user_key(username: &str, ip: Option<&str>) -> String {
    key("user", &[&username.trim().to_lowercase(), address(ip)])
}

pub fn ip_key(ip: Option<&str>) -> String {
    key("ip", &[address(ip)])
}

pub fn client_key(client_id: &str, ip: Option<&str>) -> String {
    key("client", &[client_id, address(ip)])
}

impl ThrottleConfig {
    pub fn sign_in_rule(&self) -> ThrottleRule {
        ThrottleRule { threshold: self.sign_in_threshold, window: self.window_seconds, max_delay: self.max_delay_seconds }
    }

    pub fn sign_in_ip_rule(&self) -> ThrottleRule {
        ThrottleRule { threshold: self.sign_in_ip_threshold, window: self.window_seconds, max_delay: self.max_delay_seconds }
    }

    pub fn client_rule(&self) -> ThrottleRule {
        ThrottleRule { threshold: self.client_threshold, window: self.window_seconds, max_delay: self.max_delay_seconds }
    }
}

/// Why an attempt may not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// Too many failures for this username from this address.
    UserAtAddress { until: UnixTime },
    /// Too many failures from this address, across usernames.
    Address { until: UnixTime },
}

impl Blocked {
    pub fn until(self) -> UnixTime {
        match self {
            Blocked::UserAtAddress { until } | Blocked::Address { until } => until,
        }
    }

    /// Whole seconds to wait from `now`, at least one (`Retry-After`).
    pub fn retry_after(self, now: UnixTime) -> i64 {
        (self.until() - now).max(1)
    }
}

/// A sign-in attempt counted against both of its counters.
#[derive(Debug, Clone)]
pub struct SignInAttempt {
    user_key: String,
    ip_key: String,
}

/// Counts a sign-in attempt for `username` from `ip`, or says why it must wait. The
/// (username, address) counter goes first: an attempt it blocks does not count
/// against the address.
pub async fn begin_sign_in(
    store: &DynStore,
    config: &ThrottleConfig,
    username: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> StoreResult<Result<SignInAttempt, Blocked>> {
    let attempt = SignInAttempt { user_key: user_key(username, ip), ip_key: ip_key(ip) };
    if let Attempt::Blocked { until } = store.throttle_attempt(&attempt.user_key, &config.sign_in_rule(), now).await? {
        return Ok(Err(Blocked::UserAtAddress { until }));
    }
    if let Attempt::Blocked { until } = store.throttle_attempt(&attempt.ip_key, &config.sign_in_ip_rule(), now).await? {
        return Ok(Err(Blocked::Address { until }));
    }
    Ok(Ok(attempt))
}

/// The password was right: the (username, address) counter starts again, and the
/// address gets this attempt back (people who sign in are not spraying).
pub async fn sign_in_succeeded(store: &DynStore, attempt: &SignInAttempt) -> StoreResult<()> {
    store.throttle_clear(&attempt.user_key).await?;
    store.throttle_release(&attempt.ip_key).await
}

/// Before checking a client's credentials: blocked until when, if it is. A read, so
/// that the token endpoint's usual path writes nothing; failures are counted after.
pub async fn client_blocked(store: &DynStore, client_id: &str, ip: Option<&str>, now: UnixTime) -> StoreResult<Option<UnixTime>> {
    let state = store.throttle_state(&client_key(client_id, ip)).await?;
    Ok(state.filter(|s| s.blocked_until > now).map(|s| s.blocked_until))
}

/// After a failed client authentication: counts it.
pub async fn client_failed(store: &DynStore, config: &ThrottleConfig, client_id: &str, ip: Option<&str>, now: UnixTime) -> StoreResult<()> {
    store.throttle_attempt(&client_key(client_id, ip), &config.client_rule(), now).await.map(|_| ())
}

/// After a client authenticated: forgets its failures, if it had any (one read
/// already told; most requests have none and write nothing).
pub async fn client_succeeded(store: &DynStore, client_id: &str, ip: Option<&str>) -> StoreResult<()> {
    store.throttle_clear(&client_key(client_id, ip)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hide_what_they_count_and_ignore_case() {
        let k = user_key("Alice@Example.com ", Some("192.0.2.1"));
        assert_eq!(k, user_key("alice@example.com", Some("192.0.2.1")));
        assert!(k.starts_with("user:") && !k.contains("alice") && !k.contains("192.0.2.1"));
        assert_ne!(k, user_key("alice@example.com", Some("192.0.2.2")));
        assert_ne!(ip_key(Some("192.0.2.1")), client_key("", Some("192.0.2.1")));
        // The separator keeps ("a", "b\0c") and ("a\0b", "c") apart.
        assert_ne!(key("x", &["a", "bc"]), key("x", &["ab", "c"]));
    }

    #[test]
    fn the_delay_doubles_from_the_threshold() {
        let rule = ThrottleConfig::default().sign_in_rule();
        let delays: Vec<i64> = (1..=8).map(|n| rule.delay(n)).collect();
        assert_eq!(delays, [0, 0, 0, 0, 2, 4, 8, 16]);
        assert_eq!(rule.delay(40), 900);
        assert_eq!(rule.delay(1000), 900);
    }
}
