//! Reps calling from the copilot, through the HTTP boundary against the
//! LiveKit stand-in (which verifies every token it is shown and enforces
//! its grants as LiveKit does):
//! - the rep's call takes the one place path (checks, row, dial job), binds
//!   a copilot session to the call, dispatches the worker in listen-only
//!   mode and gives the rep a token for a microphone and DTMF only;
//! - hold is the server's (subscriptions), the rep leaving hangs up, and
//!   the outcome given in the copilot lands on the call and the prospect;
//! - managers listen, whisper and barge with exactly their grants, the
//!   whisper's track is kept from the callee by the server, each access is
//!   audited and shown to the rep; the live board lists the call;
//! - another organisation's member reaches none of it;
//! - a stereo feed of the call (two espeak-ng voices) is transcribed side
//!   by side: lines labelled rep / prospect, in order, with times, into the
//!   session (cards from the prospect's side only) and onto the call.

use crate::common;

use std::time::Duration;

use common::Backend;
use futures::{SinkExt, StreamExt};
use livekit_api::access_token::TokenVerifier;
use mock_vendors::livekit::API_SECRET;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::calls::{calling_with, livekit_control, Calling, LK_KEY};

/// Waits up to 10 s for `check` on what `get` returns; the last value.
async fn eventually<F, Fut>(what: &str, mut get: F, check: impl Fn(&Value) -> bool) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let mut last = Value::Null;
    for _ in 0..400 {
        last = get().await;
        if check(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what}: never happened; last seen {last}");
}

fn claims(token: &str) -> livekit_api::access_token::Claims {
    TokenVerifier::with_api_key(LK_KEY, API_SECRET)
        .verify(token)
        .expect("a token signed with the project's secret")
}

/// The stand-in's webhooks (lifecycle ones included) come to this server.
async fn lifecycle_webhooks(c: &Calling) {
    let hook = format!("{}/webhooks/livekit", c.app.base);
    assert_eq!(livekit_control(c.mock.addr, "webhook", json!({"url": hook, "lifecycle": true})).await, 204);
}

