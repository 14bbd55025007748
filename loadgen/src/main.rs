//! Open-loop latency of one page at fixed request rates, over a fixed number
//! of keep-alive connections. Prints figures; asserts nothing.
//!
//! Run: `cargo run --release -p loadgen -- <url> <cookie> <connections> <seconds> <rate>...`
//! (`scripts/bench` runs it against the signed-in dashboard).
//!
//! Why not only wrk: wrk is a closed loop — each connection sends its next
//! request when the previous answer arrives. Once the server is saturated,
//! its latency is connections ÷ throughput (Little's law): the time a request
//! waits behind the 49 others, whatever one render costs. That figure is a
//! throughput measurement. This one says what a request costs at a given
//! load, the way traffic arrives: request `i` is due at `start + i / rate`
//! whether or not earlier ones have been answered, and its latency runs from
//! that due time — not from when a connection became free — so a server that
//! falls behind is charged for the queue it builds (no "coordinated
//! omission").
//!
//! The schedule runs on its own OS thread (`thread::sleep` wakes within tens
//! of microseconds; tokio's timer has millisecond granularity), and the
//! requests on a one-thread runtime, to leave the server the other core.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};

struct Target {
    /// `host:port`: where to connect, and the `Host` header.
    authority: String,
    path: String,
    cookie: String,
}

type Sender = http1::SendRequest<Empty<Bytes>>;

async fn connect(t: &Target) -> Result<Sender, String> {
    let stream =
        TcpStream::connect(&t.authority).await.map_err(|e| format!("connect {}: {e}", t.authority))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(sender)
}

/// One GET, body read to the end. `Ok(false)` for a non-200 answer.
async fn get(sender: &mut Sender, t: &Target) -> Result<bool, String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let mut req = hyper::Request::get(&t.path).header("host", &t.authority);
    if !t.cookie.is_empty() {
        req = req.header("cookie", &t.cookie);
    }
    let res = sender
        .send_request(req.body(Empty::new()).map_err(|e| e.to_string())?)
        .await
        .map_err(|e| e.to_string())?;
    let ok = res.status() == hyper::StatusCode::OK;
    res.into_body().collect().await.map_err(|e| e.to_string())?;
    Ok(ok)
}

struct Outcome {
    latencies: Vec<Duration>,
    failed: usize,
    /// From the first due time to the last answer.
    elapsed: Duration,
}

async fn run(t: Arc<Target>, connections: usize, duration: Duration, rate: f64) -> Result<Outcome, String> {
    // Connections are opened (and each used once) before the clock starts.
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut s = connect(&t).await?;
        get(&mut s, &t).await?;
        senders.push(s);
    }
    let (tx, rx) = mpsc::unbounded_channel::<Instant>();
    let rx = Arc::new(Mutex::new(rx));
    let mut workers = Vec::new();
    for mut sender in senders {
        let (rx, t) = (rx.clone(), t.clone());
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut failed) = (Vec::new(), 0);
            loop {
                // A due request waits here until a connection is free: that
                // wait is part of its latency.
                let Some(due) = rx.lock().await.recv().await else { break };
                match get(&mut sender, &t).await {
                    Ok(true) => latencies.push(due.elapsed()),
                    Ok(false) => failed += 1,
                    Err(_) => {
                        failed += 1;
                        match connect(&t).await {
                            Ok(s) => sender = s,
                            Err(_) => break,
                        }
                    }
                }
            }
            (latencies, failed)
        }));
    }
    let total = (duration.as_secs_f64() * rate) as u64;
    let start = Instant::now();
    let schedule = thread::spawn(move || {
        for i in 0..total {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
            if tx.send(due).is_err() {
                break;
            }
        }
    });
    let (mut latencies, mut failed) = (Vec::new(), 0);
    for w in workers {
        let (l, f) = w.await.map_err(|e| e.to_string())?;
        latencies.extend(l);
        failed += f;
    }
    let elapsed = start.elapsed();
    schedule.join().map_err(|_| "the schedule thread panicked".to_string())?;
    Ok(Outcome { latencies, failed, elapsed })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn parse_target(url: &str, cookie: String) -> Result<Target, String> {
    let u = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    if u.scheme() != "http" {
        return Err(format!("{url}: only http:// is supported"));
    }
    let host = u.host_str().ok_or_else(|| format!("{url}: no host"))?.to_string();
    let port = u.port_or_known_default().unwrap_or(80);
    let path = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    Ok(Target { authority: format!("{host}:{port}"), path, cookie })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--help" || a == "-h") {
        println!(
            "usage: loadgen <url> <cookie header> <connections> <seconds> <rate> [rate...]\n\n\
             Open-loop load: GETs <url> on a fixed schedule of <rate> requests a second over\n\
             <connections> keep-alive connections for <seconds>, once per rate given, and prints\n\
             latency percentiles measured from each request's due time (no coordinated omission).\n\
             <cookie header> is sent as-is (\"\" for none). Used by scripts/bench."
        );
        return;
    }
    if args.len() < 5 {
        eprintln!("usage: loadgen <url> <cookie header> <connections> <seconds> <rate> [rate...]");
        std::process::exit(2);
    }
    let parse = |s: &str, what: &str| -> f64 {
        s.parse::<f64>().ok().filter(|v| *v > 0.0).unwrap_or_else(|| {
            eprintln!("{what}: expected a positive number, got {s:?}");
            std::process::exit(2)
        })
    };
    let target = match parse_target(&args[0], args[1].clone()) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2)
        }
    };
    let connections = parse(&args[2], "connections") as usize;
    let duration = Duration::from_secs_f64(parse(&args[3], "seconds"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    for rate in &args[4..] {
        let rate = parse(rate, "rate");
        match rt.block_on(run(target.clone(), connections, duration, rate)) {
            Ok(mut out) => {
                out.latencies.sort();
                let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
                let l = &out.latencies;
                println!(
                    "  {rate:.0} req/s offered, {:.0} answered/s: p50 {}  p90 {}  p99 {}{}",
                    l.len() as f64 / out.elapsed.as_secs_f64(),
                    ms(percentile(l, 0.50)),
                    ms(percentile(l, 0.90)),
                    ms(percentile(l, 0.99)),
                    if out.failed > 0 { format!("  ({} failed)", out.failed) } else { String::new() },
                );
            }
            Err(e) => {
                eprintln!("open-loop run at {rate} req/s failed: {e}");
                std::process::exit(1);
            }
        }
    }
}
