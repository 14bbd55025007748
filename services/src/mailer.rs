//! Outgoing email. With SMTP configured, invitations are sent through
//! `lettre`; without it the link is logged and handed back to the inviter.

use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    /// `starttls` (587), `tls` (465) or `none` (a local relay / test sink).
    pub security: SmtpSecurity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    StartTls,
    Tls,
    None,
}

#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
    /// No SMTP: messages are logged, links are shown to the inviter.
    LogOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    NotConfigured,
    Failed,
}

pub struct InviteMail<'a> {
    pub to: &'a str,
    pub org_name: &'a str,
    pub inviter_name: &'a str,
    pub link: &'a str,
    pub french: bool,
}

impl Mailer {
    pub fn from_config(cfg: Option<&SmtpConfig>) -> Result<Self, String> {
        let Some(cfg) = cfg else { return Ok(Mailer::LogOnly) };
        let from: Mailbox = cfg.from.parse().map_err(|e| format!("SMTP_FROM: {e}"))?;
        let builder = match cfg.security {
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
                .map_err(|e| format!("SMTP_HOST: {e}"))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)
                .map_err(|e| format!("SMTP_HOST: {e}"))?,
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
        };
        let mut builder = builder.port(cfg.port);
        if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Mailer::Smtp { transport: Box::new(builder.build()), from })
    }

    pub fn is_configured(&self) -> bool {
        matches!(self, Mailer::Smtp { .. })
    }

    pub async fn send_invite(&self, mail: InviteMail<'_>) -> Delivery {
        let (subject, body) = if mail.french {
            (
                format!("{} vous invite à rejoindre {} sur Handoo", mail.inviter_name, mail.org_name),
                format!(
                    "Bonjour,\n\n{} vous invite à rejoindre l'organisation « {} » sur Handoo.\n\nAcceptez l'invitation (valable 7 jours) :\n{}\n",
                    mail.inviter_name, mail.org_name, mail.link
                ),
            )
        } else {
            (
                format!("{} invited you to {} on Handoo", mail.inviter_name, mail.org_name),
                format!(
                    "Hello,\n\n{} invited you to join the \"{}\" organisation on Handoo.\n\nAccept the invitation (valid for 7 days):\n{}\n",
                    mail.inviter_name, mail.org_name, mail.link
                ),
            )
        };
        match self {
            Mailer::LogOnly => {
                // Local installs have no SMTP: the link goes to the log and the UI.
                tracing::info!(to = mail.to, link = mail.link, "invitation link (SMTP not configured)");
                Delivery::NotConfigured
            }
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = match mail.to.parse() {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "invalid recipient");
                        return Delivery::Failed;
                    }
                };
                let msg = match Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(body)
                {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::error!(error = %e, "could not build email");
                        return Delivery::Failed;
                    }
                };
                match transport.send(msg).await {
                    Ok(_) => Delivery::Sent,
                    Err(e) => {
                        tracing::error!(error = %e, "SMTP delivery failed");
                        Delivery::Failed
                    }
                }
            }
        }
    }
}
