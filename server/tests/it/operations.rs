//! Operating the server: liveness and readiness, Prometheus metrics per
//! route template (not per URL), the job queue and the database pool in
//! them; `server --help` lists the configuration and starts nothing.

use crate::common;

use common::{Backend, TestApp, GOOD_PASSWORD};
use reqwest::Method;
use serde_json::json;

on_both_backends!(live_ready_and_metrics, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let get = |path: &'static str| {
        let url = format!("{}{path}", app.base);
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.headers().get("content-type").cloned(), r.text().await.unwrap())
        }
    };
    assert_eq!(get("/live").await.0, 200);
    assert_eq!(get("/ready").await.0, 200);

    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.unwrap();
    let org = owner.create_org("Acme").await;
    for i in 0..3 {
        let p = json!({"first_name": format!("P{i}"), "phone": format!("+3361234567{i}")});
        assert_eq!(owner.rest(Method::POST, &format!("/orgs/{org}/prospects"), Some(p)).await.0, 201);
    }
    let other = uuid::Uuid::now_v7();
    assert_eq!(owner.rest(Method::GET, &format!("/orgs/{other}/prospects"), None).await.0, 404);

    let (status, ct, text) = get("/metrics").await;
    assert_eq!(status, 200, "loopback may read /metrics");
    assert!(ct.unwrap().to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let route = "route=\"/api/v1/orgs/{org}/prospects\"";
    let line =
        |needle: &str| text.lines().find(|l| l.contains(needle) && l.contains(route)).map(str::to_string);
    assert_eq!(
        line("handoo_http_requests_total{method=\"POST\"").as_deref().and_then(|l| l.rsplit(' ').next()),
        Some("3"),
        "{text}"
    );
    assert!(line("handoo_http_requests_total{method=\"GET\"").is_some_and(|l| l.contains("status=\"4xx\"")));
    assert!(!text.contains(&other.to_string()), "series are per template, never per URL");
    assert!(line("handoo_http_request_duration_seconds_bucket{method=\"POST\"").is_some());
    for name in ["handoo_db_pool_connections", "handoo_events_published_total", "handoo_uptime_seconds"] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing:\n{text}");
    }
    // A queued job shows in the queue depth.
    let job = services::jobs::NewJob::new("test.never_handled", None, json!({}));
    services::jobs::enqueue(&app.state.db, &services::clock::system(), job).await.unwrap();
    let (_, _, text) = get("/metrics").await;
    assert!(text.contains("handoo_jobs{kind=\"test.never_handled\",state=\"queued\"} 1"), "{text}");
});

#[test]
fn help_lists_the_configuration_and_starts_nothing() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("--help")
        .env("DATABASE_URL", "postgres://nowhere.invalid/none")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("usage: server"));
    for (names, _) in server::env_vars::VARS {
        for name in names.split(", ") {
            assert!(text.contains(&name.replace('`', "")), "{name} missing from --help");
        }
    }
}

/// Run as a child by `errors_and_panics_reach_sentry`: logs an error and
/// panics with the reporter installed (the panic hook is process-wide, so
/// not in the shared test process).
#[test]
#[ignore = "run as a separate process by errors_and_panics_reach_sentry"]
fn sentry_child() {
    let Ok(dsn) = std::env::var("SENTRY_CHILD_DSN") else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use tracing_subscriber::layer::SubscriberExt;
        let reporter = server::sentry::Reporter::start(
            server::sentry::Dsn::parse(&dsn).unwrap(),
            reqwest::Client::new(),
        );
        reporter.install_global();
        let subscriber = tracing_subscriber::registry().with(server::sentry::ErrorLayer(reporter));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!("not an error: not reported");
            tracing::error!(code = "internal", "database error");
        });
        let _ = std::thread::spawn(|| panic!("boom at the end of the world")).join();
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_panics_reach_sentry() {
    use axum::extract::State;
    use axum::http::HeaderMap;
    use std::sync::{Arc, Mutex};
    type Seen = Arc<Mutex<Vec<(String, String)>>>;
    let seen: Seen = Arc::default();
    async fn envelope(State(seen): State<Seen>, headers: HeaderMap, body: String) -> &'static str {
        let auth = headers.get("x-sentry-auth").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        seen.lock().unwrap().push((auth, body));
        "{}"
    }
    let app = axum::Router::new()
        .route("/api/42/envelope/", axum::routing::post(envelope))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["operations::sentry_child", "--exact", "--ignored", "--nocapture"])
            .env("SENTRY_CHILD_DSN", format!("http://publickey@127.0.0.1:{port}/42"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(status.success(), "the child's own test passed (its panic was in a thread)");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "one error, one panic, nothing for the warning: {seen:?}");
    assert!(seen
        .iter()
        .all(|(auth, _)| auth.contains("sentry_key=publickey") && auth.contains("sentry_version=7")));
    let events: Vec<serde_json::Value> =
        seen.iter().map(|(_, body)| serde_json::from_str(body.lines().nth(2).unwrap()).unwrap()).collect();
    assert!(events
        .iter()
        .any(|e| e["message"]["formatted"] == "database error" && e["extra"]["code"] == "internal"));
    assert!(events
        .iter()
        .any(|e| e["level"] == "fatal"
            && e["exception"]["values"][0]["value"] == "boom at the end of the world"));
}

// The PostgreSQL pool pings only connections idle for a while before handing
// them out (`services::db::connect_postgres`). A busy connection the server
// dropped (a restart, an administrator) fails the one statement that finds
// it, is closed instead of going back to the pool, and the pool carries on
// with fresh ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_dropped_by_the_server_are_replaced() {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let db = &app.state.db;
    // Several connections open at once, then back in the pool.
    let held = futures::future::join_all((0..6).map(|_| db.begin())).await;
    for txn in held {
        txn.unwrap().commit().await.unwrap();
    }
    let admin = services::db::connect(&app.db.url).await.unwrap();
    let killed = admin
        .query_all(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ))
        .await
        .unwrap()
        .len();
    assert!(killed >= 6, "{killed} connections terminated");
    let select = || db.execute(Statement::from_string(sea_orm::DbBackend::Postgres, "SELECT 1"));
    let mut failed = 0;
    for _ in 0..40 {
        if select().await.is_err() {
            failed += 1;
        }
    }
    assert!(failed <= killed, "{failed} statements failed after {killed} connections were dropped");
    for i in 0..10 {
        assert!(select().await.is_ok(), "statement {i} after recovery failed");
    }
    let ready = reqwest::get(format!("{}/ready", app.base)).await.unwrap();
    assert_eq!(ready.status(), 200);
}
