//! Tokens an attacker can make from a real one: every classic way to get a JWT
//! verifier to accept a token it did not sign (RFC 8725 §2: alg none, algorithm
//! confusion, keys named in the header, unknown keys), and a listener that must never
//! be called (a verifier that follows `jku`/`x5u` is a server-side request forgery).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gatehouse::crypto::MasterKey;
use gatehouse::store::KeyStatus;
use gatehouse::tokens::keys;
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A loopback TCP listener that counts the connections it gets (and answers none).
pub struct Tripwire {
    pub url: String,
    hits: Arc<AtomicUsize>,
}

impl Tripwire {
    pub async fn new() -> Tripwire {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        Tripwire { url, hits }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The DER length octets.
fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::new();
    if bytes[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(bytes);
    der(0x02, &content)
}

fn pem(label: &str, der: &[u8]) -> String {
    let text = STANDARD.encode(der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The forms an RSA public key takes when it is (mis)used as an HMAC secret: the PEM
/// SubjectPublicKeyInfo (with and without its final newline), PKCS#1, the DER, the
/// modulus, and the JWK text as JWKS serves it.
fn public_key_as_secrets(jwk: &Value) -> Vec<Vec<u8>> {
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let pkcs1 = der(0x30, &[der_uint(&n), der_uint(&e)].concat());
    let algorithm = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bit_string = vec![0];
    bit_string.extend(&pkcs1);
    let spki = der(0x30, &[algorithm.to_vec(), der(0x03, &bit_string)].concat());
    let spki_pem = pem("PUBLIC KEY", &spki);
    vec![
        spki_pem.clone().into_bytes(),
        spki_pem.trim_end().as_bytes().to_vec(),
        pem("RSA PUBLIC KEY", &pkcs1).into_bytes(),
        spki,
        n,
        jwk.to_string().into_bytes(),
    ]
}

/// A key of the attacker's own, and its public JWK.
struct Attacker {
    ring: keys::Keyring,
    jwk: Value,
}

fn attacker() -> Attacker {
    let master = MasterKey::from_bytes(&[9; 32]);
    let stored = keys::generate("attacker", KeyStatus::Active, 0, &master);
    let jwk: Value = serde_json::from_str(&stored.public_jwk).unwrap();
    Attacker {
        ring: keys::keyring(&[stored], &master, 0).unwrap().unwrap(),
        jwk,
    }
}

impl Attacker {
    fn sign(&self, header: &Value, payload: &str) -> String {
        let input = format!("{}.{payload}", b64(header.to_string().as_bytes()));
        let signature = self.ring.signing.sign(input.as_bytes());
        format!("{input}.{}", b64(&signature))
    }
}

/// Forgeries of `real` (a token the server issued: its claims stay, so only the
/// signature and header decide) for a server publishing `jwks`; `tripwire` is where
/// `jku`/`x5u` point. Each with what it tries.
pub fn forgeries(real: &str, jwks: &Value, tripwire: &str) -> Vec<(String, String)> {
    let parts: Vec<&str> = real.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap().to_string();
    let payload = parts[1];
    let server_jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the token's key in JWKS")
        .clone();
    let mut out = Vec::new();
    let unsigned = |h: Value| format!("{}.{payload}", b64(h.to_string().as_bytes()));

    for alg in ["none", "None", "NONE", "nOnE"] {
        out.push((
            format!("alg {alg}"),
            format!("{}.", unsigned(json!({"alg": alg, "kid": kid}))),
        ));
        out.push((
            format!("alg {alg} with the old signature"),
            format!("{}.{}", unsigned(json!({"alg": alg, "kid": kid})), parts[2]),
        ));
    }
    out.push((
        "alg none without kid".into(),
        format!("{}.", unsigned(json!({"alg": "none"}))),
    ));
    for (i, secret) in public_key_as_secrets(&server_jwk).iter().enumerate() {
        for (alg, algorithm) in [
            ("HS256", hmac::HMAC_SHA256),
            ("HS384", hmac::HMAC_SHA384),
            ("HS512", hmac::HMAC_SHA512),
        ] {
            let input = unsigned(json!({"alg": alg, "kid": kid, "typ": header["typ"]}));
            let tag = hmac::sign(&hmac::Key::new(algorithm, secret), input.as_bytes());
            out.push((
                format!("{alg} keyed with the public key (form {i})"),
                format!("{input}.{}", b64(tag.as_ref())),
            ));
        }
    }
    let attacker = attacker();
    let own_kid = attacker.jwk["kid"].as_str().unwrap().to_string();
    out.push((
        "embedded jwk, the server's kid".into(),
        attacker.sign(
            &json!({"alg": "RS256", "kid": kid, "jwk": attacker.jwk}),
            payload,
        ),
    ));
    out.push((
        "embedded jwk, its own kid".into(),
        attacker.sign(
            &json!({"alg": "RS256", "kid": own_kid, "jwk": attacker.jwk}),
            payload,
        ),
    ));
    out.push((
        "embedded jwk, no kid".into(),
        attacker.sign(&json!({"alg": "RS256", "jwk": attacker.jwk}), payload),
    ));
    for member in ["jku", "x5u"] {
        let url = format!("{tripwire}/{member}.json");
        out.push((
            format!("{member}, its own kid"),
            attacker.sign(
                &json!({"alg": "RS256", "kid": own_kid, member: url}),
                payload,
            ),
        ));
        out.push((
            format!("{member}, the server's kid"),
            attacker.sign(&json!({"alg": "RS256", "kid": kid, member: url}), payload),
        ));
    }
    out.push((
        "unknown kid".into(),
        attacker.sign(&json!({"alg": "RS256", "kid": own_kid}), payload),
    ));
    out.push((
        "the server's kid, another key".into(),
        attacker.sign(&json!({"alg": "RS256", "kid": kid}), payload),
    ));
    out.push((
        "no kid, another key".into(),
        attacker.sign(&json!({"alg": "RS256"}), payload),
    ));
    out.push((
        "kid path traversal".into(),
        attacker.sign(
            &json!({"alg": "RS256", "kid": "../../../../dev/null"}),
            payload,
        ),
    ));
    out.push((
        "PS256 with the old signature".into(),
        format!(
            "{}.{}",
            unsigned(json!({"alg": "PS256", "kid": kid})),
            parts[2]
        ),
    ));
    out.push((
        "crit header".into(),
        format!(
            "{}.{}",
            unsigned(json!({"alg": "RS256", "kid": kid, "crit": ["exp"]})),
            parts[2]
        ),
    ));
    out.push((
        "two signatures' worth of dots".into(),
        format!("{real}.{}", parts[2]),
    ));
    out
}

/// The server's JWKS for `server` ("org" or a custom server id).
pub async fn jwks(t: &crate::support::TestApp, server: &str) -> Value {
    t.http
        .get(t.endpoint(server, "keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
