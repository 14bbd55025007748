#![recursion_limit = "512"]
//! Invitations go out through SMTP (lettre) when it is configured: checked
//! against a minimal SMTP server that records what it receives.

mod common;

use std::sync::{Arc, Mutex};

use common::{Backend, TestApp, GOOD_PASSWORD};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Speaks just enough RFC 5321 for one client: greeting, EHLO, MAIL, RCPT,
/// DATA (dot-terminated), QUIT. Every message's DATA is appended to `inbox`.
async fn fake_smtp() -> (u16, Arc<Mutex<Vec<String>>>) {
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
    owner.sign_up("Olivia Owner", "olivia@example.com", GOOD_PASSWORD).await.unwrap();
    let org = owner.create_org("Acme").await;
    let out = owner
        .call("invite_member", &[("org_id", &org), ("email", "mia@example.com"), ("role", "member")])
        .await
        .unwrap();
    assert_eq!(out["emailed"], true);
    assert!(out["link"].is_null(), "the link is not shown when it was emailed");
    let mails = inbox.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    // Undo quoted-printable soft line breaks, should lettre have used them.
    let mail = &mails[0].replace("=\n", "");
    assert!(mail.contains("To: mia@example.com"), "{mail}");
    assert!(mail.contains("Olivia Owner invited you to Acme"), "{mail}");
    let link = mail.lines().find(|l| l.contains("/invite/")).expect("link in body").trim().to_string();
    // The emailed link works.
    let token = link.rsplit('/').next().unwrap();
    let guest = app.client().await;
    assert_eq!(guest.call("invite_preview", &[("token", token)]).await.unwrap()["org_name"], "Acme");
}
