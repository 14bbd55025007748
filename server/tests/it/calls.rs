//! Phone calls: placing them through LiveKit (the mock in `mock-vendors`),
//! the dial, signed webhooks driving the lifecycle, refusals; and the tables
//! the calls service stands on, on SQLite and PostgreSQL alike: what the entities write reads back the same, and the
//! constraints the design counts on hold — one room per call, one call per
//! idempotency key and organisation, one timeline entry per LiveKit webhook
//! event id (any number without one), and everything goes with its
//! organisation.

use crate::common;

use std::time::Duration;

use common::{Backend, TestApp, GOOD_PASSWORD};
use domain::agent::{AgentKind, AgentSettings};
use entity::{call_events, calls, sip_trunks, telephony_settings};
use livekit_protocol as proto;
use mock_vendors::livekit::API_SECRET;
use reqwest::Method;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use uuid::Uuid;

pub(crate) fn call(org: Uuid, room: &str, key: Option<&str>) -> calls::ActiveModel {
    let now = chrono::Utc::now();
    calls::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org),
        direction: Set("outbound".into()),
        prospect_id: Set(None),
        agent_id: Set(None),
        trunk_id: Set(None),
        to_number: Set("+33612345678".into()),
        from_number: Set(Some("+33187654321".into())),
        status: Set("initiated".into()),
        sip_status: Set(None),
        failure_reason: Set(None),
        room_name: Set(room.into()),
        variables: Set(json!({"prospect": {"first_name": "Paul"}})),
        placed_by_user: Set(None),
        placed_by_api_key: Set(None),
        idempotency_key: Set(key.map(str::to_string)),
        request_hash: Set(key.map(|_| "ab".repeat(32))),
        outcome: Set(None),
        recording_key: Set(None),
        recording_duration_ms: Set(None),
        recording_egress_id: Set(None),
        recording_status: Set(None),
        recording_error: Set(None),
        talk_ms: Set(None),
        callback_at: Set(None),
        notes: Set(String::new()),
        collected_data: Set(None),
        agent_report: Set(None),
        campaign_id: Set(None),
        script_id: Set(None),
        script_version: Set(None),
        rep_user_id: Set(None),
        created_at: Set(now),
        ringing_at: Set(None),
        answered_at: Set(None),
        ended_at: Set(None),
        updated_at: Set(now),
    }
}

fn event(org: Uuid, call: Uuid, event_id: Option<&str>) -> call_events::ActiveModel {
    call_events::ActiveModel {
        id: Set(Uuid::now_v7()),
        call_id: Set(call),
        org_id: Set(org),
        source: Set(if event_id.is_some() { "webhook" } else { "request" }.into()),
        kind: Set("participant_joined".into()),
        event_id: Set(event_id.map(str::to_string)),
        from_status: Set("ringing".into()),
        to_status: Set("answered".into()),
        ignored: Set(None),
        data: Set(json!({"sip_status": 200})),
        at: Set(chrono::Utc::now()),
    }
}

on_both_backends!(the_call_tables_hold_what_the_design_counts_on, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org: Uuid = owner.create_org("Acme").await.parse().unwrap();
    let db = &app.state.db;
    let now = chrono::Utc::now();

    telephony_settings::ActiveModel {
        org_id: Set(org),
        livekit_url: Set(Some("wss://acme.livekit.cloud".into())),
        livekit_api_key: Set(Some("APIabc".into())),
        livekit_secret_ciphertext: Set(Some("sealed".into())),
        livekit_secret_hint: Set(Some("…x9".into())),
        default_trunk_id: Set(None),
        default_caller_number: Set(Some("+33187654321".into())),
        last_tested_at: Set(Some(now)),
        last_test_ok: Set(Some(true)),
        last_test_latency_ms: Set(Some(42)),
        last_test_error: Set(None),
        updated_by: Set(None),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    let trunk = sip_trunks::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org),
        direction: Set("outbound".into()),
        name: Set("Main".into()),
        livekit_trunk_id: Set("ST_abc".into()),
        address: Set("sip.example.com".into()),
        numbers: Set(json!(["+33187654321"])),
        auth_username: Set(Some("acme".into())),
        auth_password_ciphertext: Set(Some("sealed".into())),
        agent_id: Set(None),
        livekit_dispatch_rule_id: Set(None),
        created_by: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();

    let mut first = call(org, "call-1", Some("key-1"));
    first.trunk_id = Set(Some(trunk.id));
    let first = first.insert(db).await.unwrap();
    let back = calls::Entity::find_by_id(first.id).one(db).await.unwrap().unwrap();
    assert_eq!(back, first, "a call reads back as written");
    assert!(call(org, "call-1", None).insert(db).await.is_err(), "one room per call");
    assert!(call(org, "call-2", Some("key-1")).insert(db).await.is_err(), "one call per idempotency key");
    call(org, "call-3", None).insert(db).await.expect("calls without a key");
    call(org, "call-4", None).insert(db).await.expect("any number of them");

    event(org, first.id, Some("EV_1")).insert(db).await.unwrap();
    assert!(event(org, first.id, Some("EV_1")).insert(db).await.is_err(), "a redelivered webhook is found");
    event(org, first.id, None).insert(db).await.expect("events without a webhook id");
    event(org, first.id, None).insert(db).await.expect("any number of them");
    let timeline =
        call_events::Entity::find().filter(call_events::Column::CallId.eq(first.id)).all(db).await.unwrap();
    assert_eq!(timeline.len(), 3);

    // Everything goes with the organisation.
    entity::organizations::Entity::delete_by_id(org).exec(db).await.unwrap();
    assert!(calls::Entity::find().all(db).await.unwrap().is_empty());
    assert!(call_events::Entity::find().all(db).await.unwrap().is_empty());
    assert!(sip_trunks::Entity::find().all(db).await.unwrap().is_empty());
    assert!(telephony_settings::Entity::find().all(db).await.unwrap().is_empty());
});

/// An organisation on the server's LiveKit project (the mock), with a voice
/// agent, a default outbound trunk and calling hours around the clock.
pub(crate) struct Calling {
    pub app: TestApp,
    pub mock: mock_vendors::MockVendors,
    pub owner: common::Client,
    pub org: String,
    pub agent: String,
}

pub(crate) const LK_KEY: &str = "APIserver";

async fn calling(backend: Backend) -> Option<Calling> {
    calling_with(backend, &[]).await
}

/// [`calling`], with more of the server's environment.
pub(crate) async fn calling_with(backend: Backend, extra: &[(&str, &str)]) -> Option<Calling> {
    calling_at(backend, extra, None).await
}

