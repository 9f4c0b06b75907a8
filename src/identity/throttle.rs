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
//! An "address" is an IPv4 address, or the /64 prefix of an IPv6 address (one host
//! usually holds a whole /64 and can pick any address in it, RFC 4291 §2.5.4, RFC 8981);
//! an IPv4-mapped IPv6 address is its IPv4 address. Keys are SHA-256 of what they
//! count (the store never holds a username or address from here).
//!
//! Both sign-in counters are read before the password is checked; while either is
//! blocked the attempt goes no further. Both count failures only, after the password
//! was found wrong, and a success clears the (username, address) counter and takes
//! nothing from the address counter, so that signing in to one's own account cannot
//! pay for guesses at others, people signing in from one shared address never block
//! it, and many correct sign-ins of one user in parallel (a CI suite's test user)
//! never throttle themselves. Guesses in flight together all pass the first check, so
//! their answers are checked again: a wrong password that finds its counter already
//! blocked by the burst's other failures, and a right one that finds either counter
//! blocked, are answered as throttled, exactly like an attempt refused up front. A
//! parallel burst therefore learns no more than a sequence would: whether each of the
//! first `threshold` guesses or so was right (each guess still waits for the bounded
//! Argon2 pool).
//!
//! Client authentication reads its counter first and counts only failures, so the
//! token endpoint's usual path writes nothing: a burst of parallel wrong secrets may
//! overshoot the threshold by the burst's size, which matters little against 256-bit
//! random secrets (the throttle is there to make guessing slow and noisy).

use std::net::{IpAddr, Ipv6Addr};

use crate::clock::UnixTime;
use crate::config::ThrottleConfig;
use crate::crypto::{hex, sha256};
use crate::store::{Attempt, DynStore, StoreResult, ThrottleRule};

/// What a key counts, hashed with a label so that keys of different kinds never meet.
fn key(kind: &str, parts: &[&str]) -> String {
    let mut text = String::from(kind);
    for part in parts {
        // A separator no username, address or client id holds.
        text.push('\u{0}');
        text.push_str(part);
    }
    format!("{kind}:{}", hex(&sha256(text.as_bytes())))
}

/// What a counter holds one address as: an IPv4 address whole, an IPv6 address by its
/// /64 prefix, an IPv4-mapped IPv6 address as IPv4; a fixed stand-in when the server
/// does not know the address.
fn address(ip: Option<&str>) -> String {
    let Some(text) = ip else {
        return "unknown".into();
    };
    match text.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(prefix))
        }
        Err(_) => text.to_string(),
    }
}

/// Sign-in logins are compared without regard to case (`UserStore::find_user_by_login`):
/// so are their counters.
pub fn user_key(username: &str, ip: Option<&str>) -> String {
    key("user", &[&username.trim().to_lowercase(), &address(ip)])
}

pub fn ip_key(ip: Option<&str>) -> String {
    key("ip", &[&address(ip)])
}

pub fn client_key(client_id: &str, ip: Option<&str>) -> String {
    key("client", &[client_id, &address(ip)])
}

impl ThrottleConfig {
    pub fn sign_in_rule(&self) -> ThrottleRule {
        ThrottleRule {
            threshold: self.sign_in_threshold,
            window: self.window_seconds,
            max_delay: self.max_delay_seconds,
        }
    }

    pub fn sign_in_ip_rule(&self) -> ThrottleRule {
        ThrottleRule {
            threshold: self.sign_in_ip_threshold,
            window: self.window_seconds,
            max_delay: self.max_delay_seconds,
        }
    }

    pub fn client_rule(&self) -> ThrottleRule {
        ThrottleRule {
            threshold: self.client_threshold,
            window: self.window_seconds,
            max_delay: self.max_delay_seconds,
        }
    }
}

/// Failed user codes at `/activate` from one address (RFC 8628 §5.1, §5.2).
pub fn user_code_ip_key(ip: Option<&str>) -> String {
    key("user_code", &[&address(ip)])
}

