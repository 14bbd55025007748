//! What the benchmarks share: the server as `server::build` makes it, on a
//! loopback port, configured by the variables given (a fixed secret key).

use std::collections::HashMap;

/// Starts the server with `vars` (plus a fixed `HANDOO_SECRET_KEY`); its
/// base URL and state.
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