/// [`calling_with`], on `clock` when one is given.
pub(crate) async fn calling_at(
    backend: Backend,
    extra: &[(&str, &str)],
    clock: Option<services::clock::SharedClock>,
) -> Option<Calling> {
    let mock = mock_vendors::MockVendors::start().await;
    let url = mock.base_url("livekit");
    let mut env =
        vec![("LIVEKIT_URL", url.as_str()), ("LIVEKIT_API_KEY", LK_KEY), ("LIVEKIT_API_SECRET", API_SECRET)];
    env.extend_from_slice(extra);
    let app = match clock {
        Some(clock) => TestApp::spawn_at(backend, &env, clock).await?,
        None => TestApp::spawn_with(backend, &env).await?,
    };
    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org = owner.create_org("Acme").await;
    let agent = ready_to_call(&owner, &org).await;
    // LiveKit's webhooks come to this server.
    let hook = format!("{}/webhooks/livekit", app.base);
    reqwest::Client::new()
        .post(format!("http://{}/__control/livekit/webhook", mock.addr))
        .json(&json!({ "url": hook }))
        .send()
        .await
        .unwrap();
    Some(Calling { app, mock, owner, org, agent })
}

/// Calling hours around the clock, a voice agent (its id returned) and a
/// default outbound trunk for `org`, set up by its owner.
pub(crate) async fn ready_to_call(owner: &common::Client, org: &str) -> String {
    let (s, _) = owner
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/compliance"),
            Some(json!({"window_start_minute": 0, "window_end_minute": 1440, "default_region": "FR"})),
        )
        .await;
    assert_eq!(s, 200);
    let voice = AgentSettings {
        name: "Max".into(),
        transfer_number: Some("+33199999999".into()),
        data_schema: serde_json::from_value(json!({"fields": [
            {"name": "vans", "type": "number"},
            {"name": "budget", "type": "number"},
            {"name": "timeline", "type": "enum", "options": ["spring", "summer"]},
        ]}))
        .unwrap(),
        ..AgentSettings::new_default(AgentKind::Voice, "en_us")
    };
    let (_, agent) =
        owner.rest(Method::POST, &format!("/orgs/{org}/agents"), Some(json!({"settings": voice}))).await;
    let trunk = json!({"name": "Main", "address": "93.184.216.34", "numbers": ["+33187654321"]});
    let (s, trunk) = owner.rest(Method::POST, &format!("/orgs/{org}/telephony/trunks"), Some(trunk)).await;
    assert_eq!(s, 201, "{trunk}");
    let (s, _) = owner
        .rest(Method::PUT, &format!("/orgs/{org}/telephony"), Some(json!({"default_trunk_id": trunk["id"]})))
        .await;
    assert_eq!(s, 200);
    agent["id"].as_str().unwrap().to_string()
}

impl Calling {
    /// A prospect of the organisation, created through the API: its id.
    pub(crate) async fn prospect(&self, body: Value) -> String {
        let (s, p) =
            self.owner.rest(Method::POST, &format!("/orgs/{}/prospects", self.org), Some(body)).await;
        assert_eq!(s, 201, "{p}");
        p["id"].as_str().unwrap().to_string()
    }

