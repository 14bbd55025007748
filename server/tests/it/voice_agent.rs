//! The voice agent inside the server: a call placed through the REST API
//! is dispatched by LiveKit (the mock, whose agent endpoint is proven
//! faithful by LiveKit's own Python worker) to the server's worker, which
//! checks the job, reads the agent with the prospect's variables and its
//! own provider clients (the mock vendors), and holds the conversation —
//! real espeak-ng speech, Silero VAD — over a media session this test
//! plays the callee through (in production: the room, through
//! `liblivekit_ffi.so`; that leg is the LiveKit suite's). What the agent
//! does lands through the calls services: turns as they happen, collected
//! data, a note on the prospect, and at the end its report, the room
//! deleted and the call completed. A LiveKit server that dispatches
//! another organisation's call is refused.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::Backend;
use reqwest::Method;
use serde_json::{json, Value};
use server::voice_host::{HostParts, MediaConnector};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use voice::media::{pair, FarEnd, MediaSession};
use voice::simulate::SimulatedCaller;
use voice::AssignedJob;

use crate::calls::{calling_with, livekit_control, Calling};

/// Where a rep's call's room, joined to listen, goes: the room's name and
/// the sender of its voices (the test plays the rep and the prospect).
pub(crate) type Listened = mpsc::UnboundedSender<(String, mpsc::Sender<voice::transcriber::Source>)>;

/// Hands each joined call's far end to the test, which plays the callee
/// (and, for a rep's call, the sender of its voices: the test plays both).
pub(crate) struct TestRooms {
    pub joined: Mutex<mpsc::UnboundedSender<(String, FarEnd)>>,
    pub listened: Mutex<Option<Listened>>,
}

#[async_trait]
impl MediaConnector for TestRooms {
    async fn join(
        &self,
        job: &AssignedJob,
        _egress: Option<&providers::EgressPolicy>,
    ) -> Result<(MediaSession, JoinHandle<()>), String> {
        let (session, far) = pair(48_000, 24_000);
        let room = job.job.room.as_ref().map(|r| r.name.clone()).unwrap_or_default();
        self.joined.lock().unwrap().send((room, far)).map_err(|_| "test over".to_string())?;
        Ok((session, tokio::spawn(async {})))
    }

    async fn listen(
        &self,
        job: &AssignedJob,
        _egress: Option<&providers::EgressPolicy>,
    ) -> Result<(mpsc::Receiver<voice::transcriber::Source>, JoinHandle<()>), String> {
        let (tx, sources) = mpsc::channel(8);
        let room = job.job.room.as_ref().map(|r| r.name.clone()).unwrap_or_default();
        let listened = self.listened.lock().unwrap();
        let to_test = listened.as_ref().ok_or("no listening in this test")?;
        to_test.send((room, tx)).map_err(|_| "test over".to_string())?;
        Ok((sources, tokio::spawn(async {})))
    }
}

/// The server's voice host on `c`'s app, joining rooms through `rooms`.
fn spawn_host(
    c: &Calling,
    vad: Arc<voice::vad::SileroModel>,
    rooms: TestRooms,
) -> server::voice_host::VoiceHost {
    let ctx = &c.app.state.server_ctx;
    server::voice_host::spawn(HostParts {
        db: c.app.state.db.clone(),
        copilot: ctx.copilot.clone(),
        providers: ctx.providers.clone(),
        telephony: ctx.telephony.clone(),
        bus: ctx.bus.clone(),
        vad,
        media: Arc::new(rooms),
        max_calls: 4,
    })
}

