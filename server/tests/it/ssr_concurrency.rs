//! Pages keep rendering while another server is built in the same process.
//! Regression test: Leptos generates the route list by rendering the app
//! with resource loading suppressed through a process-global flag, so a
//! page rendered meanwhile waited forever for its data. `server::build`
//! now generates the list once per process.

use crate::common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_other_servers_start() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let builder = tokio::spawn(async {
        for _ in 0..25 {
            let _ = TestApp::spawn(Backend::Sqlite).await;
        }
    });
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut served = 0;
    while !builder.is_finished() || served < 50 {
        let t = Instant::now();
        let body = http.get(format!("{}/login", app.base)).send().await.unwrap().text().await;
        assert!(body.is_ok_and(|b| b.contains("csrf-token")), "page {served} stalled for {:?}", t.elapsed());
        served += 1;
    }
    builder.await.unwrap();
}
