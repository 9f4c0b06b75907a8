//! JOSE for the whole server, on aws-lc-rs: one reader of compact JWS (RFC 7515 §7.1)
//! and one JWK parser (RFC 7517). Our own tokens (`jwt`), client assertions (RFC 7523),
//! DPoP proofs (RFC 9449), ID token hints and registered client keys all go through
//! them, so a fix to how a token or a key is read is made once.
//!
//! The reader (`Jws::read`) splits the token once, decodes each part as base64url
//! without padding and without stray bits, and parses the header into one typed
//! struct under one set of rules, before any key is touched:
//! - `alg` must be one of the algorithms the caller lists (`Rules::algs`); `none`
//!   never, whatever the list says;
//! - `crit` is refused (RFC 7515 §4.1.11: no extension is understood here);
//! - `jku`, `x5u` and `x5c` are refused: a token never chooses a key by pointing at
//!   one, and nothing it names is fetched (RFC 8725 §3.10);
//! - `jwk` is refused, except where the caller asks for a key carried in the header
//!   (DPoP, `Rules::embedded_key`): there it is required and read by the JWK parser;
//! - a header member of the wrong type, or given twice, is refused.
//!
//! The claims must be one JSON object without repeated members, and `exp`, `nbf` and
//! `iat`, when present, must be NumericDates (RFC 7519 §2: JSON numbers). A string
//! such as `"9999999999"` is refused, never read as if the claim were absent.
//!
//! The signature is then checked with a key the caller supplies (a registered key, a
//! key of ours found by `kid`, the embedded key, or an HMAC secret); the algorithm must
//! be one that key can make (RFC 8725 §3.1: the key decides, never the token).
//!
//! The JWK parser (`PublicJwk::parse`) takes public keys only: a private or symmetric
//! member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`) is refused naming the member;
//! RSA of at least 2048 bits, EC P-256 and P-384 (a point on the curve), OKP Ed25519;
//! `use` must be `sig` and `key_ops`, when given, must allow `verify`. The key's `kid`
//! as this server makes it is its RFC 7638 thumbprint (`thumbprint`).

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, VerificationAlgorithm};
use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::crypto::{b64url, b64url_decode, sha256};

/// Longest compact JWS read (bytes): our own tokens carry groups and custom claims,
/// so this is their size; the others are far smaller (DPoP sets its own, lower limit).
pub const MAX_JWS_LEN: usize = 16 * 1024;

/// The asymmetric algorithms accepted for `private_key_jwt` and DPoP.
pub const ASYMMETRIC_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];
/// The algorithms accepted for `client_secret_jwt` (RFC 7518 §3.2).
pub const HMAC_ALGS: &[&str] = &["HS256", "HS384", "HS512"];

/// JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4).
pub const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The JWK members a public key of a kind this server makes or reads may show
/// (RFC 7517 §4, RFC 7518 §6.2.1 and §6.3.1, RFC 8037 §2). Anything else is left out
/// where a key is shown, so a private member can never be echoed, whatever is stored.
pub const PUBLIC_MEMBERS: &[&str] = &[
    "kty", "use", "key_ops", "alg", "kid", "n", "e", "crv", "x", "y",
];

/// Why a JWS header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderProblem {
    /// Not a JSON object, a member of the wrong type, or a member given twice.
    Unreadable,
    NoAlg,
    /// `alg` is `none` or not among the caller's algorithms.
    Alg,
    Crit,
    /// `jku`, `x5u` or `x5c`.
    KeyReference,
    /// `jwk` where no key may be carried in the header.
    Jwk,
    /// No `jwk` where the key must be carried in the header.
    NoJwk,
}

impl fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderProblem::Unreadable => "a member is of the wrong type or repeated",
            HeaderProblem::NoAlg => "alg is missing",
            HeaderProblem::Alg => "alg is not accepted here",
            HeaderProblem::Crit => "crit names an extension this server does not understand",
            HeaderProblem::KeyReference => "it names a key by reference (jku, x5u or x5c)",
            HeaderProblem::Jwk => "it carries a key (jwk) where none is accepted",
            HeaderProblem::NoJwk => "it carries no key (jwk)",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("the JWS is malformed")]
    Malformed,
    #[error("the JWS header is not acceptable: {0}")]
    Header(HeaderProblem),
    #[error("the claim {0} is not a NumericDate")]
    NumericDate(&'static str),
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

/// What the caller accepts of a JWS header.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The algorithms the caller can verify here. `none` is refused even if listed.
    pub algs: &'a [&'a str],
    /// The key is carried in the header (`jwk`, required), as in a DPoP proof. When
    /// false, a `jwk` is refused.
    pub embedded_key: bool,
}

