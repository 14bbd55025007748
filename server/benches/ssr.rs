#![recursion_limit = "512"]
//! What rendering the signed-in dashboard costs the server itself, without
//! TCP, a load generator or the kernel: the full router (sessions, CSRF,
//! every layer, Leptos SSR, the database) driven in-process.
//!
//! - one request at a time: the server's own latency per page (p50 / p99);
//! - 50 requests in flight on 2 worker threads: the throughput ceiling of the
//!   render path on this machine, and the latency it implies at 50
//!   connections (Little's law: 50 ÷ throughput).
//!
//! `scripts/bench` runs the same page over loopback with wrk; the gap between
//! the two is the HTTP/TCP stack and wrk sharing the cores. This bench is also
//! the profiling target (`perf record` on it sees only the server's work).
//! Run: `cargo bench -p server --bench ssr`. Env: `SSR_RUNS` (default 3000).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;

const PEER: ([u8; 4], u16) = ([127, 0, 0, 1], 40000);

fn request(builder: axum::http::request::Builder, body: Body) -> Request<Body> {
    let mut req = builder.body(body).expect("request");
    req.extensions_mut().insert(ConnectInfo(SocketAddr::from(PEER)));
    req
}

async fn body_text(res: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024).await.expect("body");
    String::from_utf8_lossy(&bytes).into_owned()
}

fn set_cookies(res: &axum::response::Response) -> Vec<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next().map(str::to_string))
        .collect()
}

/// Signs in as the demo owner and returns the Cookie header of that session.
async fn sign_in(router: &Router) -> String {
    let res =
        router.clone().oneshot(request(Request::get("/login"), Body::empty())).await.expect("login page");
    let mut cookies = set_cookies(&res);
    let page = body_text(res).await;
    let csrf = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf meta")
        .to_string();
    let form = "email=owner%40demo.handoo.test&password=handoo-demo-2026";
    let res = router
        .clone()
        .oneshot(request(
            Request::post("/api/log_in")
                .header(header::COOKIE, cookies.join("; "))
                .header("x-csrf-token", &csrf)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            Body::from(form),
        ))
        .await
        .expect("log in");
    assert!(res.status().is_success(), "log in failed: {}", res.status());
    cookies.extend(set_cookies(&res));
    cookies.join("; ")
}

async fn dashboard(router: &Router, cookie: &str) -> usize {
    let res = router
        .clone()
        .oneshot(request(Request::get("/app").header(header::COOKIE, cookie), Body::empty()))
        .await
        .expect("dashboard");
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024).await.expect("body");
    bytes.len()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::var("SSR_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let dir = std::env::temp_dir().join(format!("handoo-ssr-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let vars: std::collections::HashMap<&str, String> = [
        ("DATABASE_URL", format!("sqlite://{}/bench.db", dir.display())),
        ("HANDOO_SECRET_KEY", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".to_string()),
        ("HANDOO_SEED_DEMO", "true".to_string()),
    ]
    .into_iter()
    .collect();
    let config = server::Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
    let options = leptos::prelude::LeptosOptions::builder().output_name("handoo").build();
    let (router, _) = server::build(config, options).await.expect("build");
    let cookie = sign_in(&router).await;

    // The page really is the signed-in dashboard.
    let res = router
        .clone()
        .oneshot(request(Request::get("/app").header(header::COOKIE, &cookie), Body::empty()))
        .await
        .unwrap();
    let html = body_text(res).await;
    assert!(html.contains("data-testid=\"current-org\""), "not the signed-in dashboard");
    println!("dashboard SSR in-process ({} bytes of HTML)", html.len());

    for _ in 0..200 {
        dashboard(&router, &cookie).await;
    }
    let mut one = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        dashboard(&router, &cookie).await;
        one.push(t.elapsed().as_secs_f64() * 1e3);
    }
    one.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  one at a time        p50 {:6.3} ms   p99 {:6.3} ms   ({:.0} pages/s, n={runs})",
        pct(&one, 0.5),
        pct(&one, 0.99),
        1e3 / (one.iter().sum::<f64>() / runs as f64)
    );

    // 50 in flight: each task loops, recording its own latencies.
    let router = Arc::new(router);
    let cookie: Arc<str> = cookie.into();
    let window =
        Duration::from_secs(std::env::var("SSR_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(5));
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (router, cookie) = (router.clone(), cookie.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                while started.elapsed() < window {
                    let t = Instant::now();
                    dashboard(&router, &cookie).await;
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  50 in flight         p50 {:6.3} ms   p99 {:6.3} ms   ({:.0} pages/s over {secs:.1} s)",
        pct(&all, 0.5),
        pct(&all, 0.99),
        all.len() as f64 / secs
    );
    let _ = std::fs::remove_dir_all(&dir);
}
