//! Streams that end when access ends, through the HTTP boundary, on SQLite
//! and PostgreSQL: a copilot session's live event stream, or its audio
//! socket, opened by a member closes within seconds of that member's removal
//! or that session's logout — at once when the change happens on this node,
//! at the next periodic re-check when it comes from elsewhere (another node,
//! straight in the database) — and only the streams of the access that ended.

use crate::common;

use std::time::Duration;

use common::{Backend, Client, TestApp, GOOD_PASSWORD};
use futures::{SinkExt, StreamExt};
use mock_vendors::MockVendors;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A periodic re-check far beyond the deadline below: a stream that ends in
/// time was ended by this node's own signal.
const NO_PERIODIC: &str = "60000";
/// A periodic re-check for changes this node did not make.
const FAST_PERIODIC: &str = "100";
/// How long a stream may take to end, or an event to arrive.
const DEADLINE: Duration = Duration::from_secs(5);

/// An organisation with an owner and a member, and a practice copilot
/// session the member started.
struct Scene {
    owner: Client,
    member: Client,
    member_id: String,
    org: String,
    session: String,
}

async fn scene(app: &TestApp) -> Scene {
    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org = owner.create_org("Acme").await;
    let (member, member_id) = owner.invite_new_user(app, &org, "Remy", "remy@example.com", "member").await;
    let prospect = json!({"first_name": "Paul", "last_name": "Roux", "phone": "+33612345678"});
    let (s, p) = owner.rest(Method::POST, &format!("/orgs/{org}/prospects"), Some(prospect)).await;
    assert_eq!(s, 201, "{p}");
    let start = json!({"prospect_id": p["id"], "mode": "practice", "language": "en"});
    let (s, session) = member.rest(Method::POST, &format!("/orgs/{org}/copilot/sessions"), Some(start)).await;
    assert_eq!(s, 201, "{session}");
    let session = session["id"].as_str().unwrap().to_string();
    Scene { owner, member, member_id, org, session }
}

impl Scene {
    fn events_url(&self, app: &TestApp) -> String {
        format!("{}/api/v1/orgs/{}/copilot/sessions/{}/events", app.base, self.org, self.session)
    }

    /// Opens the session's live event stream as `c`.
    async fn open_events(&self, app: &TestApp, c: &Client) -> Events {
        let res = c.http.get(self.events_url(app)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        Events { res, buf: String::new() }
    }

    /// `c` posts a final utterance of the prospect's.
    async fn say(&self, c: &Client, text: &str) {
        let path = format!("/orgs/{}/copilot/sessions/{}/transcript", self.org, self.session);
        let (s, out) = c
            .rest(Method::POST, &path, Some(json!({"speaker": "prospect", "text": text, "is_final": true})))
            .await;
        assert_eq!(s, 200, "{out}");
    }
}

/// A server-sent event stream read event by event.
struct Events {
    res: reqwest::Response,
    buf: String,
}

impl Events {
    /// The next event as (name, data), or `None` once the stream has ended;
    /// fails the test when neither comes within [`DEADLINE`].
    async fn next(&mut self) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                let data: Vec<&str> =
                    frame.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                let name = frame.lines().find_map(|l| l.strip_prefix("event:")).map_or("message", str::trim);
                let data = serde_json::from_str(&data.join("\n")).expect("event data is JSON");
                return Some((name.to_string(), data));
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk())
                .await
                .expect("an event or the end in time");
            match chunk.expect("the stream ends cleanly") {
                Some(bytes) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                None => return None,
            }
        }
    }

    /// The text of the next transcript line (skipping other events).
    async fn next_transcript(&mut self) -> String {
        loop {
            let (name, ev) = self.next().await.expect("the stream is still open");
            if name == "message" && ev["type"] == "transcript" {
                return ev["text"].as_str().unwrap().to_string();
            }
        }
    }

    /// Every event left, to the end of the stream.
    async fn read_to_end(mut self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        while let Some(ev) = self.next().await {
            out.push(ev);
        }
        out
    }
}

/// The last event of a stream whose access ended.
fn revoked(code: &str) -> (String, Value) {
    ("revoked".to_string(), json!({"type": "error", "code": code, "message": "access revoked"}))
}

