//! What the benchmarks share: the server as `server::build` makes it, on a
//! loopback port, configured by the variables given (a fixed secret key).

use std::collections::HashMap;

/// Starts the server with `vars` (plus a fixed `HANDOO_SECRET_KEY`); its
/// base URL and state.
#[allow(dead_code)]
pub async fn serve(vars: &[(&str, String)]) -> (String, server::AppState) {
    let mut vars: HashMap<&str, String> = vars.iter().cloned().collect();
    vars.entry("HANDOO_SECRET_KEY").or_insert_with(|| "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".into());
    let config = server::Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = leptos::prelude::LeptosOptions::builder().output_name("handoo").site_addr(addr).build();
    let (router, state) = server::build(config, options).await.expect("build");
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .await
            .unwrap();
    });
    (format!("http://{addr}"), state)
}

/// A browser-like client (cookies kept) and the CSRF token the login page
/// hands out, for server functions and REST writes.
#[allow(dead_code)]
pub async fn session(base: &str, timeout: std::time::Duration) -> (reqwest::Client, String) {
    let http = reqwest::Client::builder().cookie_store(true).timeout(timeout).build().unwrap();
    let page = http.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
    let i = page.find("name=\"csrf-token\" content=\"").expect("csrf meta") + 27;
    let csrf = page[i..i + page[i..].find('"').unwrap()].to_string();
    (http, csrf)
}

/// Signs `http` up as the bench's owner and creates its organisation; the
/// organisation's id. (Each benchmark compiles this module on its own, and
/// the prospects one signs up differently.)
#[allow(dead_code)]
pub async fn owner_org(http: &reqwest::Client, base: &str, csrf: &str, password: &str) -> String {
    let call = |name: &str, form: Vec<(&str, String)>| {
        http.post(format!("{base}/api/{name}"))
            .header("x-csrf-token", csrf)
            .header("accept", "application/json")
            .form(&form)
            .send()
    };
    call(
        "sign_up",
        vec![("name", "Bench".into()), ("email", "bench@example.com".into()), ("password", password.into())],
    )
    .await
    .unwrap();
    let org: serde_json::Value =
        call("create_org", vec![("name", "Bench".into())]).await.unwrap().json().await.unwrap();
    org["id"].as_str().unwrap().to_string()
}

/// Runs `bench` with the URL of a fresh PostgreSQL database on
/// `HANDOO_TEST_PG_URL`'s server (by default the local test one), dropped
/// afterwards unless `keep`. Unreachable is a failure with CI=true, as in
/// the test suite; otherwise it is said and skipped.
#[allow(dead_code)]
pub async fn on_postgres<F: std::future::Future<Output = ()>>(
    name: &str,
    keep: bool,
    bench: impl FnOnce(String) -> F,
) {
    use sea_orm::{ConnectionTrait, Database};
    let admin_url = std::env::var("HANDOO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    match Database::connect(&admin_url).await {
        Ok(admin) => {
            let db = format!("handoo_{name}_bench_{}", std::process::id());
            admin.execute_unprepared(&format!("CREATE DATABASE {db}")).await.expect("create bench database");
            let url = format!("{}/{db}", admin_url.rsplit_once('/').unwrap().0);
            bench(url.clone()).await;
            if keep {
                println!("  kept: {url}");
                return;
            }
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await;
        }
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("PostgreSQL unreachable with CI=true: {e}")
        }
        Err(e) => println!("\nPostgreSQL unreachable ({e}): skipped"),
    }
}

/// A REST call (`/api/v1{path}`) by a signed-in client: status and body.
#[allow(dead_code)]
pub async fn rest(
    http: &reqwest::Client,
    base: &str,
    csrf: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = http.request(method, format!("{base}/api/v1{path}")).header("x-csrf-token", csrf);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}
