//! Google sign-in end to end against a local mock OAuth 2.0 / OpenID Connect
//! provider that checks what Google checks: client credentials, the
//! redirect URI, single-use codes and the PKCE S256 verifier.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use common::{Backend, TestApp, GOOD_PASSWORD};
use serde_json::json;
use sha2::{Digest, Sha256};

/// What the provider remembers about an issued code.
struct Grant {
    challenge: String,
    redirect_uri: String,
    identity: serde_json::Value,
}

#[derive(Clone, Default)]
struct Provider {
    codes: Arc<Mutex<HashMap<String, Grant>>>,
    tokens: Arc<Mutex<HashMap<String, serde_json::Value>>>,
}

async fn token(
    State(p): State<Provider>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> impl IntoResponse {
    let basic = base64::engine::general_purpose::STANDARD.encode("client-123:secret-456");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Basic {basic}")) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"})));
    }
    if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "unsupported_grant_type"})));
    }
    let Some(Grant { challenge, redirect_uri: redirect, identity }) =
        f.get("code").and_then(|c| p.codes.lock().unwrap().remove(c))
    else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant"})));
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    let computed =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if computed != challenge || f.get("redirect_uri") != Some(&redirect) {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant"})));
    }
    let access = format!("at-{}", uuid::Uuid::now_v7());
    p.tokens.lock().unwrap().insert(access.clone(), identity);
    (
        StatusCode::OK,
        Json(
            json!({"access_token": access, "token_type": "Bearer", "expires_in": 3599, "scope": "openid email profile"}),
        ),
    )
}

async fn userinfo(State(p): State<Provider>, headers: HeaderMap) -> impl IntoResponse {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match p.tokens.lock().unwrap().get(token) {
        Some(id) => (StatusCode::OK, Json(id.clone())),
        None => (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_token"}))),
    }
}

async fn spawn_provider() -> (String, Provider) {
    let p = Provider::default();
    let router =
        Router::new().route("/token", post(token)).route("/userinfo", get(userinfo)).with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), p)
}

async fn app_with_google(backend: Backend) -> Option<(TestApp, Provider)> {
    let (base, provider) = spawn_provider().await;
    let (auth, token, info) =
        (format!("{base}/authorize"), format!("{base}/token"), format!("{base}/userinfo"));
    let app = TestApp::spawn_with(
        backend,
        &[
            ("GOOGLE_CLIENT_ID", "client-123"),
            ("GOOGLE_CLIENT_SECRET", "secret-456"),
            ("GOOGLE_AUTH_URL", &auth),
            ("GOOGLE_TOKEN_URL", &token),
            ("GOOGLE_USERINFO_URL", &info),
        ],
    )
    .await?;
    Some((app, provider))
}

/// Plays the browser: start, "consent" at the provider, return to the callback.
async fn sign_in(app: &TestApp, c: &common::Client, p: &Provider, identity: serde_json::Value) -> String {
    sign_in_from(app, c, p, identity, "/auth/google").await
}

/// [`sign_in`] starting at `start` (e.g. with a `?next=`).
async fn sign_in_from(
    app: &TestApp,
    c: &common::Client,
    p: &Provider,
    identity: serde_json::Value,
    start: &str,
) -> String {
    let res = c.get(start).await;
    assert_eq!(res.status(), 303);
    let loc = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let q: HashMap<String, String> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "client-123");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].contains("openid") && q["scope"].contains("email"));
    assert_eq!(q["redirect_uri"], format!("{}/auth/google/callback", app.base));
    let code = format!("code-{}", uuid::Uuid::now_v7());
    p.codes.lock().unwrap().insert(
        code.clone(),
        Grant { challenge: q["code_challenge"].clone(), redirect_uri: q["redirect_uri"].clone(), identity },
    );
    let cb = c.get(&format!("/auth/google/callback?code={code}&state={}", q["state"])).await;
    cb.headers()["location"].to_str().unwrap().to_string()
}

