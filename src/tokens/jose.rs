//! JWS made by others: client assertions (RFC 7523) and DPoP proofs (RFC 9449), checked
//! against a public key the server already trusts (a registered JWKS, a DPoP proof's
//! own `jwk`) or a client secret. `jwt.rs` is for the server's own tokens.
//!
//! What is refused before any key is used: more or fewer than three parts, a header
//! that is not a JSON object, `alg: none` or any algorithm not listed here, `crit`
//! (RFC 7515 §4.1.11: no extension is understood), and an algorithm the key cannot
//! have made (RFC 8725 §3.1: the key decides the algorithm, never the token; an HMAC
//! token is never checked with a public key). Nothing a token names (`jku`, `x5u`) is
//! ever fetched.

use aws_lc_rs::{hmac, signature};
use serde_json::{Map, Value};

use crate::crypto::{b64url, b64url_decode, sha256};

/// Longest compact JWS accepted (bytes).
pub const MAX_JWS_LEN: usize = 8 * 1024;

/// The asymmetric algorithms accepted for `private_key_jwt` and DPoP.
pub const ASYMMETRIC_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];
/// The algorithms accepted for `client_secret_jwt` (RFC 7518 §3.2).
pub const HMAC_ALGS: &[&str] = &["HS256", "HS384", "HS512"];

/// JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4).
pub const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("the JWS is malformed")]
    Malformed,
    #[error("the JWS header is not acceptable")]
    Header,
    #[error("the key is not usable: {0}")]
    Key(&'static str),
    #[error("the signature is invalid")]
    Signature,
    #[error("the key has the private or symmetric member '{0}'")]
    PrivateMember(&'static str),
}

/// RFC 7638 §3.2 thumbprint of an RSA public key: its required members in
/// lexicographic order, no whitespace, SHA-256, base64url. The members are base64url
/// text as the JWK carries them, so nothing needs escaping. Our own signing keys' `kid`
/// (`tokens::keys`) and the `jkt` of a client's key (DPoP) are both made here.
pub fn rsa_thumbprint(e: &str, n: &str) -> String {
    thumbprint(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#))
}

/// RFC 7638 §3.2 thumbprint of an EC public key: `crv`, `kty`, `x`, `y` in that order.
pub fn ec_thumbprint(crv: &str, x: &str, y: &str) -> String {
    thumbprint(&format!(
        r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#
    ))
}

/// RFC 8037 §2 thumbprint of an OKP public key: `crv`, `kty`, `x`.
pub fn okp_thumbprint(crv: &str, x: &str) -> String {
    thumbprint(&format!(r#"{{"crv":"{crv}","kty":"OKP","x":"{x}"}}"#))
}

fn thumbprint(canonical: &str) -> String {
    b64url(&sha256(canonical.as_bytes()))
}

/// A compact JWS split and decoded, not yet verified.
#[derive(Debug, Clone)]
pub struct Jws {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jws {
    pub fn parse(token: &str) -> Result<Jws, JoseError> {
        if token.len() > MAX_JWS_LEN {
            return Err(JoseError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed);
        };
        let object = |part: &str| -> Result<Map<String, Value>, JoseError> {
            match serde_json::from_slice(&b64url_decode(part).ok_or(JoseError::Malformed)?) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(JoseError::Malformed),
            }
        };
        let header = object(h)?;
        let claims = object(c)?;
        let signature = b64url_decode(s).ok_or(JoseError::Malformed)?;
        if header.contains_key("crit") {
            return Err(JoseError::Header);
        }
        Ok(Jws {
            header,
            claims,
            signing_input: token[..h.len() + 1 + c.len()].to_string(),
            signature,
        })
    }

    pub fn alg(&self) -> Result<&str, JoseError> {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JoseError::Header)
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A numeric date claim (RFC 7519 §2), whole seconds.
    pub fn claim_time(&self, name: &str) -> Option<i64> {
        let v = self.claims.get(name)?;
        v.as_i64()
            .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
    }

    /// Verifies the signature with a public key; the algorithm must be one the key can make.
    pub fn verify_with(&self, key: &PublicJwk) -> Result<(), JoseError> {
        let alg = self.alg()?;
        if !ASYMMETRIC_ALGS.contains(&alg) || !key.allows(alg) {
            return Err(JoseError::Header);
        }
        if key.verify(alg, self.signing_input.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(JoseError::Signature)
        }
    }

    /// Verifies an HMAC signature keyed with `secret` (RFC 7518 §3.2), in constant time.
    pub fn verify_hmac(&self, secret: &[u8]) -> Result<(), JoseError> {
        let algorithm = match self.alg()? {
            "HS256" => hmac::HMAC_SHA256,
            "HS384" => hmac::HMAC_SHA384,
            "HS512" => hmac::HMAC_SHA512,
            _ => return Err(JoseError::Header),
        };
        // RFC 7518 §3.2: the key must be at least as long as the hash output.
        if secret.len() < algorithm.digest_algorithm().output_len {
            return Err(JoseError::Key("the secret is shorter than the hash"));
        }
        hmac::verify(
            &hmac::Key::new(algorithm, secret),
            self.signing_input.as_bytes(),
            &self.signature,
        )
        .map_err(|_| JoseError::Signature)
    }
}

/// The public key material of a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Material {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// `crv` P-256 or P-384; the point uncompressed (0x04 ‖ x ‖ y).
    Ec {
        crv: &'static str,
        point: Vec<u8>,
    },
    /// `crv` Ed25519.
    Okp {
        x: Vec<u8>,
    },
}

/// A public JWK (RFC 7517) of a kind this server can verify with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub kid: Option<String>,
    /// The `alg` the key was registered for, if it says.
    pub alg: Option<String>,
    material: Material,
    /// RFC 7638 thumbprint, base64url.
    pub thumbprint: String,
}

impl PublicJwk {
    /// Reads a public JWK. A private or symmetric member is refused (it would mean a
    /// secret has been published), as is a key with `use` other than `sig`.
    pub fn parse(jwk: &Value) -> Result<PublicJwk, JoseError> {
        let map = jwk.as_object().ok_or(JoseError::Key("not a JSON object"))?;
        if let Some(name) = PRIVATE_MEMBERS.iter().find(|m| map.contains_key(**m)) {
            return Err(JoseError::PrivateMember(name));
        }
        if map.get("use").is_some_and(|u| u != "sig") {
            return Err(JoseError::Key("the key is not for signatures"));
        }
        let text = |name: &str| {
            map.get(name)
                .and_then(Value::as_str)
                .ok_or(JoseError::Key("a required member is missing"))
        };
        let bytes = |name: &str| {
            text(name)
                .and_then(|t| b64url_decode(t).ok_or(JoseError::Key("a member is not base64url")))
        };
        let (material, thumbprint) = match text("kty")? {
            "RSA" => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                if n.len() < 256 {
                    return Err(JoseError::Key("RSA keys must have at least 2048 bits"));
                }
                (
                    Material::Rsa { n, e },
                    rsa_thumbprint(text("e")?, text("n")?),
                )
            }
            "EC" => {
                let (crv, len) = match text("crv")? {
                    "P-256" => ("P-256", 32),
                    "P-384" => ("P-384", 48),
                    _ => return Err(JoseError::Key("unsupported curve")),
                };
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != len || y.len() != len {
                    return Err(JoseError::Key("bad coordinate length"));
                }
                let thumbprint = ec_thumbprint(crv, text("x")?, text("y")?);
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (Material::Ec { crv, point }, thumbprint)
            }
            "OKP" => {
                if text("crv")? != "Ed25519" {
                    return Err(JoseError::Key("unsupported curve"));
                }
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err(JoseError::Key("bad key length"));
                }
                (Material::Okp { x }, okp_thumbprint("Ed25519", text("x")?))
            }
            _ => return Err(JoseError::Key("unsupported key type")),
        };
        let alg = map.get("alg").and_then(Value::as_str).map(str::to_string);
        let key = PublicJwk {
            kid: map.get("kid").and_then(Value::as_str).map(str::to_string),
            alg,
            material,
            thumbprint,
        };
        if let Some(alg) = &key.alg
            && !key.allows(alg)
        {
            return Err(JoseError::Key("the alg does not fit the key"));
        }
        Ok(key)
    }

    /// Can this key have made a signature with `alg` (and, if it names one, is that its `alg`)?
    pub fn allows(&self, alg: &str) -> bool {
        if self.alg.as_deref().is_some_and(|a| a != alg) {
            return false;
        }
        match &self.material {
            Material::Rsa { .. } => matches!(
                alg,
                "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512"
            ),
            Material::Ec { crv: "P-256", .. } => alg == "ES256",
            Material::Ec { crv: "P-384", .. } => alg == "ES384",
            Material::Ec { .. } => false,
            Material::Okp { .. } => alg == "EdDSA",
        }
    }

    fn verify(&self, alg: &str, message: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            Material::Rsa { n, e } => {
                let params: &signature::RsaParameters = match alg {
                    "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                    "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                    "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
                    "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
                    "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
                    "PS512" => &signature::RSA_PSS_2048_8192_SHA512,
                    _ => return false,
                };
                signature::RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .verify(params, message, sig)
                .is_ok()
            }
            Material::Ec { point, .. } => {
                let algorithm: &dyn signature::VerificationAlgorithm = match alg {
                    "ES256" => &signature::ECDSA_P256_SHA256_FIXED,
                    "ES384" => &signature::ECDSA_P384_SHA384_FIXED,
                    _ => return false,
                };
                signature::UnparsedPublicKey::new(algorithm, point)
                    .verify(message, sig)
                    .is_ok()
            }
            Material::Okp { x } => {
                alg == "EdDSA"
                    && signature::UnparsedPublicKey::new(&signature::ED25519, x)
                        .verify(message, sig)
                        .is_ok()
            }
        }
    }
}