    /// A script of the organisation's in `language`, written through the
    /// API: its id. Its presentation is the sentence the analysis tests
    /// look for in a transcript.
    pub(crate) async fn script(&self, name: &str, language: &str) -> String {
        let content = json!({"phases": [
            {"phase": "opening", "text": "Hello {{prospect.first_name}}, this is {{agent.name}} from Handoo."},
            {"phase": "presentation", "text": "Our routing software cuts your fuel costs by a fifth.",
             "tips": ["Name {{prospect.company}}'s fleet"]},
            {"phase": "closing", "text": "Shall we book a demonstration next week?"},
        ], "handlers": [
            {"objection": "too_expensive", "response": "It pays for itself within three months."},
        ]});
        let (s, v) = self
            .owner
            .rest(
                Method::POST,
                &format!("/orgs/{}/scripts", self.org),
                Some(json!({"name": name, "language": language, "content": content})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    }

    pub(crate) async fn place(&self, body: Value, key: Option<&str>) -> (u16, Value) {
        let mut req =
            self.owner.http.post(format!("{}/api/v1/orgs/{}/calls", self.app.base, self.org)).json(&body);
        req = req.header("x-csrf-token", &self.owner.csrf);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn call(&self, id: &str) -> Value {
        let (s, v) = self.owner.rest(Method::GET, &format!("/orgs/{}/calls/{id}", self.org), None).await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// Waits until the call is in `status` (the dial runs on the job runner).
    pub(crate) async fn until(&self, id: &str, status: &str) -> Value {
        for _ in 0..200 {
            let v = self.call(id).await;
            if v["call"]["status"] == status {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("call {id} never reached {status}: {}", self.call(id).await);
    }

    /// Sends a LiveKit webhook signed with `key`; the HTTP status.
    pub(crate) async fn webhook(&self, event: &proto::WebhookEvent, key: &str) -> u16 {
        let (body, auth) = mock_vendors::livekit::sign_webhook(event, key);
        self.raw_webhook(body, &auth).await
    }

    pub(crate) async fn raw_webhook(&self, body: String, auth: &str) -> u16 {
        reqwest::Client::new()
            .post(format!("{}/webhooks/livekit", self.app.base))
            .header("authorization", auth)
            .header("content-type", "application/webhook+json")
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub(crate) fn requests(&self, method: &str) -> Vec<Value> {
        self.mock
            .state
            .requests_for("livekit")
            .into_iter()
            .filter(|r| r.path.ends_with(method))
            .map(|r| r.body)
            .collect()
    }
}

/// Tells the LiveKit mock at `addr` to do something (`webhook`, `hold`,
/// `answer`…); the HTTP status.
pub(crate) async fn livekit_control(addr: std::net::SocketAddr, path: &str, body: Value) -> u16 {
    let res = reqwest::Client::new()
        .post(format!("http://{addr}/__control/livekit/{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

fn lk_event(
    id: &str,
    event: &str,
    room: &str,
    participant: Option<proto::ParticipantInfo>,
) -> proto::WebhookEvent {
    proto::WebhookEvent {
        id: id.into(),
        event: event.into(),
        room: Some(proto::Room { name: room.into(), ..Default::default() }),
        participant,
        created_at: chrono::Utc::now().timestamp(),
        ..Default::default()
    }
}

fn participant(kind: proto::participant_info::Kind, identity: &str) -> Option<proto::ParticipantInfo> {
    Some(proto::ParticipantInfo { kind: kind as i32, identity: identity.into(), ..Default::default() })
}

on_both_backends!(
    a_call_is_placed_once_dialled_and_driven_by_signed_webhooks,
    |backend: Backend| async move {
        let Some(c) = calling(backend).await else { return };
        use proto::participant_info::Kind;
        let body =
            json!({"to_number": "06 12 34 56 78", "agent_id": c.agent, "variables": {"offer": "spring"}});
        let (s, call) = c.place(body.clone(), Some("order-42")).await;
        assert_eq!(s, 201, "{call}");
        let id = call["id"].as_str().unwrap().to_string();
        assert_eq!(
            (call["to_number"].as_str(), call["from_number"].as_str()),
            (Some("+33612345678"), Some("+33187654321"))
        );
        assert_eq!(call["variables"]["call"]["offer"], "spring");
        assert_eq!(call["variables"]["agent"]["name"], "Max");

        // A retry with the same key and body is the same call; another body is a conflict.
        let (s, again) = c.place(body.clone(), Some("order-42")).await;
        assert_eq!((s, &again["id"]), (200, &call["id"]), "{again}");
        let (s, v) =
            c.place(json!({"to_number": "+33612345679", "agent_id": c.agent}), Some("order-42")).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("conflict")), "{v}");

        // The dial: a room carrying the call id, the agent dispatched, the phone dialled.
        let answered = c.until(&id, "answered").await;
        let rooms = c.requests("CreateRoom");
        assert_eq!(rooms.len(), 1, "dialled once, whatever the retries");
        let room = answered["call"]["room_name"].as_str().unwrap().to_string();
        assert_eq!(rooms[0]["name"], room);
        assert!(rooms[0]["metadata"].as_str().unwrap().contains(&id));
        let dispatch = &c.requests("CreateDispatch")[0];
        assert_eq!(dispatch["agentName"], services::telephony::trunks::AGENT_NAME);
        assert!(dispatch["metadata"].as_str().unwrap().contains(&c.agent));
        let sip = &c.requests("CreateSIPParticipant")[0];
        assert_eq!(
            (sip["sipCallTo"].as_str(), sip["sipNumber"].as_str()),
            (Some("+33612345678"), Some("+33187654321"))
        );
        assert_eq!(
            (sip["roomName"].as_str(), &sip["waitUntilAnswered"]),
            (Some(room.as_str()), &json!(true))
        );
        let kinds: Vec<&str> =
            answered["timeline"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
        assert_eq!(kinds, ["dialing", "dial_answered"]);

        // LiveKit's webhooks: the agent joins, twice delivered; the callee hangs up; the room closes.
        let joined = lk_event("EV_agent", "participant_joined", &room, participant(Kind::Agent, "agent-1"));
        assert_eq!(c.webhook(&joined, LK_KEY).await, 200);
        assert_eq!(c.webhook(&joined, LK_KEY).await, 200, "a redelivery is fine");
        assert_eq!(c.call(&id).await["call"]["status"], "in_progress");
        // A forged or tampered webhook changes nothing.
        let mut left = lk_event("EV_left", "participant_left", &room, participant(Kind::Sip, "callee"));
        // Some seconds of talk (LiveKit's times are whole seconds).
        left.created_at += 3;
        let (good, auth) = mock_vendors::livekit::sign_webhook(&left, LK_KEY);
        assert_eq!(
            c.raw_webhook(good.replace("participant_left", "room_finished"), &auth).await,
            401,
            "tampered body"
        );
        let (_, other_key) = mock_vendors::livekit::sign_webhook(&left, "APIsomeoneelse");
        assert_eq!(c.raw_webhook(good.clone(), &other_key).await, 401, "a key we do not know");
        assert_eq!(c.raw_webhook(good.clone(), "").await, 401, "no signature");
        assert_eq!(c.call(&id).await["call"]["status"], "in_progress");
        assert_eq!(c.raw_webhook(good, &auth).await, 200);
        let finished = lk_event("EV_finished", "room_finished", &room, None);
        assert_eq!(c.webhook(&finished, LK_KEY).await, 200);
        let done = c.call(&id).await;
        assert_eq!(done["call"]["status"], "completed", "{done}");
        assert!(done["call"]["talk_ms"].as_i64().is_some_and(|ms| ms > 1000), "{done}");
        let timeline = done["timeline"].as_array().unwrap();
        let agent_entries = timeline.iter().filter(|e| e["kind"] == "agent_joined").count();
        assert_eq!(agent_entries, 1, "one entry per webhook id: {timeline:?}");
        let last = timeline.last().unwrap();
        assert_eq!(
            (last["kind"].as_str(), last["ignored"].as_str()),
            (Some("room_finished"), Some("already_ended"))
        );

        // Its minutes are billed with its end, once (the room's close came after).
        let talk_ms = done["call"]["talk_ms"].as_i64().unwrap();
        let (s, usage) = c.owner.rest(Method::GET, &format!("/orgs/{}/usage", c.org), None).await;
        assert_eq!(s, 200, "{usage}");
        assert_eq!(usage["total"]["call_seconds"].as_i64(), Some((talk_ms + 999) / 1000), "{usage}");
        let by_agent = usage["by_agent"].as_array().unwrap();
        assert_eq!(by_agent.len(), 1, "{usage}");
        assert_eq!((&by_agent[0]["id"], &by_agent[0]["events"]), (&json!(c.agent), &json!(1)), "{usage}");
        // The agent's report adds its tokens and speech (a second report
        // changes nothing); the call still counts as one.
        let report = domain::agent_report::AgentReport {
            duration_ms: talk_ms as u64,
            end: domain::agent_report::EndReason::Caller,
            turns: 4,
            interruptions: 0,
            usage: domain::agent_report::CallUsage {
                stt_seconds: 2.2,
                llm_input_tokens: 1_200,
                llm_output_tokens: 300,
                tts_characters: 420,
            },
            latencies: vec![],
            barge_ins_ms: vec![],
            outcome: None,
        };
        let s = &c.app.state;
        let org_id: Uuid = c.org.parse().unwrap();
        let ctx = services::OrgCtx::system(org_id, "voice");
        let call_id: Uuid = id.parse().unwrap();
        for _ in 0..2 {
            services::calls::voice::finish(
                &s.db,
                &s.server_ctx.telephony,
                &s.server_ctx.bus,
                &ctx,
                call_id,
                &report,
            )
            .await
            .unwrap();
        }
        let (_, usage) = c.owner.rest(Method::GET, &format!("/orgs/{}/usage", c.org), None).await;
        let t = &usage["total"];
        assert_eq!(
            (t["call_seconds"].as_i64(), t["llm_input_tokens"].as_i64(), t["llm_output_tokens"].as_i64()),
            (Some((talk_ms + 999) / 1000), Some(1_200), Some(300)),
            "{usage}"
        );
        assert_eq!(
            (t["stt_seconds"].as_i64(), t["tts_characters"].as_i64()),
            (Some(3), Some(420)),
            "{usage}"
        );
        assert_eq!(usage["by_agent"][0]["events"], 1, "{usage}");

        // Another organisation sees nothing of it.
        let other = c.app.client().await;
        other.sign_up("Otto", "otto@example.com", GOOD_PASSWORD).await.expect("sign up");
        let rival = other.create_org("Rival").await;
        let (s, _) = other.rest(Method::GET, &format!("/orgs/{rival}/calls/{id}"), None).await;
        assert_eq!(s, 404);
        let (_, list) = other.rest(Method::GET, &format!("/orgs/{rival}/calls"), None).await;
        assert_eq!((&list["rows"], &list["total"]), (&json!([]), &json!(0)), "{list}");
    }
);

on_both_backends!(unanswered_calls_end_as_a_person_would_expect, |backend: Backend| async move {
    let Some(c) = calling(backend).await else { return };
    for (number, status, sip) in [
        ("+33612345486", "busy", Some(486)),
        ("+33612345480", "no_answer", Some(480)),
        ("+33612345404", "failed", Some(404)),
        ("+33612345603", "busy", Some(603)),
    ] {
        let (s, call) = c.place(json!({"to_number": number, "agent_id": c.agent}), None).await;
        assert_eq!(s, 201, "{call}");
        let v = c.until(call["id"].as_str().unwrap(), status).await;
        assert_eq!(v["call"]["sip_status"].as_i64(), sip.map(i64::from), "{number}: {v}");
        assert!(v["call"]["ended_at"].is_string());
    }
    // The rooms of unanswered calls are closed again.
    assert!(c.mock.state.livekit.lock().unwrap().rooms.is_empty());
});

on_both_backends!(calls_are_refused_before_anything_is_dialled, |backend: Backend| async move {
    let Some(c) = calling(backend).await else { return };
    let org = &c.org;
    let owner = &c.owner;
    // A number on the do-not-call list; a prospect who opted out.
    owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/dnc"),
            Some(json!({"phone": "+33611111111", "reason": "asked"})),
        )
        .await;
    let (s, v) = c.place(json!({"to_number": "+33611111111", "agent_id": c.agent}), None).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("call_not_allowed")), "{v}");
    let (_, p) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/prospects"),
            Some(json!({"first_name": "Paul", "last_name": "Dupont", "phone": "+33622222222"})),
        )
        .await;
    let pid = p["id"].as_str().unwrap();
    // The prospect asked not to be called again (as the copilot records it).
    let mut opted: entity::prospects::ActiveModel =
        entity::prospects::Entity::find_by_id(pid.parse::<Uuid>().unwrap())
            .one(&c.app.state.db)
            .await
            .unwrap()
            .unwrap()
            .into();
    opted.opted_out = Set(true);
    opted.update(&c.app.state.db).await.unwrap();
    let (s, v) = c.place(json!({"prospect_id": pid, "agent_id": c.agent}), None).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("call_not_allowed")), "{v}");
    let (s, v) = c.place(json!({"to_number": "+33 6 22 22 22 22", "agent_id": c.agent}), None).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("call_not_allowed")), "the bare number too: {v}");
    // A chat agent cannot call; nor both targets at once; nor a malformed key.
    let chat =
        AgentSettings { name: "Chatty".into(), ..AgentSettings::new_default(AgentKind::Chat, "en_us") };
    let (_, chat) =
        owner.rest(Method::POST, &format!("/orgs/{org}/agents"), Some(json!({"settings": chat}))).await;
    let (s, v) = c.place(json!({"to_number": "+33633333333", "agent_id": chat["id"]}), None).await;
    assert_eq!((s, v["field"].as_str()), (422, Some("agent_id")), "{v}");
    let (s, v) =
        c.place(json!({"to_number": "+33633333333", "prospect_id": pid, "agent_id": c.agent}), None).await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = c.place(json!({"to_number": "+33633333333", "agent_id": c.agent}), Some("bad key")).await;
    assert_eq!((s, v["field"].as_str()), (422, Some("idempotency_key")), "{v}");
    let (s, v) = c.place(json!({"to_number": "not a number", "agent_id": c.agent}), None).await;
    assert_eq!((s, v["code"].as_str()), (422, Some("invalid_phone")), "{v}");
    assert!(c.requests("CreateSIPParticipant").is_empty(), "nothing was dialled");
    let (_, list) = owner.rest(Method::GET, &format!("/orgs/{org}/calls"), None).await;
    assert_eq!(list["rows"], json!([]), "and no call was written: {list}");
});

on_both_backends!(livekit_down_fails_the_call_with_a_reason, |backend: Backend| async move {
    let Some(c) = calling(backend).await else { return };
    // The organisation brings its own project, which is down.
    let (s, v) = c
        .owner
        .rest(
            Method::PUT,
            &format!("/orgs/{}/telephony", c.org),
            Some(json!({"livekit_url": c.mock.base_url("livekit"), "livekit_api_key": "lk-down", "livekit_api_secret": API_SECRET})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, call) = c.place(json!({"to_number": "+33612345678", "agent_id": c.agent}), None).await;
    assert_eq!(s, 201, "{call}");
    let v = c.until(call["id"].as_str().unwrap(), "failed").await;
    assert_eq!(v["call"]["failure_reason"], "provider_unavailable", "{v}");
    // The server's key no longer speaks for this organisation's calls.
    let room = v["call"]["room_name"].as_str().unwrap();
    let joined = lk_event(
        "EV_x",
        "participant_joined",
        room,
        participant(proto::participant_info::Kind::Sip, "callee"),
    );
    assert_eq!(c.webhook(&joined, LK_KEY).await, 200);
    let after = c.call(call["id"].as_str().unwrap()).await;
    assert_eq!(
        after["timeline"].as_array().unwrap().len(),
        v["timeline"].as_array().unwrap().len(),
        "{after}"
    );
});

on_both_backends!(
    a_call_is_hung_up_or_transferred_only_where_its_agent_says,
    |backend: Backend| async move {
        let Some(c) = calling(backend).await else { return };
        let place = |n: &'static str| {
            let c = &c;
            async move {
                let (s, call) = c.place(json!({"to_number": n, "agent_id": c.agent}), None).await;
                assert_eq!(s, 201, "{call}");
                let id = call["id"].as_str().unwrap().to_string();
                c.until(&id, "answered").await;
                id
            }
        };
        let org = &c.org;
        // Hang up: the room goes (every leg with it); twice is harmless.
        let id = place("+33612340001").await;
        let (s, v) = c.owner.rest(Method::POST, &format!("/orgs/{org}/calls/{id}/hang-up"), None).await;
        assert_eq!((s, v["call"]["status"].as_str()), (200, Some("completed")), "{v}");
        assert_eq!(c.requests("DeleteRoom").len(), 1);
        let (s, v) = c.owner.rest(Method::POST, &format!("/orgs/{org}/calls/{id}/hang-up"), None).await;
        assert_eq!((s, v["call"]["status"].as_str()), (200, Some("completed")));
        assert_eq!(c.requests("DeleteRoom").len(), 1, "an ended call is not hung up again");
        // Transfer: to the agent's number, nowhere else; not on an ended call.
        let (s, v) = c.owner.rest(Method::POST, &format!("/orgs/{org}/calls/{id}/transfer"), None).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("invalid_transition")), "{v}");
        let id = place("+33612340002").await;
        let (s, v) = c.owner.rest(Method::POST, &format!("/orgs/{org}/calls/{id}/transfer"), None).await;
        assert_eq!(s, 200, "{v}");
        let sent = &c.requests("TransferSIPParticipant")[0];
        assert_eq!(
            (sent["transferTo"].as_str(), sent["participantIdentity"].as_str()),
            (Some("tel:+33199999999"), Some("callee"))
        );
        let kinds: Vec<&str> =
            v["timeline"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
        assert_eq!(kinds.last(), Some(&"transferred"), "{kinds:?}");
        // Nobody else hangs up or transfers this organisation's calls.
        let other = c.app.client().await;
        other.sign_up("Otto", "otto@example.com", GOOD_PASSWORD).await.expect("sign up");
        let rival = other.create_org("Rival").await;
        let id = place("+33612340003").await;
        for action in ["hang-up", "transfer"] {
            let (s, _) = other.rest(Method::POST, &format!("/orgs/{rival}/calls/{id}/{action}"), None).await;
            assert_eq!(s, 404, "{action}");
        }
        assert_eq!(c.call(&id).await["call"]["status"], "answered");
        // The far end refuses the REFER: said so (409), and the call goes on.
        let refusing = AgentSettings {
            name: "Rex".into(),
            transfer_number: Some("+33199999603".into()),
            ..AgentSettings::new_default(AgentKind::Voice, "en_us")
        };
        let (_, agent) = c
            .owner
            .rest(Method::POST, &format!("/orgs/{org}/agents"), Some(json!({"settings": refusing})))
            .await;
        let (s, call) = c.place(json!({"to_number": "+33612340004", "agent_id": agent["id"]}), None).await;
        assert_eq!(s, 201, "{call}");
        let id = call["id"].as_str().unwrap().to_string();
        c.until(&id, "answered").await;
        let (s, v) = c.owner.rest(Method::POST, &format!("/orgs/{org}/calls/{id}/transfer"), None).await;
        assert_eq!(
            (s, v["code"].as_str(), v["detail"].as_str()),
            (409, Some("transfer_refused"), Some("SIP 603")),
            "{v}"
        );
        assert_eq!(c.call(&id).await["call"]["status"], "answered");
    }
);

