//! Credential public keys as COSE_Key (RFC 9052 §7, RFC 9053): the three algorithms
//! passkeys use, verified with aws-lc-rs. ES256 (-7, P-256, signatures in ASN.1 DER as
//! WebAuthn §6.5.5 sends them), EdDSA (-8, Ed25519) and RS256 (-257, RSASSA-PKCS1-v1_5
//! with SHA-256, 2048 bits or more). Anything else is refused at registration, so a
//! stored key always parses.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};

use super::cbor::Value;

pub const ES256: i64 = -7;
pub const EDDSA: i64 = -8;
pub const RS256: i64 = -257;

/// A parsed credential public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// The uncompressed point `04 || x || y`.
    Es256(Vec<u8>),
    Ed25519(Vec<u8>),
    Rs256 {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

impl PublicKey {
    /// RFC 9053 §2.1, §2.2 and RFC 8812 §2: the key's type, algorithm and curve must
    /// agree, and its coordinates have their curve's lengths.
    pub fn from_cose(key: &Value) -> Result<PublicKey, &'static str> {
        let int = |label| key.get_int(label).and_then(Value::as_int);
        let bytes = |label| key.get_int(label).and_then(Value::as_bytes);
        let (Some(kty), Some(alg)) = (int(1), int(3)) else {
            return Err("the public key has no key type or algorithm");
        };
        match (kty, alg as i64) {
            (2, ES256) => {
                let (Some(1), Some(x), Some(y)) = (int(-1), bytes(-2), bytes(-3)) else {
                    return Err("an ES256 key must be on P-256 with x and y");
                };
                if x.len() != 32 || y.len() != 32 {
                    return Err("an ES256 key's coordinates are 32 bytes each");
                }
                let mut point = vec![4];
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                Ok(PublicKey::Es256(point))
            }
            (1, EDDSA) => match (int(-1), bytes(-2)) {
                (Some(6), Some(x)) if x.len() == 32 => Ok(PublicKey::Ed25519(x.to_vec())),
                _ => Err("an EdDSA key must be Ed25519 with a 32-byte x"),
            },
            (3, RS256) => match (bytes(-1), bytes(-2)) {
                (Some(n), Some(e)) if n.len() >= 256 && !e.is_empty() && e.len() <= 8 => {
                    Ok(PublicKey::Rs256 {
                        n: n.to_vec(),
                        e: e.to_vec(),
                    })
                }
                _ => Err("an RS256 key needs a modulus of 2048 bits or more and an exponent"),
            },
            _ => Err("the public key's algorithm is not ES256, EdDSA or RS256"),
        }
    }

    /// The COSE algorithm number.
    pub fn alg(&self) -> i64 {
        match self {
            PublicKey::Es256(_) => ES256,
            PublicKey::Ed25519(_) => EDDSA,
            PublicKey::Rs256 { .. } => RS256,
        }
    }

    /// Whether `sig` is this key's signature over `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::Es256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
                    .verify(message, sig)
                    .is_ok()
            }
            PublicKey::Ed25519(x) => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(message, sig)
                .is_ok(),
            PublicKey::Rs256 { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
        }
    }
}

/// Parses stored COSE key bytes (written at registration, so they parse).
pub fn parse(cose: &[u8]) -> Result<PublicKey, &'static str> {
    let value = super::cbor::decode(cose).map_err(|e| e.0)?;
    PublicKey::from_cose(&value)
}

/// The COSE_Key of a P-256 point `04 || x || y` (for test authenticators).
pub fn es256_key(point: &[u8]) -> Vec<u8> {
    super::cbor::encode(&Value::Map(vec![
        (Value::Int(1), Value::Int(2)),
        (Value::Int(3), Value::Int(ES256.into())),
        (Value::Int(-1), Value::Int(1)),
        (Value::Int(-2), Value::Bytes(point[1..33].to_vec())),
        (Value::Int(-3), Value::Bytes(point[33..65].to_vec())),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};

    #[test]
    fn es256_and_ed25519_keys_verify_their_own_signatures_only() {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                .unwrap();
        let key = parse(&es256_key(pair.public_key().as_ref())).unwrap();
        assert_eq!(key.alg(), ES256);
        let sig = pair.sign(&rng, b"message").unwrap();
        assert!(key.verify(b"message", sig.as_ref()));
        assert!(!key.verify(b"massage", sig.as_ref()));

        let ed = Ed25519KeyPair::generate().unwrap();
        let cose = super::super::cbor::encode(&Value::Map(vec![
            (Value::Int(1), Value::Int(1)),
            (Value::Int(3), Value::Int(EDDSA.into())),
            (Value::Int(-1), Value::Int(6)),
            (
                Value::Int(-2),
                Value::Bytes(ed.public_key().as_ref().to_vec()),
            ),
        ]));
        let key = parse(&cose).unwrap();
        assert!(key.verify(b"m", ed.sign(b"m").as_ref()));
        assert!(!key.verify(b"n", ed.sign(b"m").as_ref()));
    }

    #[test]
    fn refuses_keys_whose_parts_disagree() {
        let map = |pairs: Vec<(i128, Value)>| {
            Value::Map(pairs.into_iter().map(|(k, v)| (Value::Int(k), v)).collect())
        };
        let x = Value::Bytes(vec![1; 32]);
        for key in [
            // ES256 on P-384
            map(vec![
                (1, Value::Int(2)),
                (3, Value::Int(-7)),
                (-1, Value::Int(2)),
                (-2, x.clone()),
                (-3, x.clone()),
            ]),
            // ES256 claimed for an OKP key
            map(vec![
                (1, Value::Int(1)),
                (3, Value::Int(-7)),
                (-1, Value::Int(6)),
                (-2, x.clone()),
            ]),
            // a short coordinate
            map(vec![
                (1, Value::Int(2)),
                (3, Value::Int(-7)),
                (-1, Value::Int(1)),
                (-2, Value::Bytes(vec![1; 31])),
                (-3, x.clone()),
            ]),
            // RS256 with a 1024-bit modulus
            map(vec![
                (1, Value::Int(3)),
                (3, Value::Int(-257)),
                (-1, Value::Bytes(vec![0xff; 128])),
                (-2, Value::Bytes(vec![1, 0, 1])),
            ]),
            // no algorithm
            map(vec![(1, Value::Int(2))]),
            Value::Int(0),
        ] {
            assert!(PublicKey::from_cose(&key).is_err(), "{key:?}");
        }
    }
}