/// A client's JWKS document (fetched from its `jwks_uri`, or registered inline), parsed
/// to the keys this server can verify signatures with. A key it cannot use (`use`
/// `enc`, a curve or key type it does not implement, RSA under 2048 bits) is skipped:
/// a set published for many parties may well hold such keys beside the one for us
/// (RFC 7517 §5 lets implementations ignore keys they do not understand). A private
/// or symmetric member anywhere fails the whole set: the document leaks a secret and
/// none of it is trusted. A set with no usable key fails.
pub fn parse_jwks(text: &str) -> Result<Vec<PublicJwk>, JoseError> {
    let doc: Value = serde_json::from_str(text).map_err(|_| JoseError::Key("not JSON"))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(JoseError::Key("no keys array"))?;
    let mut usable = Vec::new();
    for key in keys {
        match PublicJwk::parse(key) {
            Ok(key) => usable.push(key),
            Err(e @ JoseError::PrivateMember(_)) => return Err(e),
            Err(_) => {}
        }
    }
    if usable.is_empty() {
        return Err(JoseError::Key("no usable signature key"));
    }
    Ok(usable)
}

/// The key a JWS header's `kid` names in `keys`; without a `kid`, the one key there
/// is when there is exactly one that allows the algorithm.
pub fn select<'k>(keys: &'k [PublicJwk], kid: Option<&str>, alg: &str) -> Option<&'k PublicJwk> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
        None => {
            let mut fitting = keys.iter().filter(|k| k.allows(alg));
            match (fitting.next(), fitting.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
    use serde_json::json;

    fn compact(header: Value, claims: Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let sig = sign(input.as_bytes());
        format!("{input}.{}", b64url(&sig))
    }

    #[test]
    fn es256_and_eddsa_verify_and_cross_algs_do_not() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let ec =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .unwrap();
        let point = ec.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64url(&point[1..33]), "y": b64url(&point[33..])});
        let key = PublicJwk::parse(&jwk).unwrap();
        let token = compact(json!({"alg": "ES256"}), json!({"a": 1}), |m| {
            ec.sign(&rng, m).unwrap().as_ref().to_vec()
        });
        Jws::parse(&token).unwrap().verify_with(&key).unwrap();
        let lying = compact(json!({"alg": "RS256"}), json!({"a": 1}), |m| {
            ec.sign(&rng, m).unwrap().as_ref().to_vec()
        });
        assert_eq!(
            Jws::parse(&lying).unwrap().verify_with(&key),
            Err(JoseError::Header)
        );

        let ed = Ed25519KeyPair::generate().unwrap();
        let okp = PublicJwk::parse(
            &json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(ed.public_key().as_ref())}),
        )
        .unwrap();
        let token = compact(json!({"alg": "EdDSA"}), json!({}), |m| {
            ed.sign(m).as_ref().to_vec()
        });
        Jws::parse(&token).unwrap().verify_with(&okp).unwrap();
        assert_eq!(
            Jws::parse(&token).unwrap().verify_with(&key),
            Err(JoseError::Header)
        );
    }

    #[test]
    fn refuses_none_crit_private_members_and_hmac_with_public_keys() {
        let none = format!("{}.{}.", b64url(br#"{"alg":"none"}"#), b64url(b"{}"));
        let ed = Ed25519KeyPair::generate().unwrap();
        let okp = PublicJwk::parse(
            &json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(ed.public_key().as_ref())}),
        )
        .unwrap();
        assert_eq!(
            Jws::parse(&none).unwrap().verify_with(&okp),
            Err(JoseError::Header)
        );
        let crit = format!(
            "{}.{}.",
            b64url(br#"{"alg":"EdDSA","crit":["x"]}"#),
            b64url(b"{}")
        );
        assert!(Jws::parse(&crit).is_err());
        let private = json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(ed.public_key().as_ref()), "d": "AAAA"});
        assert!(PublicJwk::parse(&private).is_err());
        assert!(PublicJwk::parse(&json!({"kty": "oct", "k": "AAAA"})).is_err());
        // HS256 keyed with the public key's bytes: refused as an algorithm the key cannot make.
        let x = ed.public_key().as_ref().to_vec();
        let hs = compact(json!({"alg": "HS256"}), json!({}), |m| {
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &x), m)
                .as_ref()
                .to_vec()
        });
        assert_eq!(
            Jws::parse(&hs).unwrap().verify_with(&okp),
            Err(JoseError::Header)
        );
    }

    #[test]
    fn hmac_round_trips_with_the_secret_only() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let hs = compact(json!({"alg": "HS256"}), json!({}), |m| {
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), m)
                .as_ref()
                .to_vec()
        });
        Jws::parse(&hs).unwrap().verify_hmac(secret).unwrap();
        assert!(
            Jws::parse(&hs)
                .unwrap()
                .verify_hmac(b"0123456789abcdef0123456789abcdeX")
                .is_err()
        );
    }

    #[test]
    fn a_jwks_skips_keys_it_cannot_use_but_never_a_private_member() {
        let ed = Ed25519KeyPair::generate().unwrap();
        let good = json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(ed.public_key().as_ref()), "kid": "sig"});
        let enc = json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(ed.public_key().as_ref()), "kid": "enc", "use": "enc"});
        let p521 = json!({"kty": "EC", "crv": "P-521", "x": b64url(&[1u8; 66]), "y": b64url(&[2u8; 66]), "kid": "p521"});
        let rsa1024 =
            json!({"kty": "RSA", "n": b64url(&[0xc5u8; 128]), "e": "AQAB", "kid": "small"});
        let x25519 = json!({"kty": "OKP", "crv": "X25519", "x": b64url(&[3u8; 32]), "kid": "x"});
        let doc = json!({"keys": [enc, p521, rsa1024, x25519, good]}).to_string();
        let keys = parse_jwks(&doc).unwrap();
        assert_eq!(
            keys.iter().map(|k| k.kid.as_deref()).collect::<Vec<_>>(),
            vec![Some("sig")]
        );
        let only_unusable = json!({"keys": [p521, x25519]}).to_string();
        assert!(
            parse_jwks(&only_unusable).is_err(),
            "nothing to verify with"
        );
        let mut leaked = good.clone();
        leaked["d"] = json!("AAAA");
        let doc = json!({"keys": [good, leaked]}).to_string();
        assert_eq!(parse_jwks(&doc), Err(JoseError::PrivateMember("d")));
        let oct = json!({"keys": [good, {"kty": "oct", "k": "AAAA"}]}).to_string();
        assert!(
            matches!(parse_jwks(&oct), Err(JoseError::PrivateMember(_))),
            "a symmetric key is a secret"
        );
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let key = PublicJwk::parse(
            &json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}),
        )
        .unwrap();
        assert_eq!(
            key.thumbprint,
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