fn vad() -> Option<Arc<voice::vad::SileroModel>> {
    match voice::vad::SileroModel::from_env(1) {
        Ok(m) => Some(Arc::new(m)),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("{e} (CI=true)"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

async fn call(c: &Calling, id: &str) -> Value {
    c.call(id).await
}

/// Polls the call until `check` holds (up to `secs`).
async fn until(c: &Calling, id: &str, what: &str, secs: u64, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let v = call(c, id).await;
        if check(&v) {
            return v;
        }
        if std::time::Instant::now() > deadline {
            panic!("{what} never happened: {v:#}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_until(what: &str, within: Duration, check: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !check() {
        assert!(std::time::Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn say(caller: &SimulatedCaller, text: &str) {
    caller.say(voice::simulate::espeak(text, "en", 48_000));
}

on_both_backends!(
    the_servers_own_agent_holds_a_dispatched_call_and_leaves_its_record,
    |backend: Backend| async move {
        let Some(vad) = vad() else { return };
        let vendors = mock_vendors::MockVendors::start().await;
        let openai = vendors.base_url("openai");
        let deepgram = vendors.base_url("deepgram");
        let env = [
            ("OPENAI_BASE_URL", openai.as_str()),
            ("OPENAI_API_KEY", "sk-test"),
            ("DEEPGRAM_BASE_URL", deepgram.as_str()),
            ("DEEPGRAM_API_KEY", "dg-test"),
            // The second organisation's own LiveKit project is on loopback.
            ("HANDOO_EGRESS_ALLOW", "127.0.0.0/8"),
        ];
        let Some(c) = calling_with(backend, &env).await else { return };
        let org = c.org.clone();
        *vendors.state.stt_script.lock().unwrap() = Some(
            ["My budget is 450 euros.", "note: call back on Tuesday", "Not interested, goodbye"]
                .map(String::from)
                .into(),
        );

        let settings = json!({
            "name": "Max", "description": "", "kind": "voice",
            "system_prompt": "You sell vans to {{prospect.company}}.",
            "first_message": "Hello {{prospect.first_name}}, this is Max from {{call.team}}. Do you have a minute?",
            "language": "en",
            "llm": {"provider": "openai", "model": "gpt-4.1-mini", "temperature": 0.2, "max_tokens": 200},
            "stt": {"provider": "deepgram", "model": "nova-3"},
            "tts": {"provider": "openai", "model": "gpt-4o-mini-tts", "voice": "alloy"},
            "interruption": "medium", "max_call_seconds": 120,
            "voicemail": {"action": "hang_up"}, "transfer_number": null,
            "tools": ["addNote", "updateData", "endCall"],
            "data_schema": {"fields": [{"name": "budget", "type": "string", "description": "Their budget"}]},
            "turn_taking": {"end_of_turn_ms": 400, "stt_final_wait_ms": 1500, "silence_reprompt_seconds": 30, "silence_hang_up_seconds": 60}
        });
        let (s, agent) = c
            .owner
            .rest(Method::POST, &format!("/orgs/{org}/agents"), Some(json!({"settings": settings})))
            .await;
        assert_eq!(s, 201, "{agent}");
        let agent = agent["id"].as_str().unwrap().to_string();
        // This server was given no VAD files: a browser test call says so before any audio.
        assert_eq!(open_test_call(&c.app, &c.owner, &org, &agent, None).await.err(), Some(503));
        let (_, p) = c
        .owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/prospects"),
            Some(json!({"first_name": "Paula", "last_name": "Durand", "company": "Durand Freight", "phone": "+33612345009"})),
        )
        .await;
        let pid = p["id"].as_str().unwrap().to_string();

        // A second organisation on its own LiveKit project (another mock).
        let other_lk = mock_vendors::MockVendors::start().await;
        let intruder = c.app.client().await;
        intruder.sign_up("Ivan", "ivan@example.com", common::GOOD_PASSWORD).await.expect("sign up");
        let other = intruder.create_org("Other").await;
        let other_agent = crate::calls::ready_to_call(&intruder, &other).await;
        let (s, v) = intruder
        .rest(
            Method::PUT,
            &format!("/orgs/{other}/telephony"),
            Some(json!({"livekit_url": other_lk.base_url("livekit"), "livekit_api_key": crate::calls::LK_KEY,
                        "livekit_api_secret": mock_vendors::livekit::API_SECRET})),
        )
        .await;
        assert_eq!(s, 200, "{v}");

        let (joined_tx, mut joined) = mpsc::unbounded_channel();
        let host =
            spawn_host(&c, vad, TestRooms { joined: Mutex::new(joined_tx), listened: Mutex::new(None) });
        // One worker per project: the server's and the other organisation's.
        for lk in [&c.mock, &other_lk] {
            let state = lk.state.clone();
            wait_until("the worker registers", Duration::from_secs(10), move || {
                !state.agents.workers().is_empty()
            })
            .await;
        }

        // The call: placed through the API, dispatched by LiveKit to our worker.
        // The call's own variables reach the agent's texts as `{{call.*}}`.
        let (s, placed) = c
            .place(json!({"prospect_id": pid, "agent_id": agent, "variables": {"team": "Handoo"}}), None)
            .await;
        assert_eq!(s, 201, "{placed}");
        let id = placed["id"].as_str().unwrap().to_string();
        let (room, far) = tokio::time::timeout(Duration::from_secs(20), joined.recv())
            .await
            .expect("the agent joins")
            .unwrap();
        assert_eq!(room, placed["room_name"].as_str().unwrap());
        let caller = SimulatedCaller::start(far);

        // The first message, rendered for this prospect, is spoken and stored at once.
        let v =
            until(&c, &id, "the first message", 20, |v| v["turns"].as_array().is_some_and(|t| !t.is_empty()))
                .await;
        assert_eq!(v["turns"][0]["speaker"], "agent");
        assert_eq!(v["turns"][0]["text"], "Hello Paula, this is Max from Handoo. Do you have a minute?");
        assert!(caller.loud_frames() > 20, "the callee heard it");

        say(&caller, "My budget is four hundred and fifty euros.");
        until(&c, &id, "the budget collected", 30, |v| v["collected_data"]["budget"] == "450 euros").await;
        say(&caller, "Note call back on Tuesday");
        let pid2 = pid.clone();
        let owner = &c.owner;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (_, notes) =
                owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{pid2}/notes"), None).await;
            if notes.to_string().contains("call back on Tuesday") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the agent's note never reached the prospect: {notes}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Its answer is heard out before the goodbye.
        until(&c, &id, "the answer to the note", 30, |v| v["turns"].as_array().is_some_and(|t| t.len() >= 5))
            .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        say(&caller, "Goodbye.");

        // It says goodbye and hangs up: the report, the room deleted, the call completed.
        let v = until(&c, &id, "the end of the call", 30, |v| v["call"]["status"] == "completed").await;
        let said: Vec<(&str, &str)> = v["turns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["speaker"].as_str().unwrap(), t["text"].as_str().unwrap()))
            .collect();
        assert_eq!(
            said,
            vec![
                ("agent", "Hello Paula, this is Max from Handoo. Do you have a minute?"),
                ("prospect", "My budget is 450 euros."),
                ("agent", "Got it."),
                ("prospect", "note: call back on Tuesday"),
                ("agent", "Noting that. Got it."),
                ("prospect", "Not interested, goodbye"),
                ("agent", "I understand. Thank you for your time, goodbye!"),
            ],
            "{v:#}"
        );
        let report = &v["agent_report"];
        assert_eq!(report["end"], json!({"by": "agent", "reason": "prospect not interested"}), "{v:#}");
        // The outcome it suggested is on its report; the call's own outcome is a person's to log.
        assert_eq!(report["outcome"], "not_interested", "{report}");
        assert!(v["call"]["outcome"].is_null(), "{v:#}");
        assert_eq!(report["latencies"].as_array().map(Vec::len), Some(3), "{report}");
        // The first reply waits a greeting's gap (voicemail detection), and says so.
        assert!(report["latencies"][0]["end_of_turn_silence_ms"].as_f64().unwrap() > 400.0, "{report}");
        assert_eq!(report["interruptions"], 0, "{report}");
        assert!(report["usage"]["stt_seconds"].as_f64().unwrap() > 3.0, "{report}");
        assert!(report["usage"]["llm_input_tokens"].as_u64().unwrap() > 0, "{report}");
        assert!(report["usage"]["tts_characters"].as_u64().unwrap() > 40, "{report}");
        let ended = v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "agent_ended")
            .expect("agent_ended");
        assert_eq!(ended["source"], "agent", "{ended}");
        // (The only room there is: the agent leaving would not end a phone call.)
        assert_eq!(c.requests("DeleteRoom").len(), 1, "the room was deleted");
        // The job was reported done to LiveKit.
        let state = c.mock.state.clone();
        wait_until("the job's success", Duration::from_secs(10), move || {
            state.agents.jobs().iter().any(|j| j.status == "JS_SUCCESS")
        })
        .await;

        // A second call, terminated by LiveKit while the agent talks (its
        // room deleted, or the worker told to stop): the conversation ends
        // as a hang-up and its record is kept all the same.
        let (s, second) = c.place(json!({"prospect_id": pid, "agent_id": agent}), None).await;
        assert_eq!(s, 201, "{second}");
        let id2 = second["id"].as_str().unwrap().to_string();
        let (room2, far2) = tokio::time::timeout(Duration::from_secs(20), joined.recv())
            .await
            .expect("the agent joins")
            .unwrap();
        let _caller2 = SimulatedCaller::start(far2);
        until(&c, &id2, "the second first message", 20, |v| {
            v["turns"].as_array().is_some_and(|t| !t.is_empty())
        })
        .await;
        let job = c.mock.state.agents.jobs().into_iter().find(|j| j.room == room2).expect("the second job");
        assert_eq!(livekit_control(c.mock.addr, "agent/terminate", json!({"job_id": job.id})).await, 204);
        let v = until(&c, &id2, "the terminated call's report", 20, |v| !v["agent_report"].is_null()).await;
        let report = &v["agent_report"];
        assert_eq!(report["end"], json!({"by": "caller"}), "{v:#}");
        assert!(report["usage"]["tts_characters"].as_u64().unwrap() > 20, "{report}");
        let state = c.mock.state.clone();
        let job_id = job.id.clone();
        wait_until("the terminated job's status", Duration::from_secs(10), move || {
            state.agents.jobs().iter().any(|j| j.id == job_id && j.status == "JS_FAILED")
        })
        .await;

        // The server's project dispatches the other organisation's call (its
        // room and metadata, as that organisation's own project would): refused.
        let (s, other_call) = intruder
            .rest(
                Method::POST,
                &format!("/orgs/{other}/calls"),
                Some(json!({"to_number": "+33612345010", "agent_id": other_agent})),
            )
            .await;
        assert_eq!(s, 201, "{other_call}");
        let meta = json!({"call_id": other_call["id"], "org_id": other, "agent_id": other_agent}).to_string();
        let status = livekit_control(
            c.mock.addr,
            "agent/dispatch",
            json!({"room": other_call["room_name"], "agent_name": "handoo-voice", "metadata": meta}),
        )
        .await;
        assert_eq!(status, 200);
        let state = c.mock.state.clone();
        wait_until("the forged job's refusal", Duration::from_secs(10), move || {
            state.agents.jobs().iter().any(|j| j.status == "JS_FAILED" && j.error.contains("refused"))
        })
        .await;
        // Metadata that does not match its room: refused too.
        let forged = json!({"call_id": id, "org_id": org}).to_string();
        livekit_control(
            c.mock.addr,
            "agent/dispatch",
            json!({"room": "elsewhere", "agent_name": "handoo-voice", "metadata": forged}),
        )
        .await;
        let state = c.mock.state.clone();
        wait_until("the mismatched job's refusal", Duration::from_secs(10), move || {
            state.agents.jobs().iter().filter(|j| j.status == "JS_FAILED").count() >= 2
        })
        .await;
        // Neither reached the media: the only room joined was the real call's.
        // (The other organisation's own project dispatched its call to its own
        // worker; that one is allowed, and joins.)
        let mut rooms = Vec::new();
        while let Ok((room, _)) = joined.try_recv() {
            rooms.push(room);
        }
        assert!(!rooms.iter().any(|r| r == "elsewhere"), "{rooms:?}");
        let forged_joins = c
            .mock
            .state
            .agents
            .jobs()
            .iter()
            .filter(|j| j.room == other_call["room_name"].as_str().unwrap())
            .count();
        assert_eq!(forged_joins, 1, "one forged job on the server's project");
        host.drain().await;
    }
);

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the test-call socket as `client` (with an `origin` when given);
/// the HTTP status when it is refused.
async fn open_test_call(
    app: &common::TestApp,
    client: &common::Client,
    org: &str,
    agent: &str,
    origin: Option<&str>,
) -> Result<Socket, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url =
        format!("{}/api/v1/orgs/{org}/agents/{agent}/test-call", app.base.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("cookie", client.http_cookie_header(&app.base).parse().unwrap());
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("the socket failed otherwise: {e}"),
    }
}

/// The browser's side of a test call: sends the microphone (silence, and
/// speech when told) in real time as 20 ms frames of 16 kHz PCM.
fn microphone(
    mut sink: futures::stream::SplitSink<Socket, tokio_tungstenite::tungstenite::Message>,
) -> (Arc<Mutex<std::collections::VecDeque<i16>>>, tokio::task::JoinHandle<()>) {
    use futures::SinkExt;
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::<i16>::new()));
    let q = queue.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            let frame: Vec<u8> = {
                let mut q = q.lock().unwrap();
                (0..320).flat_map(|_| q.pop_front().unwrap_or(0).to_le_bytes()).collect()
            };
            let stop = frame.len() != 640;
            if stop || sink.send(tokio_tungstenite::tungstenite::Message::Binary(frame.into())).await.is_err()
            {
                return;
            }
            if q.lock().unwrap().front() == Some(&i16::MIN) {
                let _ = sink
                    .send(tokio_tungstenite::tungstenite::Message::Text(r#"{"type":"stop"}"#.into()))
                    .await;
                return;
            }
        }
    });
    (queue, task)
}

on_both_backends!(
    a_browser_test_call_talks_through_the_socket_and_keeps_nothing,
    |backend: Backend| async move {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let (Ok(ort), Ok(model)) =
            (std::env::var("HANDOO_ONNXRUNTIME_LIB"), std::env::var("HANDOO_VAD_MODEL"))
        else {
            assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "the VAD's files are not set (CI=true)");
            eprintln!("SKIPPED: HANDOO_ONNXRUNTIME_LIB / HANDOO_VAD_MODEL not set");
            return;
        };
        let vendors = mock_vendors::MockVendors::start().await;
        let (openai, deepgram) = (vendors.base_url("openai"), vendors.base_url("deepgram"));
        let elevenlabs = vendors.base_url("elevenlabs");
        let env = [
            ("OPENAI_BASE_URL", openai.as_str()),
            ("OPENAI_API_KEY", "sk-test"),
            ("DEEPGRAM_BASE_URL", deepgram.as_str()),
            ("DEEPGRAM_API_KEY", "dg-test"),
            // The agent's own voice is ElevenLabs, whose key is refused
            // (401): every sentence is spoken by its fallback voice instead.
            ("ELEVENLABS_BASE_URL", elevenlabs.as_str()),
            ("ELEVENLABS_API_KEY", "bad-key"),
            ("HANDOO_ONNXRUNTIME_LIB", ort.as_str()),
            ("HANDOO_VAD_MODEL", model.as_str()),
        ];
        let Some(app) = common::TestApp::spawn_with(backend, &env).await else { return };
        let owner = app.client().await;
        owner.sign_up("Olivia", "olivia@example.com", common::GOOD_PASSWORD).await.expect("sign up");
        let org = owner.create_org("Acme").await;
        *vendors.state.stt_script.lock().unwrap() =
            Some(["My budget is 450 euros."].map(String::from).into());
        let mut settings = serde_json::from_value::<domain::agent::AgentSettings>(json!({
            "name": "Max", "description": "", "kind": "voice",
            "system_prompt": "You sell vans.", "first_message": "Hello {{prospect.first_name}}, this is Max.",
            "language": "en",
            "llm": {"provider": "openai", "model": "gpt-4.1-mini", "temperature": 0.2, "max_tokens": 200},
            "stt": {"provider": "deepgram", "model": "nova-3"},
            "tts": {"provider": "elevenlabs", "model": "eleven_flash_v2_5", "voice": "21m00Tcm4TlvDq8ikWAM"},
            "fallback_voices": [{"provider": "openai", "model": "gpt-4o-mini-tts", "voice": "alloy"}],
            "interruption": "medium", "max_call_seconds": 120, "voicemail": {"action": "hang_up"},
            "transfer_number": null, "tools": ["updateData", "endCall"],
            "data_schema": {"fields": [{"name": "budget", "type": "string", "description": "Their budget"}]}
        }))
        .unwrap();
        let (s, agent) = owner
            .rest(Method::POST, &format!("/orgs/{org}/agents"), Some(json!({"settings": settings})))
            .await;
        assert_eq!(s, 201, "{agent}");
        let agent = agent["id"].as_str().unwrap().to_string();

        // Refused before any audio: another site's page, a chat agent, another organisation's member.
        assert_eq!(
            open_test_call(&app, &owner, &org, &agent, Some("https://evil.example")).await.err(),
            Some(403)
        );
        settings.kind = domain::agent::AgentKind::Chat;
        settings.name = "Chatty".into();
        let (_, chat) = owner
            .rest(Method::POST, &format!("/orgs/{org}/agents"), Some(json!({"settings": settings})))
            .await;
        let chat = chat["id"].as_str().unwrap().to_string();
        assert_eq!(open_test_call(&app, &owner, &org, &chat, None).await.err(), Some(422));
        let stranger = app.client().await;
        stranger.sign_up("Sam", "sam@example.com", common::GOOD_PASSWORD).await.expect("sign up");
        let theirs = stranger.create_org("Theirs").await;
        assert_eq!(open_test_call(&app, &stranger, &org, &agent, None).await.err(), Some(404));
        assert_eq!(open_test_call(&app, &stranger, &theirs, &agent, None).await.err(), Some(404));

        // The call: the agent greets (the sample prospect's name), the caller
        // answers, the value comes back, the caller hangs up.
        let ws = open_test_call(&app, &owner, &org, &agent, None).await.expect("the socket opens");
        let (sink, mut stream) = ws.split();
        let (mic, sender) = microphone(sink);
        let (mut greeting, mut loud_frames, mut spoke, mut collected, mut ended) =
            (None, 0usize, false, None, None);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        while ended.is_none() {
            let msg = tokio::time::timeout_at(deadline, stream.next()).await.expect("the call goes on");
            match msg {
                Some(Ok(Message::Binary(b))) => {
                    let pcm: Vec<i16> = b.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
                    assert!(
                        !pcm.is_empty() && pcm.len() <= 480,
                        "at most 20 ms of 24 kHz audio a frame: {}",
                        pcm.len()
                    );
                    if voice::audio::rms(&pcm) > 500.0 {
                        loud_frames += 1;
                    }
                }
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    match v["type"].as_str() {
                        Some("turn") if v["turn"]["speaker"] == "agent" && greeting.is_none() => {
                            greeting = Some(v["turn"]["text"].as_str().unwrap().to_string());
                        }
                        Some("data") => {
                            collected = Some((v["field"].clone(), v["value"].clone()));
                            // Heard: hang up (the marker ends the microphone with "stop").
                            mic.lock().unwrap().extend(std::iter::repeat_n(0, 8000).chain([i16::MIN]));
                        }
                        Some("ended") => ended = Some(v["report"].clone()),
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("{e}"),
            }
            if greeting.is_some() && !spoke && loud_frames > 25 {
                spoke = true;
                let speech =
                    voice::simulate::espeak("My budget is four hundred and fifty euros.", "en", 16_000);
                let mut q = mic.lock().unwrap();
                q.extend(std::iter::repeat_n(0, 8000));
                q.extend(speech);
            }
        }
        sender.abort();
        assert_eq!(greeting.as_deref(), Some("Hello Alex, this is Max."));
        assert!(loud_frames > 25, "the greeting was heard: {loud_frames} loud frames");
        assert_eq!(collected, Some((json!("budget"), json!("450 euros"))));
        // The agent's voice was tried and refused once; then the fallback spoke on.
        assert_eq!(vendors.state.requests_for("elevenlabs").len(), 1, "one try of the refused voice");
        let fallback = vendors.state.requests_for("openai");
        assert!(
            fallback
                .iter()
                .filter(|r| r.path.ends_with("/audio/speech") && r.body["voice"] == "alloy")
                .count()
                >= 2,
            "the greeting and the reply in the fallback voice: {:?}",
            fallback.iter().map(|r| &r.path).collect::<Vec<_>>()
        );
        let report = ended.expect("the report came before the socket closed");
        assert_eq!(report["end"]["by"], "caller", "{report}");
        // Nothing is stored: no call, no conversation.
        let (_, calls) = owner.rest(Method::GET, &format!("/orgs/{org}/calls"), None).await;
        assert_eq!(calls["total"], 0, "{calls}");
    }
);

on_both_backends!(
    a_reps_call_is_transcribed_by_the_worker_in_listen_only_mode,
    |backend: Backend| async move {
        use domain::copilot::script::Speaker;
        let Some(vad) = vad() else { return };
        let vendors = mock_vendors::MockVendors::start().await;
        let deepgram = vendors.base_url("deepgram");
        let env = [("DEEPGRAM_BASE_URL", deepgram.as_str()), ("DEEPGRAM_API_KEY", "dg-test")];
        let Some(c) = calling_with(backend, &env).await else { return };
        let org = c.org.clone();
        let said = ["Hello Paula, it's Olivia from Handoo.", "We already have a supplier for that."];
        *vendors.state.stt_script.lock().unwrap() = Some(said.map(String::from).into());

        let (joined_tx, mut joined) = mpsc::unbounded_channel();
        let (listened_tx, mut listened) = mpsc::unbounded_channel();
        let rooms = TestRooms { joined: Mutex::new(joined_tx), listened: Mutex::new(Some(listened_tx)) };
        let host = spawn_host(&c, vad, rooms);
        let state = c.mock.state.clone();
        wait_until("the worker registers", Duration::from_secs(10), move || {
            !state.agents.workers().is_empty()
        })
        .await;

        let pid = c.prospect(json!({"first_name": "Paula", "phone": "+33612345099"})).await;
        let (s, placed) = c
            .owner
            .rest(Method::POST, &format!("/orgs/{org}/calls/rep"), Some(json!({"prospect_id": pid})))
            .await;
        assert_eq!(s, 201, "{placed}");
        let id = placed["call"]["id"].as_str().unwrap().to_string();
        let session = placed["session_id"].as_str().unwrap().to_string();
        // Dispatched to our worker, which joins to listen — never to talk.
        let (room, voices) = tokio::time::timeout(Duration::from_secs(20), listened.recv())
            .await
            .expect("the worker listens")
            .unwrap();
        assert_eq!(room, placed["call"]["room_name"].as_str().unwrap());
        assert!(joined.try_recv().is_err(), "no agent speaks on a rep's call");

        // The rep, then the prospect (48 kHz, as LiveKit delivers), each on its own track.
        let play = |speaker: Speaker, voice: &'static str, text: &'static str, after: Duration| {
            let voices = voices.clone();
            async move {
                tokio::time::sleep(after).await;
                let (tx, audio) = mpsc::channel(64);
                voices.send(voice::transcriber::Source { speaker, rate: 48_000, audio }).await.unwrap();
                let mut pcm = voice::simulate::espeak(text, voice, 48_000);
                pcm.extend(std::iter::repeat_n(0i16, 48_000));
                for frame in pcm.chunks(960 * 5) {
                    if tx.send(frame.to_vec()).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let rep = tokio::spawn(play(
            Speaker::Rep,
            "en-us",
            "Hello Paula, it's Olivia from Handoo.",
            Duration::ZERO,
        ));
        let prospect = tokio::spawn(play(
            Speaker::Prospect,
            "en+f3",
            "We already have a supplier for that.",
            Duration::from_secs(4),
        ));
        let _ = tokio::join!(rep, prospect);

        let v = until(&c, &id, "both sides transcribed", 30, |v| {
            v["turns"].as_array().is_some_and(|t| t.len() == 2)
        })
        .await;
        let turns: Vec<(&str, &str)> = v["turns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["speaker"].as_str().unwrap(), t["text"].as_str().unwrap()))
            .collect();
        assert_eq!(turns, vec![("rep", said[0]), ("prospect", said[1])]);
        let (_, sv) =
            c.owner.rest(Method::GET, &format!("/orgs/{org}/copilot/sessions/{session}"), None).await;
        let events = sv["events"].as_array().unwrap();
        let lines: Vec<&str> = events
            .iter()
            .filter(|e| e["type"] == "transcript")
            .map(|e| e["speaker"].as_str().unwrap())
            .collect();
        assert_eq!(lines, vec!["rep", "prospect"], "{events:?}");
        assert!(
            events
                .iter()
                .any(|e| e["type"] == "objection" && e["detection"]["kind"] == "already_have_supplier"),
            "the prospect's objection is carded: {events:?}"
        );
        assert!(events
            .iter()
            .filter(|e| e["type"] == "transcript")
            .all(|e| e["end_ms"].as_u64() >= e["start_ms"].as_u64()));
        // The rep hangs up: the room goes, so do its voices, and the job ends.
        let (s, _) = c.owner.rest(Method::POST, &format!("/orgs/{org}/calls/{id}/hang-up"), None).await;
        assert_eq!(s, 200);
        drop(voices);
        tokio::time::timeout(Duration::from_secs(30), host.drain())
            .await
            .expect("the worker drains once the call is over");
    }
);
