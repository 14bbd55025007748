//! Pages keep rendering while another server is built in the same process.
//! Regression test: Leptos generates the route list by rendering the app
//! with resource loading suppressed through a process-global flag, so a
//! page rendered meanwhile waited forever for its data. `server::build`
//! now generates the list once per process.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
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

/// Panics anywhere in the process whose message says a reactive value was
/// read after its page was gone (counted from the first call on).
fn disposed_reads() -> &'static AtomicUsize {
    static COUNT: OnceLock<AtomicUsize> = OnceLock::new();
    COUNT.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.to_string().contains("already been disposed") {
                disposed_reads().fetch_add(1, Ordering::Relaxed);
            }
            previous(info)
        }));
        AtomicUsize::new(0)
    })
}

// Requests to paths with no handler fall through to the app's "not found"
// page. Rendered by many requests at once, some of them left a task behind
// that panicked ("Tried to access a reactive value that has already been
// disposed": leptos_i18n's language effect, see `shell::provide_server_i18n`).
// Every request must get its 404, and nothing may panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_answer_404_under_concurrent_load() {
    let before = disposed_reads().load(Ordering::Relaxed);
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let clients = (0..16).map(|c| {
        let (http, base) = (http.clone(), app.base.clone());
        tokio::spawn(async move {
            let mut bad = Vec::new();
            for i in 0..400 {
                let url = format!("{base}/webhooks/nowhere-{c}-{i}");
                let res = if i % 2 == 0 {
                    http.post(&url).body("{}").send().await
                } else {
                    http.get(&url).send().await
                };
                match res {
                    Ok(r) if r.status() == 404 => {}
                    Ok(r) => bad.push(format!("{url}: {}", r.status())),
                    Err(e) => bad.push(format!("{url}: {e}")),
                }
            }
            bad
        })
    });
    let bad: Vec<String> =
        futures::future::join_all(clients).await.into_iter().flat_map(|r| r.unwrap()).collect();
    assert!(
        bad.is_empty(),
        "{} of 6,400 requests did not get a 404: {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    // The tasks left behind run after the responses.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let panics = disposed_reads().load(Ordering::Relaxed) - before;
    assert_eq!(panics, 0, "{panics} tasks read a reactive value of a page already gone");
}
