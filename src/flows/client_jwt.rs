//! `client_secret_jwt` and `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9) at
//! the token, revocation, introspection and pushed authorization request endpoints: find the key, verify the
//! signature, check the claims (`oauth::client_assertion`), then record the `jti`
//! once in the store, so a replay fails on every instance sharing the database.
//! Every failure is the same `invalid_client`; the reason goes to the log.

use crate::admin::apps;
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::oauth::OAuthError;
use crate::oauth::client_assertion::{self, Expected};
use crate::store::{AuthMethod, AuthServer, Client};
use crate::tokens::jose::{self, Jws, PublicJwk};

/// What an assertion's `aud` may name (RFC 7523 §3 item 3): the server's issuer, or
/// the URL of the endpoint being called (`endpoint`: `token`, `revoke`, `introspect`,
/// `par`; RFC 9126 §2 names the PAR URL) — as Okta, which requires the latter. Not the
/// other endpoints: an assertion made for /revoke is no credential at /token.
pub fn audiences(services: &Services, server: &AuthServer, endpoint: &str) -> Vec<String> {
    vec![
        services.issuer(server),
        format!("{}/{endpoint}", services.endpoint_base(server)),
    ]
}

/// Verifies `assertion` for `client` (whose registered method is a JWT one), sent to
/// `endpoint` (see `audiences`).
pub async fn verify(
    services: &Services,
    server: &AuthServer,
    endpoint: &str,
    client: &Client,
    assertion: &str,
    now: UnixTime,
) -> Result<(), OAuthError> {
    let fail = |why: &dyn std::fmt::Display| {
        tracing::info!(client = %client.client_id, reason = %why, "client assertion refused");
        OAuthError::invalid_client(false)
    };
    // The header is read under the client's method's rules before any key is looked
    // up: its algorithms only, and no key carried or named in the header.
    let rules = client_assertion::rules(client.auth_method)
        .ok_or_else(|| fail(&"the client does not use a JWT method"))?;
    let jws = Jws::read(assertion, &rules).map_err(|e| fail(&e))?;
    match client.auth_method {
        AuthMethod::ClientSecretJwt => {
            let secrets = apps::jwt_secrets(client, &services.master);
            if !secrets.iter().any(|s| jws.verify_hmac(s).is_ok()) {
                return Err(fail(&"no active secret verifies the signature"));
            }
        }
        AuthMethod::PrivateKeyJwt => {
            let kid = jws.header.kid.as_deref();
            let keys = client_keys(services, client, kid)
                .await
                .map_err(|e| fail(&e))?;
            let key = jose::select(&keys, kid, jws.alg())
                .ok_or_else(|| fail(&"no registered key has this kid"))?;
            jws.verify_with(key).map_err(|e| fail(&e))?;
        }
        _ => return Err(fail(&"the client does not use a JWT method")),
    }
    let audiences = audiences(services, server, endpoint);
    let expected = Expected {
        client_id: &client.client_id,
        audiences: &audiences,
        now,
    };
    let accepted = client_assertion::check(&jws, &expected).map_err(|e| fail(&e))?;
    // RFC 7523 §3 item 7: the jti once, across every instance (one atomic statement).
    match services
        .store
        .use_jti_once(&accepted.replay_key, accepted.keep_until, now)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(fail(&"the jti was used before (replay)")),
        Err(e) => Err(e.into()),
    }
}

/// The client's registered keys: inline, or fetched from its `jwks_uri` (cached; an
/// unknown `kid` refetches, rate-limited).
pub(crate) async fn client_keys(
    services: &Services,
    client: &Client,
    kid: Option<&str>,
) -> Result<std::sync::Arc<Vec<PublicJwk>>, String> {
    if let Some(jwks) = &client.jwks {
        return jose::parse_jwks(jwks)
            .map(std::sync::Arc::new)
            .map_err(|e| e.to_string());
    }
    let uri = client.jwks_uri.as_deref().ok_or("the client has no keys")?;
    services
        .remote_jwks
        .keys(uri, kid)
        .await
        .map_err(|e| format!("the jwks_uri: {e}"))
}
