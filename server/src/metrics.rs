//! Operation: `/metrics` in Prometheus's text format, `/live` and `/ready`.
//!
//! Requests are counted and timed per route *template* (axum's matched
//! path, e.g. `/api/v1/orgs/{org}/prospects`), method and status class, so
//! the number of series is bounded by the routes, not by the URLs people
//! send. Alongside: the job queue (depth and age of the oldest due job per
//! kind), the event bus (published, received from other nodes, last remote
//! lag, dropped for slow subscribers), the database pool, live copilot
//! sessions and uptime.
//!
//! `/metrics` answers loopback peers, and anyone presenting
//! `Authorization: Bearer $HANDOO_METRICS_TOKEN` when that is set: route
//! names and queue depths are for the operator, not the internet.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sea_orm::ConnectionTrait;

use crate::state::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    /// Cumulative counts per bucket, as Prometheus wants them.
    buckets: [u64; BUCKETS.len()],
}

/// Request counters and latency histograms of this node.
pub struct Metrics {
    started: Instant,
    /// (method, route template, status class) → series.
    requests: Mutex<BTreeMap<(String, String, &'static str), Series>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { started: Instant::now(), requests: Mutex::new(BTreeMap::new()) }
    }
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: StatusCode, seconds: f64) {
        let class = match status.as_u16() {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.entry((method.to_string(), route.to_string(), class)).or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    fn write_requests(&self, out: &mut String) {
        let map = self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
        out.push_str("# HELP handoo_http_requests_total HTTP requests answered, by route template, method and status class.\n");
        out.push_str("# TYPE handoo_http_requests_total counter\n");
        for ((m, r, c), s) in &map {
            let _ = writeln!(
                out,
                "handoo_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{c}\"}} {}",
                esc(r),
                s.count
            );
        }
        out.push_str("# HELP handoo_http_request_duration_seconds Time to the response head, by route template and method.\n");
        out.push_str("# TYPE handoo_http_request_duration_seconds histogram\n");
        // One histogram per (method, route): the status classes summed.
        let mut by_route: BTreeMap<(&str, &str), Series> = BTreeMap::new();
        for ((m, r, _), s) in &map {
            let t = by_route.entry((m.as_str(), r.as_str())).or_default();
            t.count += s.count;
            t.sum += s.sum;
            for (i, b) in s.buckets.iter().enumerate() {
                t.buckets[i] += b;
            }
        }
        for ((m, r), s) in &by_route {
            let labels = format!("method=\"{m}\",route=\"{}\"", esc(r));
            for (le, n) in BUCKETS.iter().zip(s.buckets) {
                let _ =
                    writeln!(out, "handoo_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {n}");
            }
            let _ = writeln!(
                out,
                "handoo_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(out, "handoo_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "handoo_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
    }
}

/// Times every request routed to a template (unmatched ones count as `unmatched`).
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let route = route.unwrap_or_else(|| "unmatched".into());
    state.metrics.observe(&method, &route, res.status(), start.elapsed().as_secs_f64());
    res
}

/// `GET /metrics`.
pub async fn render(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !allowed(&state, peer, &headers) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut out = String::with_capacity(16 * 1024);
    state.metrics.write_requests(&mut out);
    gauge(
        &mut out,
        "handoo_uptime_seconds",
        "Seconds since this node started.",
        state.metrics.started.elapsed().as_secs_f64(),
    );

    out.push_str("# HELP handoo_jobs Background jobs waiting or running, by kind and state.\n# TYPE handoo_jobs gauge\n");
    out.push_str("# HELP handoo_jobs_oldest_seconds Age of the oldest due job, by kind and state.\n# TYPE handoo_jobs_oldest_seconds gauge\n");
    match services::jobs::queue_depth(&state.db, &services::clock::system()).await {
        Ok(rows) => {
            for (kind, st, n, oldest) in rows {
                let _ = writeln!(out, "handoo_jobs{{kind=\"{}\",state=\"{st}\"}} {n}", esc(&kind));
                if let Some(age) = oldest {
                    let _ = writeln!(
                        out,
                        "handoo_jobs_oldest_seconds{{kind=\"{}\",state=\"{st}\"}} {age}",
                        esc(&kind)
                    );
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: job queue unreadable"),
    }

    // The voice agent's replies, barge-ins and calls (zeros where it does not run).
    voice::metrics::global().render(&mut out);

    let bus = state.server_ctx.bus.stats();
    use std::sync::atomic::Ordering::Relaxed;
    counter(
        &mut out,
        "handoo_events_published_total",
        "Events published on this node.",
        bus.published.load(Relaxed) as f64,
    );
    counter(
        &mut out,
        "handoo_events_received_remote_total",
        "Events received from other nodes.",
        bus.received_remote.load(Relaxed) as f64,
    );
    gauge(
        &mut out,
        "handoo_events_remote_lag_seconds",
        "Publication on another node to delivery here, for the last remote event.",
        bus.last_remote_lag_ms.load(Relaxed) as f64 / 1000.0,
    );
    counter(
        &mut out,
        "handoo_events_dropped_total",
        "Events skipped by subscribers too slow to keep up.",
        bus.dropped_lagging.load(Relaxed) as f64,
    );

    let (size, idle) = pool_size(&state.db);
    gauge(&mut out, "handoo_db_pool_connections", "Open database connections in the pool.", size as f64);
    gauge(&mut out, "handoo_db_pool_idle", "Idle database connections in the pool.", idle as f64);
    gauge(
        &mut out,
        "handoo_copilot_live_sessions",
        "Copilot sessions held in memory on this node.",
        state.server_ctx.copilot.live_count() as f64,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}

/// `GET /live`: the process answers.
pub async fn live() -> &'static str {
    "ok"
}

/// `GET /ready`: the database answers; a load balancer sends traffic only then.
pub async fn ready(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
    }
}

fn allowed(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> bool {
    if let Some(token) = state.config.metrics_token.as_deref() {
        let presented = crate::bearer::bearer_token(headers);
        if presented.is_some_and(|p| services::tokens::constant_time_eq(p.as_bytes(), token.as_bytes())) {
            return true;
        }
    }
    peer.ip().is_loopback()
}

fn pool_size(db: &sea_orm::DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle())
        }
        sea_orm::DbBackend::Sqlite => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle())
        }
        _ => (0, 0),
    }
}