/// Failed user codes at `/activate` from every address together: a guesser spread over
/// many addresses is slowed down too.
pub fn user_code_global_key() -> String {
    key("user_code_all", &[])
}

/// Wrong user codes one address may enter before it waits: a person mistypes a few
/// times, a guesser needs ~2^33 tries.
pub const USER_CODE_IP_THRESHOLD: i64 = 10;

/// Wrong user codes from everywhere, within the window, before everyone waits.
pub const USER_CODE_GLOBAL_THRESHOLD: i64 = 100;

impl ThrottleConfig {
    pub fn user_code_ip_rule(&self) -> ThrottleRule {
        ThrottleRule {
            threshold: USER_CODE_IP_THRESHOLD,
            window: self.window_seconds,
            max_delay: self.max_delay_seconds,
        }
    }

    pub fn user_code_global_rule(&self) -> ThrottleRule {
        ThrottleRule {
            threshold: USER_CODE_GLOBAL_THRESHOLD,
            window: self.window_seconds,
            max_delay: self.max_delay_seconds,
        }
    }
}

/// Before a user code is looked up: the seconds to wait, when the address's counter
/// or the global one is blocked at `now` (the code is then not looked up at all).
pub async fn user_code_blocked(
    store: &DynStore,
    ip: Option<&str>,
    now: UnixTime,
) -> StoreResult<Option<i64>> {
    for key in [user_code_ip_key(ip), user_code_global_key()] {
        if let Some(state) = store
            .throttle_state(&key)
            .await?
            .filter(|s| s.blocked_until > now)
        {
            return Ok(Some((state.blocked_until - now).max(1)));
        }
    }
    Ok(None)
}

/// A user code that matched nothing: counts it against both counters (each count one
/// atomic statement, so parallel guesses are counted like a sequence).
pub async fn user_code_failed(
    store: &DynStore,
    config: &ThrottleConfig,
    ip: Option<&str>,
    now: UnixTime,
) -> StoreResult<()> {
    store
        .throttle_attempt(&user_code_ip_key(ip), &config.user_code_ip_rule(), now)
        .await?;
    store
        .throttle_attempt(
            &user_code_global_key(),
            &config.user_code_global_rule(),
            now,
        )
        .await?;
    Ok(())
}

