//! Pushed Authorization Requests (RFC 9126): the checks that are PAR's own. The pushed
//! parameters then go through the same `authorize::validate` pipeline as a request at
//! /authorize (§2.1: "the AS MUST validate the request in the same way as at the
//! authorization endpoint").

use super::params::Params;
use super::{ErrorCode, OAuthError};
use crate::crypto::{random_token, sha256};
use crate::store::Client;

/// RFC 9126 §2.2: the URN prefix of the `request_uri` values this server issues.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// RFC 9126 §2.2: `expires_in`. Short, since the browser follows at once; the pushed
/// request can be used once within it.
pub const PAR_TTL: i64 = 60;

/// Client authentication parameters (RFC 6749 §2.3.1, RFC 7523 §2.2): they authenticated
/// the push and are never stored with the request.
const CLIENT_AUTHENTICATION: &[&str] =
    &["client_secret", "client_assertion", "client_assertion_type"];

/// A new `request_uri` and the SHA-256 of its random part, which is what is stored.
pub fn new_request_uri() -> (String, Vec<u8>) {
    let random = random_token();
    let hash = sha256(random.as_bytes());
    (format!("{REQUEST_URI_PREFIX}{random}"), hash)
}

/// The SHA-256 of the random part of a `request_uri` this server issued, or `None` for
/// any other value (which this server never dereferences: `request_uri_not_supported`
/// at /authorize).
pub fn our_request_uri(value: &str) -> Option<Vec<u8>> {
    let random = value.strip_prefix(REQUEST_URI_PREFIX)?;
    (!random.is_empty() && random.len() <= 128).then(|| sha256(random.as_bytes()))
}

/// The parameters to validate and store, from a push by the authenticated `client`.
/// RFC 9126 §2.1: `request_uri` must not be pushed; a request object was resolved
/// into its parameters before (`flows::request_object`), so one here is refused; a
/// `client_id`, when given, must be the authenticated
/// client's (it is added when the client authenticated with HTTP Basic and left it
/// out). Client authentication parameters are dropped.
pub fn pushed_params(params: &Params, client: &Client) -> Result<Params, OAuthError> {
    if params.one("request_uri")?.is_some() {
        return Err(OAuthError::invalid_request(
            "The request_uri parameter must not be pushed.",
        ));
    }
    if params.one("request")?.is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "Request objects are not supported.",
        ));
    }
    let pushed = params.without(CLIENT_AUTHENTICATION);
    match params.one("client_id")? {
        Some(id) if id != client.client_id => Err(OAuthError::invalid_request(
            "The client_id does not match the authenticated client.",
        )),
        Some(_) => Ok(pushed),
        None => {
            let mut pairs: Vec<(String, String)> = pushed
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            pairs.push(("client_id".into(), client.client_id.clone()));
            Ok(Params::from_pairs(pairs))
        }
    }
}

/// RFC 9449 §10.1: a DPoP proof sent with the push (its key's thumbprint `proof_jkt`)
/// binds the authorization code to that key, as `dpop_jkt` would: the pushed request
/// gets `dpop_jkt` = the thumbprint. When `dpop_jkt` is pushed too, the two must agree
/// ("MUST reject the request if the JWK Thumbprint in dpop_jkt does not match"):
/// `invalid_dpop_proof`.
pub fn bind_dpop(pushed: Params, proof_jkt: Option<&str>) -> Result<Params, OAuthError> {
    let named = super::authorize::check_dpop_jkt(&pushed)?;
    let Some(jkt) = proof_jkt else {
        return Ok(pushed);
    };
    match named {
        Some(named) if crate::crypto::constant_time_eq(named.as_bytes(), jkt.as_bytes()) => {
            Ok(pushed)
        }
        Some(_) => Err(super::dpop::invalid(
            "The DPoP proof's key does not match dpop_jkt.",
        )),
        None => {
            let mut pairs: Vec<(String, String)> = pushed
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            pairs.push(("dpop_jkt".into(), jkt.to_string()));
            Ok(Params::from_pairs(pairs))
        }
    }
}

