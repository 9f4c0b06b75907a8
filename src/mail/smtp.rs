//! Delivery over SMTP with lettre: the `email.send` job's handler. TLS from the first
//! byte, STARTTLS required, or plain to a server on this machine (`SmtpSecurity`);
//! certificates checked against the Web PKI roots. A refusal the server calls
//! permanent (5xx: no such mailbox) gives the job up; anything else (the server down,
//! a 4xx, a timeout) is retried by the queue.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Email;
use crate::config::{SmtpConfig, SmtpSecurity};
use crate::jobs::{Failure, Handler};

/// Sends `email.send` jobs through the configured server.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
#[error("smtp: {0}")]
pub struct SmtpSetupError(String);

impl SmtpSender {
    pub fn new(config: &SmtpConfig) -> Result<SmtpSender, SmtpSetupError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| SmtpSetupError(format!("smtp.from {:?}: {e}", config.from)))?;
        let builder = match config.security {
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host),
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
            }
            SmtpSecurity::Plain => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &config.host,
            )),
        }
        .map_err(|e| SmtpSetupError(e.to_string()))?;
        let mut builder = builder
            .port(config.port)
            .timeout(Some(Duration::from_secs(config.timeout_seconds)));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(SmtpSender {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Handler for SmtpSender {
    async fn run(&self, payload: &[u8]) -> Result<(), Failure> {
        let email: Email = serde_json::from_slice(payload)
            .map_err(|e| Failure::permanent(format!("not an e-mail: {e}")))?;
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|_| Failure::permanent("the recipient is not an e-mail address"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(email.body)
            .map_err(|e| Failure::permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(Failure::permanent(e.to_string())),
            Err(e) => Err(Failure::transient(e.to_string())),
        }
    }
}