/// "Forgot password?" and other e-mail requests: every request counts, since there is
/// no failure to wait for (the answer is the same whether the account exists), against
/// the username at the address (the sign-in threshold) and against the address (the
/// sign-in address threshold), each one atomic statement. The seconds to wait when
/// either is blocked at `now`; the request must then send nothing.
pub async fn email_request(
    store: &DynStore,
    config: &ThrottleConfig,
    username: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> StoreResult<Option<i64>> {
    let at = address(ip);
    let counters = [
        (
            key("email-user", &[&username.trim().to_lowercase(), &at]),
            config.sign_in_rule(),
        ),
        (key("email-ip", &[&at]), config.sign_in_ip_rule()),
    ];
    for (key, rule) in counters {
        if let Attempt::Blocked { until } = store.throttle_attempt(&key, &rule, now).await? {
            return Ok(Some((until - now).max(1)));
        }
    }
    Ok(None)
}

/// WebAuthn challenges a person may ask for, within the window, before each next one
/// waits: registering a passkey, or proving one as a second factor, takes one or two;
/// cancelling the browser's dialog and trying again a few more.
pub const PASSKEY_CHALLENGE_USER_THRESHOLD: i64 = 20;

/// Before a WebAuthn challenge is made (`/login/passkey/options`,
/// `/signin/verify/passkey/options`, `/account/passkeys/options`), each of which writes
/// a challenge row: every request counts, as there is no failure to wait for, against
/// the address (the sign-in address threshold) and, when the challenge names a person,
/// against them (`PASSKEY_CHALLENGE_USER_THRESHOLD`), each one atomic statement. The
/// seconds to wait when either is blocked at `now`; no challenge may then be made.
pub async fn passkey_challenge(
    store: &DynStore,
    config: &ThrottleConfig,
    user_id: Option<&str>,
    ip: Option<&str>,
    now: UnixTime,
) -> StoreResult<Option<i64>> {
    let mut counters = vec![(key("passkey-ip", &[&address(ip)]), config.sign_in_ip_rule())];
    if let Some(user_id) = user_id {
        counters.push((
            key("passkey-user", &[user_id]),
            ThrottleRule {
                threshold: PASSKEY_CHALLENGE_USER_THRESHOLD,
                window: config.window_seconds,
                max_delay: config.max_delay_seconds,
            },
        ));
    }
    for (key, rule) in counters {
        if let Attempt::Blocked { until } = store.throttle_attempt(&key, &rule, now).await? {
            return Ok(Some((until - now).max(1)));
        }
    }
    Ok(None)
}

/// Wrong second-factor codes (TOTP, recovery codes) of one person, from every address:
/// whoever guesses holds the password already, so the counter follows the account.
pub fn factor_key(user_id: &str) -> String {
    key("factor", &[user_id])
}

/// Before a second-factor code is checked: the seconds to wait when the person's
/// counter is blocked at `now` (the code is then not checked at all).
pub async fn factor_blocked(
    store: &DynStore,
    user_id: &str,
    now: UnixTime,
) -> StoreResult<Option<i64>> {
    Ok(store
        .throttle_state(&factor_key(user_id))
        .await?
        .filter(|s| s.blocked_until > now)
        .map(|s| (s.blocked_until - now).max(1)))
}

/// A wrong second-factor code: counted (one atomic statement, so parallel guesses
/// count like a sequence) under the sign-in rule. The wait it started, if it did.
pub async fn factor_failed(
    store: &DynStore,
    config: &ThrottleConfig,
    user_id: &str,
    now: UnixTime,
) -> StoreResult<Option<i64>> {
    let rule = config.sign_in_rule();
    Ok(
        match store
            .throttle_attempt(&factor_key(user_id), &rule, now)
            .await?
        {
            Attempt::Allowed { failures } if rule.delay(failures) > 0 => Some(rule.delay(failures)),
            _ => None,
        },
    )
}

/// A right second-factor code: the person's failures are forgotten.
pub async fn factor_succeeded(store: &DynStore, user_id: &str) -> StoreResult<()> {
    store.throttle_clear(&factor_key(user_id)).await
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

/// A sign-in attempt that passed the first check of its two counters.
#[derive(Debug, Clone)]
pub struct SignInAttempt {
    user_key: String,
    ip_key: String,
}

/// A block that an attempt's failure started, for the System Log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockStarted {
    pub blocked: Blocked,
    /// The counter's failures in a row, this one included.
    pub failures: i64,
}

/// Reads both counters for `username` from `ip`: the attempt may go on, or why it must
/// wait. Counts nothing (failures are counted by `sign_in_failed`).
pub async fn begin_sign_in(
    store: &DynStore,
    username: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> StoreResult<Result<SignInAttempt, Blocked>> {
    let attempt = SignInAttempt {
        user_key: user_key(username, ip),
        ip_key: ip_key(ip),
    };
    Ok(blocked(store, &attempt, now)
        .await?
        .map_or(Ok(attempt), Err))
}

/// The block either counter is under at `now`, if any.
async fn blocked(
    store: &DynStore,
    attempt: &SignInAttempt,
    now: UnixTime,
) -> StoreResult<Option<Blocked>> {
    if let Some(state) = store
        .throttle_state(&attempt.user_key)
        .await?
        .filter(|s| s.blocked_until > now)
    {
        return Ok(Some(Blocked::UserAtAddress {
            until: state.blocked_until,
        }));
    }
    if let Some(state) = store
        .throttle_state(&attempt.ip_key)
        .await?
        .filter(|s| s.blocked_until > now)
    {
        return Ok(Some(Blocked::Address {
            until: state.blocked_until,
        }));
    }
    Ok(None)
}

/// The password was right. If parallel failures blocked either counter while it was
/// being checked, the attempt is answered as throttled (`Err`), like one refused up
/// front; otherwise the (username, address) counter starts again. The address counter
/// is left alone: it holds failures only, and one's own success must not take back
/// failures at other usernames.
pub async fn sign_in_succeeded(
    store: &DynStore,
    attempt: &SignInAttempt,
    now: UnixTime,
) -> StoreResult<Result<(), Blocked>> {
    if let Some(blocked) = blocked(store, attempt, now).await? {
        return Ok(Err(blocked));
    }
    store.throttle_clear(&attempt.user_key).await?;
    Ok(Ok(()))
}

/// The password was wrong: counts the failure against both counters, each check and
/// count one atomic statement. `Err` when the (username, address) counter was already
/// blocked by parallel failures (this one is then answered as throttled, and not
/// counted there); otherwise the block this failure started on either counter, if it
/// did.
pub async fn sign_in_failed(
    store: &DynStore,
    config: &ThrottleConfig,
    attempt: &SignInAttempt,
    now: UnixTime,
) -> StoreResult<Result<Option<BlockStarted>, Blocked>> {
    let ip_rule = config.sign_in_ip_rule();
    let at_address = match store
        .throttle_attempt(&attempt.ip_key, &ip_rule, now)
        .await?
    {
        Attempt::Allowed { failures } if ip_rule.delay(failures) > 0 => Some(BlockStarted {
            blocked: Blocked::Address {
                until: now + ip_rule.delay(failures),
            },
            failures,
        }),
        // Blocked meanwhile by a parallel failure, which logged it.
        _ => None,
    };
    let user_rule = config.sign_in_rule();
    let at_user = match store
        .throttle_attempt(&attempt.user_key, &user_rule, now)
        .await?
    {
        Attempt::Blocked { until } => return Ok(Err(Blocked::UserAtAddress { until })),
        Attempt::Allowed { failures } if user_rule.delay(failures) > 0 => Some(BlockStarted {
            blocked: Blocked::UserAtAddress {
                until: now + user_rule.delay(failures),
            },
            failures,
        }),
        Attempt::Allowed { .. } => None,
    };
    Ok(Ok(at_address.or(at_user)))
}

/// After a failed client authentication: counts it. Returns the wait it started, if
/// this failure started a block.
pub async fn client_failed(
    store: &DynStore,
    config: &ThrottleConfig,
    client_id: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> StoreResult<Option<i64>> {
    let rule = config.client_rule();
    Ok(
        match store
            .throttle_attempt(&client_key(client_id, ip), &rule, now)
            .await?
        {
            Attempt::Allowed { failures } if rule.delay(failures) > 0 => Some(rule.delay(failures)),
            _ => None,
        },
    )
}

/// After a client authenticated: forgets its failures, if it had any (one read
/// already told; most requests have none and write nothing).
pub async fn client_succeeded(
    store: &DynStore,
    client_id: &str,
    ip: Option<&str>,
) -> StoreResult<()> {
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
    fn ipv6_addresses_count_by_their_64_prefix_and_mapped_ipv4_as_ipv4() {
        let one = Some("2001:db8:1:2::1");
        for same in ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:DB8:1:2:0:0:0:7"] {
            assert_eq!(ip_key(one), ip_key(Some(same)), "{same}");
            assert_eq!(user_key("a", one), user_key("a", Some(same)));
            assert_eq!(client_key("c", one), client_key("c", Some(same)));
        }
        assert_ne!(ip_key(one), ip_key(Some("2001:db8:1:3::1")), "another /64");
        assert_eq!(ip_key(Some("::ffff:192.0.2.1")), ip_key(Some("192.0.2.1")));
        assert_ne!(
            ip_key(Some("192.0.2.1")),
            ip_key(Some("192.0.2.2")),
            "IPv4 whole"
        );
        assert_eq!(address(Some("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
        assert_eq!(address(None), "unknown");
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
