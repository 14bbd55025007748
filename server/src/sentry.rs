//! Optional error reporting to Sentry (or any service speaking Sentry's
//! envelope protocol, e.g. GlitchTip): with `SENTRY_DSN` set, every
//! `ERROR`-level log event and every panic is sent as a Sentry event; unset,
//! nothing is sent and nothing is installed.
//!
//! Sending happens on a background task fed by a bounded channel: a burst of
//! errors never blocks a request, and beyond the channel's capacity events
//! are dropped (counted) rather than queued without bound. The events carry
//! the message, level, logger (module), the current span's fields and, for a
//! panic, its location — never request bodies or headers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;
use uuid::Uuid;

/// Parsed `SENTRY_DSN`: `https://<public key>@<host>[:port][/path]/<project id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    pub key: String,
    /// Where envelopes go: `<scheme>://<host>[:port][/path]/api/<project>/envelope/`.
    pub envelope_url: String,
    raw: String,
}

impl Dsn {
    pub fn parse(s: &str) -> Result<Dsn, String> {
        let url = url::Url::parse(s.trim()).map_err(|e| format!("SENTRY_DSN: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("SENTRY_DSN: http or https".into());
        }
        let key = url.username();
        if key.is_empty() {
            return Err("SENTRY_DSN: the public key is missing (https://<key>@host/<project>)".into());
        }
        let host = url.host_str().ok_or("SENTRY_DSN: no host")?;
        let path = url.path().trim_end_matches('/');
        let (prefix, project) = path.rsplit_once('/').ok_or("SENTRY_DSN: no project id")?;
        if project.is_empty() || !project.chars().all(|c| c.is_ascii_digit()) {
            return Err("SENTRY_DSN: the project id must be a number".into());
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        Ok(Dsn {
            key: key.to_string(),
            envelope_url: format!("{}://{host}{port}{prefix}/api/{project}/envelope/", url.scheme()),
            raw: s.trim().to_string(),
        })
    }
}

/// The reporter: a cheap handle; events go to the sending task.
#[derive(Clone)]
pub struct Reporter {
    tx: mpsc::Sender<Value>,
    dropped: Arc<AtomicU64>,
}

static REPORTER: OnceLock<Reporter> = OnceLock::new();

impl Reporter {
    /// Starts the sending task (on the current tokio runtime).
    pub fn start(dsn: Dsn, http: reqwest::Client) -> Reporter {
        let (tx, mut rx) = mpsc::channel::<Value>(256);
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                if let Err(e) = send(&http, &dsn, &event).await {
                    // Not through `tracing::error!`: that would report itself.
                    eprintln!("sentry: event not delivered: {e}");
                }
            }
        });
        Reporter { tx, dropped: Arc::new(AtomicU64::new(0)) }
    }

    /// Makes this the process's reporter (for the panic hook); once.
    pub fn install_global(&self) {
        let _ = REPORTER.set(self.clone());
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(r) = REPORTER.get() {
                let location =
                    info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                r.capture(panic_event(&message, &location));
            }
            previous(info);
        }));
    }

    pub fn capture(&self, event: Value) {
        if self.tx.try_send(event).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Reports `ERROR` events of `tracing`.
pub struct ErrorLayer(pub Reporter);

impl<S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>> Layer<S> for ErrorLayer {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let span = ctx.event_span(event).map(|s| s.name().to_string());
        self.0.capture(log_event(event.metadata().target(), fields, span));
    }
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    extra: Map<String, Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let v = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(v);
        } else {
            self.extra.insert(field.name().to_string(), Value::String(v));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            self.extra.insert(field.name().to_string(), Value::String(value.to_string()));
        }
    }
}

fn base_event(level: &str) -> Map<String, Value> {
    let mut e = Map::new();
    e.insert("event_id".into(), json!(Uuid::now_v7().simple().to_string()));
    e.insert("timestamp".into(), json!(chrono::Utc::now().timestamp_millis() as f64 / 1000.0));
    e.insert("platform".into(), json!("rust"));
    e.insert("level".into(), json!(level));
    e.insert("release".into(), json!(concat!("handoo@", env!("CARGO_PKG_VERSION"))));
    e
}

fn log_event(target: &str, fields: Fields, span: Option<String>) -> Value {
    let mut e = base_event("error");
    e.insert("logger".into(), json!(target));
    e.insert("message".into(), json!({"formatted": fields.message.unwrap_or_default()}));
    let mut extra = fields.extra;
    if let Some(s) = span {
        extra.insert("span".into(), json!(s));
    }
    e.insert("extra".into(), Value::Object(extra));
    Value::Object(e)
}

fn panic_event(message: &str, location: &str) -> Value {
    let mut e = base_event("fatal");
    e.insert(
        "exception".into(),
        json!({"values": [{"type": "panic", "value": message, "mechanism": {"type": "panic", "handled": false}}]}),
    );
    e.insert("extra".into(), json!({"location": location}));
    Value::Object(e)
}

/// One event as a Sentry envelope: a header line, an item header, the event.
pub fn envelope(dsn: &Dsn, event: &Value) -> String {
    let id = event.get("event_id").cloned().unwrap_or(Value::Null);
    let body = event.to_string();
    format!(
        "{}\n{}\n{body}\n",
        json!({"event_id": id, "dsn": dsn.raw}),
        json!({"type": "event", "length": body.len()})
    )
}

async fn send(http: &reqwest::Client, dsn: &Dsn, event: &Value) -> Result<(), String> {
    let auth = format!(
        "Sentry sentry_version=7, sentry_client=handoo/{}, sentry_key={}",
        env!("CARGO_PKG_VERSION"),
        dsn.key
    );
    let res = http
        .post(&dsn.envelope_url)
        .header("x-sentry-auth", auth)
        .header("content-type", "application/x-sentry-envelope")
        .body(envelope(dsn, event))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", res.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsns_parse_into_the_envelope_endpoint() {
        let d = Dsn::parse("https://abc123@o1.ingest.sentry.io/4505").unwrap();
        assert_eq!(d.key, "abc123");
        assert_eq!(d.envelope_url, "https://o1.ingest.sentry.io/api/4505/envelope/");
        let d = Dsn::parse("http://k@127.0.0.1:9000/sentry/42").unwrap();
        assert_eq!(d.envelope_url, "http://127.0.0.1:9000/sentry/api/42/envelope/");
        for bad in ["", "ftp://k@h/1", "https://h/1", "https://k@h/abc", "https://k@h/"] {
            assert!(Dsn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_envelope_is_header_item_header_event() {
        let d = Dsn::parse("https://k@h/1").unwrap();
        let ev = log_event(
            "services::db",
            Fields { message: Some("database error".into()), ..Default::default() },
            None,
        );
        let env = envelope(&d, &ev);
        let lines: Vec<&str> = env.lines().collect();
        assert_eq!(lines.len(), 3);
        let header: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(header["event_id"], ev["event_id"]);
        let item: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(
            (item["type"].as_str(), item["length"].as_u64()),
            (Some("event"), Some(lines[2].len() as u64))
        );
        let body: Value = serde_json::from_str(lines[2]).unwrap();
        assert_eq!(body["message"]["formatted"], "database error");
        assert_eq!(body["logger"], "services::db");
    }
}
