//! Test harness: boots the real router on a random port against a fresh
//! database — a SQLite temp file, or a brand-new PostgreSQL database per test.
//! An unreachable PostgreSQL fails the test (`HANDOO_SKIP_POSTGRES=1` skips it).

#![allow(dead_code)]

use std::net::SocketAddr;

use leptos::prelude::LeptosOptions;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;
use server::Config;

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile_dir::TempDir>,
    pg_name: Option<String>,
}

mod tempfile_dir {
    /// Minimal temp dir (removed on drop) to avoid another dependency.
    pub struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!("handoo-test-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&p).expect("create temp dir");
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn pg_admin_url() -> String {
    std::env::var("HANDOO_TEST_PG_URL").unwrap_or_else(|_| PG_ADMIN_URL.to_string())
}

impl TestDb {
    /// `None` only when PostgreSQL is unreachable and `HANDOO_SKIP_POSTGRES=1`.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile_dir::TempDir::new();
                let url = format!("sqlite://{}/handoo.db", dir.0.display());
                Some(TestDb { url, _dir: Some(dir), pg_name: None })
            }
            Backend::Postgres => {
                let admin_url = pg_admin_url();
                let admin = match Database::connect(&admin_url).await {
                    Ok(c) => c,
                    Err(e) => {
                        // The PostgreSQL half never passes by skipping: only
                        // an explicit opt-out skips, and `scripts/test` says so.
                        if std::env::var("HANDOO_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
                            eprintln!("SKIPPED (HANDOO_SKIP_POSTGRES=1): PostgreSQL test: {e}");
                            return None;
                        }
                        panic!(
                            "PostgreSQL at {admin_url} is unreachable: {e}. Start it with \
                             `scripts/postgres.sh` (the README's commands do), or opt out \
                             explicitly with HANDOO_SKIP_POSTGRES=1"
                        );
                    }
                };
                let name = format!("handoo_t_{}", uuid::Uuid::now_v7().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                let base = admin_url.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
                Some(TestDb { url: format!("{base}/{name}"), _dir: None, pg_name: Some(name) })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Best effort, on a separate thread with its own runtime: Drop cannot await.
            let url = pg_admin_url();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    if let Ok(admin) = Database::connect(&url).await {
                        let _ = admin
                            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub db: TestDb,
    pub state: server::AppState,
}

pub fn test_config(db_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: std::collections::HashMap<String, String> =
        extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    vars.insert("DATABASE_URL".into(), db_url.to_string());
    vars.entry("HANDOO_PUBLIC_URL".into()).or_insert_with(|| "http://127.0.0.1:3000".into());
    // The mock vendors listen on loopback, which the egress policy refuses
    // to tenants' URLs unless the operator allows it (tests of the policy
    // itself override this).
    vars.entry("HANDOO_EGRESS_ALLOW".into()).or_insert_with(|| "127.0.0.0/8".into());
    // A fixed key: tests must not write key files into the source tree.
    vars.entry("HANDOO_SECRET_KEY".into())
        .or_insert_with(|| "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".into());
    Config::from_lookup(|k| vars.get(k).cloned()).expect("valid test config")
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, &[]).await
    }

    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
        Self::spawn_with_site(backend, extra, |o| o).await
    }

    /// As [`spawn_with`], with the Leptos site options adjusted (a site
    /// root of built assets, asset hashing).
    pub async fn spawn_with_site(
        backend: Backend,
        extra: &[(&str, &str)],
        site: impl FnOnce(LeptosOptions) -> LeptosOptions,
    ) -> Option<TestApp> {
        Self::spawn_full(backend, extra, site, None).await
    }

    /// As [`spawn_with`], on a clock the test moves (the dialer's windows,
    /// retries and the job runner's due times read it).
    pub async fn spawn_at(
        backend: Backend,
        extra: &[(&str, &str)],
        clock: services::clock::SharedClock,
    ) -> Option<TestApp> {
        Self::spawn_full(backend, extra, |o| o, Some(clock)).await
    }

    async fn spawn_full(
        backend: Backend,
        extra: &[(&str, &str)],
        site: impl FnOnce(LeptosOptions) -> LeptosOptions,
        clock: Option<services::clock::SharedClock>,
    ) -> Option<TestApp> {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("TEST_LOG").unwrap_or_else(|_| "off".into()))
            .with_test_writer()
            .try_init();
        let db = TestDb::new(backend).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut extra: Vec<(&str, &str)> = extra.to_vec();
        let public = format!("http://{addr}");
        if !extra.iter().any(|(k, _)| *k == "HANDOO_PUBLIC_URL") {
            extra.push(("HANDOO_PUBLIC_URL", &public));
        }
        let mut config = test_config(&db.url, &extra);
        if let Some(clock) = clock {
            config.clock = clock;
        }
        let options = site(LeptosOptions::builder().output_name("handoo").site_addr(addr).build());
        let (router, state) = server::build(config, options).await.expect("build app");
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        Some(TestApp { base: format!("http://{addr}"), db, state })
    }