/// Answers and ends call `id` through LiveKit's webhooks (the agent joins,
/// the callee hangs up after `talk`).
async fn talk_and_hang_up(c: &Calling, id: &str, talk: Duration) {
    use proto::participant_info::Kind;
    let answered = c.until(id, "answered").await;
    let room = answered["call"]["room_name"].as_str().unwrap().to_string();
    let joined =
        lk_event(&format!("EV_a_{id}"), "participant_joined", &room, participant(Kind::Agent, "agent"));
    assert_eq!(c.webhook(&joined, LK_KEY).await, 200);
    tokio::time::sleep(talk).await;
    let left = lk_event(&format!("EV_l_{id}"), "participant_left", &room, participant(Kind::Sip, "callee"));
    assert_eq!(c.webhook(&left, LK_KEY).await, 200);
    c.until(id, "completed").await;
}

on_both_backends!(the_calls_list_filters_sorts_pages_and_exports, |backend: Backend| async move {
    let Some(c) = calling(backend).await else { return };
    let org = &c.org;
    let mut ids = Vec::new();
    for (n, end) in [("+33612345001", "answered"), ("+33612345486", "busy"), ("+33612345480", "no_answer")] {
        let (s, call) = c.place(json!({"to_number": n, "agent_id": c.agent}), None).await;
        assert_eq!(s, 201, "{call}");
        let id = call["id"].as_str().unwrap().to_string();
        c.until(&id, end).await;
        ids.push(id);
    }
    talk_and_hang_up(&c, &ids[0], Duration::from_millis(120)).await;
    let list = |q: &'static str| {
        let c = &c;
        async move {
            let (s, v) = c.owner.rest(Method::GET, &format!("/orgs/{}/calls?{q}", c.org), None).await;
            assert_eq!(s, 200, "{q}: {v}");
            let rows: Vec<String> =
                v["rows"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
            (rows, v["total"].as_u64().unwrap())
        }
    };
    // Newest first by default; names filled in.
    let (rows, total) = list("").await;
    assert_eq!((rows.clone(), total), (ids.iter().rev().cloned().collect::<Vec<_>>(), 3));
    let (_, v) = c.owner.rest(Method::GET, &format!("/orgs/{org}/calls"), None).await;
    assert_eq!(v["rows"][0]["agent_name"], "Max", "{v}");
    // Filters.
    assert_eq!(list("status=busy").await, (vec![ids[1].clone()], 1));
    assert_eq!(list("status=busy,no_answer").await.1, 2);
    assert_eq!(list(Box::leak(format!("agent_id={}", c.agent).into_boxed_str())).await.1, 3);
    assert_eq!(list("agent_id=0190e4a0-0000-7000-8000-000000000000").await.1, 0);
    assert_eq!(list("direction=inbound").await.1, 0);
    assert_eq!(list("direction=outbound").await.1, 3);
    let today = chrono::Utc::now().date_naive();
    let tomorrow = Box::leak(format!("from={}", today.succ_opt().unwrap()).into_boxed_str());
    assert_eq!(list(tomorrow).await.1, 0);
    let yesterday = Box::leak(format!("until={}", today.pred_opt().unwrap()).into_boxed_str());
    assert_eq!(list(yesterday).await.1, 0);
    let around = Box::leak(format!("from={today}&until={today}").into_boxed_str());
    assert_eq!(list(around).await.1, 3);
    // Sort by talk time: the answered call is the longest, unanswered ones the shortest.
    assert_eq!(list("sort=duration&order=desc").await.0[0], ids[0]);
    assert_eq!(list("sort=duration&order=asc").await.0[2], ids[0]);
    assert_eq!(
        list("sort=to_number&order=asc").await.0,
        vec![ids[0].clone(), ids[2].clone(), ids[1].clone()]
    );
    // Pages.
    let (first, total) = list("per_page=2").await;
    assert_eq!((first.len(), total), (2, 3));
    let (second, _) = list("per_page=2&page=2").await;
    assert_eq!(second, vec![ids[0].clone()]);
    // Bad input names its field.
    for (q, field) in [
        ("status=dancing", "status"),
        ("sort=org_id", "sort"),
        ("order=sideways", "order"),
        ("per_page=1000", "per_page"),
        ("from=yesterday", "from"),
        ("agent_id=42", "agent_id"),
    ] {
        let (s, v) = c.owner.rest(Method::GET, &format!("/orgs/{org}/calls?{q}"), None).await;
        assert_eq!((s, v["field"].as_str()), (422, Some(field)), "{q}: {v}");
    }
    // The export: every matching call, oldest first, as CSV.
    let csv = |q: &'static str| {
        let c = &c;
        async move {
            let res = c
                .owner
                .http
                .get(format!("{}/api/v1/orgs/{}/calls/export.csv?{q}", c.app.base, c.org))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
            res.text().await.unwrap()
        }
    };
    let all = csv("").await;
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 4, "{all}");
    assert!(lines[0].starts_with("id,created_at,direction,status,outcome,to_number"), "{all}");
    assert!(lines[1].starts_with(&ids[0]) && lines[1].contains(",completed,"), "{all}");
    let busy = csv("status=busy").await;
    assert_eq!(busy.lines().count(), 2, "{busy}");
    assert!(busy.contains(",486,"), "{busy}");
    let (s, v) = c.owner.rest(Method::GET, &format!("/orgs/{org}/calls/export.csv?status=x"), None).await;
    assert_eq!((s, v["field"].as_str()), (422, Some("status")));
});