/// A JWS header read under `Rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub alg: String,
    pub kid: Option<String>,
    pub typ: Option<String>,
    /// The key carried in the header; only ever `Some` under `Rules::embedded_key`.
    pub jwk: Option<PublicJwk>,
}

/// A member that may be absent; unlike `Option`, `null` is a value here (a `crit` or
/// `jku` of `null` is present, and `"kid": null` is of the wrong type).
#[derive(Debug, Default)]
enum Member<T> {
    #[default]
    Absent,
    Present(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Member<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Member::Present)
    }
}

impl<T> Member<T> {
    fn into_option(self) -> Option<T> {
        match self {
            Member::Absent => None,
            Member::Present(v) => Some(v),
        }
    }

    fn is_present(&self) -> bool {
        matches!(self, Member::Present(_))
    }
}

/// The header as JSON says it. Derived field parsing refuses a known member given
/// twice or of the wrong type; unknown members are ignored (RFC 7515 §4).
#[derive(Deserialize)]
struct RawHeader {
    #[serde(default)]
    alg: Member<String>,
    #[serde(default)]
    kid: Member<String>,
    #[serde(default)]
    typ: Member<String>,
    #[serde(default)]
    jwk: Member<Value>,
    #[serde(default)]
    jku: Member<IgnoredAny>,
    #[serde(default)]
    x5u: Member<IgnoredAny>,
    #[serde(default)]
    x5c: Member<IgnoredAny>,
    #[serde(default)]
    crit: Member<IgnoredAny>,
}

/// A JSON object whose members are each given once (RFC 7515 §4 and RFC 7519 §4: a
/// parser must refuse repeated names, or an `exp` could be read two ways).
struct StrictObject(Map<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictObject, A::Error> {
                let mut map = Map::new();
                while let Some((name, value)) = access.next_entry::<String, Value>()? {
                    if map.contains_key(&name) {
                        return Err(de::Error::custom("a member is repeated"));
                    }
                    map.insert(name, value);
                }
                Ok(StrictObject(map))
            }
        }
        d.deserialize_map(V)
    }
}

/// The time claims, read once as NumericDates (RFC 7519 §2), in whole seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Times {
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
}

/// The time claims as JSON gives them, read on their own (every other member is
/// skipped unparsed) when the claims go straight into a typed struct. Each given
/// twice is refused by the derived parsing.
#[derive(Deserialize)]
struct RawTimes {
    #[serde(default)]
    exp: Member<Value>,
    #[serde(default)]
    nbf: Member<Value>,
    #[serde(default)]
    iat: Member<Value>,
}

impl Times {
    /// RFC 7519 §2: a NumericDate is a JSON number. Integers are taken as they are; a
    /// fraction is truncated; a number past i64's range saturates (`as` does), so
    /// `1e300` is far future, not an error. Any other type is refused.
    fn date(name: &'static str, value: Option<&Value>) -> Result<Option<i64>, JoseError> {
        match value {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))),
            Some(_) => Err(JoseError::NumericDate(name)),
        }
    }

    fn read(claims: &Map<String, Value>) -> Result<Times, JoseError> {
        Ok(Times {
            exp: Times::date("exp", claims.get("exp"))?,
            nbf: Times::date("nbf", claims.get("nbf"))?,
            iat: Times::date("iat", claims.get("iat"))?,
        })
    }

    fn skim(payload: &[u8]) -> Result<Times, JoseError> {
        let raw: RawTimes = serde_json::from_slice(payload).map_err(|_| JoseError::Malformed)?;
        Ok(Times {
            exp: Times::date("exp", raw.exp.into_option().as_ref())?,
            nbf: Times::date("nbf", raw.nbf.into_option().as_ref())?,
            iat: Times::date("iat", raw.iat.into_option().as_ref())?,
        })
    }
}

