//! Client authentication at the token endpoint (RFC 6749 §2.3): HTTP Basic
//! (`client_secret_basic`), form fields (`client_secret_post`), a JWT assertion
//! (`client_secret_jwt`, `private_key_jwt`: RFC 7523 §2.2, OpenID Connect Core §9), or
//! none for a public client, which then identifies itself with `client_id` alone. A
//! client uses the one method it registered; more than one method in a request is
//! `invalid_request`. A public client may also name itself in the Basic header with no
//! colon and no secret (`Basic base64(client_id)`), as Okta's okta-auth-js does at the
//! revocation and introspection endpoints; Okta accepts that from a public client.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;

use super::OAuthError;
use super::client_assertion::{self, JWT_BEARER};
use super::params::Params;
use crate::crypto::MasterKey;
use crate::store::{AuthMethod, Client};

/// Every method, by the names of RFC 8414 §2 / OpenID Connect Discovery §3 (and Okta's).
pub const METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Basic {
        client_id: String,
        secret: String,
    },
    Post {
        client_id: String,
        secret: String,
    },
    /// A `client_assertion`; the client id is the form's `client_id` or, without one,
    /// the assertion's unverified `sub` (verification then requires both to agree).
    Jwt {
        client_id: String,
        assertion: String,
    },
    None {
        client_id: String,
    },
    /// `Authorization: Basic base64(client_id)`: no colon, no secret. Identification
    /// only, like `None`, and accepted only from a public client (`none`).
    BasicId {
        client_id: String,
    },
}

impl Presented {
    pub fn client_id(&self) -> &str {
        match self {
            Presented::Basic { client_id, .. }
            | Presented::Post { client_id, .. }
            | Presented::Jwt { client_id, .. }
            | Presented::None { client_id }
            | Presented::BasicId { client_id } => client_id,
        }
    }

    fn method_fits(&self, registered: AuthMethod) -> bool {
        match self {
            Presented::Basic { .. } => registered == AuthMethod::ClientSecretBasic,
            Presented::Post { .. } => registered == AuthMethod::ClientSecretPost,
            Presented::Jwt { .. } => matches!(
                registered,
                AuthMethod::ClientSecretJwt | AuthMethod::PrivateKeyJwt
            ),
            Presented::None { .. } | Presented::BasicId { .. } => registered == AuthMethod::None,
        }
    }

    fn is_basic(&self) -> bool {
        matches!(self, Presented::Basic { .. } | Presented::BasicId { .. })
    }

    /// Identification without credentials: what a public client sends.
    pub fn is_identification_only(&self) -> bool {
        matches!(self, Presented::None { .. } | Presented::BasicId { .. })
    }
}

/// Reads the credentials from the `Authorization` header and the form.
pub fn presented(authorization: Option<&str>, params: &Params) -> Result<Presented, OAuthError> {
    let form_id = params.one("client_id")?;
    let form_secret = params.one("client_secret")?;
    let assertion_type = params.one("client_assertion_type")?;
    let assertion = params.one("client_assertion")?;
    if assertion_type.is_some() || assertion.is_some() {
        if authorization.is_some() || form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "The client used more than one authentication method.",
            ));
        }
        // RFC 7521 §4.2: both parameters, and the one type this server knows.
        let (Some(JWT_BEARER), Some(assertion)) = (assertion_type, assertion) else {
            return Err(OAuthError::invalid_client(false));
        };
        let client_id = match form_id {
            Some(id) => id.to_string(),
            None => client_assertion::claimed_client_id(assertion)
                .ok_or_else(|| OAuthError::invalid_client(false))?,
        };
        return Ok(Presented::Jwt {
            client_id,
            assertion: assertion.to_string(),
        });
    }
    if let Some(header) = authorization {
        let (client_id, secret) =
            parse_basic(header).ok_or_else(|| OAuthError::invalid_client(true))?;
        if form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "The client used more than one authentication method.",
            ));
        }
        // RFC 6749 §2.3.1 allows client_id in the body too, but it must agree.
        if form_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_client(true));
        }
        return Ok(match secret {
            Some(secret) => Presented::Basic { client_id, secret },
            None => Presented::BasicId { client_id },
        });
    }
    match (form_id, form_secret) {
        (Some(id), Some(secret)) => Ok(Presented::Post {
            client_id: id.to_string(),
            secret: secret.to_string(),
        }),
        (Some(id), None) => Ok(Presented::None {
            client_id: id.to_string(),
        }),
        (None, _) => Err(OAuthError::invalid_client(false)),
    }
}

