//! DPoP proofs (RFC 9449 §4.3): a JWT the client signs with a key of its own, per
//! request, binding tokens to that key. This module decides whether a proof is good;
//! recording its `jti` (single use) is the caller's, as is the server nonce's clock.

use url::Url;

use super::OAuthError;
use super::error::ErrorCode;
use crate::clock::UnixTime;
use crate::crypto::{b64url, sha256};
use crate::tokens::jose::{ASYMMETRIC_ALGS, HeaderProblem, JoseError, Jws, Rules};

/// A proof's `iat` may be this many seconds old (RFC 9449 §11.1: a short window).
pub const MAX_AGE: i64 = 60;
/// ... or this many seconds ahead (clock skew).
pub const SKEW: i64 = 5;
pub const MAX_JTI_LEN: usize = 256;
/// The longest DPoP header accepted.
pub const MAX_PROOF_LEN: usize = 4 * 1024;

/// A proof's header: an asymmetric algorithm (never `none`, never HMAC: §4.3 item 5)
/// and the key carried in `jwk` (item 7), nothing named elsewhere (`jku`, `x5u`,
/// `x5c`, never fetched). A `kid` is allowed (RFC 9449 does not forbid it) and
/// ignored: it selects nothing.
pub const RULES: Rules<'static> = Rules {
    algs: ASYMMETRIC_ALGS,
    embedded_key: true,
};

/// What the proof must match.
pub struct Expected<'a> {
    /// The request's method (§4.3 item 9).
    pub htm: &'a str,
    /// The request's URI as the server's public URL says, no query or fragment.
    pub htu: &'a str,
    pub now: UnixTime,
    /// At a resource endpoint: the access token presented with the proof (§4.3 item 11).
    pub access_token: Option<&'a str>,
    /// `Some(check)` when the server demands a nonce (§8): whether a nonce is current.
    pub nonce: Option<&'a dyn Fn(&str) -> bool>,
}

/// A proof that passed, naming its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// RFC 7638 thumbprint of the proof's key: the `jkt` tokens are bound to.
    pub jkt: String,
    /// The single-use record's key: SHA-256 of the key's thumbprint and the `jti`.
    pub replay_key: Vec<u8>,
    pub keep_until: UnixTime,
}

/// §7.1: `invalid_dpop_proof`.
pub fn invalid(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, description)
}

/// §8: the server wants a (fresh) nonce in the proof.
pub fn use_nonce() -> OAuthError {
    OAuthError::new(
        ErrorCode::UseDpopNonce,
        "Authorization server requires nonce in DPoP proof.",
    )
}

/// §6.1 `ath`: base64url SHA-256 of the access token.
pub fn ath(access_token: &str) -> String {
    b64url(&sha256(access_token.as_bytes()))
}

/// What a proof the reader refused is told (§7.1 `error_description`).
fn refusal(e: &JoseError) -> &'static str {
    match e {
        JoseError::Header(HeaderProblem::NoAlg) => "The DPoP proof has no alg.",
        JoseError::Header(HeaderProblem::Alg) => "The DPoP proof's algorithm is not supported.",
        JoseError::Header(HeaderProblem::KeyReference) => {
            "The DPoP proof must carry its key in jwk only."
        }
        JoseError::Header(HeaderProblem::NoJwk | HeaderProblem::Jwk) => {
            "The DPoP proof has no jwk."
        }
        JoseError::Header(HeaderProblem::Crit) => {
            "The DPoP proof names a critical extension this server does not understand."
        }
        JoseError::Header(HeaderProblem::Unreadable) => {
            "The DPoP proof's header is not acceptable."
        }
        JoseError::Key(_) | JoseError::PrivateMember(_) => {
            "The DPoP proof's jwk is not an acceptable public key."
        }
        JoseError::NumericDate(_) => {
            "The DPoP proof has a time claim (iat, exp or nbf) that is not a NumericDate."
        }
        JoseError::Malformed | JoseError::Signature => "The DPoP proof is not a well-formed JWT.",
    }
}

