//! Phone calls. For now the tables the calls service stands on, on SQLite and
//! PostgreSQL alike: what the entities write reads back the same, and the
//! constraints the design counts on hold — one room per call, one call per
//! idempotency key and organisation, one timeline entry per LiveKit webhook
//! event id (any number without one), and everything goes with its
//! organisation.

use crate::common;

use common::{Backend, TestApp, GOOD_PASSWORD};
use entity::{call_events, calls, sip_trunks, telephony_settings};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
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
