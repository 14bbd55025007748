//! The egress policy through the HTTP boundary: an organisation's provider
//! URL cannot make the server reach loopback, private or metadata
//! addresses, carry the operator's key elsewhere, follow redirects, or
//! echo what an upstream answered.

use crate::common;

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use common::{Client, TestApp, GOOD_PASSWORD};

/// Everything a fake upstream saw: path and headers of each request.
type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;

/// A server on loopback playing "something inside the operator's network":
/// it answers every request with `status`, a secret body and, optionally, a
/// redirect.
async fn upstream(status: StatusCode, location: Option<String>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let log = log.clone();
        let location = location.clone();
        async move {
            log.lock().unwrap().push((uri.path().to_string(), headers));
            let mut resp =
                (status, "INTERNAL-SECRET-7f3a {\"error\": {\"message\": \"INTERNAL-SECRET-7f3a\"}}")
                    .into_response();
            if let Some(l) = location {
                resp.headers_mut().insert("location", l.parse().unwrap());
            }
            resp
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("127.0.0.1:{}", addr.port()), seen)
}

async fn owner_with_org(app: &TestApp) -> (Client, String) {
    let c = app.client().await;
    c.sign_up("Mallory", "mallory@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org = c.create_org("Mallory Inc").await;
    (c, org)
}

async fn save(
    c: &Client,
    org: &str,
    provider: &str,
    key: &str,
    base: &str,
) -> Result<serde_json::Value, String> {
    c.call(
        "save_provider_settings",
        &[
            ("org_id", org),
            ("provider", provider),
            ("api_key", key),
            ("base_url", base),
            ("clear_key", "false"),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_addresses_are_refused_and_never_contacted() {
    // No allow-list: the policy as a public deployment runs it.
    let Some(app) = TestApp::spawn_with(common::Backend::Sqlite, &[("HANDOO_EGRESS_ALLOW", "")]).await else {
        return;
    };
    let (inside, seen) = upstream(StatusCode::UNAUTHORIZED, None).await;
    let port = inside.rsplit(':').next().unwrap().to_string();
    let (owner, org) = owner_with_org(&app).await;

    // Address literals are refused when saved, in every spelling.
    for base in [
        format!("http://{inside}/v1"),
        format!("http://[::1]:{port}/v1"),
        format!("http://[::ffff:127.0.0.1]:{port}/v1"),
        format!("http://0.0.0.0:{port}/v1"),
        format!("http://2130706433:{port}/v1"),
        format!("http://0x7f.0.0.1:{port}/v1"),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://10.0.0.1/v1".to_string(),
        "http://[fd00::1]/v1".to_string(),
    ] {
        assert_eq!(
            save(&owner, &org, "openai", "sk-org", &base).await,
            Err("provider_address_refused".into()),
            "{base}"
        );
    }
    // A fragment or query would swallow the vendor path: not a base URL.
    for base in [format!("http://localhost:{port}/admin#"), format!("http://localhost:{port}/admin?")] {
        assert_eq!(save(&owner, &org, "openai", "sk-org", &base).await, Err("validation".into()), "{base}");
    }

    // A name is judged by what it resolves to, at the moment of use.
    save(&owner, &org, "openai", "sk-org", &format!("http://localhost:{port}/v1")).await.unwrap();
    let tested = owner.call("test_provider", &[("org_id", &org), ("provider", "openai")]).await.unwrap();
    assert_eq!(
        (tested["ok"].as_bool(), tested["error"].as_str()),
        (Some(false), Some("provider_address_refused"))
    );

    // A Member reaches the voice list: it falls back to the shipped voices
    // without touching the internal host.
    save(&owner, &org, "elevenlabs", "xi-org", &format!("http://localhost:{port}/v1")).await.unwrap();
    let voices = owner.call("list_voices", &[("org_id", &org), ("provider", "elevenlabs")]).await.unwrap();
    assert!(!voices.as_array().unwrap().is_empty());
    let tested = owner.call("test_provider", &[("org_id", &org), ("provider", "elevenlabs")]).await.unwrap();
    assert_eq!(tested["error"], "provider_address_refused");

    // Streaming speech (a websocket) is held to the same policy.
    save(&owner, &org, "deepgram", "dg-org", &format!("ws://localhost:{port}/v1")).await.unwrap();
    let tested = owner.call("test_provider", &[("org_id", &org), ("provider", "deepgram")]).await.unwrap();
    assert_eq!(tested["error"], "provider_address_refused");

    assert!(seen.lock().unwrap().is_empty(), "the internal server was contacted: {:?}", seen.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_key_never_leaves_for_a_tenant_url() {
    // Loopback allowed so the "tenant's server" below is reachable at all.
    let (tenant_server, seen) = upstream(StatusCode::OK, None).await;
    let Some(app) = TestApp::spawn_with(
        common::Backend::Sqlite,
        &[("HANDOO_EGRESS_ALLOW", "127.0.0.0/8"), ("OPENAI_API_KEY", "sk-operator-secret")],
    )
    .await
    else {
        return;
    };
    let (owner, org) = owner_with_org(&app).await;
    let list = owner.call("list_provider_settings", &[("org_id", &org)]).await.unwrap();
    let openai = list.as_array().unwrap().iter().find(|p| p["provider"] == "openai").unwrap().clone();
    assert_eq!(openai["source"], "server");

    // A base URL of its own without a key of its own: not configured.
    save(&owner, &org, "openai", "", &format!("http://{tenant_server}/v1")).await.unwrap();
    let tested = owner.call("test_provider", &[("org_id", &org), ("provider", "openai")]).await.unwrap();
    assert_eq!(tested["error"], "provider_not_configured");
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().all(|(_, h)| !format!("{h:?}").contains("sk-operator-secret")),
        "the operator's key reached a tenant's server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_upstream_bodies_are_not_echoed() {
    let (target, target_seen) = upstream(StatusCode::OK, None).await;
    let (redirector, redirector_seen) =
        upstream(StatusCode::FOUND, Some(format!("http://{target}/stolen"))).await;
    let (talker, _) = upstream(StatusCode::UNAUTHORIZED, None).await;
    let Some(app) =
        TestApp::spawn_with(common::Backend::Sqlite, &[("HANDOO_EGRESS_ALLOW", "127.0.0.0/8")]).await
    else {
        return;
    };
    let (owner, org) = owner_with_org(&app).await;

    save(&owner, &org, "elevenlabs", "xi-tenant-key", &format!("http://{redirector}/v1")).await.unwrap();
    let tested = owner.call("test_provider", &[("org_id", &org), ("provider", "elevenlabs")]).await.unwrap();
    assert_eq!(tested["ok"], false);
    assert_eq!(redirector_seen.lock().unwrap().len(), 1, "one request, no retry of a 3xx");
    assert!(target_seen.lock().unwrap().is_empty(), "the redirect was followed (with the xi-api-key header)");

    // The upstream's answer stays in the operator's log.
    save(&owner, &org, "openai", "sk-tenant", &format!("http://{talker}/v1")).await.unwrap();
    let tested = owner.call("test_provider", &[("org_id", &org), ("provider", "openai")]).await.unwrap();
    assert_eq!(tested["error"], "provider_auth");
    let text = tested.to_string();
    assert!(!text.contains("INTERNAL-SECRET"), "upstream body echoed to the tenant: {text}");
}
