//! JWT client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9):
//! `private_key_jwt` (signed with a key the client registered) and `client_secret_jwt`
//! (HMAC keyed with the client secret). This module decides on the claims; finding the
//! key and recording the `jti` are the caller's (`flows::client_jwt`).
//!
//! Every failure is the same `invalid_client` (RFC 6749 §5.2): the answer never says
//! which check failed; the log does.

use crate::clock::UnixTime;
use crate::crypto::sha256;
use crate::tokens::jose::{ASYMMETRIC_ALGS, HMAC_ALGS, Jws, Rules};

/// RFC 7521 §4.2 / RFC 7523 §2.2: the one assertion type for client authentication.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Clock skew tolerated on `exp`, `nbf` and `iat` (seconds).
pub const SKEW: i64 = 30;
/// The longest an assertion may still be valid for when it arrives, skew included
/// (seconds): a long-lived assertion is a bearer credential; this bounds how long its
/// `jti` must be remembered.
pub const MAX_LIFETIME: i64 = 300;
/// An assertion issued longer ago than this is refused even if its `exp` is later.
pub const MAX_AGE: i64 = 300;
/// Longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 256;

/// The header rules for a client registered with `auth_method`: the algorithms of
/// that method only (an HMAC assertion is never checked with a public key, nor the
/// other way), and never a key carried or named in the header (`jwk`, `jku`, `x5u`,
/// `x5c`: RFC 8725 §3.10; the reader refuses them). `None` for a method that is not a
/// JWT one.
pub fn rules(auth_method: &str) -> Option<Rules<'static>> {
    let algs = match auth_method {
        "client_secret_jwt" => HMAC_ALGS,
        "private_key_jwt" => ASYMMETRIC_ALGS,
        _ => return None,
    };
    Some(Rules {
        algs,
        embedded_key: false,
    })
}

/// Either JWT method's algorithms: what an assertion may be read with before its
/// client (and so its method) is known.
const ANY_METHOD: Rules<'static> = Rules {
    algs: &[
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
        "ES384", "EdDSA",
    ],
    embedded_key: false,
};

/// What the assertion must say.
pub struct Expected<'a> {
    pub client_id: &'a str,
    /// The issuer and the URL of the endpoint being called (nothing else).
    pub audiences: &'a [String],
    pub now: UnixTime,
}

/// An assertion whose claims passed; its `jti` must now be used once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// SHA-256 of the client id and the `jti`: the single-use record's key.
    pub replay_key: Vec<u8>,
    /// Until when the record must be kept: past this, the assertion is refused anyway.
    pub keep_until: UnixTime,
}

/// Why an assertion was refused: for the log only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("iss or sub is not the client id")]
    Subject,
    #[error("aud does not name this server")]
    Audience,
    #[error("exp is missing or past")]
    Expired,
    #[error("exp is too far in the future")]
    TooLong,
    #[error("iat is too old or in the future")]
    IssuedAt,
    #[error("nbf is in the future")]
    NotYetValid,
    #[error("jti is missing or too long")]
    Jti,
}

/// The client id an assertion claims (`sub`), before anything is verified: which
/// client's keys to try. Read by the same reader and rules as the assertion itself.
pub fn claimed_client_id(assertion: &str) -> Option<String> {
    let jws = Jws::read(assertion, &ANY_METHOD).ok()?;
    jws.claim_str("sub").map(str::to_string)
}