/// §4.3 item 10: `htu` compared without query and fragment, after URI normalisation
/// (RFC 3986 §6.2.2 and §6.2.3: case of scheme and host, default port, dot segments).
pub fn same_htu(presented: &str, expected: &str) -> bool {
    let norm = |s: &str| {
        Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
    };
    match (norm(presented), norm(expected)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// RFC 9449 §4.3: checks a proof, in the RFC's order.
pub fn check(proof: &str, e: &Expected<'_>) -> Result<Proof, OAuthError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(invalid("The DPoP proof is too long."));
    }
    // Items 2-3, 5 and 7: a well-formed JWT, its algorithm, its public key.
    let jws = Jws::read(proof, &RULES).map_err(|e| invalid(refusal(&e)))?;
    // Item 4: typ. A media type, so compared case-insensitively, and `application/`
    // may be omitted (RFC 7515 §4.1.9).
    let typ = jws.header.typ.as_deref().map(str::to_ascii_lowercase);
    if !matches!(typ.as_deref(), Some("dpop+jwt" | "application/dpop+jwt")) {
        return Err(invalid("The DPoP proof's typ must be dpop+jwt."));
    }
    // Item 6: the signature, by the key in the header.
    let key = jws
        .verify_embedded()
        .map_err(|_| invalid("The DPoP proof's signature is invalid."))?;
    // Items 8-10.
    let jti = jws
        .claim_str("jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or_else(|| invalid("The DPoP proof has no usable jti."))?;
    if jws.claim_str("htm") != Some(e.htm) {
        return Err(invalid("The DPoP proof's htm does not match the request."));
    }
    if !jws.claim_str("htu").is_some_and(|u| same_htu(u, e.htu)) {
        return Err(invalid("The DPoP proof's htu does not match the request."));
    }
    // Item 11 (§11.1): iat within a short window.
    let iat = jws
        .times
        .iat
        .ok_or_else(|| invalid("The DPoP proof has no iat."))?;
    if iat > e.now + SKEW || iat < e.now - MAX_AGE {
        return Err(invalid(
            "The DPoP proof's iat is outside the acceptable window.",
        ));
    }
    // §8: the server nonce, when demanded.
    if let Some(current) = e.nonce
        && !jws.claim_str("nonce").is_some_and(current)
    {
        return Err(use_nonce());
    }
    // §4.3 item 12 and §7.1: ath, at a resource endpoint.
    if let Some(token) = e.access_token
        && jws.claim_str("ath") != Some(ath(token).as_str())
    {
        return Err(invalid(
            "The DPoP proof's ath does not match the access token.",
        ));
    }
    let mut replay = b"dpop\0".to_vec();
    replay.extend_from_slice(key.thumbprint.as_bytes());
    replay.push(0);
    replay.extend_from_slice(jti.as_bytes());
    Ok(Proof {
        jkt: key.thumbprint.clone(),
        replay_key: sha256(&replay),
        keep_until: iat.max(e.now) + MAX_AGE + SKEW,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::jose::PublicJwk;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
    use serde_json::{Value, json};

    struct Key(EcdsaKeyPair);

    impl Key {
        fn new() -> Key {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .unwrap();
            Key(EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                pkcs8.as_ref(),
            )
            .unwrap())
        }
        fn jwk(&self) -> Value {
            let p = self.0.public_key().as_ref();
            json!({"kty": "EC", "crv": "P-256", "x": b64url(&p[1..33]), "y": b64url(&p[33..])})
        }
        fn sign(&self, header: Value, claims: Value) -> String {
            let input = format!(
                "{}.{}",
                b64url(header.to_string().as_bytes()),
                b64url(claims.to_string().as_bytes())
            );
            let sig = self.0.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
            format!("{input}.{}", b64url(sig.as_ref()))
        }
        fn proof(&self, claims: Value) -> String {
            self.sign(
                json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()}),
                claims,
            )
        }
    }

    const HTU: &str = "https://id.example/oauth2/v1/token";

    fn expected(now: i64) -> Expected<'static> {
        Expected {
            htm: "POST",
            htu: HTU,
            now,
            access_token: None,
            nonce: None,
        }
    }

    #[test]
    fn accepts_a_good_proof_and_names_its_key() {
        let k = Key::new();
        let p = check(&k.proof(json!({"jti": "a", "htm": "POST", "htu": "HTTPS://ID.example:443/oauth2/v1/token?x=1", "iat": 100})), &expected(100)).unwrap();
        assert_eq!(p.jkt, PublicJwk::parse(&k.jwk()).unwrap().thumbprint);
    }

    #[test]
    fn refuses_bad_proofs() {
        let k = Key::new();
        let good = json!({"jti": "a", "htm": "POST", "htu": HTU, "iat": 100});
        let code = |proof: String, e: &Expected| check(&proof, e).unwrap_err().code();
        let with = |name: &str, v: Value| {
            let mut c = good.clone();
            c[name] = v;
            k.proof(c)
        };
        assert_eq!(
            code(with("htm", json!("GET")), &expected(100)),
            "invalid_dpop_proof"
        );
        assert_eq!(
            code(
                with("htu", json!("https://id.example/oauth2/v1/userinfo")),
                &expected(100)
            ),
            "invalid_dpop_proof"
        );
        assert_eq!(
            code(with("iat", json!(100 - MAX_AGE - 1)), &expected(100)),
            "invalid_dpop_proof"
        );
        assert_eq!(
            code(with("iat", json!(100 + SKEW + 1)), &expected(100)),
            "invalid_dpop_proof"
        );
        let wrong_typ = k.sign(
            json!({"typ": "JWT", "alg": "ES256", "jwk": k.jwk()}),
            good.clone(),
        );
        assert_eq!(code(wrong_typ, &expected(100)), "invalid_dpop_proof");
        let mut private = k.jwk();
        private["d"] = json!("AAAA");
        let with_private = k.sign(
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private}),
            good.clone(),
        );
        assert_eq!(code(with_private, &expected(100)), "invalid_dpop_proof");
        let other = Key::new();
        let foreign = k.sign(
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": other.jwk()}),
            good.clone(),
        );
        assert_eq!(code(foreign, &expected(100)), "invalid_dpop_proof");
        // ath at a resource endpoint.
        let at = Expected {
            access_token: Some("tok"),
            ..expected(100)
        };
        assert_eq!(code(k.proof(good.clone()), &at), "invalid_dpop_proof");
        assert!(check(&with("ath", json!(ath("tok"))), &at).is_ok());
        // A nonce demanded.
        let current = |n: &str| n == "n1";
        let nonce = Expected {
            nonce: Some(&current),
            ..expected(100)
        };
        assert_eq!(code(k.proof(good.clone()), &nonce), "use_dpop_nonce");
        assert!(check(&with("nonce", json!("n1")), &nonce).is_ok());
        // htm is the request's method exactly: a GET proof is no HEAD proof.
        let get = k.proof(json!({"jti": "a", "htm": "GET", "htu": HTU, "iat": 100}));
        assert_eq!(
            code(
                get.clone(),
                &Expected {
                    htm: "HEAD",
                    ..expected(100)
                }
            ),
            "invalid_dpop_proof"
        );
        assert!(
            check(
                &get,
                &Expected {
                    htm: "GET",
                    ..expected(100)
                }
            )
            .is_ok()
        );
        // RFC 7519 §2: a time claim of another type is refused, not taken as absent.
        for (name, v) in [
            ("iat", json!("100")),
            ("iat", json!(null)),
            ("exp", json!("x")),
            ("nbf", json!("9999999999")),
        ] {
            assert_eq!(
                code(with(name, v), &expected(100)),
                "invalid_dpop_proof",
                "{name}"
            );
        }
        for header in ["jku", "x5u", "x5c", "crit"] {
            let h = k.sign(
                json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk(), header: "x"}),
                good.clone(),
            );
            assert_eq!(code(h, &expected(100)), "invalid_dpop_proof", "{header}");
        }
    }

    #[test]
    fn a_kid_is_ignored_and_typ_is_a_case_insensitive_media_type() {
        let k = Key::new();
        let good = json!({"jti": "a", "htm": "POST", "htu": HTU, "iat": 100});
        for (typ, kid) in [
            ("dpop+jwt", Some("k1")),
            ("DPoP+JWT", None),
            ("application/dpop+jwt", Some("x")),
            ("Application/DPOP+jwt", None),
        ] {
            let mut header = json!({"typ": typ, "alg": "ES256", "jwk": k.jwk()});
            if let Some(kid) = kid {
                header["kid"] = json!(kid);
            }
            let proof = check(&k.sign(header, good.clone()), &expected(100)).unwrap();
            assert_eq!(
                proof.jkt,
                PublicJwk::parse(&k.jwk()).unwrap().thumbprint,
                "{typ}"
            );
        }
        for typ in ["jwt", "dpop", "text/dpop+jwt", "application/jwt"] {
            let bad = k.sign(
                json!({"typ": typ, "alg": "ES256", "jwk": k.jwk()}),
                good.clone(),
            );
            assert!(check(&bad, &expected(100)).is_err(), "{typ}");
        }
    }
}