on_both_backends!(an_outcome_is_logged_once_on_the_call_and_its_prospect, |backend: Backend| async move {
    let Some(c) = calling(backend).await else { return };
    let org = &c.org;
    let pid = c.prospect(json!({"first_name": "Paul", "last_name": "Martin", "phone": "+33612345002"})).await;
    let (s, call) = c.place(json!({"prospect_id": pid, "agent_id": c.agent}), None).await;
    assert_eq!(s, 201, "{call}");
    let id = call["id"].as_str().unwrap().to_string();
    let path = format!("/orgs/{org}/calls/{id}/outcome");
    let later = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let report =
        json!({"outcome": "callback_scheduled", "callback_at": later, "notes": "Call back Thursday"});
    c.until(&id, "answered").await;
    talk_and_hang_up(&c, &id, Duration::from_millis(10)).await;
    // Validated first: a callback needs its date.
    let (s, v) = c.owner.rest(Method::POST, &path, Some(json!({"outcome": "callback_scheduled"}))).await;
    assert_eq!((s, v["field"].as_str()), (422, Some("callback_at")), "{v}");
    let (s, v) = c.owner.rest(Method::POST, &path, Some(report.clone())).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["call"]["outcome"].as_str(), v["call"]["notes"].as_str()),
        (Some("callback_scheduled"), Some("Call back Thursday"))
    );
    // Once.
    let (s, v) = c.owner.rest(Method::POST, &path, Some(json!({"outcome": "meeting_booked"}))).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("conflict")), "{v}");
    // The prospect follows, as after a rep's call: status, timeline, note.
    let (_, p) = c.owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{pid}"), None).await;
    assert_eq!(p["status"], "callback_scheduled", "{p}");
    let (_, activity) =
        c.owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{pid}/activity"), None).await;
    let logged = activity.as_array().unwrap().iter().find(|a| a["kind"] == "call_logged").expect("logged");
    assert_eq!(logged["data"]["call_id"], id.as_str(), "{logged}");
    let (_, notes) = c.owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{pid}/notes"), None).await;
    assert!(notes.to_string().contains("Call back Thursday"), "{notes}");
    // The callback puts the prospect in the reps' queue with its date.
    let (_, queue) = c.owner.rest(Method::GET, &format!("/orgs/{org}/copilot/queue"), None).await;
    let entry = queue.as_array().unwrap().iter().find(|e| e["prospect_id"] == pid.as_str()).expect("queued");
    assert_eq!(entry["reason"], "callback", "{entry}");
    assert!(entry["callback_at"].is_string(), "{entry}");
    // The prospect's calls: this one, as an AI phone call.
    let (s, calls) = c.owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{pid}/calls"), None).await;
    assert_eq!(s, 200, "{calls}");
    assert_eq!((calls[0]["kind"].as_str(), calls[0]["id"].as_str()), (Some("phone"), Some(id.as_str())));
    assert_eq!(calls[0]["by"], "Max");
    // A call still ringing has no outcome yet (the callee answers only when told).
    let hold = |on: bool| {
        let addr = c.mock.addr;
        async move {
            reqwest::Client::new()
                .post(format!("http://{addr}/__control/livekit/hold"))
                .json(&json!({ "hold": on }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(hold(true).await, 204);
    let (_, ringing) = c.place(json!({"to_number": "+33612345003", "agent_id": c.agent}), None).await;
    let rid = ringing["id"].as_str().unwrap();
    c.until(rid, "ringing").await;
    let (s, v) = c
        .owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/calls/{rid}/outcome"),
            Some(json!({"outcome": "interested"})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("invalid_transition")), "{v}");
    assert_eq!(hold(false).await, 204);
    c.until(rid, "answered").await;
    // Nobody else reads or logs on this organisation's calls and prospects.
    let other = c.app.client().await;
    other.sign_up("Otto", "otto@example.com", GOOD_PASSWORD).await.expect("sign up");
    let rival = other.create_org("Rival").await;
    for (m, path) in [
        (Method::POST, format!("/orgs/{rival}/calls/{id}/outcome")),
        (Method::GET, format!("/orgs/{rival}/calls/{id}/events")),
        (Method::GET, format!("/orgs/{rival}/prospects/{pid}/calls")),
        (Method::GET, format!("/orgs/{org}/calls")),
        (Method::GET, format!("/orgs/{org}/calls/export.csv")),
    ] {
        let (s, _) = other.rest(m.clone(), &path, Some(json!({"outcome": "interested"}))).await;
        assert_eq!(s, 404, "{m} {path}");
    }
    let (_, mine) = other.rest(Method::GET, &format!("/orgs/{rival}/calls?status=completed"), None).await;
    assert_eq!(mine["total"], 0);
});

on_both_backends!(an_open_call_page_hears_each_change_as_it_happens, |backend: Backend| async move {
    let Some(c) = calling(backend).await else { return };
    // LiveKit (the mock) tells of each step itself, and the callee
    // answers only when told.
    let control = |path: &'static str, body: Value| livekit_control(c.mock.addr, path, body);
    let hook = format!("{}/webhooks/livekit", c.app.base);
    assert_eq!(control("webhook", json!({"url": hook, "lifecycle": true})).await, 204);
    assert_eq!(control("hold", json!({"hold": true})).await, 204);
    let (s, call) = c.place(json!({"to_number": "+33612345004", "agent_id": c.agent}), None).await;
    assert_eq!(s, 201, "{call}");
    let id = call["id"].as_str().unwrap().to_string();
    let res = c
        .owner
        .http
        .get(format!("{}/api/v1/orgs/{}/calls/{id}/events", c.app.base, c.org))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut events = common::Events::new(res);
    let mut seen: Vec<String> = Vec::new();
    let room = c.until(&id, "ringing").await["call"]["room_name"].as_str().unwrap().to_string();
    assert_eq!(control("answer", json!({"room": room})).await, 204);
    c.until(&id, "in_progress").await;
    let (s, _) = c.owner.rest(Method::POST, &format!("/orgs/{}/calls/{id}/hang-up", c.org), None).await;
    assert_eq!(s, 200);
    while !seen.iter().any(|s| s == "completed") {
        let v = events.next().await;
        assert_eq!(v["call"]["id"], id.as_str(), "only this call's changes");
        seen.push(v["call"]["status"].as_str().unwrap().to_string());
    }
    // (The stream opened while the dial was under way: ringing may
    // already have passed.)
    let from_answer: Vec<&str> = seen.iter().map(String::as_str).skip_while(|s| *s == "ringing").collect();
    assert_eq!(from_answer.last(), Some(&"completed"), "{seen:?}");
    assert!(from_answer.contains(&"in_progress"), "{seen:?}");
    // LiveKit's own account of the end follows the hang-up (and changes nothing).
    let mut kinds = Vec::new();
    for _ in 0..200 {
        let done = c.call(&id).await;
        kinds = done["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["kind"].as_str().map(str::to_string))
            .collect();
        if kinds.iter().any(|k| k == "room_finished") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        kinds.iter().any(|k| k == "agent_joined") && kinds.iter().any(|k| k == "room_finished"),
        "{kinds:?}"
    );
    assert_eq!(c.call(&id).await["call"]["status"], "completed");
});

// LiveKit's official Python SDK (PyPI `livekit-api`, in the conformance
// venv) against our server: a webhook it signs is accepted and drives the
// call; a tampered one is not; the tokens we mint — the one our Twirp
// client sent to LiveKit to dial, and a listener's join token — pass its
// `TokenVerifier` with the grants they should carry.
on_both_backends!(
    livekits_python_sdk_signs_what_we_accept_and_accepts_what_we_sign,
    |backend: Backend| async move {
        let Some(python) = common::venv_python("livekit-api") else { return };
        let Some(c) = calling(backend).await else { return };
        let (s, call) = c.place(json!({"to_number": "+33612345005", "agent_id": c.agent}), None).await;
        assert_eq!(s, 201, "{call}");
        let id = call["id"].as_str().unwrap().to_string();
        let room = c.until(&id, "answered").await["call"]["room_name"].as_str().unwrap().to_string();
        // The token our client dialled with, as LiveKit received it.
        let dial_token = c
            .mock
            .state
            .requests_for("livekit")
            .into_iter()
            .find(|r| r.path.ends_with("CreateSIPParticipant"))
            .and_then(|r| r.headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string))
            .and_then(|v| v.strip_prefix("Bearer ").map(str::to_string))
            .expect("the dial's token");
        let project =
            services::telephony::livekit::Project::parse(&c.mock.base_url("livekit"), LK_KEY, API_SECRET)
                .expect("project");
        let listen = project.join_token("manager-1", &room, false, Duration::from_secs(600)).expect("token");
        let script = r#"
import base64, hashlib, sys, time, urllib.error, urllib.request
from google.protobuf.json_format import MessageToJson
from livekit import api
url, key, secret, room, dial, listen = sys.argv[1:7]
v = api.TokenVerifier(key, secret)
c = v.verify(dial)
assert c.sip.call, c
c = v.verify(listen)
g = c.video
assert c.identity == "manager-1" and g.room_join and g.room == room and g.can_subscribe and not g.can_publish, c
try:
    api.TokenVerifier(key, "another-secret-0123456789abcdefghij").verify(listen)
    raise SystemExit("a token verified with the wrong secret")
except Exception:
    pass
ev = api.WebhookEvent(event="participant_joined", id="EV_py_agent", created_at=int(time.time()),
                      room=api.Room(name=room),
                      participant=api.ParticipantInfo(identity="agent-py", kind=api.ParticipantInfo.Kind.AGENT))
body = MessageToJson(ev)
def post(body, token):
    req = urllib.request.Request(url, data=body.encode(), method="POST",
                                 headers={"Authorization": token, "Content-Type": "application/webhook+json"})
    try:
        return urllib.request.urlopen(req).status
    except urllib.error.HTTPError as e:
        return e.code
token = api.AccessToken(key, secret).with_sha256(base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()).to_jwt()
assert post(body.replace("agent-py", "agent-px"), token) == 401, "tampered body"
assert post(body, token) == 200
print("ok")
"#;
        // Off the runtime: the script calls this very server.
        let args = [
            format!("{}/webhooks/livekit", c.app.base),
            LK_KEY.into(),
            API_SECRET.into(),
            room.clone(),
            dial_token,
            listen,
        ];
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(python).arg("-c").arg(script).args(args).output()
        })
        .await
        .unwrap()
        .expect("python");
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The SDK's webhook drove the call: the agent is on it.
        let v = c.call(&id).await;
        assert_eq!(v["call"]["status"], "in_progress", "{v}");
        let entry = v["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "agent_joined").cloned();
        assert_eq!(
            entry.and_then(|e| e["data"]["id"].as_str().map(str::to_string)).as_deref(),
            Some("EV_py_agent")
        );
    }
);