/// The three parts of a compact JWS, split once: header, payload, signature.
fn split(token: &str) -> Result<(&str, &str, &str), JoseError> {
    if token.len() > MAX_JWS_LEN {
        return Err(JoseError::Malformed);
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(c), Some(s), None) => Ok((h, c, s)),
        _ => Err(JoseError::Malformed),
    }
}

/// Decodes a part that must be a JSON object (the first byte, after white space, is
/// `{`: a derived struct would otherwise take an array too).
fn json_part(part: &str) -> Result<Vec<u8>, JoseError> {
    let bytes = b64url_decode(part).ok_or(JoseError::Malformed)?;
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(bytes),
        _ => Err(JoseError::Malformed),
    }
}

fn read_header(part: &str, rules: &Rules<'_>) -> Result<Header, JoseError> {
    let raw: RawHeader = serde_json::from_slice(&json_part(part)?)
        .map_err(|_| JoseError::Header(HeaderProblem::Unreadable))?;
    if raw.crit.is_present() {
        return Err(JoseError::Header(HeaderProblem::Crit));
    }
    if raw.jku.is_present() || raw.x5u.is_present() || raw.x5c.is_present() {
        return Err(JoseError::Header(HeaderProblem::KeyReference));
    }
    let alg = raw
        .alg
        .into_option()
        .ok_or(JoseError::Header(HeaderProblem::NoAlg))?;
    if alg.eq_ignore_ascii_case("none") || !rules.algs.contains(&alg.as_str()) {
        return Err(JoseError::Header(HeaderProblem::Alg));
    }
    let jwk = match (raw.jwk.into_option(), rules.embedded_key) {
        (Some(jwk), true) => Some(PublicJwk::parse(&jwk)?),
        (None, true) => return Err(JoseError::Header(HeaderProblem::NoJwk)),
        (Some(_), false) => return Err(JoseError::Header(HeaderProblem::Jwk)),
        (None, false) => None,
    };
    Ok(Header {
        alg,
        kid: raw.kid.into_option(),
        typ: raw.typ.into_option(),
        jwk,
    })
}

/// The header of a compact JWS read under `rules`, and nothing else: what to look a
/// key up by before the whole token is read.
pub fn read_header_only(token: &str, rules: &Rules<'_>) -> Result<Header, JoseError> {
    let (h, _, _) = split(token)?;
    read_header(h, rules)
}

/// A compact JWS read under `Rules`: its header accepted and its claims parsed, the
/// signature not yet checked. The claims are a JSON object (`Jws::read`), or a typed
/// struct (`Jws::read_as`, our own tokens).
#[derive(Debug, Clone)]
pub struct Jws<C = Map<String, Value>> {
    pub header: Header,
    pub claims: C,
    pub times: Times,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jws {
    /// Reads `token`, its claims as a JSON object without repeated members (see the
    /// module comment for what is refused, and in which order).
    pub fn read(token: &str, rules: &Rules<'_>) -> Result<Jws, JoseError> {
        read_with(token, rules, |payload| {
            let StrictObject(claims) =
                serde_json::from_slice(payload).map_err(|_| JoseError::Malformed)?;
            let times = Times::read(&claims)?;
            Ok((claims, times))
        })
    }
}

impl<C: DeserializeOwned> Jws<C> {
    /// As `read`, the claims parsed straight into `C` (whose derived parsing refuses
    /// its own members given twice); the time claims under the same rule.
    pub fn read_as(token: &str, rules: &Rules<'_>) -> Result<Jws<C>, JoseError> {
        read_with(token, rules, |payload| {
            let times = Times::skim(payload)?;
            let claims = serde_json::from_slice(payload).map_err(|_| JoseError::Malformed)?;
            Ok((claims, times))
        })
    }
}

/// The one reader: split, header, claims (by `claims`), signature.
fn read_with<C>(
    token: &str,
    rules: &Rules<'_>,
    claims: impl FnOnce(&[u8]) -> Result<(C, Times), JoseError>,
) -> Result<Jws<C>, JoseError> {
    let (h, c, s) = split(token)?;
    let header = read_header(h, rules)?;
    let (claims, times) = claims(&json_part(c)?)?;
    let signature = b64url_decode(s).ok_or(JoseError::Malformed)?;
    Ok(Jws {
        header,
        claims,
        times,
        signing_input: token[..h.len() + 1 + c.len()].to_string(),
        signature,
    })
}

impl Jws {
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

impl<C> Jws<C> {
    pub fn alg(&self) -> &str {
        &self.header.alg
    }

