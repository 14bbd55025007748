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
