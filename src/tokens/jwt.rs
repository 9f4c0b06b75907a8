//! Our own tokens: compact JWS with RS256 or ES256, signed with the server's ACTIVE key
//! and verified with a key it publishes, found by `kid`. Reading goes through the one
//! JOSE reader (`jose::Jws::read`): `alg: none`, HMAC, `crit` and keys named in the
//! token (`jwk`, `jku`, `x5u`, `x5c`) are refused there, nothing is fetched, and
//! `exp`/`nbf`/`iat` must be NumericDates. The header's `alg` must also be the key's own.
//! Time claims are the caller's to check, with its `now`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::jose::{self, JoseError, Jws};
pub use super::keys::header_kid;
use super::keys::{Keyring, OWN, SigningKey};
use crate::crypto::b64url;

/// Longest token accepted for verification (bytes).
pub const MAX_TOKEN_LEN: usize = jose::MAX_JWS_LEN;

/// Signs `claims` with `key`; `typ` is the JOSE header's media type (`JWT`, `at+jwt`).
pub fn sign(key: &SigningKey, typ: Option<&str>, claims: &impl Serialize) -> String {
    let header = match typ {
        Some(typ) => json!({"alg": key.alg, "kid": key.kid, "typ": typ}),
        None => json!({"alg": key.alg, "kid": key.kid}),
    };
    let mut token = b64url(header.to_string().as_bytes());
    token.push('.');
    token.push_str(&b64url(
        &serde_json::to_vec(claims).expect("claims serialise"),
    ));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&b64url(&signature));
    token
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's header is not acceptable")]
    Header,
    #[error("the token was not signed by a key of this authorization server")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    Signature,
}

impl From<JoseError> for JwtError {
    fn from(e: JoseError) -> JwtError {
        match e {
            JoseError::Malformed | JoseError::NumericDate(_) => JwtError::Malformed,
            JoseError::Signature => JwtError::Signature,
            JoseError::Header(_) | JoseError::Key(_) | JoseError::PrivateMember(_) => {
                JwtError::Header
            }
        }
    }
}