    /// Verifies the signature with a public key; the algorithm must be one the key can make.
    pub fn verify_with(&self, key: &PublicJwk) -> Result<(), JoseError> {
        let alg = self.alg();
        if !ASYMMETRIC_ALGS.contains(&alg) || !key.allows(alg) {
            return Err(JoseError::Header(HeaderProblem::Alg));
        }
        if key.verify(alg, self.signing_input.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(JoseError::Signature)
        }
    }

    /// Verifies the signature with the key the header carries (read under
    /// `Rules::embedded_key`), and returns that key.
    pub fn verify_embedded(&self) -> Result<&PublicJwk, JoseError> {
        let key = self
            .header
            .jwk
            .as_ref()
            .ok_or(JoseError::Header(HeaderProblem::NoJwk))?;
        self.verify_with(key)?;
        Ok(key)
    }

    /// Verifies an HMAC signature keyed with `secret` (RFC 7518 §3.2), in constant time.
    pub fn verify_hmac(&self, secret: &[u8]) -> Result<(), JoseError> {
        let algorithm = match self.alg() {
            "HS256" => hmac::HMAC_SHA256,
            "HS384" => hmac::HMAC_SHA384,
            "HS512" => hmac::HMAC_SHA512,
            _ => return Err(JoseError::Header(HeaderProblem::Alg)),
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

fn rsa_params(alg: &str) -> Option<&'static RsaParameters> {
    Some(match alg {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
        "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        "PS384" => &signature::RSA_PSS_2048_8192_SHA384,
        "PS512" => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// A public JWK (RFC 7517) of a kind this server can verify with.
#[derive(Clone)]
pub struct PublicJwk {
    pub kid: Option<String>,
    /// The `alg` the key was registered for, if it says.
    pub alg: Option<String>,
    material: Material,
    /// RFC 7638 thumbprint, base64url.
    pub thumbprint: String,
    /// The key parsed once for the algorithm it is most likely used with (the one it
    /// names, or its curve's, or RS256), so verifying does not parse it again.
    prepared: (&'static str, Arc<ParsedPublicKey>),
}

impl PartialEq for PublicJwk {
    fn eq(&self, other: &Self) -> bool {
        self.kid == other.kid && self.alg == other.alg && self.material == other.material
    }
}

impl Eq for PublicJwk {}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

/// The length in bits of a big-endian unsigned integer.
fn bit_len(bytes: &[u8]) -> usize {
    match bytes.iter().position(|b| *b != 0) {
        Some(i) => (bytes.len() - i) * 8 - bytes[i].leading_zeros() as usize,
        None => 0,
    }
}

impl PublicJwk {
    /// Reads a public JWK. A private or symmetric member is refused (it would mean a
    /// secret has been published), as is a key whose `use` is not `sig` or whose
    /// `key_ops` do not include `verify` (RFC 7517 §4.2, §4.3).
    pub fn parse(jwk: &Value) -> Result<PublicJwk, JoseError> {
        let map = jwk.as_object().ok_or(JoseError::Key("not a JSON object"))?;
        if let Some(name) = PRIVATE_MEMBERS.iter().find(|m| map.contains_key(**m)) {
            return Err(JoseError::PrivateMember(name));
        }
        let optional = |name: &str| match map.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(JoseError::Key("a member is not a string")),
        };
        if optional("use")?.is_some_and(|u| u != "sig") {
            return Err(JoseError::Key("the key is not for signatures"));
        }
        if let Some(ops) = map.get("key_ops") {
            let ops = ops
                .as_array()
                .ok_or(JoseError::Key("key_ops is not an array"))?;
            let mut seen: Vec<&str> = Vec::with_capacity(ops.len());
            for op in ops {
                let op = op
                    .as_str()
                    .ok_or(JoseError::Key("key_ops is not strings"))?;
                if seen.contains(&op) {
                    return Err(JoseError::Key("key_ops repeats a value"));
                }
                seen.push(op);
            }
            if !seen.contains(&"verify") {
                return Err(JoseError::Key("key_ops does not allow verify"));
            }
        }
        let text =
            |name: &str| optional(name)?.ok_or(JoseError::Key("a required member is missing"));
        let bytes = |name: &str| {
            text(name)
                .and_then(|t| b64url_decode(t).ok_or(JoseError::Key("a member is not base64url")))
        };
        let (material, thumbprint) = match text("kty")? {
            "RSA" => {
                let (n, e) = (bytes("n")?, bytes("e")?);
                if bit_len(&n) < 2048 {
                    return Err(JoseError::Key("RSA keys must have at least 2048 bits"));
                }
                if bit_len(&n) > 8192 || e.is_empty() {
                    return Err(JoseError::Key(
                        "not an RSA public key this server verifies with",
                    ));
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
        let alg = optional("alg")?.map(str::to_string);
        let kid = optional("kid")?.map(str::to_string);
        let likely = match (&material, alg.as_deref()) {
            (_, Some(alg)) => alg,
            (Material::Rsa { .. }, None) => "RS256",
            (Material::Ec { crv: "P-384", .. }, None) => "ES384",
            (Material::Ec { .. }, None) => "ES256",
            (Material::Okp { .. }, None) => "EdDSA",
        };
        if !fits(&material, likely) {
            return Err(JoseError::Key("the alg does not fit the key"));
        }
        let likely = ASYMMETRIC_ALGS
            .iter()
            .find(|a| **a == likely)
            .ok_or(JoseError::Key("the alg does not fit the key"))?;
        // Parsing now also refuses what is no key at all (a point off the curve, an
        // RSA exponent aws-lc refuses), at registration rather than at first use.
        let prepared = prepare(&material, likely)
            .ok_or(JoseError::Key("the key material is not a valid public key"))?;
        Ok(PublicJwk {
            kid,
            alg,
            material,
            thumbprint,
            prepared: (likely, Arc::new(prepared)),
        })
    }

    /// Can this key have made a signature with `alg` (and, if it names one, is that its `alg`)?
    pub fn allows(&self, alg: &str) -> bool {
        if self.alg.as_deref().is_some_and(|a| a != alg) {
            return false;
        }
        fits(&self.material, alg)
    }

    /// Does a signature with `alg` by this key verify over `message`? False for an
    /// algorithm the key cannot make.
    pub fn verify(&self, alg: &str, message: &[u8], sig: &[u8]) -> bool {
        if !self.allows(alg) {
            return false;
        }
        if self.prepared.0 == alg {
            return self.prepared.1.verify_sig(message, sig).is_ok();
        }
        match &self.material {
            Material::Rsa { n, e } => rsa_params(alg).is_some_and(|params| {
                signature::RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .verify(params, message, sig)
                .is_ok()
            }),
            // An EC or OKP key fits one algorithm only: the prepared one.
            _ => false,
        }
    }
}

fn fits(material: &Material, alg: &str) -> bool {
    match material {
        Material::Rsa { .. } => rsa_params(alg).is_some(),
        Material::Ec { crv: "P-256", .. } => alg == "ES256",
        Material::Ec { crv: "P-384", .. } => alg == "ES384",
        Material::Ec { .. } => false,
        Material::Okp { .. } => alg == "EdDSA",
    }
}

fn prepare(material: &Material, alg: &'static str) -> Option<ParsedPublicKey> {
    match material {
        Material::Rsa { n, e } => signature::RsaPublicKeyComponents {
            n: n.as_slice(),
            e: e.as_slice(),
        }
        .to_parsed_public_key(rsa_params(alg)?)
        .ok(),
        Material::Ec { point, .. } => {
            let algorithm: &'static dyn VerificationAlgorithm = match alg {
                "ES256" => &signature::ECDSA_P256_SHA256_FIXED,
                "ES384" => &signature::ECDSA_P384_SHA384_FIXED,
                _ => return None,
            };
            ParsedPublicKey::new(algorithm, point).ok()
        }
        Material::Okp { x } => ParsedPublicKey::new(&signature::ED25519, x).ok(),
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

    const ANY: Rules<'static> = Rules {
        algs: ASYMMETRIC_ALGS,
        embedded_key: false,
    };
    const HMAC: Rules<'static> = Rules {
        algs: HMAC_ALGS,
        embedded_key: false,
    };
    const EMBEDDED: Rules<'static> = Rules {
        algs: ASYMMETRIC_ALGS,
        embedded_key: true,
    };

    fn compact(header: Value, claims: Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        raw(&header.to_string(), &claims.to_string(), sign)
    }

    fn raw(header: &str, claims: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.as_bytes()),
            b64url(claims.as_bytes())
        );
        let sig = sign(input.as_bytes());
        format!("{input}.{}", b64url(&sig))
    }

    fn unsigned(header: &str, claims: &str) -> String {
        raw(header, claims, |_| b"sig".to_vec())
    }

    fn header_problem(token: &str, rules: &Rules<'_>) -> Option<HeaderProblem> {
        match Jws::read(token, rules) {
            Err(JoseError::Header(p)) => Some(p),
            _ => None,
        }
    }

    fn ec_key() -> (EcdsaKeyPair, Value) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let ec =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .unwrap();
        let point = ec.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64url(&point[1..33]), "y": b64url(&point[33..])});
        (ec, jwk)
    }

