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
        // Both names are free text typed by whoever signed up: they go out
        // from the operator's server, so they are made inert first.
        let (inviter, org) = (inert(mail.inviter_name), inert(mail.org_name));
        let mail = InviteMail { inviter_name: &inviter, org_name: &org, ..mail };
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
        if !self.is_configured() {
            // Local installs have no SMTP: the link is shown in the UI
            // (never logged: it is a bearer token).
            tracing::info!("invitation not e-mailed (SMTP not configured); the link is shown to the inviter");
            return Delivery::NotConfigured;
        }
        self.send(mail.to, subject, body).await
    }

    /// A new account's verification link.
    pub async fn send_verification(&self, to: &str, french: bool, link: &str) -> Delivery {
        let (subject, body) = if french {
            (
                "Confirmez votre adresse e-mail sur Handoo".to_string(),
                format!(
                    "Bonjour,\n\nConfirmez votre adresse pour terminer la création de votre compte Handoo (lien valable 48 heures) :\n{link}\n\nSi vous n'avez pas créé de compte, ignorez ce message.\n"
                ),
            )
        } else {
            (
                "Confirm your e-mail address on Handoo".to_string(),
                format!(
                    "Hello,\n\nConfirm your address to finish creating your Handoo account (link valid for 48 hours):\n{link}\n\nIf you did not create an account, ignore this message.\n"
                ),
            )
        };
        self.send(to, subject, body).await
    }

    /// Someone signed up with an address that already has an account: tell
    /// its owner (instead of telling the visitor that the address is taken).
    pub async fn send_account_exists(&self, to: &str, french: bool, login_link: &str) -> Delivery {
        let (subject, body) = if french {
            (
                "Vous avez déjà un compte Handoo".to_string(),
                format!(
                    "Bonjour,\n\nQuelqu'un (peut-être vous) a essayé de créer un compte Handoo avec cette adresse, qui en a déjà un. Connectez-vous ici :\n{login_link}\n\nSi ce n'était pas vous, ignorez ce message : rien n'a été modifié.\n"
                ),
            )
        } else {
            (
                "You already have a Handoo account".to_string(),
                format!(
                    "Hello,\n\nSomeone (perhaps you) tried to create a Handoo account with this address, which already has one. Log in here:\n{login_link}\n\nIf it was not you, ignore this message: nothing was changed.\n"
                ),
            )
        };
        self.send(to, subject, body).await
    }

    /// Sends one plain-text message.
    pub async fn send(&self, to: &str, subject: String, body: String) -> Delivery {
        match self {
            Mailer::LogOnly => Delivery::NotConfigured,
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = match to.parse() {
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

/// Longest name quoted in an e-mail.
const MAX_NAME_CHARS: usize = 60;

/// A user-typed name made safe to quote in an e-mail sent in the
/// operator's name: control and bidirectional-override characters removed
/// (no forged lines or reversed text), whitespace collapsed, length capped,
/// and anything a mail client would turn into a link defanged (`evil.com`
/// → `evil[.]com`, `https://` → `https[:]//`), so a sign-up cannot make
/// our invitations carry its phishing link.
pub fn inert(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control() && !matches!(*c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'))
        .collect();
    let words: Vec<String> = cleaned.split_whitespace().map(defang).collect();
    let mut out = words.join(" ");
    if out.chars().count() > MAX_NAME_CHARS {
        out = out.chars().take(MAX_NAME_CHARS - 1).collect::<String>() + "…";
    }
    out
}

fn defang(word: &str) -> String {
    let mut w = word.replace("://", "[:]//");
    let chars: Vec<char> = w.chars().collect();
    let linkish = chars.windows(3).any(|t| t[1] == '.' && t[0].is_alphanumeric() && t[2].is_alphanumeric());
    if linkish || w.contains('@') {
        w = w.replace('.', "[.]").replace('@', "[at]");
    }
    w
}

#[cfg(test)]
mod inert_tests {
    use super::inert;

    #[test]
    fn names_in_mail_cannot_carry_links_or_forged_lines() {
        assert_eq!(inert("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(inert("J. Smith & Co."), "J. Smith & Co.");
        assert_eq!(inert("Acme\r\nBcc: victim@example.com"), "AcmeBcc: victim[at]example[.]com");
        assert_eq!(inert("Claim at https://evil.example/win"), "Claim at https[:]//evil[.]example/win");
        assert_eq!(inert("visit evil.com now"), "visit evil[.]com now");
        assert_eq!(inert("abc\u{202e}moc.live"), "abcmoc[.]live");
        let long = "x".repeat(500);
        assert_eq!(inert(&long).chars().count(), 60);
    }
}
