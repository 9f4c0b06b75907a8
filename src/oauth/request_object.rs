//! Request objects (RFC 9101, JAR; OpenID Connect Core §6.1): the authorization
//! request's parameters as claims of a JWT the client signed. The rules without I/O:
//! which algorithms an app may sign with, what the claims must say, and which
//! parameters the request then has. Finding the key and recording the `jti` are
//! `flows::request_object`'s.
//!
//! What is accepted:
//! - signed only: `none` and unsigned objects are refused, as are encrypted ones (a
//!   JWE has five parts) and any key carried or named in the header (`jwk`, `jku`,
//!   `x5u`, `x5c`);
//! - `alg` of the app's method (asymmetric for `private_key_jwt`, with its registered
//!   keys; HMAC for `client_secret_jwt`, with its secret), and exactly the app's
//!   `request_object_signing_alg` when it registered one. Apps with other methods keep
//!   no key the object could be checked with, so they cannot send one;
//! - `iss` = the client id, `aud` = the server's issuer (a string or a one-element
//!   array), `exp` required and at most `MAX_LIFETIME` ahead, `nbf` if present, `jti`
//!   required (used once), a `client_id` claim, if present, the outer `client_id`.
//!
//! The parameters (RFC 9101 §6.3): only the object's claims (less the JWT's own `iss`,
//! `aud`, `exp`, `nbf`, `iat`, `jti`) and the outer `client_id`; every other outer
//! parameter is ignored, except an outer `response_type` that differs from the
//! object's, which is refused. Objects inside the object are refused.

use serde_json::Value;

use super::params::Params;
use super::{ErrorCode, OAuthError};
use crate::clock::UnixTime;
use crate::crypto::sha256;
use crate::store::{AuthMethod, Client};
use crate::tokens::jose::{ASYMMETRIC_ALGS, HMAC_ALGS, Jws, Rules};

/// Clock skew tolerated on `exp` and `nbf` (seconds).
pub const SKEW: i64 = 30;
/// The longest a request object may still be valid for when it arrives (seconds): its
/// `jti` is remembered that long. FAPI 2.0's limit is 60 minutes.
pub const MAX_LIFETIME: i64 = 3600;
/// Longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 256;

/// The JWT's own claims: not authorization request parameters.
const JWT_CLAIMS: &[&str] = &["iss", "aud", "exp", "nbf", "iat", "jti", "sub"];

/// RFC 9101 §6.2 (OpenID Connect Core §3.1.2.6): `invalid_request_object`.
pub fn invalid(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestObject, description)
}

/// The algorithms an app authenticating with `auth_method` may sign request objects
/// with; empty when the server holds no key to check them with.
pub fn algs_for(auth_method: AuthMethod) -> &'static [&'static str] {
    match auth_method {
        AuthMethod::PrivateKeyJwt => ASYMMETRIC_ALGS,
        AuthMethod::ClientSecretJwt => HMAC_ALGS,
        _ => &[],
    }
}

/// Every algorithm some app may use: discovery's
/// `request_object_signing_alg_values_supported`.
pub fn all_algs() -> Vec<&'static str> {
    ASYMMETRIC_ALGS.iter().chain(HMAC_ALGS).copied().collect()
}

/// The header rules for `client`'s request objects: its registered algorithm, or its
/// method's; never a key in the header. `None`: the app cannot send request objects.
/// A registered algorithm outside the method's (refused at registration) allows none.
pub fn rules(client: &Client) -> Option<Rules<'static>> {
    let algs = algs_for(client.auth_method);
    if algs.is_empty() {
        return None;
    }
    let algs = match client.request_object_signing_alg.as_deref() {
        None => algs,
        Some(alg) => match algs.iter().position(|a| *a == alg) {
            Some(i) => &algs[i..=i],
            None => &[],
        },
    };
    Some(Rules {
        algs,
        embedded_key: false,
    })
}

/// A request object whose claims passed; its `jti` must now be used once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// SHA-256 of the client id and the `jti`: the single-use record's key.
    pub replay_key: Vec<u8>,
    /// Until when the record must be kept: past this, the object is refused anyway.
    pub keep_until: UnixTime,
}

/// The claims of a request object of `client_id` whose signature verified, at a server
/// whose issuer is `issuer`.
pub fn check(
    jws: &Jws,
    client_id: &str,
    issuer: &str,
    now: UnixTime,
) -> Result<Accepted, OAuthError> {
    if jws.claim_str("iss") != Some(client_id) {
        return Err(invalid("The request object's iss is not the client_id."));
    }
    let aud = match jws.claims.get("aud") {
        Some(Value::String(a)) => Some(a.as_str()),
        Some(Value::Array(list)) if list.len() == 1 => list[0].as_str(),
        _ => None,
    };
    if aud != Some(issuer) {
        return Err(invalid(
            "The request object's aud is not this authorization server's issuer.",
        ));
    }
    let exp = jws
        .times
        .exp
        .ok_or_else(|| invalid("The request object has no exp."))?;
    if now >= exp.saturating_add(SKEW) {
        return Err(invalid("The request object has expired."));
    }
    if exp > now.saturating_add(MAX_LIFETIME) {
        return Err(invalid(
            "The request object's exp is more than an hour ahead.",
        ));
    }
    if jws
        .times
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(SKEW))
    {
        return Err(invalid("The request object is not valid yet (nbf)."));
    }
    match jws.claims.get("client_id") {
        None => {}
        Some(Value::String(c)) if c == client_id => {}
        Some(_) => {
            return Err(invalid(
                "The request object's client_id does not match the request's client_id.",
            ));
        }
    }
    let jti = jws
        .claim_str("jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or_else(|| invalid("The request object has no usable jti."))?;
    let mut key = b"request_object\0".to_vec();
    key.extend_from_slice(client_id.as_bytes());
    key.push(0);
    key.extend_from_slice(jti.as_bytes());
    Ok(Accepted {
        replay_key: sha256(&key),
        keep_until: exp.saturating_add(SKEW),
    })
}

