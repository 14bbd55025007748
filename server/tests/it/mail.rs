//! Invitations go out through SMTP (lettre) when it is configured: checked
//! against a minimal SMTP server that records what it receives.

use crate::common;

use std::sync::{Arc, Mutex};

use common::{Backend, TestApp, GOOD_PASSWORD};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Speaks just enough RFC 5321 for one client: greeting, EHLO, MAIL, RCPT,
/// DATA (dot-terminated), QUIT. Every message's DATA is appended to `inbox`.
type Inbox = Arc<Mutex<Vec<String>>>;

/// The first message to `to` (waiting up to 10 s: sign-up mail is sent in
/// the background), with quoted-printable soft line breaks undone.
async fn mail_to(inbox: &Inbox, to: &str) -> String {
    mails_to(inbox, to, 1).await.remove(0)
}

async fn mails_to(inbox: &Inbox, to: &str, n: usize) -> Vec<String> {
    let header = format!("To: {to}");
    for _ in 0..200 {
        let found: Vec<String> = inbox
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.replace("=\n", "").replace("=3D", "="))
            .filter(|m| m.lines().any(|l| l.trim() == header))
            .collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} mails to {to}: {:?}", inbox.lock().unwrap());
}

/// A POST to the `sign_up` server function: status and raw body.
async fn sign_up_raw(c: &common::Client, name: &str, email: &str, password: &str) -> (u16, String) {
    let res = c
        .http
        .post(format!("{}/api/sign_up", c.base))
        .header("x-csrf-token", &c.csrf)
        .header("accept", "application/json")
        .form(&[("name", name), ("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The verification link in the newest mail to `to`.
async fn verification_link(inbox: &Inbox, to: &str) -> String {
    let mail = mail_to(inbox, to).await;
    let line = mail.lines().find(|l| l.contains("/auth/verify-email?token=")).expect("link in body");
    line.trim().to_string()
}

/// With a mail server, a sign-up signs in only through the e-mailed link.
async fn sign_up_and_verify(c: &common::Client, inbox: &Inbox, name: &str, email: &str) {
    let (status, body) = sign_up_raw(c, name, email, GOOD_PASSWORD).await;
    assert_eq!((status, body.as_str()), (200, "false"), "a link was sent, nobody is signed in yet");
    let link = verification_link(inbox, email).await;
    let res = c.http.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 303, "{link}");
    assert_eq!(res.headers()["location"], "/app/orgs/new");
}

async fn fake_smtp() -> (u16, Inbox) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let sink = inbox.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let sink = sink.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            sink.lock().unwrap().push(std::mem::take(&mut data));
                            w.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake\r\n",
                        "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, inbox)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_is_emailed_when_smtp_is_configured() {
    let (port, inbox) = fake_smtp().await;
    let port = port.to_string();
    let Some(app) = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", &port),
            ("SMTP_SECURITY", "none"),
            ("SMTP_FROM", "Handoo <noreply@handoo.test>"),
        ],
    )
    .await
    else {
        return;
    };
    let owner = app.client().await;
    sign_up_and_verify(&owner, &inbox, "Olivia Owner", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let out = owner
        .call("invite_member", &[("org_id", &org), ("email", "mia@example.com"), ("role", "member")])
        .await
        .unwrap();
    assert_eq!(out["emailed"], true);
    assert!(out["link"].is_null(), "the link is not shown when it was emailed");
    let mail = mail_to(&inbox, "mia@example.com").await;
    assert!(mail.contains("To: mia@example.com"), "{mail}");
    assert!(mail.contains("Olivia Owner invited you to Acme"), "{mail}");
    let link = mail.lines().find(|l| l.contains("/invite/")).expect("link in body").trim().to_string();
    // The emailed link works.
    let token = link.rsplit('/').next().unwrap();
    let guest = app.client().await;
    assert_eq!(guest.call("invite_preview", &[("token", token)]).await.unwrap()["org_name"], "Acme");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_does_not_reveal_who_has_an_account() {
    let (port, inbox) = fake_smtp().await;
    let port = port.to_string();
    let Some(app) = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", &port),
            ("SMTP_SECURITY", "none"),
            ("SMTP_FROM", "Handoo <noreply@handoo.test>"),
        ],
    )
    .await
    else {
        return;
    };
    // A new address: no session yet, a verification link by mail.
    let owner = app.client().await;
    let first = sign_up_raw(&owner, "Ada Lovelace", "ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(first, (200, "false".to_string()));
    assert!(owner.session().await.is_null(), "not signed in before the address is proven");
    let link = verification_link(&inbox, "ada@example.com").await;
    let res = owner.http.get(&link).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/app/orgs/new"));
    assert_eq!(owner.session().await["user"]["email"], "ada@example.com");
    let user = <entity::users::Entity as sea_orm::EntityTrait>::find().all(&app.state.db).await.unwrap();
    assert!(user.iter().any(|u| u.email == "ada@example.com" && u.email_verified));
    // A link works once.
    let again = app.client().await;
    let res = again.http.get(&link).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/login?error=not_found");

    // Someone else tries the taken address: the very same answer…
    let stranger = app.client().await;
    let second = sign_up_raw(&stranger, "Not Ada", "ada@example.com", "another strong passphrase here").await;
    assert_eq!(second, first, "a taken address answers exactly like a new one");
    assert!(stranger.session().await.is_null());
    // …while the owner is told, and nothing changed.
    let mails = mails_to(&inbox, "ada@example.com", 2).await;
    assert!(mails[1].contains("already has one"), "{}", mails[1]);
    assert!(!mails[1].contains("verify-email"), "no link into the existing account");
    assert_eq!(
        stranger.log_in("ada@example.com", "another strong passphrase here").await,
        Err("invalid_credentials".into())
    );
    app.client()
        .await
        .log_in("ada@example.com", GOOD_PASSWORD)
        .await
        .expect("the owner's password still works");
    // Validation errors are still said (they reveal nothing about accounts).
    assert_eq!(stranger.sign_up("X", "x@example.com", "short").await, Err("weak_password".into()));
}