on_both_backends!(google_sign_in_creates_and_links_accounts, |backend: Backend| async move {
    let Some((app, p)) = app_with_google(backend).await else { return };
    // The login page offers Google when configured.
    let c = app.client().await;
    assert_eq!(c.call("login_options", &[]).await.unwrap()["google"], true);

    // New user.
    let dest = sign_in(
        &app,
        &c,
        &p,
        json!({"sub": "g-1", "email": "Gina@Example.com", "email_verified": true, "name": "Gina"}),
    )
    .await;
    assert_eq!(dest, "/app");
    let s = c.session().await;
    assert_eq!(
        (s["user"]["email"].as_str(), s["user"]["name"].as_str()),
        (Some("gina@example.com"), Some("Gina"))
    );

    assert_eq!(s["user"]["locale"], "en");

    // A visitor browsing in French gets a French account, and the page follows
    // the account's language after any Google sign-in.
    let fr = app.client().await;
    fr.jar.add_cookie_str("i18n_pref_locale=fr", &app.base.parse::<reqwest::Url>().unwrap());
    sign_in(&app, &fr, &p, json!({"sub": "g-fr", "email": "francoise@example.com", "email_verified": true}))
        .await;
    assert_eq!(fr.session().await["user"]["locale"], "fr");
    let fr_again = app.client().await;
    sign_in(
        &app,
        &fr_again,
        &p,
        json!({"sub": "g-fr", "email": "francoise@example.com", "email_verified": true}),
    )
    .await;
    assert!(
        fr_again.http_cookie_header(&app.base).contains("i18n_pref_locale=fr"),
        "the callback sets the account's language: {}",
        fr_again.http_cookie_header(&app.base)
    );

    // Existing password account with the same verified email is linked, not duplicated.
    let ada = app.client().await;
    ada.sign_up("Ada", "ada@example.com", GOOD_PASSWORD).await.unwrap();
    let ada_id = ada.session().await["user"]["id"].clone();
    let fresh = app.client().await;
    assert_eq!(
        sign_in(&app, &fresh, &p, json!({"sub": "g-2", "email": "ada@example.com", "email_verified": true}))
            .await,
        "/app"
    );
    assert_eq!(fresh.session().await["user"]["id"], ada_id);
    // The password set by whoever registered the (unverified) address is void:
    // a squatter who signed up first cannot keep access.
    let squatter = app.client().await;
    assert_eq!(squatter.log_in("ada@example.com", GOOD_PASSWORD).await, Err("invalid_credentials".into()));
    // …nor stay signed in with it: the session opened by the sign-up is over.
    assert_eq!(ada.session().await, serde_json::Value::Null, "the squatter's session survived the takeover");
    // The verified owner's own session is not.
    assert_eq!(fresh.session().await["user"]["id"], ada_id);
    // Next time the subject alone identifies her, whatever the email says.
    let again = app.client().await;
    sign_in(&app, &again, &p, json!({"sub": "g-2", "email": "changed@example.com", "email_verified": true}))
        .await;
    assert_eq!(again.session().await["user"]["id"], ada_id);
});

on_both_backends!(google_sign_in_returns_to_a_local_next_only, |backend: Backend| async move {
    let Some((app, p)) = app_with_google(backend).await else { return };
    let who = |sub: &str| json!({"sub": sub, "email": format!("{sub}@example.com"), "email_verified": true});
    let c = app.client().await;
    let dest = sign_in_from(&app, &c, &p, who("n1"), "/auth/google?next=%2Finvite%2Ftok-123%3Fx%3D1").await;
    assert_eq!(dest, "/invite/tok-123?x=1");
    // Anything that would leave the site is ignored: back to the app.
    for hostile in
        ["//evil.example", "https://evil.example/", "/%5Cevil.example", "%2F%2Fevil", "/%09/evil", "%ZZ"]
    {
        let c = app.client().await;
        let dest = sign_in_from(&app, &c, &p, who("n2"), &format!("/auth/google?next={hostile}")).await;
        assert_eq!(dest, "/app", "next={hostile}");
    }
    // A `next` is used once: a later sign-in without one goes to the app.
    let c = app.client().await;
    sign_in_from(&app, &c, &p, who("n3"), "/auth/google?next=/app/prospects").await;
    assert_eq!(sign_in(&app, &c, &p, who("n3")).await, "/app");
});

on_both_backends!(google_sign_in_refuses_bad_callbacks, |backend: Backend| async move {
    let Some((app, p)) = app_with_google(backend).await else { return };
    // Unverified email: no account taken over, none created.
    let victim = app.client().await;
    victim.sign_up("Vic", "vic@example.com", GOOD_PASSWORD).await.unwrap();
    let c = app.client().await;
    let dest =
        sign_in(&app, &c, &p, json!({"sub": "evil", "email": "vic@example.com", "email_verified": false}))
            .await;
    assert_eq!(dest, "/login?error=oauth_email_unverified");
    assert_eq!(c.session().await, serde_json::Value::Null);

    // Forged state.
    let c = app.client().await;
    let _ = c.get("/auth/google").await;
    let res = c.get("/auth/google/callback?code=x&state=forged").await;
    assert_eq!(res.headers()["location"], "/login?error=oauth_failed");
    // No state in session at all (callback without start).
    let c = app.client().await;
    let res = c.get("/auth/google/callback?code=x&state=y").await;
    assert_eq!(res.headers()["location"], "/login?error=oauth_failed");
    // Provider-side error.
    let res = c.get("/auth/google/callback?error=access_denied").await;
    assert_eq!(res.headers()["location"], "/login?error=oauth_failed");
    // Unknown code at the token endpoint.
    let c = app.client().await;
    let res = c.get("/auth/google").await;
    let loc = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let state: String = loc.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let res = c.get(&format!("/auth/google/callback?code=never-issued&state={state}")).await;
    assert_eq!(res.headers()["location"], "/login?error=oauth_failed");
    assert_eq!(c.session().await, serde_json::Value::Null);
});

#[tokio::test]
async fn google_is_hidden_when_not_configured() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let c = app.client().await;
    assert_eq!(c.call("login_options", &[]).await.unwrap()["google"], false);
    assert_eq!(c.get("/auth/google").await.headers()["location"], "/login?error=not_found");
}