/// RFC 7523 §3: the claims of an assertion read under `rules`, signature aside. The
/// time claims are NumericDates already (the reader refuses any other type).
pub fn check(jws: &Jws, expected: &Expected<'_>) -> Result<Accepted, Refused> {
    // §3 items 1 and 2; OpenID Connect Core §9: iss and sub are both the client id.
    if jws.claim_str("iss") != Some(expected.client_id)
        || jws.claim_str("sub") != Some(expected.client_id)
    {
        return Err(Refused::Subject);
    }
    // §3 item 3: the audience identifies the authorization server: its issuer, or the
    // URL of the endpoint called (what Okta requires). A string, or an array of exactly
    // one: an array naming other parties too is refused, so an assertion made for
    // another server that happens to list this one cannot be replayed here (the
    // audience-injection attack draft-ietf-oauth-rfc7523bis closes).
    let aud = match jws.claims.get("aud") {
        Some(serde_json::Value::String(a)) => Some(a.as_str()),
        Some(serde_json::Value::Array(list)) if list.len() == 1 => list[0].as_str(),
        _ => None,
    };
    let aud_ok = aud.is_some_and(|a| expected.audiences.iter().any(|e| e == a));
    if !aud_ok {
        return Err(Refused::Audience);
    }
    let now = expected.now;
    // §3 item 4: exp is required, and the JWT is refused once past it.
    let exp = jws.times.exp.ok_or(Refused::Expired)?;
    // Saturating: an `exp` of 1e300 reads as i64::MAX and must not overflow.
    if now >= exp.saturating_add(SKEW) {
        return Err(Refused::Expired);
    }
    if exp > now.saturating_add(MAX_LIFETIME) {
        return Err(Refused::TooLong);
    }
    // §3 item 5: nbf, when present.
    if jws
        .times
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(SKEW))
    {
        return Err(Refused::NotYetValid);
    }
    // §3 item 6: iat, when present, bounds the age.
    if let Some(iat) = jws.times.iat
        && (iat > now.saturating_add(SKEW) || iat < now.saturating_sub(MAX_AGE))
    {
        return Err(Refused::IssuedAt);
    }
    // §3 item 7 (OpenID Connect Core §9 makes it required): a jti, used once.
    let jti = jws
        .claim_str("jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or(Refused::Jti)?;
    let mut key = b"client_assertion\0".to_vec();
    key.extend_from_slice(expected.client_id.as_bytes());
    key.push(0);
    key.extend_from_slice(jti.as_bytes());
    Ok(Accepted {
        replay_key: sha256(&key),
        keep_until: exp.saturating_add(SKEW),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::b64url;
    use serde_json::{Value, json};

    fn jws(header: Value, claims: Value) -> Jws {
        let t = format!(
            "{}.{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes()),
            b64url(b"sig")
        );
        Jws::read(&t, &ANY_METHOD).unwrap()
    }

    fn good(now: i64) -> Value {
        json!({"iss": "c1", "sub": "c1", "aud": "https://id.example/oauth2/v1/token", "exp": now + 60, "iat": now, "jti": "j1"})
    }

    #[test]
    fn accepts_a_good_assertion_and_keys_the_replay_record_per_client() {
        let audiences = vec![
            "https://id.example".to_string(),
            "https://id.example/oauth2/v1/token".to_string(),
        ];
        let e = Expected {
            client_id: "c1",
            audiences: &audiences,
            now: 1000,
        };
        let a = check(&jws(json!({"alg": "RS256"}), good(1000)), &e).unwrap();
        assert_eq!(a.keep_until, 1060 + SKEW);
        let mut other = good(1000);
        other["iss"] = json!("c2");
        other["sub"] = json!("c2");
        let e2 = Expected {
            client_id: "c2",
            ..e
        };
        assert_ne!(
            check(&jws(json!({"alg": "RS256"}), other), &e2)
                .unwrap()
                .replay_key,
            a.replay_key
        );
        let mut listed = good(1000);
        listed["aud"] = json!(["https://id.example"]);
        assert!(
            check(&jws(json!({"alg": "RS256"}), listed), &e).is_ok(),
            "an array of exactly one"
        );
    }

    #[test]
    fn aud_arrays_naming_more_than_this_server_are_refused() {
        let audiences = vec!["https://id.example".to_string()];
        let e = Expected {
            client_id: "c1",
            audiences: &audiences,
            now: 1000,
        };
        for aud in [
            json!(["x", "https://id.example"]),
            json!(["https://id.example", "https://id.example"]),
            json!([]),
            json!([1]),
            json!(1),
        ] {
            let mut c = good(1000);
            c["aud"] = aud.clone();
            assert_eq!(
                check(&jws(json!({"alg": "RS256"}), c), &e),
                Err(Refused::Audience),
                "{aud}"
            );
        }
    }

    #[test]
    fn absurd_times_overflow_nothing() {
        let audiences = vec!["https://id.example/oauth2/v1/token".to_string()];
        for now in [1000, i64::MAX, i64::MIN] {
            let e = Expected {
                client_id: "c1",
                audiences: &audiences,
                now,
            };
            for (k, v) in [
                ("exp", json!(1e300)),
                ("exp", json!(-1e300)),
                ("exp", json!(i64::MAX)),
                ("nbf", json!(1e300)),
                ("iat", json!(-1e300)),
                ("iat", json!(i64::MIN)),
            ] {
                let mut c = good(1000);
                c[k] = v;
                assert!(
                    check(&jws(json!({"alg": "RS256"}), c), &e).is_err(),
                    "{k} at {now}"
                );
            }
        }
    }

    #[test]
    fn refuses_each_bad_claim() {
        let audiences = vec!["https://id.example".to_string()];
        let e = Expected {
            client_id: "c1",
            audiences: &audiences,
            now: 1000,
        };
        let with = |k: &str, v: Value| {
            let mut c = good(1000);
            c["aud"] = json!("https://id.example");
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v;
            }
            check(&jws(json!({"alg": "RS256"}), c), &e)
        };
        assert_eq!(with("iss", json!("c2")), Err(Refused::Subject));
        assert_eq!(with("sub", json!("c2")), Err(Refused::Subject));
        assert_eq!(
            with("aud", json!("https://evil.example")),
            Err(Refused::Audience)
        );
        assert_eq!(with("exp", Value::Null), Err(Refused::Expired));
        assert_eq!(with("exp", json!(1000 - SKEW)), Err(Refused::Expired));
        assert_eq!(
            with("exp", json!(1000 + MAX_LIFETIME + 1)),
            Err(Refused::TooLong)
        );
        assert_eq!(
            with("nbf", json!(1000 + SKEW + 1)),
            Err(Refused::NotYetValid)
        );
        assert_eq!(
            with("iat", json!(1000 - MAX_AGE - 1)),
            Err(Refused::IssuedAt)
        );
        assert_eq!(with("jti", Value::Null), Err(Refused::Jti));
        assert_eq!(with("jti", json!("x".repeat(300))), Err(Refused::Jti));
    }

    #[test]
    fn each_method_reads_its_own_algorithms_and_no_key_in_the_header() {
        let token = |header: Value, claims: Value| {
            format!(
                "{}.{}.{}",
                b64url(header.to_string().as_bytes()),
                b64url(claims.to_string().as_bytes()),
                b64url(b"sig")
            )
        };
        let secret = rules("client_secret_jwt").unwrap();
        let private = rules("private_key_jwt").unwrap();
        assert!(rules("client_secret_basic").is_none() && rules("none").is_none());
        assert_eq!(ANY_METHOD.algs, [HMAC_ALGS, ASYMMETRIC_ALGS].concat());
        let hs = token(json!({"alg": "HS256"}), good(1000));
        let rs = token(json!({"alg": "RS256"}), good(1000));
        assert!(Jws::read(&hs, &secret).is_ok() && Jws::read(&hs, &private).is_err());
        assert!(Jws::read(&rs, &private).is_ok() && Jws::read(&rs, &secret).is_err());
        for member in ["jwk", "jku", "x5u", "x5c", "crit"] {
            let t = token(json!({"alg": "RS256", member: "x"}), good(1000));
            assert!(Jws::read(&t, &private).is_err(), "{member}");
            assert_eq!(claimed_client_id(&t), None, "{member}");
        }
        assert_eq!(claimed_client_id(&rs).as_deref(), Some("c1"));
        // RFC 7519 §2: a time claim of another type is refused, not taken as absent.
        for (name, v) in [
            ("nbf", json!("9999999999")),
            ("iat", json!("x")),
            ("exp", json!("2000")),
        ] {
            let mut c = good(1000);
            c[name] = v;
            assert_eq!(
                Jws::read(&token(json!({"alg": "RS256"}), c), &private).unwrap_err(),
                crate::tokens::jose::JoseError::NumericDate(name),
            );
        }
    }
}