on_both_backends!(a_removed_member_loses_the_live_stream_at_once, |backend: Backend| async move {
    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_STREAM_RECHECK_MS", NO_PERIODIC)]).await else {
        return;
    };
    let s = scene(&app).await;
    let mut events = s.open_events(&app, &s.member).await;
    s.say(&s.member, "Hello, who is this?").await;
    assert_eq!(events.next_transcript().await, "Hello, who is this?");

    // Removed the way the members page does it.
    s.owner.call("remove_member", &[("org_id", &s.org), ("user_id", &s.member_id)]).await.expect("remove");
    let rest = events.read_to_end().await;
    assert_eq!(rest.last(), Some(&revoked("not_found")), "{rest:?}");

    // Still signed in, no longer a member: the stream does not reopen.
    assert_eq!(s.member.http.get(s.events_url(&app)).send().await.unwrap().status(), 404);
});

on_both_backends!(a_logged_out_session_loses_its_streams_and_only_its_own, |backend: Backend| async move {
    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_STREAM_RECHECK_MS", NO_PERIODIC)]).await else {
        return;
    };
    let s = scene(&app).await;
    // The same member, signed in on a second device.
    let laptop = app.client().await;
    laptop.log_in("remy@example.com", GOOD_PASSWORD).await.expect("log in");
    let mut phone_events = s.open_events(&app, &s.member).await;
    let mut laptop_events = s.open_events(&app, &laptop).await;
    s.say(&s.member, "Hello, who is this?").await;
    assert_eq!(phone_events.next_transcript().await, "Hello, who is this?");
    assert_eq!(laptop_events.next_transcript().await, "Hello, who is this?");

    s.member.call("log_out", &[]).await.expect("log out");
    let rest = phone_events.read_to_end().await;
    assert_eq!(rest.last(), Some(&revoked("unauthenticated")), "{rest:?}");

    // The other session's stream goes on.
    s.say(&laptop, "Is this a good time?").await;
    assert_eq!(laptop_events.next_transcript().await, "Is this a good time?");
    // The logged-out one cannot reopen it.
    assert_eq!(s.member.http.get(s.events_url(&app)).send().await.unwrap().status(), 401);
});

on_both_backends!(removal_on_another_node_ends_the_stream_at_the_next_check, |backend: Backend| async move {
    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_STREAM_RECHECK_MS", FAST_PERIODIC)]).await else {
        return;
    };
    let s = scene(&app).await;
    let mut events = s.open_events(&app, &s.member).await;
    s.say(&s.member, "Hello, who is this?").await;
    assert_eq!(events.next_transcript().await, "Hello, who is this?");
    // Several re-checks pass while access stands.
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.say(&s.member, "Is this a good time?").await;
    assert_eq!(events.next_transcript().await, "Is this a good time?");

    // Another node removed the member: nothing tells this one.
    let member: uuid::Uuid = s.member_id.parse().unwrap();
    entity::memberships::Entity::delete_many()
        .filter(entity::memberships::Column::UserId.eq(member))
        .exec(&app.state.db)
        .await
        .unwrap();
    let rest = events.read_to_end().await;
    assert_eq!(rest.last(), Some(&revoked("not_found")), "{rest:?}");
});

on_both_backends!(a_removed_member_loses_the_audio_socket, |backend: Backend| async move {
    let mock = MockVendors::start().await;
    let deepgram = mock.base_url("deepgram");
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("HANDOO_STREAM_RECHECK_MS", NO_PERIODIC),
            ("DEEPGRAM_API_KEY", "sk-dg"),
            ("DEEPGRAM_BASE_URL", &deepgram),
        ],
    )
    .await
    else {
        return;
    };
    let s = scene(&app).await;
    let mut ws = open_audio(&app, &s).await;
    // 100 ms of silence goes through while access stands.
    ws.send(Message::Binary(vec![0u8; 3200].into())).await.unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while mock.state.requests_for("deepgram").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "speech-to-text never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Removed through the REST API this time.
    let (status, body) =
        s.owner.rest(Method::DELETE, &format!("/orgs/{}/members/{}", s.org, s.member_id), None).await;
    assert_eq!(status, 204, "{body}");
    let frame = tokio::time::timeout(DEADLINE, async {
        while let Some(msg) = ws.next().await {
            if let Message::Close(frame) = msg.expect("a clean close") {
                return frame;
            }
        }
        None
    })
    .await
    .expect("the socket closes in time")
    .expect("a close frame with a code");
    assert_eq!((u16::from(frame.code), frame.reason.as_str()), (1008, "access revoked"));
});

