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

fn call(org: Uuid, room: &str, key: Option<&str>) -> calls::ActiveModel {
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
struct Calling {
    app: TestApp,
    mock: mock_vendors::MockVendors,
    owner: common::Client,
    org: String,
    agent: String,
}

const LK_KEY: &str = "APIserver";

async fn calling(backend: Backend) -> Option<Calling> {
    let mock = mock_vendors::MockVendors::start().await;
    let url = mock.base_url("livekit");
    let env =
        [("LIVEKIT_URL", url.as_str()), ("LIVEKIT_API_KEY", LK_KEY), ("LIVEKIT_API_SECRET", API_SECRET)];
    let app = TestApp::spawn_with(backend, &env).await?;
    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org = owner.create_org("Acme").await;
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
    // LiveKit's webhooks come to this server.
    let hook = format!("{}/webhooks/livekit", app.base);
    reqwest::Client::new()
        .post(format!("http://{}/__control/livekit/webhook", mock.addr))
        .json(&json!({ "url": hook }))
        .send()
        .await
        .unwrap();
    Some(Calling { app, mock, owner, org, agent: agent["id"].as_str().unwrap().to_string() })
}

impl Calling {
    async fn place(&self, body: Value, key: Option<&str>) -> (u16, Value) {
        let mut req =
            self.owner.http.post(format!("{}/api/v1/orgs/{}/calls", self.app.base, self.org)).json(&body);
        req = req.header("x-csrf-token", &self.owner.csrf);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    async fn call(&self, id: &str) -> Value {
        let (s, v) = self.owner.rest(Method::GET, &format!("/orgs/{}/calls/{id}", self.org), None).await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// Waits until the call is in `status` (the dial runs on the job runner).
    async fn until(&self, id: &str, status: &str) -> Value {
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
    async fn webhook(&self, event: &proto::WebhookEvent, key: &str) -> u16 {
        let (body, auth) = mock_vendors::livekit::sign_webhook(event, key);
        self.raw_webhook(body, &auth).await
    }

    async fn raw_webhook(&self, body: String, auth: &str) -> u16 {
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

    fn requests(&self, method: &str) -> Vec<Value> {
        self.mock
            .state
            .requests_for("livekit")
            .into_iter()
            .filter(|r| r.path.ends_with(method))
            .map(|r| r.body)
            .collect()
    }
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
        let left = lk_event("EV_left", "participant_left", &room, participant(Kind::Sip, "callee"));
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
        assert!(done["call"]["talk_ms"].as_i64().is_some());
        let timeline = done["timeline"].as_array().unwrap();
        let agent_entries = timeline.iter().filter(|e| e["kind"] == "agent_joined").count();
        assert_eq!(agent_entries, 1, "one entry per webhook id: {timeline:?}");
        let last = timeline.last().unwrap();
        assert_eq!(
            (last["kind"].as_str(), last["ignored"].as_str()),
            (Some("room_finished"), Some("already_ended"))
        );

        // Another organisation sees nothing of it.
        let other = c.app.client().await;
        other.sign_up("Otto", "otto@example.com", GOOD_PASSWORD).await.expect("sign up");
        let rival = other.create_org("Rival").await;
        let (s, _) = other.rest(Method::GET, &format!("/orgs/{rival}/calls/{id}"), None).await;
        assert_eq!(s, 404);
        let (_, list) = other.rest(Method::GET, &format!("/orgs/{rival}/calls"), None).await;
        assert_eq!(list, json!([]));
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
    assert_eq!(list, json!([]), "and no call was written");
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
    }
);