fn gauge(out: &mut String, name: &str, help: &str, v: f64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
}

fn counter(out: &mut String, name: &str, help: &str, v: f64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
}

/// A label value as the text format wants it.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_series_bounded_by_templates() {
        let m = Metrics::default();
        m.observe("GET", "/api/v1/orgs/{org}/prospects", StatusCode::OK, 0.003);
        m.observe("GET", "/api/v1/orgs/{org}/prospects", StatusCode::OK, 0.2);
        m.observe("GET", "/api/v1/orgs/{org}/prospects", StatusCode::NOT_FOUND, 0.0005);
        let mut out = String::new();
        m.write_requests(&mut out);
        assert!(out.contains("handoo_http_requests_total{method=\"GET\",route=\"/api/v1/orgs/{org}/prospects\",status=\"2xx\"} 2"));
        assert!(out.contains("status=\"4xx\"} 1"));
        let labels = "method=\"GET\",route=\"/api/v1/orgs/{org}/prospects\"";
        assert!(
            out.contains(&format!("handoo_http_request_duration_seconds_bucket{{{labels},le=\"0.001\"}} 1"))
        );
        assert!(
            out.contains(&format!("handoo_http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 2"))
        );
        assert!(
            out.contains(&format!("handoo_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 3"))
        );
        assert!(out.contains(&format!("handoo_http_request_duration_seconds_count{{{labels}}} 3")));
        assert_eq!(esc("a\"b\\c"), "a\\\"b\\\\c");
    }
}