async fn join(c: &Calling, token: &str, publish_audio: bool) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("http://{}/__control/livekit/join", c.mock.addr))
        .json(&json!({"token": token, "publish_audio": publish_audio}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `UpdateSubscriptions` the stand-in applied: `{identity, track_sids, subscribe}`.
fn subscriptions(c: &Calling) -> Vec<Value> {
    let lk = c.mock.state.livekit.lock().unwrap();
    lk.subscriptions
        .iter()
        .map(|s| json!({"identity": s.identity, "track_sids": s.track_sids, "subscribe": s.subscribe}))
        .collect()
}

on_both_backends!(
    a_rep_calls_from_the_copilot_and_managers_join_with_exactly_their_rights,
    |backend: Backend| async move {
        // A rep who left has two seconds to come back.
        let Some(c) = calling_with(backend, &[("HANDOO_REP_REJOIN_SECS", "2")]).await else { return };
        lifecycle_webhooks(&c).await;
        let org = c.org.clone();
        let (rep, rep_id) = c.owner.invite_new_user(&c.app, &org, "Rita", "rita@example.com", "member").await;
        let prospect =
        c.prospect(json!({"first_name": "Marc", "last_name": "Durand", "company": "Durand Transports", "phone": "+33612345678"}))
            .await;
        // Ringing until the phone is picked up.
        assert_eq!(livekit_control(c.mock.addr, "hold", json!({"hold": true})).await, 204);

        // -- the rep presses Call
        let (s, placed) = rep
            .rest(Method::POST, &format!("/orgs/{org}/calls/rep"), Some(json!({"prospect_id": prospect})))
            .await;
        assert_eq!(s, 201, "{placed}");
        let call = placed["call"].clone();
        let id = call["id"].as_str().unwrap().to_string();
        let room = call["room_name"].as_str().unwrap().to_string();
        let session = placed["session_id"].as_str().unwrap().to_string();
        assert_eq!(call["rep_id"], rep_id.as_str());
        assert!(call["agent_id"].is_null(), "no AI agent on a rep's call: {call}");
        assert_eq!(call["to_number"], "+33612345678");
        let rep_identity = format!("rep-{}", rep_id.replace('-', ""));
        assert_eq!(placed["access"]["identity"], rep_identity.as_str());
        assert_eq!(
            placed["access"]["url"],
            c.mock.base_url("livekit").replacen("http://", "ws://", 1).trim_end_matches('/')
        );
        let t = claims(placed["access"]["token"].as_str().unwrap());
        let v = &t.video;
        assert_eq!(
            (t.sub.as_str(), t.name.as_str(), v.room.as_str()),
            (rep_identity.as_str(), "Rita", room.as_str())
        );
        assert!(v.room_join && v.can_subscribe() && v.can_publish() && !v.hidden && !v.room_admin);
        assert_eq!(
            v.can_publish_sources,
            vec!["microphone".to_string()],
            "a microphone, no camera or screen"
        );
        assert_eq!(v.can_publish_data, Some(true), "DTMF goes as data");
        assert_eq!(v.can_update_own_metadata, Some(false));
        assert_eq!(t.attributes.get("handoo.role").map(String::as_str), Some("rep"));
        // The session follows the call.
        let (s, sv) = rep.rest(Method::GET, &format!("/orgs/{org}/copilot/sessions/{session}"), None).await;
        assert_eq!(s, 200, "{sv}");
        assert_eq!((sv["call_id"].as_str(), sv["mode"].as_str()), (Some(id.as_str()), Some("call")));
        // A second press dials nobody twice.
        let (s, again) = rep
            .rest(Method::POST, &format!("/orgs/{org}/calls/rep"), Some(json!({"prospect_id": prospect})))
            .await;
        assert_eq!((s, again["code"].as_str()), (409, Some("conflict")), "{again}");

        // -- ringing, answered; the rep's page joins with its microphone
        c.until(&id, "ringing").await;
        // (Dialled:) the worker is dispatched in listen-only mode.
        let dispatch = c
            .requests("CreateDispatch")
            .into_iter()
            .find(|d| d["room"] == room.as_str())
            .expect("a dispatch");
        let meta: Value = serde_json::from_str(dispatch["metadata"].as_str().unwrap()).unwrap();
        assert_eq!(
            (meta["mode"].as_str(), meta["call_id"].as_str()),
            (Some("transcribe"), Some(id.as_str()))
        );

        let (s, back) = rep.rest(Method::GET, &format!("/orgs/{org}/calls/rep/current"), None).await;
        assert_eq!((s, back["call"]["id"].as_str()), (200, Some(id.as_str())), "{back}");
        assert_eq!(
            claims(back["access"]["token"].as_str().unwrap()).sub,
            rep_identity,
            "a fresh token, same identity"
        );
        assert_eq!(livekit_control(c.mock.addr, "answer", json!({"room": room})).await, 204);
        c.until(&id, "answered").await;
        let (s, joined) = join(&c, placed["access"]["token"].as_str().unwrap(), true).await;
        assert_eq!(s, 200, "{joined}");
        let rep_track = joined["track_sid"].as_str().unwrap().to_string();
        c.until(&id, "in_progress").await;

        // -- another organisation's member reaches none of it
        let intruder = c.app.client().await;
        intruder.sign_up("Ivan", "ivan@example.com", common::GOOD_PASSWORD).await.expect("sign up");
        let theirs = intruder.create_org("Other").await;
        for (m, path, body) in [
            (Method::GET, format!("/orgs/{org}/calls/{id}"), None),
            (Method::POST, format!("/orgs/{org}/calls/{id}/hold"), Some(json!({"hold": true}))),
            (Method::POST, format!("/orgs/{org}/calls/{id}/supervise"), Some(json!({"mode": "listen"}))),
            (Method::GET, format!("/orgs/{org}/copilot/sessions/{session}"), None),
            (Method::GET, format!("/orgs/{org}/calls/live"), None),
        ] {
            let (s, v) = intruder.rest(m, &path, body).await;
            assert_eq!(s, 404, "{path}: {v}");
        }
        for (m, path, body) in [
            (Method::POST, format!("/orgs/{theirs}/calls/{id}/hold"), Some(json!({"hold": true}))),
            (Method::POST, format!("/orgs/{theirs}/calls/{id}/supervise"), Some(json!({"mode": "barge"}))),
        ] {
            let (s, v) = intruder.rest(m, &path, body).await;
            assert_eq!(s, 404, "another organisation's call through one's own: {path}: {v}");
        }
        assert!(intruder
            .rest(Method::GET, &format!("/orgs/{theirs}/calls/live"), None)
            .await
            .1
            .as_array()
            .unwrap()
            .is_empty());

        // -- hold, by the server: the callee stops hearing the rep, the rep the callee
        let (s, v) = c
            .owner
            .rest(Method::POST, &format!("/orgs/{org}/calls/{id}/hold"), Some(json!({"hold": true})))
            .await;
        assert_eq!(s, 404, "another rep's call is not the owner's to hold: {v}");
        let (s, v) = rep
            .rest(Method::POST, &format!("/orgs/{org}/calls/{id}/hold"), Some(json!({"hold": true})))
            .await;
        assert_eq!(s, 204, "{v}");
        let subs = subscriptions(&c);
        assert!(
            subs.iter().any(|s| s["identity"] == "callee"
                && s["track_sids"] == json!([rep_track])
                && s["subscribe"] == false),
            "the callee no longer receives the rep: {subs:?}"
        );
        assert!(
            subs.iter().any(|s| s["identity"] == rep_identity.as_str() && s["subscribe"] == false),
            "the rep no longer receives the callee: {subs:?}"
        );
        let (s, _) = rep
            .rest(Method::POST, &format!("/orgs/{org}/calls/{id}/hold"), Some(json!({"hold": false})))
            .await;
        assert_eq!(s, 204);
        assert!(subscriptions(&c).iter().any(|s| s["identity"] == "callee" && s["subscribe"] == true));
        let timeline = c.call(&id).await["timeline"].clone();
        let kinds: Vec<&str> =
            timeline.as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
        assert!(kinds.contains(&"held") && kinds.contains(&"resumed"), "{kinds:?}");

        // -- managers: a Member may not; the owner listens, whispers, barges
        let (s, v) = rep
            .rest(Method::POST, &format!("/orgs/{org}/calls/{id}/supervise"), Some(json!({"mode": "listen"})))
            .await;
        assert_eq!(s, 403, "{v}");
        let (s, v) = rep.rest(Method::GET, &format!("/orgs/{org}/calls/live"), None).await;
        assert_eq!(s, 403, "{v}");
        let mut tokens = std::collections::HashMap::new();
        for mode in ["listen", "whisper", "barge"] {
            let (s, v) = c
                .owner
                .rest(Method::POST, &format!("/orgs/{org}/calls/{id}/supervise"), Some(json!({"mode": mode})))
                .await;
            assert_eq!(s, 200, "{mode}: {v}");
            let t = claims(v["access"]["token"].as_str().unwrap());
            let g = &t.video;
            assert_eq!((g.room.as_str(), t.name.as_str()), (room.as_str(), "Olivia"));
            assert!(
                g.room_join && g.can_subscribe() && !g.room_admin && g.can_publish_data == Some(false),
                "{mode}"
            );
            assert_eq!(t.attributes.get("handoo.role").map(String::as_str), Some(mode));
            match mode {
                "listen" => {
                    assert!(
                        !g.can_publish() && g.hidden && g.can_publish_sources.is_empty(),
                        "a listener cannot publish"
                    );
                    assert!(v["rep_identity"].is_null());
                }
                _ => {
                    assert!(g.can_publish() && !g.hidden, "{mode}");
                    assert_eq!(g.can_publish_sources, vec!["microphone".to_string()]);
                    assert_eq!(v["rep_identity"], rep_identity.as_str());
                }
            }
            assert_eq!(
                t.attributes.get("handoo.whisper_to").map(String::as_str),
                (mode == "whisper").then_some(rep_identity.as_str()),
                "only a whisper is addressed"
            );
            tokens.insert(
                mode,
                (
                    v["access"]["token"].as_str().unwrap().to_string(),
                    v["access"]["identity"].as_str().unwrap().to_string(),
                ),
            );
        }
        // LiveKit enforces them: a listener's microphone is refused.
        assert_eq!(join(&c, &tokens["listen"].0, true).await.0, 403, "a listener cannot publish");
        assert_eq!(join(&c, &tokens["listen"].0, false).await.0, 200);
        // The whisper's track: the server keeps it from the callee (and only from machines).
        let (s, whisper) = join(&c, &tokens["whisper"].0, true).await;
        assert_eq!(s, 200, "{whisper}");
        let whisper_track = whisper["track_sid"].as_str().unwrap().to_string();
        let guarded = eventually(
            "the callee unsubscribed from the whisper",
            || async { json!(subscriptions(&c)) },
            |subs| {
                subs.as_array().unwrap().iter().any(|s| {
                    s["identity"] == "callee"
                        && s["track_sids"] == json!([whisper_track])
                        && s["subscribe"] == false
                })
            },
        )
        .await;
        assert!(
            !guarded
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["track_sids"] == json!([whisper_track]) && s["identity"] == rep_identity.as_str()),
            "the rep keeps hearing the whisper: {guarded}"
        );
        assert_eq!(join(&c, &tokens["barge"].0, true).await.0, 200);

        // The rep is told, in their session, who joined and how; and who left.
        assert_eq!(
            livekit_control(c.mock.addr, "leave", json!({"room": room, "identity": tokens["whisper"].1}))
                .await,
            204
        );
        let events = eventually(
            "the rep hears the whisperer leave",
            || async {
                rep.rest(Method::GET, &format!("/orgs/{org}/copilot/sessions/{session}"), None).await.1
                    ["events"]
                    .clone()
            },
            |ev| ev.as_array().unwrap().iter().any(|e| e["type"] == "supervisor" && e["joined"] == false),
        )
        .await;
        let told: Vec<(String, bool)> = events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "supervisor")
            .map(|e| (e["mode"].as_str().unwrap().to_string(), e["joined"].as_bool().unwrap()))
            .collect();
        assert_eq!(
            told,
            vec![
                ("listen".into(), true),
                ("whisper".into(), true),
                ("barge".into(), true),
                ("whisper".into(), false)
            ],
            "{events}"
        );
        assert!(events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "supervisor")
            .all(|e| e["name"] == "Olivia"));
        // Audited, each.
        let (_, audit) = c.owner.rest(Method::GET, &format!("/orgs/{org}/audit"), None).await;
        let actions: Vec<&str> =
            audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        for a in ["call.listened", "call.whispered", "call.barged"] {
            assert!(actions.contains(&a), "{a} in {actions:?}");
        }

        // -- the live board: the call, its rep, the session's phase and last objection
        let (s, _) = rep
            .rest(
                Method::POST,
                &format!("/orgs/{org}/copilot/sessions/{session}/transcript"),
                Some(json!({"speaker": "prospect", "text": "Honestly, it's too expensive for us."})),
            )
            .await;
        assert_eq!(s, 200);
        let (s, board) = c.owner.rest(Method::GET, &format!("/orgs/{org}/calls/live"), None).await;
        assert_eq!(s, 200, "{board}");
        let row = board
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["call"]["id"] == id.as_str())
            .cloned()
            .expect("on the board");
        assert_eq!(
            (row["rep_name"].as_str(), row["session_id"].as_str()),
            (Some("Rita"), Some(session.as_str()))
        );
        assert_eq!(row["call"]["prospect_name"], "Marc Durand");
        assert_eq!(row["last_objection"], "too_expensive");
        assert!(row["phase"].is_string(), "{row}");

        // -- on hold, the rep's page joins again (a reload, or the SDK's full
        // reconnect: it leaves and joins as a new participant): the call goes
        // on past the grace, the page learns it is on hold, and the hold is
        // made again for the new participant (LiveKit subscribes a newcomer
        // to everyone)
        let (s, v) = rep
            .rest(Method::POST, &format!("/orgs/{org}/calls/{id}/hold"), Some(json!({"hold": true})))
            .await;
        assert_eq!(s, 204, "{v}");
        assert_eq!(
            livekit_control(c.mock.addr, "leave", json!({"room": room, "identity": rep_identity})).await,
            204
        );
        let before = subscriptions(&c).len();
        let (s, again) = rep.rest(Method::GET, &format!("/orgs/{org}/calls/rep/current"), None).await;
        assert_eq!(s, 200, "{again}");
        assert_eq!(again["hold"], json!({"music": false}), "the page reopens on hold: {again}");
        let (s, back) = join(&c, again["access"]["token"].as_str().unwrap(), true).await;
        assert_eq!(s, 200, "{back}");
        let new_track = back["track_sid"].as_str().unwrap().to_string();
        assert_ne!(new_track, rep_track);
        eventually(
            "the hold made again for the rejoined rep",
            || async { json!(subscriptions(&c)[before..]) },
            |subs| {
                let subs = subs.as_array().unwrap();
                subs.iter().any(|s| {
                    s["identity"] == "callee"
                        && s["track_sids"] == json!([new_track])
                        && s["subscribe"] == false
                }) && subs.iter().any(|s| s["identity"] == rep_identity.as_str() && s["subscribe"] == false)
            },
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
        let (_, v) = c.owner.rest(Method::GET, &format!("/orgs/{org}/calls/{id}"), None).await;
        assert_eq!(v["call"]["status"], "in_progress", "a rep back within the grace keeps the call: {v}");
        let (s, _) = rep
            .rest(Method::POST, &format!("/orgs/{org}/calls/{id}/hold"), Some(json!({"hold": false})))
            .await;
        assert_eq!(s, 204);
        let (_, again) = rep.rest(Method::GET, &format!("/orgs/{org}/calls/rep/current"), None).await;
        assert!(again["hold"].is_null(), "resumed: {again}");

        // -- the rep closes the page for good: after the grace, the call is hung up
        let left_at = std::time::Instant::now();
        assert_eq!(
            livekit_control(c.mock.addr, "leave", json!({"room": room, "identity": rep_identity})).await,
            204
        );
        c.until(&id, "completed").await;
        assert!(left_at.elapsed() >= std::time::Duration::from_secs(2), "hung up before the grace");
        // The hang-up deletes the room, then records why: the callee's leg
        // ending (LiveKit's webhook) may complete the call a moment before.
        eventually(
            "rep_left on the timeline",
            || async { c.call(&id).await["timeline"].clone() },
            |t| t.as_array().unwrap().iter().any(|e| e["kind"] == "rep_left"),
        )
        .await;
        assert!(c.requests("DeleteRoom").iter().any(|r| r.is_null() || r["room"] == room.as_str()));
        let (s, none) = rep.rest(Method::GET, &format!("/orgs/{org}/calls/rep/current"), None).await;
        assert_eq!((s, none.is_null()), (200, true), "{none}");

        // -- the outcome given in the copilot lands on the call and the prospect
        let (s, v) = rep
            .rest(
                Method::POST,
                &format!("/orgs/{org}/copilot/sessions/{session}/end"),
                Some(json!({"outcome": "interested", "notes": "Wants a demo for the Lyon depot"})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let after = c.call(&id).await;
        assert_eq!(
            (after["call"]["outcome"].as_str(), after["call"]["notes"].as_str()),
            (Some("interested"), Some("Wants a demo for the Lyon depot"))
        );
        let (_, p) = c.owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{prospect}"), None).await;
        assert_eq!(p["status"], "interested", "{p}");
        let (_, history) =
            c.owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{prospect}/calls"), None).await;
        assert!(history.as_array().unwrap().iter().any(|h| h["id"] == id.as_str()), "{history}");
    }
);

on_both_backends!(a_rep_call_needs_a_person_a_callable_prospect_and_a_line, |backend: Backend| async move {
    let Some(c) = calling_with(backend, &[]).await else { return };
    let org = c.org.clone();
    let no_phone = c.prospect(json!({"first_name": "Nora", "email": "nora@example.com"})).await;
    let dnc = c.prospect(json!({"first_name": "Dan", "phone": "+33612340000"})).await;
    let (s, _) =
        c.owner.rest(Method::POST, &format!("/orgs/{org}/dnc"), Some(json!({"phone": "+33612340000"}))).await;
    assert!(s == 200 || s == 201, "{s}");
    for (prospect, code) in [(no_phone.as_str(), "call_not_allowed"), (dnc.as_str(), "call_not_allowed")] {
        let (s, v) = c
            .owner
            .rest(Method::POST, &format!("/orgs/{org}/calls/rep"), Some(json!({"prospect_id": prospect})))
            .await;
        assert_eq!((s, v["code"].as_str()), (409, Some(code)), "{v}");
    }
    let (s, v) = c
        .owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/calls/rep"),
            Some(json!({"prospect_id": uuid::Uuid::now_v7()})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{v}");
    let (s, v) =
        c.owner.rest(Method::POST, &format!("/orgs/{org}/calls/rep"), Some(json!({"prospect": "x"}))).await;
    assert_eq!(s, 422, "{v}");
    // Nothing was dialled, no call row was written.
    assert!(c.requests("CreateSIPParticipant").is_empty());
    let (_, list) = c.owner.rest(Method::GET, &format!("/orgs/{org}/calls"), None).await;
    assert_eq!(list["total"], 0, "{list}");
});

/// Interleaved stereo 16 kHz PCM from two mono voices (the shorter padded).
fn stereo(left: &[i16], right: &[i16]) -> Vec<u8> {
    let n = left.len().max(right.len());
    let mut out = Vec::with_capacity(n * 4);
    for i in 0..n {
        out.extend_from_slice(&left.get(i).copied().unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&right.get(i).copied().unwrap_or(0).to_le_bytes());
    }
    out
}

on_both_backends!(
    both_sides_of_a_call_are_transcribed_apart_into_the_copilot_and_onto_the_call,
    |backend: Backend| async move {
        let mock_stt = mock_vendors::MockVendors::start().await;
        let deepgram = mock_stt.base_url("deepgram");
        let Some(c) =
            calling_with(backend, &[("DEEPGRAM_API_KEY", "sk-dg"), ("DEEPGRAM_BASE_URL", &deepgram)]).await
        else {
            return;
        };
        let org = c.org.clone();
        let prospect = c
            .prospect(json!({"first_name": "Marc", "company": "Durand Transports", "phone": "+33612345678"}))
            .await;
        // The script moves to objection handling when the prospect objects
        // (and only the prospect: the rep's own words never move it there).
        let content = json!({"phases": [
        {"phase": "opening", "text": "Hello {{prospect.first_name}}, this is {{agent.name}} from Handoo.",
         "triggers": [{"type": "intent", "intent": "objection", "speaker": "prospect", "goto": "objection_handling"}]},
        {"phase": "presentation", "text": "Our routing software cuts your fuel costs by a fifth."},
        {"phase": "objection_handling", "text": "Acknowledge, then answer."},
        {"phase": "closing", "text": "Shall we book a demonstration next week?"},
    ], "handlers": [{"objection": "too_expensive", "response": "It pays for itself within three months."}]});
        let (s, script) = c
            .owner
            .rest(
                Method::POST,
                &format!("/orgs/{org}/scripts"),
                Some(json!({"name": "Fleet", "language": "en", "content": content})),
            )
            .await;
        assert_eq!(s, 201, "{script}");
        let script = script["id"].as_str().unwrap().to_string();
        let (s, placed) = c
            .owner
            .rest(
                Method::POST,
                &format!("/orgs/{org}/calls/rep"),
                Some(json!({"prospect_id": prospect, "script_id": script})),
            )
            .await;
        assert_eq!(s, 201, "{placed}");
        let id = placed["call"]["id"].as_str().unwrap().to_string();
        let session = placed["session_id"].as_str().unwrap().to_string();
        c.until(&id, "answered").await;

        // What the (scripted) speech-to-text hears, stretch by stretch, in the
        // order the stretches end: the rep, the prospect, the rep again.
        let said = [
        "Hello Marc, this is Olivia from Handoo.",
        "Honestly, it is too expensive for us.",
        "Our routing software cuts your fuel costs by a fifth, so I know it can seem too expensive at first.",
    ];
        *mock_stt.state.stt_script.lock().unwrap() = Some(said.iter().map(|s| s.to_string()).collect());
        let rate = 16_000;
        let rep_voice = |t: &str| voice::simulate::espeak(t, "en-us", rate);
        let prospect_voice = |t: &str| voice::simulate::espeak(t, "en+f3", rate);
        let gap = vec![0i16; rate as usize * 3 / 2];
        let mut left = Vec::new();
        let mut right = Vec::new();
        for (i, line) in said.iter().enumerate() {
            let (speaking, silent) = if i == 1 { (&mut right, &mut left) } else { (&mut left, &mut right) };
            let pcm = if i == 1 { prospect_voice(line) } else { rep_voice(line) };
            silent.extend(std::iter::repeat_n(0i16, pcm.len() + gap.len()));
            speaking.extend(pcm);
            speaking.extend(&gap);
        }

        let url = format!(
            "{}/api/v1/orgs/{org}/copilot/sessions/{session}/audio?channels=2",
            c.app.base.replacen("http://", "ws://", 1)
        );
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert("cookie", c.owner.http_cookie_header(&c.app.base).parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("the audio socket opens");
        // 100 ms frames at twice real time: each side's speech-to-text hears
        // its own stretches end in the order they were said.
        for frame in stereo(&left, &right).chunks(6400) {
            ws.send(Message::Binary(frame.to_vec().into())).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ws.send(Message::Text(r#"{"type":"stop"}"#.into())).await.unwrap();
        let _ =
            tokio::time::timeout(Duration::from_secs(10), async { while ws.next().await.is_some() {} }).await;

        let (_, sv) =
            c.owner.rest(Method::GET, &format!("/orgs/{org}/copilot/sessions/{session}"), None).await;
        let events = sv["events"].as_array().unwrap();
        let lines: Vec<(&str, &str, u64, u64)> = events
            .iter()
            .filter(|e| e["type"] == "transcript")
            .map(|e| {
                (
                    e["speaker"].as_str().unwrap(),
                    e["text"].as_str().unwrap(),
                    e["start_ms"].as_u64().unwrap(),
                    e["end_ms"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            lines.iter().map(|l| (l.0, l.1)).collect::<Vec<_>>(),
            vec![("rep", said[0]), ("prospect", said[1]), ("rep", said[2])],
            "labelled by side, in order: {events:?}"
        );
        for w in lines.windows(2) {
            assert!(w[0].2 <= w[0].3 && w[0].3 <= w[1].3, "times in order: {lines:?}");
        }
        // Each line ends after its speech did (the audio's own clock), within
        // the stretch's silence and the speech-to-text's wait.
        let said_until = (left.len().max(right.len()) as u64) * 1000 / rate as u64;
        assert!(lines.last().unwrap().3 <= said_until + 500, "{lines:?} / {said_until} ms of audio");
        // A card from the prospect's words only (the rep said "too expensive" too).
        let cards: Vec<&Value> = events.iter().filter(|e| e["type"] == "objection").collect();
        assert_eq!(cards.len(), 1, "{cards:?}");
        assert_eq!(cards[0]["detection"]["kind"], "too_expensive");
        assert!(
            cards[0]["handler"]["response"].as_str().unwrap().contains("three months"),
            "the script's handler"
        );
        // The prospect's objection moved the script on, once.
        let moves: Vec<&Value> = events.iter().filter(|e| e["type"] == "phase").collect();
        assert_eq!(moves.len(), 1, "{moves:?}");
        assert_eq!(
            (moves[0]["advance"]["from"].as_str(), moves[0]["advance"]["to"].as_str()),
            (Some("opening"), Some("objection_handling"))
        );

        // The same lines are the call's transcript (what the call page and the analysis read).
        let turns = c.call(&id).await["turns"].clone();
        let turns: Vec<(&str, &str)> = turns
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["speaker"].as_str().unwrap(), t["text"].as_str().unwrap()))
            .collect();
        assert_eq!(turns, vec![("rep", said[0]), ("prospect", said[1]), ("rep", said[2])]);

        // A feed that is not whole stereo samples is refused; a third channel is refused before the upgrade.
        let url = format!(
            "{}/api/v1/orgs/{org}/copilot/sessions/{session}/audio?channels=3",
            c.app.base.replacen("http://", "ws://", 1)
        );
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert("cookie", c.owner.http_cookie_header(&c.app.base).parse().unwrap());
        assert!(tokio_tungstenite::connect_async(req).await.is_err(), "3 channels: refused");
    }
);