    #[test]
    fn es256_and_eddsa_verify_and_cross_algs_do_not() {
        let rng = SystemRandom::new();
        let (ec, jwk) = ec_key();
        let key = PublicJwk::parse(&jwk).unwrap();
        let token = compact(json!({"alg": "ES256"}), json!({"a": 1}), |m| {
            ec.sign(&rng, m).unwrap().as_ref().to_vec()
        });
        Jws::read(&token, &ANY).unwrap().verify_with(&key).unwrap();
        let lying = compact(json!({"alg": "RS256"}), json!({"a": 1}), |m| {
            ec.sign(&rng, m).unwrap().as_ref().to_vec()
        });
        assert_eq!(
            Jws::read(&lying, &ANY).unwrap().verify_with(&key),
            Err(JoseError::Header(HeaderProblem::Alg))
        );

        let ed = Ed25519KeyPair::generate().unwrap();
        let okp = PublicJwk::parse(
            &json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(ed.public_key().as_ref())}),
        )
        .unwrap();
        let token = compact(json!({"alg": "EdDSA"}), json!({}), |m| {
            ed.sign(m).as_ref().to_vec()
        });
        Jws::read(&token, &ANY).unwrap().verify_with(&okp).unwrap();
        assert_eq!(
            Jws::read(&token, &ANY).unwrap().verify_with(&key),
            Err(JoseError::Header(HeaderProblem::Alg))
        );
    }