/// Opt-in: with `LIVEKIT_URL`, `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET`
/// set to a real LiveKit project, the server talks to it — the connection
/// test lists its rooms, and a room is created and deleted with our client.
/// Skipped otherwise (and says so); it never dials anyone.
#[tokio::test]
async fn a_real_livekit_project_answers_when_one_is_configured() {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(url), Some(key), Some(secret)) =
        (var("LIVEKIT_URL"), var("LIVEKIT_API_KEY"), var("LIVEKIT_API_SECRET"))
    else {
        eprintln!("SKIPPED: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET to smoke-test a real LiveKit project");
        return;
    };
    let env = [
        ("LIVEKIT_URL", url.as_str()),
        ("LIVEKIT_API_KEY", key.as_str()),
        ("LIVEKIT_API_SECRET", secret.as_str()),
    ];
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, &env).await else { return };
    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org = owner.create_org("Acme").await;
    let (s, v) = owner.rest(Method::POST, &format!("/orgs/{org}/telephony/test"), None).await;
    assert_eq!((s, v["ok"].as_bool()), (200, Some(true)), "the project did not answer: {v}");
    eprintln!("LiveKit answered in {} ms", v["latency_ms"]);
    let project = services::telephony::livekit::Project::parse(&url, &key, &secret).expect("project");
    let lk = services::telephony::livekit::LiveKit::operator(project, reqwest::Client::new());
    let name = format!("handoo-smoke-{}", Uuid::now_v7());
    let req = proto::CreateRoomRequest { name: name.clone(), empty_timeout: 60, ..Default::default() };
    let room = lk.create_room(req).await.expect("create a room");
    assert_eq!(room.name, name);
    lk.delete_room(&name).await.expect("delete it");
}

