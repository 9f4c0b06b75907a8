//! Client authentication at the token endpoint (RFC 6749 §2.3.1): HTTP Basic
//! (`client_secret_basic`), form fields (`client_secret_post`), or none for a public
//! client, which then identifies itself with `client_id` alone. A client uses the one
//! method it registered; more than one method in a request is `invalid_request`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;

use super::params::Params;
use super::OAuthError;
use crate::crypto::MasterKey;
use crate::store::Client;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Basic { client_id: String, secret: String },
    Post { client_id: String, secret: String },
    None { client_id: String },
}

impl Presented {
    pub fn client_id(&self) -> &str {
        match self {
            Presented::Basic { client_id, .. }
            | Presented::Post { client_id, .. }
            | Presented::None { client_id } => client_id,
        }
    }

    fn method(&self) -> &'static str {
        match self {
            Presented::Basic { .. } => "client_secret_basic",
            Presented::Post { .. } => "client_secret_post",
            Presented::None { .. } => "none",
        }
    }

    fn is_basic(&self) -> bool {
        matches!(self, Presented::Basic { .. })
    }
}

/// Reads the credentials from the `Authorization` header and the form.
pub fn presented(authorization: Option<&str>, params: &Params) -> Result<Presented, OAuthError> {
    let form_id = params.one("client_id")?;
    let form_secret = params.one("client_secret")?;
    if let Some(header) = authorization {
        let (client_id, secret) = parse_basic(header).ok_or_else(|| OAuthError::invalid_client(true))?;
        if form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "The client used more than one authentication method.",
            ));
        }
        // RFC 6749 §2.3.1 allows client_id in the body too, but it must agree.
        if form_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_client(true));
        }
        return Ok(Presented::Basic { client_id, secret });
    }
    match (form_id, form_secret) {
        (Some(id), Some(secret)) => Ok(Presented::Post {
            client_id: id.to_string(),
            secret: secret.to_string(),
        }),
        (Some(id), None) => Ok(Presented::None { client_id: id.to_string() }),
        (None, _) => Err(OAuthError::invalid_client(false)),
    }
}

/// `Basic base64(urlencode(client_id) ":" urlencode(secret))`, RFC 6749 §2.3.1.
fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(value.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> Option<String> {
        percent_decode_str(&s.replace('+', " ")).decode_utf8().ok().map(|c| c.into_owned())
    };
    let (id, secret) = (unescape(id)?, unescape(secret)?);
    (!id.is_empty()).then_some((id, secret))
}

/// RFC 6749 §3.2.1: authenticates the client the store holds for the presented id.
/// Every failure is the same `invalid_client`; the secret is checked in constant time.
pub fn authenticate<'c>(
    presented: &Presented,
    client: Option<&'c Client>,
    master: &MasterKey,
) -> Result<&'c Client, OAuthError> {
    let fail = || OAuthError::invalid_client(presented.is_basic());
    let client = client.filter(|c| c.is_active()).ok_or_else(fail)?;
    if client.auth_method != presented.method() {
        return Err(fail());
    }
    match presented {
        Presented::Basic { secret, .. } | Presented::Post { secret, .. } => {
            let stored = client.secret_hash.as_deref().ok_or_else(fail)?;
            if master.verify_client_secret(secret, stored) {
                Ok(client)
            } else {
                Err(fail())
            }
        }
        Presented::None { .. } => Ok(client),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn reads_basic_with_form_encoding() {
        let p = presented(Some(&basic("my%20app", "a%3Ab")), &Params::default()).unwrap();
        assert_eq!(
            p,
            Presented::Basic {
                client_id: "my app".into(),
                secret: "a:b".into()
            }
        );
    }

    #[test]
    fn refuses_two_methods_and_nothing() {
        let p = Params::from_pairs([("client_id", "x"), ("client_secret", "y")]);
        assert_eq!(presented(Some(&basic("x", "y")), &p).unwrap_err().code(), "invalid_request");
        let e = presented(None, &Params::default()).unwrap_err();
        assert_eq!((e.code(), e.status()), ("invalid_client", 401));
        assert!(presented(Some("Bearer abc"), &Params::default()).unwrap_err().basic_challenge);
    }

    #[test]
    fn authenticates_with_the_registered_method_only() {
        let master = MasterKey::from_bytes(&[3; 32]);
        let client = Client {
            client_id: "c".into(),
            name: "c".into(),
            secret_hash: Some(master.hash_client_secret("s")),
            auth_method: "client_secret_basic".into(),
            application_type: "web".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            response_types: vec![],
            refresh_token_leeway: 0,
            require_pushed_authorization_requests: false,
            status: "ACTIVE".into(),
            created_at: 0,
            updated_at: 0,
        };
        let good = Presented::Basic { client_id: "c".into(), secret: "s".into() };
        assert!(authenticate(&good, Some(&client), &master).is_ok());
        let wrong = Presented::Basic { client_id: "c".into(), secret: "t".into() };
        assert!(authenticate(&wrong, Some(&client), &master).is_err());
        let post = Presented::Post { client_id: "c".into(), secret: "s".into() };
        assert!(authenticate(&post, Some(&client), &master).is_err());
        let none = Presented::None { client_id: "c".into() };
        assert!(authenticate(&none, Some(&client), &master).is_err());
        assert!(authenticate(&good, None, &master).is_err());
    }
}
