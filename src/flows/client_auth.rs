//! Client authentication (RFC 6749 §2.3, §3.2.1) at the token, revocation,
//! introspection and pushed authorization request endpoints, with throttling per
//! client_id and address.

use crate::admin::syslog::{self, Actor, Event};
use crate::clock::UnixTime;
use crate::flows::{ClientCache, Services, client_jwt};
use crate::identity::throttle;
use crate::oauth::OAuthError;
use crate::oauth::client_auth::{self, Authenticated, Presented};
use crate::oauth::params::Params;
use crate::store::{AuthMethod, AuthServer, Client, ThrottleState};

/// What the request carries besides its form: the `Authorization` header (`Some("")`
/// when it is not text) and the caller's address.
#[derive(Debug, Default, Clone, Copy)]
pub struct Credentials<'a> {
    pub authorization: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// The client as presented (Basic, form or assertion), before anything is checked:
/// what a refusal is logged under.
pub fn presented(credentials: &Credentials<'_>, params: &Params) -> Result<Presented, OAuthError> {
    client_auth::presented(credentials.authorization, params)
}

/// The client of a request to `server`, authenticated by the method it registered (a
/// JWT assertion per RFC 7523 §2.2, its `aud` the URL of `endpoint`: `token`,
/// `revoke`, `introspect` or `par`). A repeated parameter is refused first (§3.2).
/// A client_id that failed too often from this address is refused before its
/// credentials are checked (`OAuthError::client_throttled`, 429), and each failure,
/// a bad assertion included, is counted (`identity::throttle`); a registered public
/// client presenting no credentials (`none`) is never throttled. At `revoke` and
/// `introspect` a public client may name itself in the Basic header without a secret
/// (`Basic base64(client_id)`, as Okta's auth-js sends and Okta accepts); anywhere
/// else, and from any client that registered a secret or a key, that is
/// `invalid_client`.
pub async fn authenticate(
    services: &Services,
    server: &AuthServer,
    credentials: &Credentials<'_>,
    params: &Params,
    endpoint: &str,
    now: UnixTime,
) -> Result<Client, OAuthError> {
    let presented = presented_at(credentials, params, endpoint)?;
    authenticate_presented(
        services,
        server,
        credentials,
        &presented,
        endpoint,
        Failures::ToRead,
        now,
    )
    .await
}

/// The client as presented at `endpoint`, with what needs no lookup checked: no
/// repeated parameter (§3.2), and a Basic header naming only a client id only at
/// `revoke` and `introspect`. `authenticate`'s first step.
pub fn presented_at(
    credentials: &Credentials<'_>,
    params: &Params,
    endpoint: &str,
) -> Result<Presented, OAuthError> {
    if let Some(name) = params.first_repeated() {
        return Err(OAuthError::invalid_request(format!(
            "The '{}' parameter was given more than once.",
            name.chars().take(64).collect::<String>()
        )));
    }
    let presented = presented(credentials, params)?;
    if matches!(presented, Presented::BasicId { .. })
        && !matches!(endpoint, "revoke" | "introspect")
    {
        return Err(OAuthError::invalid_client(true));
    }
    Ok(presented)
}

/// The throttle key of the client as presented, from the caller's address.
pub fn throttle_key(presented: &Presented, credentials: &Credentials<'_>) -> String {
    throttle::client_key(presented.client_id(), credentials.ip)
}

/// The presented client's failure counter: read by `authenticate_presented`, or
/// already read by the caller with the rest of its request's rows (under
/// `throttle_key`, in the same request, so no older than a read of its own).
pub enum Failures {
    ToRead,
    Read(Option<ThrottleState>),
}

/// `authenticate` after `presented_at`.
pub async fn authenticate_presented(
    services: &Services,
    server: &AuthServer,
    credentials: &Credentials<'_>,
    presented: &Presented,
    endpoint: &str,
    failures: Failures,
    now: UnixTime,
) -> Result<Client, OAuthError> {
    let ip = credentials.ip;
    let client_id = presented.client_id();
    let store = &services.store;
    // The server row was read by this request: its stamp validates a cached app.
    let client = ClientCache::load(services, server, client_id).await?;
    // A public client authenticating as one (`none`) has no secret to guess: it is
    // neither throttled nor counted, else anyone sharing an address with its users
    // (one NAT) could block them all by sending wrong secrets under its public id.
    // Any other method, and any unknown client_id, is throttled per address.
    let public = presented.is_identification_only()
        && client
            .as_ref()
            .is_some_and(|c| c.auth_method == AuthMethod::None);
    let failures = match failures {
        _ if public => None,
        Failures::Read(failures) => failures,
        Failures::ToRead => {
            store
                .throttle_state(&throttle::client_key(client_id, ip))
                .await?
        }
    };
    if let Some(blocked) = failures.filter(|f| f.blocked_until > now) {
        // Counted, not logged: the System Log heard when the block started.
        services
            .metrics
            .throttled(crate::metrics::Throttled::ClientAuth);
        return Err(OAuthError::client_throttled(blocked.blocked_until - now));
    }
    let verified = match client_auth::authenticate(presented, client.as_ref(), &services.master) {
        Ok(Authenticated::Done(client)) => Ok(client.clone()),
        Ok(Authenticated::AssertionToVerify(client, assertion)) => {
            client_jwt::verify(services, server, endpoint, client, assertion, now)
                .await
                .map(|()| client.clone())
        }
        Err(e) => Err(e),
    };
    match verified {
        Ok(client) => {
            if failures.is_some() {
                throttle::client_succeeded(store, client_id, ip).await?;
            }
            Ok(client)
        }
        Err(e) => {
            let started =
                throttle::client_failed(store, &services.config.throttle, client_id, ip, now)
                    .await?;
            if let Some(wait) = started {
                // This failure started a block: logged once per block, not per refusal.
                let name: String = client_id
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(100)
                    .collect();
                let event = Event::failure(
                    "security.request.blocked",
                    "Client authentication throttled after repeated failures",
                    "TOO_MANY_FAILURES: this client_id from this address",
                    vec![],
                )
                .with_debug("retryAfterSeconds", wait);
                syslog::record(
                    store,
                    &Actor::client(&name, &name, ip.map(str::to_string)),
                    event,
                    now,
                )
                .await;
            }
            Err(e)
        }
    }
}
