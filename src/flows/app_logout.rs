//! Telling the apps that a session ended: OpenID Connect Front-Channel Logout 1.0 (the
//! signed-out page loads each app's `frontchannel_logout_uri` in an iframe) and
//! Back-Channel Logout 1.0 (the server POSTs a signed logout token to each app's
//! `backchannel_logout_uri`).
//!
//! The apps told are those issued a code in the session (`issue_code` records them).
//! Back-channel deliveries are stored in the transaction that ends the session (see
//! `SessionStore::end_session`), so ending a session never waits for an app and a
//! crash loses none; `deliver_due` sends them, retrying failures with a growing delay.
//! They have a table of their own (`backchannel_logout_jobs`) rather than the general
//! job queue (`crate::jobs`), whose rows are built in Rust with sealed payloads: the
//! deliveries are chosen in SQL, from `session_apps`, inside the transaction that ends
//! the session (one `INSERT ... SELECT`), and hold nothing secret.

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::Semaphore;
use url::Url;

use crate::clock::UnixTime;
use crate::flows::Services;
use crate::identity::session;
use crate::oauth::OAuthError;
use crate::store::LogoutJob;
use crate::tokens::remote_jwks::{self, FetchError};
use crate::tokens::{jwt, logout_token};

/// Deliveries taken per round.
pub const BATCH: i64 = 20;
/// How long a taken delivery is held before another round may take it again (a crash
/// mid-attempt): well past `remote_jwks::POST_TIMEOUT`.
pub const LEASE: i64 = 60;
/// Deliveries under way at once on one instance.
pub const IN_FLIGHT: usize = 64;
/// Attempts before a delivery is given up (about three hours of retries).
pub const MAX_ATTEMPTS: i64 = 10;

/// The delay before attempt `attempts + 1`, after `attempts` failures: 30 seconds,
/// doubling, at most an hour.
pub fn retry_delay(attempts: i64) -> i64 {
    let doublings = (attempts - 1).clamp(0, 7) as u32;
    (30i64 << doublings).min(3600)
}

/// Front-Channel Logout 1.0 §2–§3: the URIs the signed-out page loads in iframes for
/// the session `session_hash`, one per app (and issuing server) that has a
/// `frontchannel_logout_uri`; with `iss` and `sid` in the query when the app asked for
/// them (`frontchannel_logout_session_required`). Read before the session ends.
pub async fn frontchannel_uris(
    services: &Services,
    session_hash: &[u8],
) -> Result<Vec<String>, OAuthError> {
    let apps = services.store.frontchannel_apps(session_hash).await?;
    let sid = session::public_id(session_hash);
    let mut uris = Vec::new();
    for (client, server_id) in apps {
        if !client.is_active() {
            continue;
        }
        let logout = &client.logout;
        let Some(Ok(mut url)) = logout.frontchannel_logout_uri.as_deref().map(Url::parse) else {
            continue;
        };
        if logout.frontchannel_logout_session_required {
            url.query_pairs_mut()
                .append_pair("iss", &services.issuer_of(&server_id))
                .append_pair("sid", &sid);
        }
        let url = url.to_string();
        if !uris.contains(&url) {
            uris.push(url);
        }
    }
    Ok(uris)
}

/// Sends the back-channel logouts due at `now`, each in its own task, and returns how
/// many were taken without waiting for them: a slow app holds only its own delivery
/// (at most `remote_jwks::POST_TIMEOUT`, well inside its lease), never the next round and
/// the retries due in it. `in_flight` bounds the deliveries under way on this instance:
/// a round takes no more than there are free permits, and each task keeps one until it
/// has recorded its outcome. `state` is what holds the services (the server's state),
/// shared with the tasks.
pub async fn deliver_due<T>(state: &Arc<T>, now: UnixTime, in_flight: &Arc<Semaphore>) -> usize
where
    T: Deref<Target = Services> + Send + Sync + 'static,
{
    let room = in_flight.available_permits().min(BATCH as usize);
    if room == 0 {
        return 0;
    }
    let services: &Services = state;
    let jobs = match services
        .store
        .take_logout_jobs(now, now + LEASE, room as i64)
        .await
    {
        Ok(jobs) => jobs,
        Err(e) => {
            tracing::warn!(error = %e, "back-channel logout: cannot read the deliveries");
            return 0;
        }
    };
    let taken = jobs.len();
    for job in jobs {
        // Only this loop takes permits, and it took no more jobs than were free.
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            break;
        };
        let state = state.clone();
        tokio::spawn(async move {
            settle(&state, job, now).await;
            drop(permit);
        });
    }
    taken
}

