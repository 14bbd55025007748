#![recursion_limit = "512"]

//! Accounts and sessions through the HTTP boundary, on SQLite and PostgreSQL.

mod common;

use common::{Backend, TestApp, GOOD_PASSWORD};

on_both_backends!(sign_up_log_in_log_out, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    assert_eq!(c.session().await, serde_json::Value::Null, "anonymous visitor has no session");

    c.sign_up("Ada Lovelace", "Ada@Example.com", GOOD_PASSWORD).await.expect("sign up");
    let s = c.session().await;
    assert_eq!(s["user"]["email"], "ada@example.com", "email is normalised");
    assert_eq!(s["orgs"].as_array().unwrap().len(), 0);

    c.call("log_out", &[]).await.expect("log out");
    assert_eq!(c.session().await, serde_json::Value::Null);

    assert_eq!(c.log_in("ada@example.com", "wrong password here").await, Err("invalid_credentials".into()));
    assert_eq!(c.log_in("nobody@example.com", GOOD_PASSWORD).await, Err("invalid_credentials".into()));
    c.log_in(" ADA@example.com ", GOOD_PASSWORD).await.expect("log in");
    assert_eq!(c.session().await["user"]["name"], "Ada Lovelace");
});

on_both_backends!(bad_sign_ups_change_nothing, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    c.sign_up("Ada", "ada@example.com", GOOD_PASSWORD).await.unwrap();
    let other = app.client().await;
    assert_eq!(other.sign_up("Imposter", "ADA@example.com", GOOD_PASSWORD).await, Err("email_taken".into()));
    assert_eq!(other.sign_up("Bob", "bob@example.com", "short").await, Err("weak_password".into()));
    assert_eq!(other.sign_up("Bob", "bob@example.com", "password1234").await, Err("weak_password".into()));
    assert_eq!(other.sign_up("Bob", "not-an-email", GOOD_PASSWORD).await, Err("invalid_email".into()));
    assert_eq!(other.sign_up("   ", "bob@example.com", GOOD_PASSWORD).await, Err("name_required".into()));
    // Malformed form input (missing field) is a validation error, not a crash.
    assert!(other.call("sign_up", &[("name", "Bob")]).await.is_err());
    // None of the failures created an account or a session.
    assert_eq!(other.session().await, serde_json::Value::Null);
    assert_eq!(other.log_in("bob@example.com", GOOD_PASSWORD).await, Err("invalid_credentials".into()));
});

on_both_backends!(login_is_rate_limited, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    c.sign_up("Ada", "ada@example.com", GOOD_PASSWORD).await.unwrap();
    c.call("log_out", &[]).await.unwrap();
    for _ in 0..server::LOGIN_MAX_FAILURES {
        assert_eq!(c.log_in("ada@example.com", "wrong password!!").await, Err("invalid_credentials".into()));
    }
    // Even the right password is refused while the account is locked out.
    assert_eq!(c.log_in("ada@example.com", GOOD_PASSWORD).await, Err("rate_limited".into()));
    let (status, _) = c
        .call_without_csrf(
            "log_in",
            &[("email", "ada@example.com"), ("password", GOOD_PASSWORD)],
            Some(&c.csrf),
        )
        .await;
    assert_eq!(status, 429);
});

on_both_backends!(csrf_is_required_for_state_changes, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    c.sign_up("Ada", "ada@example.com", GOOD_PASSWORD).await.unwrap();
    let (status, res) = c.call_without_csrf("create_org", &[("name", "Sneaky")], None).await;
    assert_eq!((status, res), (403, Err("csrf_missing".into())));
    // Typed errors carry their HTTP status (not a blanket 500).
    let anon = app.client().await;
    let (status, res) = anon
        .call_without_csrf(
            "list_members",
            &[("org_id", "00000000-0000-0000-0000-000000000000")],
            Some(&anon.csrf),
        )
        .await;
    assert_eq!((status, res), (401, Err("unauthenticated".into())));
    let (status, res) =
        c.call_without_csrf("create_org", &[("name", "Sneaky")], Some("x".repeat(43).as_str())).await;
    assert_eq!((status, res), (403, Err("csrf_invalid".into())));
    // A no-JS form post may carry the token as a field instead.
    let (status, res) =
        c.call_without_csrf("create_org", &[("name", "Via form"), ("_csrf", c.csrf.as_str())], None).await;
    assert_eq!(status, 200, "{res:?}");
    let orgs = c.session().await["orgs"].as_array().unwrap().clone();
    assert_eq!(orgs.len(), 1, "only the form post with a token created an org");
    assert_eq!(orgs[0]["name"], "Via form");
});

on_both_backends!(dev_login_is_off_by_default, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    assert_eq!(
        c.call("dev_login", &[("email", "owner@demo.handoo.test")]).await,
        Err("dev_login_disabled".into())
    );
    assert_eq!(c.call("dev_login_users", &[]).await, Err("dev_login_disabled".into()));
    assert_eq!(c.session().await, serde_json::Value::Null);

    let Some(app) =
        TestApp::spawn_with(backend, &[("HANDOO_DEV_LOGIN", "true"), ("HANDOO_SEED_DEMO", "true")]).await
    else {
        return;
    };
    let c = app.client().await;
    c.call("dev_login", &[("email", "owner@demo.handoo.test")]).await.expect("dev login when enabled");
    // Even when enabled it only opens the demo accounts.
    let other = app.client().await;
    other.sign_up("Real", "real@example.com", GOOD_PASSWORD).await.unwrap();
    other.call("log_out", &[]).await.unwrap();
    assert_eq!(other.call("dev_login", &[("email", "real@example.com")]).await, Err("not_found".into()));
    assert_eq!(c.session().await["current"]["name"], "Demo Motors");
});

on_both_backends!(session_cookie_is_hardened, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    let res = c
        .http
        .post(format!("{}/api/sign_up", c.base))
        .header("x-csrf-token", &c.csrf)
        .form(&[("name", "Ada"), ("email", "ada@example.com"), ("password", GOOD_PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let session = cookies.iter().find(|c| c.starts_with("handoo_session=")).expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(!session.contains("Secure"), "plain http in tests: {session}");
});