/// RFC 9126 §4 and OpenID Connect Core §3.1.2.6: the error for a `request_uri` that
/// was ours but cannot be used: unknown, expired, already used, or pushed by another
/// client or to another server. Nothing of the request is trusted, so it is a page.
pub fn unusable_request_uri() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidRequestUri,
        "The request_uri has expired, was already used, or belongs to another client. \
         Return to the application and sign in again.",
    )
}

/// RFC 9126 §6: for a client that must push its requests, a request that was not pushed.
pub fn par_required() -> OAuthError {
    OAuthError::invalid_request(
        "This client must use pushed authorization requests (request_uri from the PAR endpoint).",
    )
}

#[cfg(test)]
mod dpop_tests {
    use super::*;

    #[test]
    fn a_proof_binds_the_pushed_request_and_must_agree_with_dpop_jkt() {
        let jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        let other = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        let base = Params::parse(b"response_type=code&client_id=c").unwrap();
        assert_eq!(
            bind_dpop(base.clone(), None)
                .unwrap()
                .one("dpop_jkt")
                .unwrap(),
            None
        );
        assert_eq!(
            bind_dpop(base.clone(), Some(jkt))
                .unwrap()
                .one("dpop_jkt")
                .unwrap(),
            Some(jkt)
        );
        let named = Params::parse(format!("response_type=code&dpop_jkt={jkt}").as_bytes()).unwrap();
        assert_eq!(
            bind_dpop(named.clone(), Some(jkt))
                .unwrap()
                .one("dpop_jkt")
                .unwrap(),
            Some(jkt)
        );
        assert_eq!(
            bind_dpop(named, Some(other)).unwrap_err().code(),
            "invalid_dpop_proof"
        );
        let bad = Params::parse(b"response_type=code&dpop_jkt=short").unwrap();
        assert_eq!(
            bind_dpop(bad, Some(jkt)).unwrap_err().code(),
            "invalid_request"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuthMethod, Status};

    fn client() -> Client {
        Client {
            client_id: "0oaPAR".into(),
            name: "t".into(),
            auth_method: AuthMethod::ClientSecretPost,
            application_type: "web".into(),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            response_types: vec!["code".into()],
            refresh_token_leeway: 0,
            require_pushed_authorization_requests: false,
            request_object_signing_alg: None,
            require_signed_request_object: false,
            pkce_required: false,
            pkce_allow_plain: false,
            status: Status::Active,
            created_at: 0,
            updated_at: 0,
            version: 0,
            ..Client::default()
        }
    }

    #[test]
    fn request_uris_are_ours_or_refused() {
        let (uri, hash) = new_request_uri();
        assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"));
        assert_eq!(our_request_uri(&uri), Some(hash));
        for foreign in [
            "https://rp.example.com/req.jwt",
            "urn:ietf:params:oauth:request_uri:",
            "urn:example:x",
        ] {
            assert_eq!(our_request_uri(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn pushed_params_drop_secrets_and_bind_the_client() {
        let p = Params::from_pairs([
            ("response_type", "code"),
            ("client_secret", "s3cret"),
            ("client_id", "0oaPAR"),
        ]);
        let pushed = pushed_params(&p, &client()).unwrap();
        assert_eq!(pushed.to_form(), "response_type=code&client_id=0oaPAR");
        let basic = pushed_params(&Params::from_pairs([("scope", "openid")]), &client()).unwrap();
        assert_eq!(basic.one("client_id").unwrap(), Some("0oaPAR"));
        let other = Params::from_pairs([("client_id", "0oaOTHER")]);
        assert_eq!(
            pushed_params(&other, &client()).unwrap_err().code(),
            "invalid_request"
        );
        let nested = Params::from_pairs([("request_uri", "urn:ietf:params:oauth:request_uri:x")]);
        assert_eq!(
            pushed_params(&nested, &client()).unwrap_err().code(),
            "invalid_request"
        );
        let object = Params::from_pairs([("request", "eyJ...")]);
        assert_eq!(
            pushed_params(&object, &client()).unwrap_err().code(),
            "request_not_supported"
        );
    }
}