/// One attempt of `job` and what follows it: the row deleted when done, or moved to its
/// next attempt, or deleted when given up.
async fn settle(services: &Services, job: LogoutJob, now: UnixTime) {
    let outcome = deliver(services, &job, now).await;
    let result = match &outcome {
        Ok(()) => services.store.finish_logout_job(job.id).await,
        Err(why) if job.attempts >= MAX_ATTEMPTS => {
            tracing::warn!(event = "app.oauth2.backchannel_logout", outcome = "FAILURE", client = %job.client_id, attempts = job.attempts, reason = %why, "back-channel logout given up");
            services.store.finish_logout_job(job.id).await
        }
        Err(why) => {
            tracing::info!(event = "app.oauth2.backchannel_logout", outcome = "RETRY", client = %job.client_id, attempts = job.attempts, reason = %why, "back-channel logout failed; retried later");
            let next = now + retry_delay(job.attempts);
            services.store.retry_logout_job(job.id, next, why).await
        }
    };
    if outcome.is_ok() {
        tracing::info!(event = "app.oauth2.backchannel_logout", outcome = "SUCCESS", client = %job.client_id, "back-channel logout delivered");
    }
    if let Err(e) = result {
        // The row stays taken until its lease ends, then is tried again.
        tracing::warn!(error = %e, "back-channel logout: cannot record the attempt");
    }
}

/// Back-Channel Logout 1.0 §2.5: a logout token signed by the issuing server's active
/// key, POSTed as `logout_token` through the guarded outbound client. An app that is
/// gone, inactive or no longer has a back-channel URI is owed nothing (done).
async fn deliver(services: &Services, job: &LogoutJob, now: UnixTime) -> Result<(), String> {
    let client = services
        .store
        .get_client(&job.client_id)
        .await
        .map_err(|e| e.to_string())?;
    let Some(uri) = client
        .filter(|c| c.is_active())
        .and_then(|c| c.logout.backchannel_logout_uri)
    else {
        return Ok(());
    };
    let ring = services
        .keys
        .get(&job.server_id, now)
        .await
        .map_err(|e| e.to_string())?;
    let claims = logout_token::claims(
        &services.issuer_of(&job.server_id),
        &job.client_id,
        &job.user_id,
        &session::public_id(&job.session_hash),
        now,
    );
    let token = jwt::sign(&ring.signing, Some(logout_token::TYP), &claims);
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", &token)
        .finish();
    let allow_private = services.config.client_auth.allow_private_jwks_uri;
    remote_jwks::post_form(&uri, &form, allow_private)
        .await
        .map_err(|e| describe(&e))
}

/// What went wrong, for the log and the job's row (never the token).
fn describe(e: &FetchError) -> String {
    match e {
        FetchError::Url => "the URI is not an allowed URL".into(),
        FetchError::Address => "the host resolves to a non-public address".into(),
        FetchError::Connect(why) => format!("could not be reached: {why}"),
        FetchError::Timeout => "took too long to answer".into(),
        FetchError::Status(status) => format!("answered {status}, not 200"),
        FetchError::TooLarge | FetchError::Http | FetchError::Document => {
            "answered malformed HTTP".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::retry_delay;

    #[test]
    fn retries_back_off_to_an_hour() {
        let delays: Vec<i64> = (1..=10).map(retry_delay).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }
}