/// `Basic base64(urlencode(client_id) ":" urlencode(secret))`, RFC 6749 §2.3.1; or
/// `Basic base64(client_id)` with no colon (Okta's auth-js for a public client): the
/// id and no secret.
fn parse_basic(header: &str) -> Option<(String, Option<String>)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(value.trim()).ok()?).ok()?;
    let unescape = |s: &str| -> Option<String> {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    let (id, secret) = match decoded.split_once(':') {
        Some((id, secret)) => (unescape(id)?, Some(unescape(secret)?)),
        None => (unescape(&decoded)?, None),
    };
    (!id.is_empty()).then_some((id, secret))
}

/// Does `secret` match one of the client's ACTIVE secrets? Each is checked (no early
/// exit), each in constant time.
pub fn secret_matches(client: &Client, secret: &str, master: &MasterKey) -> bool {
    let mut matched = false;
    for stored in client.secrets.iter().filter(|s| s.is_active()) {
        if let Some(hash) = crate::crypto::hex_decode(&stored.hash) {
            matched |= master.verify_client_secret(secret, &hash);
        }
    }
    matched
}

/// How far `authenticate` got.
#[derive(Debug, PartialEq, Eq)]
pub enum Authenticated<'c, 'p> {
    /// The client proved who it is (a secret), or needs not (a public client).
    Done(&'c Client),
    /// The client registered a JWT method and sent an assertion: what remains is the
    /// assertion's signature, claims and single use (`flows::client_jwt`),
    /// which need its keys and the store. Not authenticated until then.
    AssertionToVerify(&'c Client, &'p str),
}

/// RFC 6749 §3.2.1: authenticates the client the store holds for the presented id:
/// the client must be active and have registered the presented method. Every failure
/// is the same `invalid_client`; secrets are checked in constant time.
pub fn authenticate<'c, 'p>(
    presented: &'p Presented,
    client: Option<&'c Client>,
    master: &MasterKey,
) -> Result<Authenticated<'c, 'p>, OAuthError> {
    let fail = || OAuthError::invalid_client(presented.is_basic());
    let client = client.filter(|c| c.is_active()).ok_or_else(fail)?;
    if !presented.method_fits(client.auth_method) {
        return Err(fail());
    }
    match presented {
        Presented::Basic { secret, .. } | Presented::Post { secret, .. } => {
            if secret_matches(client, secret, master) {
                Ok(Authenticated::Done(client))
            } else {
                Err(fail())
            }
        }
        Presented::None { .. } | Presented::BasicId { .. } => Ok(Authenticated::Done(client)),
        Presented::Jwt { assertion, .. } => Ok(Authenticated::AssertionToVerify(client, assertion)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Status;

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
    fn reads_a_basic_header_with_the_client_id_alone() {
        let header = format!("Basic {}", STANDARD.encode("0oaPublic"));
        let p = presented(Some(&header), &Params::default()).unwrap();
        assert_eq!(
            p,
            Presented::BasicId {
                client_id: "0oaPublic".into()
            }
        );
        assert!(p.is_identification_only() && p.is_basic());
        let empty = format!("Basic {}", STANDARD.encode(""));
        assert!(presented(Some(&empty), &Params::default()).is_err());
    }

    #[test]
    fn refuses_two_methods_and_nothing() {
        let p = Params::from_pairs([("client_id", "x"), ("client_secret", "y")]);
        assert_eq!(
            presented(Some(&basic("x", "y")), &p).unwrap_err().code(),
            "invalid_request"
        );
        let e = presented(None, &Params::default()).unwrap_err();
        assert_eq!((e.code(), e.status()), ("invalid_client", 401));
        assert!(
            presented(Some("Bearer abc"), &Params::default())
                .unwrap_err()
                .basic_challenge
        );
    }

    #[test]
    fn authenticates_with_the_registered_method_only() {
        let master = MasterKey::from_bytes(&[3; 32]);
        let client = Client {
            client_id: "c".into(),
            name: "c".into(),
            secrets: vec![crate::store::ClientSecret {
                id: "ocs1".into(),
                hash: crate::crypto::hex(&master.hash_client_secret("s")),
                sealed: None,
                status: Status::Active,
                created: 0,
                updated: 0,
            }],
            auth_method: AuthMethod::ClientSecretBasic,
            jwks: None,
            jwks_uri: None,
            dpop_bound_access_tokens: false,
            application_type: "web".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            response_types: vec![],
            refresh_token_leeway: 0,
            require_pushed_authorization_requests: false,
            request_object_signing_alg: None,
            require_signed_request_object: false,
            pkce_required: false,
            pkce_allow_plain: false,
            logout: Default::default(),
            status: Status::Active,
            created_at: 0,
            updated_at: 0,
            version: 0,
        };
        let good = Presented::Basic {
            client_id: "c".into(),
            secret: "s".into(),
        };
        assert!(authenticate(&good, Some(&client), &master).is_ok());
        let wrong = Presented::Basic {
            client_id: "c".into(),
            secret: "t".into(),
        };
        assert!(authenticate(&wrong, Some(&client), &master).is_err());
        let post = Presented::Post {
            client_id: "c".into(),
            secret: "s".into(),
        };
        assert!(authenticate(&post, Some(&client), &master).is_err());
        let none = Presented::None {
            client_id: "c".into(),
        };
        assert!(authenticate(&none, Some(&client), &master).is_err());
        let id_only = Presented::BasicId {
            client_id: "c".into(),
        };
        let refused = authenticate(&id_only, Some(&client), &master).unwrap_err();
        assert_eq!(
            (refused.code(), refused.status(), refused.basic_challenge),
            ("invalid_client", 401, true),
            "a confidential client must present its secret"
        );
        let public = Client {
            auth_method: AuthMethod::None,
            secrets: vec![],
            ..client.clone()
        };
        assert!(authenticate(&id_only, Some(&public), &master).is_ok());
        assert!(authenticate(&good, None, &master).is_err());
        let mut two = client.clone();
        two.secrets.push(crate::store::ClientSecret {
            id: "ocs2".into(),
            hash: crate::crypto::hex(&master.hash_client_secret("t")),
            ..client.secrets[0].clone()
        });
        assert!(
            authenticate(&wrong, Some(&two), &master).is_ok(),
            "the second secret works too"
        );
        two.secrets[1].status = Status::Inactive;
        assert!(
            authenticate(&wrong, Some(&two), &master).is_err(),
            "an inactive secret does not"
        );
    }

    #[test]
    fn reads_an_assertion_and_refuses_mixing_it() {
        let p = Params::from_pairs([
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", "a.b.c"),
            ("client_id", "c"),
        ]);
        assert_eq!(
            presented(None, &p).unwrap(),
            Presented::Jwt {
                client_id: "c".into(),
                assertion: "a.b.c".into()
            }
        );
        assert_eq!(
            presented(Some(&basic("c", "s")), &p).unwrap_err().code(),
            "invalid_request"
        );
        let wrong_type = Params::from_pairs([
            ("client_assertion_type", "urn:x"),
            ("client_assertion", "a.b.c"),
            ("client_id", "c"),
        ]);
        assert_eq!(
            presented(None, &wrong_type).unwrap_err().code(),
            "invalid_client"
        );
    }
}