    #[test]
    fn one_set_of_header_rules() {
        let claims = "{}";
        let none_listed = Rules {
            algs: &["none", "RS256"],
            embedded_key: false,
        };
        for alg in ["none", "None", "NONE"] {
            let t = unsigned(&format!(r#"{{"alg":"{alg}"}}"#), claims);
            assert_eq!(
                header_problem(&t, &none_listed),
                Some(HeaderProblem::Alg),
                "{alg}"
            );
        }
        let hs = unsigned(r#"{"alg":"HS256"}"#, claims);
        assert_eq!(header_problem(&hs, &ANY), Some(HeaderProblem::Alg));
        assert!(Jws::read(&hs, &HMAC).is_ok());
        let es = unsigned(r#"{"alg":"ES256"}"#, claims);
        assert_eq!(header_problem(&es, &HMAC), Some(HeaderProblem::Alg));
        assert_eq!(
            header_problem(&unsigned(r#"{"typ":"JWT"}"#, claims), &ANY),
            Some(HeaderProblem::NoAlg)
        );
        for crit in [r#"["exp"]"#, "[]", "null"] {
            let t = unsigned(&format!(r#"{{"alg":"ES256","crit":{crit}}}"#), claims);
            assert_eq!(
                header_problem(&t, &ANY),
                Some(HeaderProblem::Crit),
                "{crit}"
            );
        }
        for member in ["jku", "x5u", "x5c"] {
            let t = unsigned(
                &format!(r#"{{"alg":"ES256","{member}":"http://x"}}"#),
                claims,
            );
            assert_eq!(
                header_problem(&t, &ANY),
                Some(HeaderProblem::KeyReference),
                "{member}"
            );
            assert_eq!(
                header_problem(&t, &EMBEDDED),
                Some(HeaderProblem::KeyReference),
                "{member}"
            );
        }
        let (_, jwk) = ec_key();
        let with_jwk = unsigned(&json!({"alg": "ES256", "jwk": jwk}).to_string(), claims);
        assert_eq!(header_problem(&with_jwk, &ANY), Some(HeaderProblem::Jwk));
        assert!(
            Jws::read(&with_jwk, &EMBEDDED)
                .unwrap()
                .header
                .jwk
                .is_some()
        );
        assert_eq!(header_problem(&es, &EMBEDDED), Some(HeaderProblem::NoJwk));
        let null_jwk = unsigned(r#"{"alg":"ES256","jwk":null}"#, claims);
        assert_eq!(header_problem(&null_jwk, &ANY), Some(HeaderProblem::Jwk));
        // Repeated or mistyped members, and a header that is no object.
        for header in [
            r#"{"alg":"ES256","alg":"none"}"#,
            r#"{"alg":"ES256","kid":1}"#,
            r#"{"alg":"ES256","kid":null}"#,
            r#"{"alg":"ES256","typ":["JWT"]}"#,
            r#"{"alg":5}"#,
        ] {
            assert_eq!(
                header_problem(&unsigned(header, claims), &ANY),
                Some(HeaderProblem::Unreadable),
                "{header}"
            );
        }
        for header in [r#"["ES256"]"#, "\"ES256\"", "null"] {
            assert_eq!(
                Jws::read(&unsigned(header, claims), &ANY).unwrap_err(),
                JoseError::Malformed,
                "{header}"
            );
        }
        // Unknown members are ignored (RFC 7515 §4); kid and typ are read.
        let t = unsigned(
            r#"{"alg":"ES256","kid":"k1","typ":"JWT","x-extra":[1]}"#,
            claims,
        );
        let header = Jws::read(&t, &ANY).unwrap().header;
        assert_eq!(
            (header.kid.as_deref(), header.typ.as_deref()),
            (Some("k1"), Some("JWT"))
        );
        assert_eq!(read_header_only(&t, &ANY).unwrap(), header);
    }

    #[test]
    fn base64url_is_strict_and_the_shape_is_three_parts() {
        let t = unsigned(r#"{"alg":"ES256"}"#, r#"{"a":1}"#);
        assert!(Jws::read(&t, &ANY).is_ok());
        let (h, rest) = t.split_once('.').unwrap();
        for bad in [
            format!("{h}=.{rest}"),
            format!("{}.{rest}", h.replace('-', "+").replace('_', "/") + "+"),
            format!("{t}.x"),
            t.rsplit_once('.').unwrap().0.to_string(),
            format!(" {t}"),
            "a".repeat(MAX_JWS_LEN + 1),
        ] {
            assert!(Jws::read(&bad, &ANY).is_err(), "{bad}");
        }
    }

    #[test]
    fn numeric_dates_must_be_numbers() {
        let read = |claims: &str| Jws::read(&unsigned(r#"{"alg":"ES256"}"#, claims), &ANY);
        let times = read(r#"{"exp":2000,"nbf":1000.9,"iat":1e300}"#)
            .unwrap()
            .times;
        assert_eq!(
            times,
            Times {
                exp: Some(2000),
                nbf: Some(1000),
                iat: Some(i64::MAX)
            }
        );
        assert_eq!(read("{}").unwrap().times, Times::default());
        for (claim, name) in [
            (r#"{"nbf":"9999999999"}"#, "nbf"),
            (r#"{"iat":"x"}"#, "iat"),
            (r#"{"exp":null}"#, "exp"),
            (r#"{"exp":true}"#, "exp"),
            (r#"{"exp":[1]}"#, "exp"),
            (r#"{"iat":{"s":1}}"#, "iat"),
        ] {
            assert_eq!(
                read(claim).unwrap_err(),
                JoseError::NumericDate(name),
                "{claim}"
            );
        }
        // A claim given twice could be read two ways: refused.
        assert_eq!(
            read(r#"{"exp":1,"exp":9999999999}"#).unwrap_err(),
            JoseError::Malformed
        );
        assert_eq!(read("[1]").unwrap_err(), JoseError::Malformed);
    }

    #[test]
    fn refuses_private_members_and_hmac_with_public_keys() {
        let ed = Ed25519KeyPair::generate().unwrap();
        let okp = PublicJwk::parse(
            &json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(ed.public_key().as_ref())}),
        )
        .unwrap();
        let private = json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(ed.public_key().as_ref()), "d": "AAAA"});
        assert_eq!(
            PublicJwk::parse(&private),
            Err(JoseError::PrivateMember("d"))
        );
        assert_eq!(
            PublicJwk::parse(&json!({"kty": "oct", "k": "AAAA"})),
            Err(JoseError::PrivateMember("k"))
        );
        // HS256 keyed with the public key's bytes: refused as an algorithm the key cannot make.
        let x = ed.public_key().as_ref().to_vec();
        let hs = compact(json!({"alg": "HS256"}), json!({}), |m| {
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &x), m)
                .as_ref()
                .to_vec()
        });
        assert_eq!(
            Jws::read(&hs, &HMAC).unwrap().verify_with(&okp),
            Err(JoseError::Header(HeaderProblem::Alg))
        );
    }

    #[test]
    fn the_embedded_key_verifies_only_its_own_signature() {
        let rng = SystemRandom::new();
        let (ec, jwk) = ec_key();
        let token = compact(json!({"alg": "ES256", "jwk": jwk}), json!({}), |m| {
            ec.sign(&rng, m).unwrap().as_ref().to_vec()
        });
        let jws = Jws::read(&token, &EMBEDDED).unwrap();
        assert_eq!(
            jws.verify_embedded().unwrap().thumbprint,
            PublicJwk::parse(&jwk).unwrap().thumbprint
        );
        let (_, other) = ec_key();
        let foreign = compact(json!({"alg": "ES256", "jwk": other}), json!({}), |m| {
            ec.sign(&rng, m).unwrap().as_ref().to_vec()
        });
        assert_eq!(
            Jws::read(&foreign, &EMBEDDED).unwrap().verify_embedded(),
            Err(JoseError::Signature)
        );
        let mut private = jwk.clone();
        private["d"] = json!("AAAA");
        let leaked = unsigned(&json!({"alg": "ES256", "jwk": private}).to_string(), "{}");
        assert_eq!(
            Jws::read(&leaked, &EMBEDDED).unwrap_err(),
            JoseError::PrivateMember("d")
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
        Jws::read(&hs, &HMAC).unwrap().verify_hmac(secret).unwrap();
        assert!(
            Jws::read(&hs, &HMAC)
                .unwrap()
                .verify_hmac(b"0123456789abcdef0123456789abcdeX")
                .is_err()
        );
    }

    #[test]
    fn jwk_rules_use_key_ops_sizes_and_points() {
        let (_, jwk) = ec_key();
        let with = |name: &str, v: Value| {
            let mut k = jwk.clone();
            k[name] = v;
            PublicJwk::parse(&k)
        };
        assert!(with("use", json!("sig")).is_ok());
        assert!(with("use", json!("enc")).is_err());
        assert!(with("use", json!(1)).is_err());
        assert!(with("key_ops", json!(["verify"])).is_ok());
        assert!(with("key_ops", json!(["sign", "verify"])).is_ok());
        assert!(with("key_ops", json!(["encrypt"])).is_err());
        assert!(with("key_ops", json!(["verify", "verify"])).is_err());
        assert!(with("key_ops", json!("verify")).is_err());
        assert!(with("alg", json!("ES256")).is_ok());
        assert!(with("alg", json!("ES384")).is_err());
        assert!(with("alg", json!("HS256")).is_err());
        assert!(with("kid", json!(7)).is_err());
        // A point off the curve is no key.
        assert!(with("y", json!(b64url(&[1u8; 32]))).is_err());
        // RSA: 2048 bits counted after leading zeros; 2040 bits padded to 256 bytes is short.
        let mut n = vec![0u8; 256];
        n[1] = 0xc5;
        n[255] = 1;
        let short = json!({"kty": "RSA", "n": b64url(&n), "e": "AQAB"});
        assert_eq!(
            PublicJwk::parse(&short),
            Err(JoseError::Key("RSA keys must have at least 2048 bits"))
        );
        assert_eq!(bit_len(&[0, 0, 1]), 1);
        assert_eq!(bit_len(&[0x80, 0]), 16);
        assert_eq!(bit_len(&[]), 0);
        // Shown keys keep public members only.
        for member in PRIVATE_MEMBERS {
            assert!(!PUBLIC_MEMBERS.contains(member));
        }
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