/// RFC 9101 §6.3: the request's parameters: the object's claims (less the JWT's own)
/// and the outer `client_id`. A string claim is the parameter's value; a number or
/// boolean its JSON text (`max_age`); an object or array its JSON text (`claims`).
pub fn parameters(jws: &Jws, outer: &Params, client_id: &str) -> Result<Params, OAuthError> {
    if jws.claims.contains_key("request") || jws.claims.contains_key("request_uri") {
        return Err(invalid(
            "A request object cannot hold request or request_uri.",
        ));
    }
    if let (Ok(Some(outer_type)), Some(inner)) =
        (outer.one("response_type"), jws.claims.get("response_type"))
        && inner.as_str() != Some(outer_type)
    {
        return Err(invalid(
            "The response_type outside the request object differs from the one inside it.",
        ));
    }
    let mut pairs: Vec<(String, String)> = vec![("client_id".into(), client_id.into())];
    for (name, value) in &jws.claims {
        if JWT_CLAIMS.contains(&name.as_str()) || name == "client_id" {
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            other => other.to_string(),
        };
        pairs.push((name.clone(), text));
    }
    Ok(Params::from_pairs(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::b64url;
    use serde_json::json;

    const ISSUER: &str = "https://id.example/oauth2/default";

    fn jws(claims: Value) -> Jws {
        let t = format!(
            "{}.{}.{}",
            b64url(json!({"alg": "RS256"}).to_string().as_bytes()),
            b64url(claims.to_string().as_bytes()),
            b64url(b"sig")
        );
        Jws::read(
            &t,
            &Rules {
                algs: ASYMMETRIC_ALGS,
                embedded_key: false,
            },
        )
        .unwrap()
    }

    fn good(now: i64) -> Value {
        json!({"iss": "c1", "aud": ISSUER, "exp": now + 60, "jti": "j1",
               "client_id": "c1", "response_type": "code", "scope": "openid",
               "max_age": 300, "claims": {"id_token": {"email": null}}})
    }

    #[test]
    fn claims_are_checked() {
        assert!(check(&jws(good(1000)), "c1", ISSUER, 1000).is_ok());
        let refused = |change: &dyn Fn(&mut Value)| {
            let mut c = good(1000);
            change(&mut c);
            check(&jws(c), "c1", ISSUER, 1000).unwrap_err().code()
        };
        assert_eq!(
            refused(&|c| c["iss"] = json!("c2")),
            "invalid_request_object"
        );
        assert_eq!(
            refused(&|c| c["aud"] = json!("https://other")),
            "invalid_request_object"
        );
        assert_eq!(
            refused(&|c| c["aud"] = json!([ISSUER, "https://other"])),
            "invalid_request_object"
        );
        assert_eq!(
            refused(&|c| c["exp"] = json!(900)),
            "invalid_request_object"
        );
        assert_eq!(
            refused(&|c| c["exp"] = json!(1000 + 7200)),
            "invalid_request_object"
        );
        assert_eq!(
            refused(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "invalid_request_object"
        );
        assert_eq!(
            refused(&|c| c["nbf"] = json!(2000)),
            "invalid_request_object"
        );
        assert_eq!(
            refused(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            "invalid_request_object"
        );
        assert_eq!(
            refused(&|c| c["client_id"] = json!("c2")),
            "invalid_request_object"
        );
        let mut listed = good(1000);
        listed["aud"] = json!([ISSUER]);
        assert!(check(&jws(listed), "c1", ISSUER, 1000).is_ok());
    }

    #[test]
    fn parameters_come_from_the_object_only() {
        let outer = Params::from_pairs([
            ("client_id", "c1"),
            ("scope", "openid profile email"),
            ("state", "outer"),
        ]);
        let p = parameters(&jws(good(1000)), &outer, "c1").unwrap();
        assert_eq!(p.one("scope").unwrap(), Some("openid"));
        assert_eq!(p.one("state").unwrap(), None);
        assert_eq!(p.one("max_age").unwrap(), Some("300"));
        assert_eq!(
            p.one("claims").unwrap(),
            Some(r#"{"id_token":{"email":null}}"#)
        );
        assert_eq!(p.one("iss").unwrap(), None);
        assert_eq!(p.one("client_id").unwrap(), Some("c1"));
        let differing = Params::from_pairs([("client_id", "c1"), ("response_type", "token")]);
        assert_eq!(
            parameters(&jws(good(1000)), &differing, "c1")
                .unwrap_err()
                .code(),
            "invalid_request_object"
        );
        let mut nested = good(1000);
        nested["request_uri"] = json!("https://evil.example/ro");
        assert_eq!(
            parameters(&jws(nested), &outer, "c1").unwrap_err().code(),
            "invalid_request_object"
        );
    }
}
