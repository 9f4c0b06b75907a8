//! Consent (OpenID Connect Core §3.1.2.4): a request that needs the user's consent to
//! scopes whose consent is `REQUIRED` waits here until the consent page answers.

use crate::clock::UnixTime;
use crate::crypto::sha256;
use crate::flows::Services;
use crate::flows::authorize::{Known, Outcome, PendingConsent, signed_in};
use crate::identity::session;
use crate::oauth::{ErrorCode, OAuthError};

/// The pending consent behind `tx`, if it is still waiting and belongs to the user
/// signed in on this browser (`session_cookie`).
pub async fn pending(
    services: &Services,
    session_cookie: Option<&str>,
    tx: &str,
    now: UnixTime,
) -> Result<Option<PendingConsent>, OAuthError> {
    let Some((session, _)) = signed_in(services, session_cookie, now).await? else {
        return Ok(None);
    };
    let found = services
        .store
        .get_pending(&sha256(tx.as_bytes()), now)
        .await?;
    Ok(found
        .and_then(|p| serde_json::from_str::<PendingConsent>(&p.request).ok())
        .filter(|p| p.user_id == session.user_id))
}

/// The user's answer on the consent page (its form and CSRF token already checked).
pub struct ConsentAnswer<'a> {
    pub tx: &'a str,
    /// Allow, or Don't allow.
    pub allow: bool,
    /// The value of the browser's session cookie: the pending consent must be its
    /// user's.
    pub session_cookie: Option<&'a str>,
    pub ip: Option<String>,
}

/// Allow records the consent and finishes the request (a code for the client); Don't
/// allow answers the client `access_denied`. `None`: the pending consent expired, was
/// used, or is another user's.
pub async fn answer(
    services: &Services,
    answer: &ConsentAnswer<'_>,
    now: UnixTime,
) -> Result<Option<Outcome>, OAuthError> {
    let tx = answer.tx;
    // Checked against the session first, then taken once: a double-submitted form
    // issues one code, and another browser's answer consumes nothing.
    if pending(services, answer.session_cookie, tx, now)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let taken = services
        .store
        .take_pending(&sha256(tx.as_bytes()), now)
        .await?;
    let Some(pending) = taken.and_then(|p| serde_json::from_str::<PendingConsent>(&p.request).ok())
    else {
        return Ok(None);
    };
    let mut request = pending.consent;
    if !answer.allow {
        tracing::info!(event = "app.oauth2.authorize.consent", outcome = "DENY", client = %request.client_id, "consent refused");
        let e = OAuthError::new(
            ErrorCode::AccessDenied,
            "The resource owner denied the request.",
        );
        return Ok(Some(Outcome::Reply(request.reply.error(&e))));
    }
    services
        .store
        .grant_consent(
            &pending.user_id,
            &request.client_id,
            &request.server_id,
            &pending.scopes,
            now,
        )
        .await?;
    tracing::info!(event = "app.oauth2.authorize.consent", outcome = "ALLOW", client = %request.client_id, "consent given");
    // Consent was just given: do not ask again for this request.
    request.prompt.consent = false;
    let known = Known {
        ip: answer.ip.clone(),
        amr: pending.amr.clone(),
        // `pending` found this browser's session to be the user's.
        session_hash: answer.session_cookie.map(session::id_hash),
        ..Known::default()
    };
    let outcome = crate::flows::authorize::complete(
        services,
        &request,
        &pending.user_id,
        pending.auth_time,
        now,
        known,
    )
    .await;
    Ok(Some(outcome))
}

#[cfg(test)]
mod tests {
    use super::{ConsentAnswer, answer};
    use crate::admin::servers::{self, NewScope};
    use crate::admin::syslog::Actor;
    use crate::flows::authorize::{AuthorizeRequest, Outcome, authorize};
    use crate::flows::testing::{REDIRECT_URI, fixture};
    use crate::identity::session;
    use crate::oauth::params::Params;
    use crate::oauth::reply::Reply;

    /// A scope that needs consent sends the browser to the consent page; only the
    /// signed-in user's answer counts, once; Don't allow is `access_denied` at the app.
    #[tokio::test]
    async fn a_refusal_goes_back_to_the_app_as_access_denied() {
        let mut f = fixture().await;
        let scope = NewScope {
            name: "photos".into(),
            description: "Your photos".into(),
            consent_required: true,
            is_default: false,
        };
        servers::create_scope(&f.services.store, &Actor::cli(), &f.server.id, scope, f.now)
            .await
            .unwrap();
        f.scope("api:read").await; // reads the server row again
        let (client, _) = f.app(&["authorization_code"]).await;
        let user = f.user("edsger@example.com").await;
        let (cookie, row) = session::start(&user.id, f.now, 3600);
        f.services.store.insert_session(&row).await.unwrap();
        let params = Params::from_pairs([
            ("client_id", client.client_id.as_str()),
            ("response_type", "code"),
            ("scope", "openid photos"),
            ("redirect_uri", REDIRECT_URI),
            ("state", "s1"),
        ]);
        let request = AuthorizeRequest {
            server: &f.server,
            params,
            session_cookie: Some(&cookie),
            ip: None,
            user_agent: None,
        };
        let Outcome::Redirect(location) = authorize(&f.services, request, f.now).await.0 else {
            panic!("the consent page");
        };
        let tx = location
            .strip_prefix("/consent?tx=")
            .expect("the consent page");

        let answer_as = |session_cookie| ConsentAnswer {
            tx,
            allow: false,
            session_cookie,
            ip: None,
        };
        // Another browser (no session) consumes nothing.
        assert!(
            answer(&f.services, &answer_as(None), f.now)
                .await
                .unwrap()
                .is_none()
        );
        let outcome = answer(&f.services, &answer_as(Some(&cookie)), f.now)
            .await
            .unwrap();
        let Some(Outcome::Reply(Reply::Redirect(url))) = outcome else {
            panic!("a reply to the client");
        };
        assert!(url.starts_with(REDIRECT_URI), "{url}");
        assert!(
            url.contains("error=access_denied") && url.contains("state=s1"),
            "{url}"
        );
        // Taken once.
        let again = answer(&f.services, &answer_as(Some(&cookie)), f.now).await;
        assert!(again.unwrap().is_none());
    }
}
