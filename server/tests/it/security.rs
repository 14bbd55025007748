//! Security edges through the HTTP boundary: invitation limits, browser
//! security headers, production guards.

use crate::common;

use common::{Backend, TestApp, GOOD_PASSWORD};

on_both_backends!(invitation_emails_are_limited_per_inviter, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.unwrap();
    let org = owner.create_org("Acme").await;
    for i in 0..app::ssr::INVITES_MAX_PER_USER {
        let email = format!("person{i}@example.com");
        owner
            .call("invite_member", &[("org_id", &org), ("email", &email), ("role", "member")])
            .await
            .unwrap_or_else(|e| panic!("invite {i}: {e}"));
    }
    let more = owner
        .call("invite_member", &[("org_id", &org), ("email", "one-more@example.com"), ("role", "member")])
        .await;
    assert_eq!(more, Err("rate_limited".into()));
    // Resending is an e-mail too.
    let open = owner.call("list_invitations", &[("org_id", &org)]).await.unwrap();
    let id = open[0]["id"].as_str().unwrap().to_string();
    let resent = owner.call("resend_invitation", &[("org_id", &org), ("invitation_id", &id)]).await;
    assert_eq!(resent, Err("rate_limited".into()));
});

on_both_backends!(
    an_invitation_link_shown_to_the_inviter_does_not_verify_the_address,
    |backend: Backend| async move {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        // No mail server: the link is shown to the inviter, who could open it
        // themselves and prepare an account in someone else's name.
        let Some(app) = TestApp::spawn(backend).await else { return };
        let owner = app.client().await;
        owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.unwrap();
        let org = owner.create_org("Acme").await;
        let out = owner
            .call("invite_member", &[("org_id", &org), ("email", "victim@example.com"), ("role", "member")])
            .await
            .unwrap();
        assert_eq!((out["emailed"].as_bool(), out["link"].is_string()), (Some(false), true));
        owner.invite_new_user(&app, &org, "Victim", "someone@example.com", "member").await;
        let user = entity::users::Entity::find()
            .filter(entity::users::Column::Email.eq("someone@example.com"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(!user.email_verified, "an account made from a shown link must not count as verified");
    }
);

on_both_backends!(pages_and_api_answers_carry_security_headers, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let visitor = app.client().await;
    let c = app.client().await;
    c.sign_up("Ada", "ada@example.com", GOOD_PASSWORD).await.unwrap();
    c.create_org("Acme").await;
    for (who, path) in [(&visitor, "/login"), (&visitor, "/signup"), (&c, "/app"), (&c, "/app/prospects")] {
        let res = who.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers().clone();
        let html = res.text().await.unwrap();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
        assert!(!script_src.contains("unsafe-inline"), "{path}: {csp}");
        // Every inline script of the page carries the nonce the policy names.
        let nonce =
            script_src.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).unwrap().to_string();
        assert!(nonce.len() >= 16, "{csp}");
        // (An empty `<script></script>` runs nothing: browsers return
        // before the policy check for empty inline scripts.)
        for (i, tag) in html.match_indices("<script").map(|(i, _)| (i, &html[i..])) {
            let open = &tag[..tag.find('>').unwrap()];
            if tag.starts_with("<script></script>") {
                continue;
            }
            assert!(
                open.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: script at {i} lacks the nonce: {open} — {}",
                &tag[..tag.len().min(400)]
            );
        }
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert!(h.get("strict-transport-security").is_none(), "no HSTS over plain http");
    }
    // A new nonce for every page.
    let a = visitor.get("/login").await.headers()["content-security-policy"].to_str().unwrap().to_string();
    let b = visitor.get("/login").await.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert_ne!(a, b);
    // JSON answers: private and inert.
    let res = c
        .http
        .post(format!("{}/api/get_session", c.base))
        .header("x-csrf-token", &c.csrf)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
});

on_both_backends!(hsts_is_sent_when_served_over_https, |backend: Backend| async move {
    let Some(app) =
        TestApp::spawn_with(backend, &[("HANDOO_PUBLIC_URL", "https://handoo.example.com")]).await
    else {
        return;
    };
    let res = reqwest::get(format!("{}/login", app.base)).await.unwrap();
    assert!(res.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
});

#[test]
fn request_paths_in_the_log_hide_tokens_and_codes() {
    let r = |s: &str| server::redact_path(&s.parse().unwrap());
    assert_eq!(r("/invite/s3cr3t-t0ken"), "/invite/<redacted>");
    assert_eq!(r("/auth/google/callback?code=4%2F0Ab&state=x"), "/auth/google/callback?<redacted>");
}

on_both_backends!(guessable_passwords_are_refused_by_the_estimator, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    // Each passes the quick length/variety rules, each is guessed in seconds.
    for weak in ["qwertyuiop123", "Password2024!", "iloveyou12345", "asdfghjkl;"] {
        assert_eq!(
            c.sign_up("Grace Hopper", "grace.hopper@example.com", weak).await,
            Err("weak_password".into()),
            "{weak}"
        );
    }
    c.sign_up("Grace Hopper", "grace.hopper@example.com", GOOD_PASSWORD).await.expect("a strong passphrase");
    // The estimator's reason comes back for the form to translate.
    let other = app.client().await;
    let res = other
        .http
        .post(format!("{}/api/sign_up", other.base))
        .header("x-csrf-token", &other.csrf)
        .header("accept", "application/json")
        .form(&[("name", "Bot"), ("email", "bot@example.com"), ("password", "asdfghjkl;")])
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    assert!(body.contains("weak_password") && body.contains("keyboard"), "{body}");
});

on_both_backends!(pending_uploads_are_bounded_per_organisation, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.unwrap();
    let org = owner.create_org("Acme").await;
    let path = format!("/orgs/{org}/prospect-imports?file_name=list.csv");
    let file = b"first_name,phone\nAda,+33612345678\n".to_vec();
    for i in 0..services::prospects::import::MAX_PENDING_UPLOADS {
        let (status, body) = owner.rest_raw(&path, "text/csv", file.clone()).await;
        assert_eq!(status, 201, "upload {i}: {body}");
    }
    let (status, body) = owner.rest_raw(&path, "text/csv", file.clone()).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("upload_quota")), "{body}");
    // Another organisation has its own quota.
    let other = app.client().await;
    other.sign_up("Oscar", "oscar@example.com", GOOD_PASSWORD).await.unwrap();
    let org_b = other.create_org("Beta").await;
    let (status, _) =
        other.rest_raw(&format!("/orgs/{org_b}/prospect-imports?file_name=list.csv"), "text/csv", file).await;
    assert_eq!(status, 201);
});
