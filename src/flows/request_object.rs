//! Request objects (RFC 9101) at /authorize and at PAR: verify the `request` JWT with
//! the keys the client registered (the same JOSE reader and key lookup as client
//! assertions, `flows::client_jwt`), check its claims (`oauth::request_object`), record
//! its `jti` once in the store (one atomic statement, so a replay fails on every
//! instance sharing the database), and answer the request's parameters from it.
//! Every failure is `invalid_request_object`; the reason goes to the log too.

use crate::admin::apps;
use crate::clock::UnixTime;
use crate::flows::Services;
use crate::flows::client_jwt::client_keys;
use crate::oauth::OAuthError;
use crate::oauth::authorize::{self, Rejection};
use crate::oauth::params::Params;
use crate::oauth::reply::ReplyTarget;
use crate::oauth::request_object::{self, invalid};
use crate::store::{AuthMethod, AuthServer, Client};
use crate::tokens::jose::{self, Jws};

/// The parameters of the authorization request `object` carries for `client` at
/// `server`; `outer` are the parameters it came with (RFC 9101 §6.3: only its
/// `client_id` and `response_type` are looked at).
pub async fn resolve(
    services: &Services,
    server: &AuthServer,
    client: &Client,
    object: &str,
    outer: &Params,
    now: UnixTime,
) -> Result<Params, OAuthError> {
    let refuse = |why: &dyn std::fmt::Display, e: OAuthError| {
        tracing::info!(client = %client.client_id, reason = %why, "request object refused");
        e
    };
    // RFC 9101 §5: one or the other.
    if outer.one("request_uri")?.is_some() {
        return Err(OAuthError::invalid_request(
            "The request and request_uri parameters cannot both be sent.",
        ));
    }
    let rules = request_object::rules(client).ok_or_else(|| {
        invalid("This client cannot sign request objects: only private_key_jwt and client_secret_jwt apps can.")
    })?;
    let not_signed = || {
        invalid(
            "The request object is not a JWT signed with an algorithm this client is registered for.",
        )
    };
    let jws = Jws::read(object, &rules).map_err(|e| refuse(&e, not_signed()))?;
    let bad_signature =
        || invalid("The request object's signature does not verify with the client's keys.");
    match client.auth_method {
        AuthMethod::PrivateKeyJwt => {
            let kid = jws.header.kid.as_deref();
            let keys = client_keys(services, client, kid)
                .await
                .map_err(|e| refuse(&e, bad_signature()))?;
            let key = jose::select(&keys, kid, jws.alg())
                .ok_or_else(|| refuse(&"no registered key fits", bad_signature()))?;
            jws.verify_with(key)
                .map_err(|e| refuse(&e, bad_signature()))?;
        }
        AuthMethod::ClientSecretJwt => {
            let secrets = apps::jwt_secrets(client, &services.master);
            if !secrets.iter().any(|s| jws.verify_hmac(s).is_ok()) {
                return Err(refuse(&"no active secret verifies it", bad_signature()));
            }
        }
        _ => return Err(not_signed()),
    }
    let accepted = request_object::check(&jws, &client.client_id, &services.issuer(server), now)
        .map_err(|e| refuse(&e, e.clone()))?;
    let parameters = request_object::parameters(&jws, outer, &client.client_id)?;
    // RFC 9101 §10.8 (replay): the jti once, across every instance.
    if !services
        .store
        .use_jti_once(&accepted.replay_key, accepted.keep_until, now)
        .await?
    {
        return Err(refuse(
            &"jti replayed",
            invalid("The request object was used before."),
        ));
    }
    Ok(parameters)
}

/// Where the error for a refused request object goes at /authorize: nothing in the
/// object is trusted, so the redirect URI the outer parameters name (or the app's only
/// one) when it is the app's, with no `state` (the object's is unknown, the outer one
/// is not the request's, RFC 9101 §6.3); `None`: nowhere trusted, an error page.
pub fn refused_target(
    services: &Services,
    server: &AuthServer,
    client: &Client,
    outer: &Params,
) -> Option<ReplyTarget> {
    let outer = outer.without(&["request", "state"]);
    let issuer = services.issuer(server);
    // The scopes are not looked at before the redirect URI is trusted.
    match authorize::validate(&outer, &server.id, &issuer, Some(client), &[]) {
        Ok(request) => Some(request.reply),
        Err(Rejection::Redirect(target, _)) => Some(target),
        Err(Rejection::Render(_)) => None,
    }
}

/// RFC 9101 §10.5: the error for a plain request from an app that must send request
/// objects.
pub fn required() -> OAuthError {
    OAuthError::invalid_request(
        "This client must send its authorization requests as a signed request object.",
    )
}