    /// A browser-like client with its own cookie jar and CSRF token.
    pub async fn client(&self) -> Client {
        Client::connect(&self.base).await
    }
}

pub fn extract_meta_csrf(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf-token\"")?;
    let rest = &html[i..];
    let c = rest.find("content=\"")? + 9;
    let end = rest[c..].find('"')?;
    Some(rest[c..c + end].to_string())
}

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: String,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

/// A server function's JSON result: Ok(value) or Err(error code).
pub type FnResult = Result<Value, String>;

impl Client {
    /// A browser-like client of the server at `base`, with its own cookie
    /// jar and the CSRF token from the login page.
    pub async fn connect(base: &str) -> Client {
        // A stuck request must fail the test with a message, not hang CI.
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = http.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
        let csrf = extract_meta_csrf(&page).expect("csrf meta tag on the login page");
        Client { http, base: base.to_string(), csrf, jar }
    }

    pub async fn call(&self, name: &str, form: &[(&str, &str)]) -> FnResult {
        let res = self
            .http
            .post(format!("{}/api/{name}", self.base))
            .header("x-csrf-token", &self.csrf)
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        decode(res).await
    }

    /// A server function whose input is JSON (`input = Json`).
    pub async fn call_json(&self, name: &str, body: Value) -> FnResult {
        let res = self
            .http
            .post(format!("{}/api/{name}", self.base))
            .header("x-csrf-token", &self.csrf)
            .header("accept", "application/json")
            .json(&body)
            .send()
            .await
            .unwrap();
        decode(res).await
    }

    /// POSTs to a REST endpoint answering `text/event-stream` and collects
    /// every event; a non-2xx answer returns its JSON error body instead.
    pub async fn rest_events(&self, path: &str, body: Value) -> (u16, Vec<Value>) {
        let res = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        if !(200..300).contains(&status) {
            return (status, vec![serde_json::from_str(&text).unwrap_or(Value::String(text))]);
        }
        let events = text
            .split("\n\n")
            .filter_map(|frame| {
                let data: Vec<&str> =
                    frame.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
                (!data.is_empty()).then(|| serde_json::from_str(&data.join("\n")).expect("event is JSON"))
            })
            .collect();
        (status, events)
    }