// What the voice worker writes as a call goes: turns (numbered, each stored
// once however often it is sent) and collected values (checked against the
// agent's data schema, merged); both shown with the call, to its
// organisation only.
on_both_backends!(
    what_was_said_and_collected_is_kept_once_and_shown_with_the_call,
    |backend: Backend| async move {
        let Some(c) = calling(backend).await else { return };
        let (s, call) = c.place(json!({"to_number": "+33612345010", "agent_id": c.agent}), None).await;
        assert_eq!(s, 201, "{call}");
        let id = call["id"].as_str().unwrap().to_string();
        let org = c.org.clone();
        let turns = format!("/orgs/{org}/calls/{id}/turns");
        let turn = |seq: u32, speaker: &str, text: &str, start: u64, end: u64| json!({"seq": seq, "speaker": speaker, "text": text, "start_ms": start, "end_ms": end});
        let first = json!({"turns": [
            turn(0, "agent", "Hello, this is Max from Dupont Motors.", 0, 1800),
            turn(1, "prospect", "Hi. We need three vans for the spring.", 2100, 4200),
        ]});
        let (s, v) = c.owner.rest(Method::POST, &turns, Some(first)).await;
        assert_eq!((s, v["added"].as_u64()), (200, Some(2)), "{v}");
        // A retry carrying a turn already stored, and a new one (cut off).
        let mut cut = turn(2, "agent", "Three vans, noted. And your bud", 4500, 6000);
        cut["interrupted"] = json!(true);
        let retry = json!({"turns": [turn(1, "prospect", "Hi. We need three vans for the spring.", 2100, 4200), cut]});
        let (s, v) = c.owner.rest(Method::POST, &turns, Some(retry)).await;
        assert_eq!((s, v["added"].as_u64()), (200, Some(1)), "{v}");
        for (body, field) in [
            (json!({"turns": []}), "turns"),
            (json!({"turns": [turn(3, "agent", "   ", 0, 10)]}), "turns[0].text"),
            (
                json!({"turns": [turn(3, "agent", "ok", 0, 10), turn(4, "agent", "x", 500, 100)]}),
                "turns[1].end_ms",
            ),
            (json!({"turns": [turn(100_000, "agent", "x", 0, 10)]}), "turns[0].seq"),
            (json!({"turns": [turn(3, "agent", &"a".repeat(10_001), 0, 10)]}), "turns[0].text"),
        ] {
            let (s, v) = c.owner.rest(Method::POST, &turns, Some(body)).await;
            assert_eq!((s, v["field"].as_str()), (422, Some(field)), "{v}");
        }
        let (s, _) =
            c.owner.rest(Method::POST, &turns, Some(json!({"turns": [turn(3, "robot", "x", 0, 1)]}))).await;
        assert!(s == 400 || s == 422, "an unknown speaker is refused: {s}");

        let data = format!("/orgs/{org}/calls/{id}/data");
        let (s, v) =
            c.owner.rest(Method::PATCH, &data, Some(json!({"data": {"vans": 3, "budget": "12000"}}))).await;
        assert_eq!((s, v["data"].clone()), (200, json!({"vans": 3, "budget": 12000})), "{v}");
        // Merged: a null removes a value, another is added.
        let (s, v) = c
            .owner
            .rest(Method::PATCH, &data, Some(json!({"data": {"budget": null, "timeline": "Spring"}})))
            .await;
        assert_eq!((s, v["data"].clone()), (200, json!({"vans": 3, "timeline": "spring"})), "{v}");
        for (body, field) in [
            (json!({"data": {}}), "data"),
            (json!({"data": {"colour": "red"}}), "data.colour"),
            (json!({"data": {"vans": "lots"}}), "data.vans"),
            (json!({"data": {"timeline": "winter"}}), "data.timeline"),
        ] {
            let (s, v) = c.owner.rest(Method::PATCH, &data, Some(body)).await;
            assert_eq!((s, v["field"].as_str()), (422, Some(field)), "{v}");
        }

        // With the call: the turns in order, the values.
        let d = c.call(&id).await;
        let said: Vec<(&str, &str, bool)> = d["turns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["speaker"].as_str().unwrap(),
                    t["text"].as_str().unwrap(),
                    t["interrupted"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            said,
            vec![
                ("agent", "Hello, this is Max from Dupont Motors.", false),
                ("prospect", "Hi. We need three vans for the spring.", false),
                ("agent", "Three vans, noted. And your bud", true),
            ]
        );
        assert_eq!(d["collected_data"], json!({"vans": 3, "timeline": "spring"}));

        // Another organisation neither writes nor reads them.
        let other = c.app.client().await;
        other.sign_up("Otto", "otto@example.com", GOOD_PASSWORD).await.expect("sign up");
        let rival = other.create_org("Rival").await;
        for (m, path, body) in [
            (
                Method::POST,
                format!("/orgs/{rival}/calls/{id}/turns"),
                json!({"turns": [turn(9, "agent", "x", 0, 1)]}),
            ),
            (Method::PATCH, format!("/orgs/{rival}/calls/{id}/data"), json!({"data": {"vans": 9}})),
            (Method::GET, format!("/orgs/{rival}/calls/{id}"), json!({})),
            (
                Method::POST,
                format!("/orgs/{org}/calls/{id}/turns"),
                json!({"turns": [turn(9, "agent", "x", 0, 1)]}),
            ),
        ] {
            let (s, _) = other.rest(m, &path, Some(body)).await;
            assert!(s == 403 || s == 404, "{path}: {s}");
        }
        let d = c.call(&id).await;
        assert_eq!(d["turns"].as_array().unwrap().len(), 3);
        assert_eq!(d["collected_data"]["vans"], json!(3));
    }
);

on_both_backends!(an_opt_out_an_agent_hears_is_recorded_once_with_its_words, |backend: Backend| async move {
    let Some(c) = calling(backend).await else { return };
    let org = &c.org;
    let pid = c.prospect(json!({"first_name": "Inès", "last_name": "Roux", "phone": "+33612345077"})).await;
    let (s, call) = c.place(json!({"prospect_id": pid, "agent_id": c.agent}), None).await;
    assert_eq!(s, 201, "{call}");
    let id: Uuid = call["id"].as_str().unwrap().parse().unwrap();
    let org_id: Uuid = org.parse().unwrap();
    let db = &c.app.state.db;
    // What the voice agent's effects call, as the call's system principal.
    let ctx = services::OrgCtx::system(org_id, "voice-agent");
    let said = "Rayez mon numéro, je ne veux plus de vos appels";
    let heard = services::copilot::opt_out::heard_on_call;
    assert_eq!(heard(db, &ctx, id, said).await.map_err(|e| e.to_string()), Ok(true));
    // Said twice (or a retried write): nothing more.
    assert_eq!(heard(db, &ctx, id, said).await.map_err(|e| e.to_string()), Ok(false));

    let (_, now) = c.owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{pid}"), None).await;
    assert_eq!(now["opted_out"], true, "{now}");
    let (_, list) = c.owner.rest(Method::GET, &format!("/orgs/{org}/dnc?search=%2B33612345077"), None).await;
    assert!(list.to_string().contains("+33612345077"), "listed: {list}");
    let (_, acts) = c.owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{pid}/activity"), None).await;
    let entries: Vec<&Value> =
        acts.as_array().unwrap().iter().filter(|a| a["kind"] == "opted_out_on_call").collect();
    assert_eq!(entries.len(), 1, "{acts}");
    let evidence = entries[0].to_string();
    assert!(evidence.contains(said) && evidence.contains(&id.to_string()), "{evidence}");
    let (_, audit) = c.owner.rest(Method::GET, &format!("/orgs/{org}/audit"), None).await;
    let audited: Vec<&Value> =
        audit.as_array().unwrap().iter().filter(|e| e["action"] == "prospect.opted_out").collect();
    assert_eq!(audited.len(), 1, "{audit}");

    // Another organisation's principal finds no such call.
    let other = services::OrgCtx::system(Uuid::now_v7(), "voice-agent");
    let refused = heard(db, &other, id, said).await.expect_err("another organisation's call");
    assert_eq!(refused.code, domain::ErrorCode::NotFound);
});