/// Verifies the signature against `ring` and returns the header's `typ` and the claims.
pub fn verify<T: DeserializeOwned>(
    token: &str,
    ring: &Keyring,
) -> Result<(Option<String>, T), JwtError> {
    let jws = Jws::<T>::read_as(token, &OWN)?;
    let kid = jws.header.kid.as_deref().ok_or(JwtError::UnknownKey)?;
    let key = ring.find(kid).ok_or(JwtError::UnknownKey)?;
    // The key decides the algorithm (RFC 8725 §3.1): an ES256 key never checks RS256.
    if jws.alg() != key.alg {
        return Err(JwtError::Header);
    }
    jws.verify_with(&key.jwk)?;
    Ok((jws.header.typ, jws.claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{MasterKey, b64url_decode};
    use crate::store::KeyStatus;
    use crate::tokens::keys;

    /// A token with any header, signed by the ring's key.
    fn signed(ring: &Keyring, header: serde_json::Value, claims: &str) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.as_bytes())
        );
        let signature = ring.signing.sign(input.as_bytes());
        format!("{input}.{}", b64url(&signature))
    }

    #[test]
    fn signed_by_us_is_not_enough_the_header_and_times_obey_the_one_reader() {
        let ring = ring();
        let kid = ring.signing.kid.clone();
        let ok = signed(&ring, json!({"alg": "RS256", "kid": kid}), r#"{"exp":1}"#);
        assert!(verify::<serde_json::Value>(&ok, &ring).is_ok());
        let jwk: serde_json::Value = serde_json::from_str(&ring.jwks).unwrap();
        for (name, value) in [
            ("jwk", jwk["keys"][0].clone()),
            ("jku", json!("http://127.0.0.1/")),
            ("x5u", json!("http://127.0.0.1/")),
            ("x5c", json!(["MII"])),
            ("crit", json!(["exp"])),
        ] {
            let t = signed(
                &ring,
                json!({"alg": "RS256", "kid": kid, name: value}),
                "{}",
            );
            assert_eq!(
                verify::<serde_json::Value>(&t, &ring).unwrap_err(),
                JwtError::Header,
                "{name}"
            );
            assert_eq!(header_kid(&t), None, "{name}");
        }
        for claims in [r#"{"exp":"1"}"#, r#"{"iat":"x"}"#, r#"{"nbf":null}"#] {
            let t = signed(&ring, json!({"alg": "RS256", "kid": kid}), claims);
            assert_eq!(
                verify::<serde_json::Value>(&t, &ring).unwrap_err(),
                JwtError::Malformed,
                "{claims}"
            );
        }
    }

    fn ring() -> Keyring {
        let master = MasterKey::from_bytes(&[5; 32]);
        let stored = keys::generate("org", KeyStatus::Active, 0, &master);
        keys::test_keyring(&[stored], &master)
    }

    #[test]
    fn signs_and_verifies() {
        let ring = ring();
        let token = sign(&ring.signing, Some("at+jwt"), &json!({"sub": "u"}));
        let (typ, claims): (_, serde_json::Value) = verify(&token, &ring).unwrap();
        assert_eq!(typ.as_deref(), Some("at+jwt"));
        assert_eq!(claims["sub"], "u");
    }

    #[test]
    fn refuses_tampering_none_and_foreign_keys() {
        let ring = ring();
        let token = sign(&ring.signing, None, &json!({"sub": "u"}));
        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims = format!(
            "{}.{}.{}",
            parts[0],
            b64url(br#"{"sub":"admin"}"#),
            parts[2]
        );
        assert_eq!(
            verify::<serde_json::Value>(&forged_claims, &ring).unwrap_err(),
            JwtError::Signature
        );
        let none = format!("{}.{}.", b64url(br#"{"alg":"none","kid":"x"}"#), parts[1]);
        assert!(verify::<serde_json::Value>(&none, &ring).is_err());
        let hs = format!(
            "{}.{}.{}",
            b64url(format!(r#"{{"alg":"HS256","kid":"{}"}}"#, ring.signing.kid).as_bytes()),
            parts[1],
            parts[2]
        );
        assert_eq!(
            verify::<serde_json::Value>(&hs, &ring).unwrap_err(),
            JwtError::Header
        );
        let other = ring_other();
        assert_eq!(
            verify::<serde_json::Value>(&token, &other).unwrap_err(),
            JwtError::UnknownKey
        );
        assert_eq!(
            verify::<serde_json::Value>("a.b", &ring).unwrap_err(),
            JwtError::Malformed
        );
    }

    #[test]
    fn header_kid_reads_the_header_only() {
        let ring = ring();
        let token = sign(&ring.signing, None, &json!({"sub": "u"}));
        assert_eq!(header_kid(&token), Some(ring.signing.kid.clone()));
        assert_eq!(
            header_kid(&format!("{}.x.y", b64url(br#"{"alg":"RS256"}"#))),
            None
        );
        assert_eq!(header_kid("not a token"), None);
    }

    #[test]
    fn es256_signs_verifies_and_refuses_an_alg_swap() {
        let master = MasterKey::from_bytes(&[5; 32]);
        let stored = keys::generate_alg(keys::Alg::Es256, "aus1", KeyStatus::Active, 0, &master);
        let ring = keys::test_keyring(&[stored], &master);
        let token = sign(&ring.signing, Some("JWT"), &json!({"sub": "u"}));
        let header: serde_json::Value =
            serde_json::from_slice(&b64url_decode(token.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(header["alg"], "ES256");
        let (_, claims): (_, serde_json::Value) = verify(&token, &ring).unwrap();
        assert_eq!(claims["sub"], "u");
        // The same kid with another alg in the header: refused before any crypto.
        let parts: Vec<&str> = token.split('.').collect();
        let swapped = format!(
            "{}.{}.{}",
            b64url(format!(r#"{{"alg":"RS256","kid":"{}"}}"#, ring.signing.kid).as_bytes()),
            parts[1],
            parts[2]
        );
        assert_eq!(
            verify::<serde_json::Value>(&swapped, &ring).unwrap_err(),
            JwtError::Header
        );
    }

    /// The cost of verifying our own tokens, N at a time, so a change to the reader can be
    /// measured before and after: `cargo test --lib tokens::jwt::tests::verify_cost --
    /// --ignored --nocapture` (debug build; the crypto is optimised C either way).
    #[test]
    #[ignore]
    fn verify_cost() {
        const N: u32 = 2000;
        let master = MasterKey::from_bytes(&[5; 32]);
        for alg in [keys::Alg::Rs256, keys::Alg::Es256] {
            let stored = keys::generate_alg(alg, "org", KeyStatus::Active, 0, &master);
            let ring = keys::test_keyring(&[stored], &master);
            let claims = json!({"iss": "https://id.example/oauth2/default", "sub": "00u1",
                "aud": "api://default", "iat": 1000, "exp": 4600, "jti": "AT.x",
                "scp": ["openid", "profile", "email"], "cid": "0oa1", "uid": "00u1"});
            let token = sign(&ring.signing, Some("at+jwt"), &claims);
            // The fastest of ten batches, in this thread's CPU time where the platform gives it
            // (the machine is shared: wall time counts other processes' turns too).
            let each = (0..10)
                .map(|_| {
                    let (cpu, wall) = (thread_cpu_ns(), std::time::Instant::now());
                    for _ in 0..N / 10 {
                        let (_, c): (_, serde_json::Value) = verify(&token, &ring).unwrap();
                        assert_eq!(c["sub"], "00u1");
                    }
                    match (cpu, thread_cpu_ns()) {
                        (Some(a), Some(b)) => std::time::Duration::from_nanos(b - a),
                        _ => wall.elapsed(),
                    }
                })
                .min()
                .unwrap()
                / (N / 10);
            println!(
                "jwt::verify {}: {each:?} per token (best of 10 x {})",
                alg.as_str(),
                N / 10
            );
        }
    }

    /// Nanoseconds this thread has run on a CPU, if the platform says.
    fn thread_cpu_ns() -> Option<u64> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec through a valid pointer.
        let done = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        (done == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }

    fn ring_other() -> Keyring {
        ring()
    }
}