    pub async fn call_without_csrf(
        &self,
        name: &str,
        form: &[(&str, &str)],
        token: Option<&str>,
    ) -> (u16, FnResult) {
        let mut req = self.http.post(format!("{}/api/{name}", self.base)).form(form);
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, decode(res).await)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    pub async fn rest(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The `Cookie` header this client would send to `base`.
    pub fn http_cookie_header(&self, base: &str) -> String {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = base.parse().unwrap();
        self.jar.cookies(&url).and_then(|h| h.to_str().ok().map(str::to_string)).unwrap_or_default()
    }

    /// A REST call with a raw body (CSV uploads).
    pub async fn rest_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A GET answering text (CSV downloads): status, content type, body.
    pub async fn get_text(&self, path: &str) -> (u16, String, String) {
        let res = self.http.get(format!("{}/api/v1{path}", self.base)).send().await.unwrap();
        let status = res.status().as_u16();
        let ct =
            res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        (status, ct, res.text().await.unwrap())
    }

    pub async fn sign_up(&self, name: &str, email: &str, password: &str) -> FnResult {
        self.call("sign_up", &[("name", name), ("email", email), ("password", password)]).await
    }

    pub async fn log_in(&self, email: &str, password: &str) -> FnResult {
        self.call("log_in", &[("email", email), ("password", password)]).await
    }

    pub async fn session(&self) -> Value {
        self.call("get_session", &[]).await.expect("get_session")
    }

    /// Invites `email` into `org` with `role` and accepts as a new user:
    /// the new member's client and user id.
    pub async fn invite_new_user(
        &self,
        app: &TestApp,
        org: &str,
        name: &str,
        email: &str,
        role: &str,
    ) -> (Client, String) {
        let out = self
            .call("invite_member", &[("org_id", org), ("email", email), ("role", role)])
            .await
            .expect("invite");
        let token = out["link"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        let c = app.client().await;
        c.call("accept_invite_new_user", &[("token", &token), ("name", name), ("password", GOOD_PASSWORD)])
            .await
            .expect("accept");
        let me = c.session().await;
        let id = me["user"]["id"].as_str().unwrap().to_string();
        (c, id)
    }

    pub async fn create_org(&self, name: &str) -> String {
        let org = self.call("create_org", &[("name", name)]).await.expect("create_org");
        org["id"].as_str().unwrap().to_string()
    }
}

async fn decode(res: reqwest::Response) -> FnResult {
    let ok = res.status().is_success();
    let text = res.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
    if ok {
        Ok(v)
    } else {
        Err(v
            .get("code")
            .and_then(|c| c.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("undecodable error: {text}")))
    }
}

/// Runs the body once per backend: `backends!(name, |backend| async move { ... })`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(common::Backend::Postgres).await
            }
        }
    };
}

/// The conformance venv's python (`scripts/venv`), for tests that run a
/// vendor's official package; None (the test is skipped, and says so)
/// without it — except on CI, where its absence fails the test.
pub fn venv_python(what: &str) -> Option<std::path::PathBuf> {
    let python = std::env::var_os("HANDOO_VENV")
        .map(|v| std::path::Path::new(&v).join("bin/python"))
        .filter(|p| p.exists());
    if python.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the conformance venv is missing: source scripts/venv (HANDOO_VENV) before the tests"
        );
        eprintln!("SKIPPED: no conformance venv for {what} (source scripts/venv)");
    }
    python
}

pub const GOOD_PASSWORD: &str = "correct horse battery staple";

/// Reads server-sent events one at a time. Bytes are kept until a frame is
/// complete: a chunk may end inside a multi-byte character.
pub struct Events {
    res: reqwest::Response,
    buf: Vec<u8>,
}

impl Events {
    /// Reads the stream of `res` (a 200 answer).
    pub fn new(res: reqwest::Response) -> Events {
        assert_eq!(res.status(), 200);
        Events { res, buf: Vec::new() }
    }

    /// The next event's JSON data.
    pub async fn next(&mut self) -> Value {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let frame: Vec<u8> = self.buf.drain(..i + 2).collect();
                let frame = String::from_utf8(frame).expect("frames are UTF-8");
                let data: Vec<&str> =
                    frame.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
                if !data.is_empty() {
                    return serde_json::from_str(&data.join("\n")).expect("event is JSON");
                }
                continue;
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), self.res.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("the stream is still open");
            self.buf.extend_from_slice(&chunk);
        }
    }

    /// The server closes the stream (after a final event).
    pub async fn ends(&mut self) {
        let rest = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Some(chunk) = self.res.chunk().await.unwrap() {
                self.buf.extend_from_slice(&chunk);
            }
        });
        rest.await.expect("the stream ends after its final event");
        let left = String::from_utf8_lossy(&self.buf);
        assert!(!left.contains("data:"), "no event after the final one: {left}");
    }
}
