//! E-mail: messages composed from templates (`templates`), put in the durable job
//! queue as `email.send` jobs, and delivered by the worker over SMTP (`smtp`). A
//! request never waits for the SMTP server: it only writes the job, in its own
//! transaction where the e-mail belongs to a write (a reset link exists exactly when
//! its e-mail is queued).
//!
//! Without `[smtp]` in the configuration, e-mail is off: `Outbox::enabled` is false,
//! the pages that would send one are not offered, and notices are skipped.

pub mod smtp;
pub mod templates;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::{UnixTime, rfc3339};
use crate::jobs::Queue;
use crate::store::{NewJob, User};

pub use templates::{Template, TemplateError, Templates};

/// The job kind of an e-mail.
pub const KIND: &str = "email.send";

/// One message to deliver: the job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Composes e-mails and queues them. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    queue: Queue,
    templates: Arc<Templates>,
    enabled: bool,
}

/// How a person is greeted: their first name, else their login.
pub fn greeting_name(user: &User) -> &str {
    user.first_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&user.login)
}

impl Outbox {
    pub fn new(queue: Queue, templates: Templates, enabled: bool) -> Outbox {
        Outbox {
            queue,
            templates: Arc::new(templates),
            enabled,
        }
    }

    /// Whether e-mail is configured (`[smtp]`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// `template` filled in for `user`, to their address; None when they have none.
    pub fn compose(
        &self,
        template: Template,
        user: &User,
        values: &[(&str, &str)],
    ) -> Option<Email> {
        let to = user.email.as_deref().filter(|e| e.contains('@'))?;
        let mut all = vec![
            ("name", greeting_name(user)),
            ("login", user.login.as_str()),
        ];
        all.extend_from_slice(values);
        let (subject, body) = self.templates.render(template, &all);
        Some(Email {
            to: to.to_string(),
            subject,
            body,
        })
    }

    /// A one-time code of an e-mail factor, to the factor's address `to` (which may
    /// differ from the profile's while an admin enrolls another address).
    pub fn factor_code(&self, user: &User, to: &str, code: &str, valid_for: &str) -> Email {
        let values = [
            ("name", greeting_name(user)),
            ("login", user.login.as_str()),
            ("code", code),
            ("valid_for", valid_for),
        ];
        let (subject, body) = self.templates.render(Template::FactorCode, &values);
        Email {
            to: to.to_string(),
            subject,
            body,
        }
    }

    /// The job that sends `email`, for a store method that writes it in the
    /// transaction of what the e-mail is about. Call `wake` once that committed.
    pub fn job(&self, email: &Email, now: UnixTime) -> NewJob {
        let payload = serde_json::to_vec(email).expect("an e-mail serialises");
        self.queue.job(KIND, &payload, now)
    }

    /// Tells the worker a new e-mail waits.
    pub fn wake(&self) {
        self.queue.wake();
    }

    /// Queues a notice about `user`'s account (when e-mail is on and they have an
    /// address). A notice never fails what it reports: a store error is logged.
    async fn notice(
        &self,
        template: Template,
        user: &User,
        values: &[(&str, &str)],
        now: UnixTime,
    ) {
        if !self.enabled {
            return;
        }
        let Some(email) = self.compose(template, user, values) else {
            return;
        };
        let payload = serde_json::to_vec(&email).expect("an e-mail serialises");
        if let Err(e) = self.queue.enqueue(KIND, &payload, now).await {
            tracing::warn!(error = %e, user = %user.id, "could not queue an e-mail notice");
        }
    }

    /// Tells `user` their password was changed (by them, by a reset or by an admin).
    pub async fn password_changed(&self, user: &User, now: UnixTime) {
        let time = rfc3339(now);
        self.notice(Template::PasswordChanged, user, &[("time", &time)], now)
            .await;
    }

    /// Tells `user` their account locked after repeated wrong passwords; `unlock` says
    /// for a person when or how it unlocks.
    pub async fn account_locked(&self, user: &User, unlock: &str, now: UnixTime) {
        let time = rfc3339(now);
        self.notice(
            Template::AccountLocked,
            user,
            &[("time", &time), ("unlock", unlock)],
            now,
        )
        .await;
    }

    /// Tells `user` a sign-in method was added to their account; `factor` names it
    /// for a person ("an authenticator app", "a passkey").
    pub async fn factor_enrolled(&self, user: &User, factor: &str, now: UnixTime) {
        let time = rfc3339(now);
        self.notice(
            Template::FactorEnrolled,
            user,
            &[("factor", factor), ("time", &time)],
            now,
        )
        .await;
    }
}