/// An app whose speech-to-text is Deepgram's stand-in, answering as `key`
/// tells it to (`sk-dg` normally, `bad-key`, `midstream-error`…).
async fn live_audio(key: &str) -> Option<(MockVendors, TestApp, Scene)> {
    let mock = MockVendors::start().await;
    let deepgram = mock.base_url("deepgram");
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("HANDOO_STREAM_RECHECK_MS", NO_PERIODIC),
            ("DEEPGRAM_API_KEY", key),
            ("DEEPGRAM_BASE_URL", &deepgram),
        ],
    )
    .await?;
    let s = scene(&app).await;
    Some((mock, app, s))
}

async fn open_audio(
    app: &TestApp,
    s: &Scene,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!(
        "{}/api/v1/orgs/{}/copilot/sessions/{}/audio",
        app.base.replacen("http://", "ws://", 1),
        s.org,
        s.session
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("cookie", s.member.http_cookie_header(&app.base).parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("the audio socket opens");
    ws
}

/// Audio in, transcript out: partials while it plays, the provider's final
/// line once the rep stops, stored in the session and pushed to the
/// dashboard; then the socket closes normally (not as a revocation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_audio_becomes_the_session_s_transcript() {
    let Some((_mock, app, s)) = live_audio("sk-dg").await else { return };
    let mut events = s.open_events(&app, &s.member).await;
    let mut ws = open_audio(&app, &s).await;
    // One second of 16 kHz 16-bit audio in 100 ms frames, then "stop".
    for _ in 0..10 {
        ws.send(Message::Binary(vec![1u8; 3200].into())).await.unwrap();
    }
    ws.send(Message::Text(r#"{"type":"stop"}"#.into())).await.unwrap();
    let mut partials = 0;
    let final_text = loop {
        let (name, ev) = events.next().await.expect("the stream is still open");
        if name == "message" && ev["type"] == "transcript" {
            if ev["is_final"] == true {
                break ev["text"].as_str().unwrap().to_string();
            }
            partials += 1;
        }
    };
    assert_eq!(final_text, mock_vendors::speech::heard(32_000, 16_000));
    assert!(partials >= 1, "interim results reach the dashboard while the audio plays");
    let (status, session) =
        s.member.rest(Method::GET, &format!("/orgs/{}/copilot/sessions/{}", s.org, s.session), None).await;
    assert_eq!(status, 200, "{session}");
    let stored = session["events"].as_array().unwrap();
    assert!(
        stored.iter().any(|e| e["type"] == "transcript" && e["text"] == final_text.as_str()),
        "the final line is part of the session's history: {stored:?}"
    );
    let close = tokio::time::timeout(DEADLINE, async {
        while let Some(msg) = ws.next().await {
            if let Ok(Message::Close(frame)) = msg {
                return frame;
            }
        }
        None
    })
    .await
    .expect("the socket closes once the audio has been transcribed");
    let code = close.as_ref().map(|f| u16::from(f.code));
    assert_ne!(code, Some(1008), "a normal close, not a revocation");
}

/// A speech-to-text provider that refuses the key, or fails mid-stream,
/// reaches the dashboard as a `source_error` event; the session goes on
/// (a typed line is still observed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_speech_provider_reaches_the_dashboard_and_the_session_goes_on() {
    for key in ["bad-key", "midstream-error"] {
        let Some((_mock, app, s)) = live_audio(key).await else { return };
        let mut events = s.open_events(&app, &s.member).await;
        let mut ws = open_audio(&app, &s).await;
        let _ = ws.send(Message::Binary(vec![1u8; 3200].into())).await;
        let code = loop {
            let (name, ev) = events.next().await.expect("the stream is still open");
            if name == "message" && ev["type"] == "source_error" {
                break ev["code"].as_str().unwrap().to_string();
            }
        };
        assert!(!code.is_empty(), "{key}: a typed error code");
        s.say(&s.member, "Is this still working?").await;
        assert_eq!(events.next_transcript().await, "Is this still working?", "{key}: the session goes on");
    }
}
