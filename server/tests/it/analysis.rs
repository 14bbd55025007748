//! Post-call analysis through the HTTP boundary, with the mock model: an
//! answered call's transcript becomes a checked analysis (evidence quoted
//! from it, the agent's data fields filled); a malformed answer is asked
//! again and then marked failed with the reason; an organisation with no
//! model gets `no_model` at once; managers correct it (audited), members
//! and other organisations cannot.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use services::clock::ManualClock;

use crate::calls::{calling_at, Calling};
use crate::common::{self, Backend, GOOD_PASSWORD};

const FAST_RUNNER: [(&str, &str); 2] = [("HANDOO_JOB_POLL_MS", "20"), ("HANDOO_JOB_CONCURRENCY", "4")];

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().with_timezone(&Utc)
}

struct Scene {
    c: Calling,
    clock: ManualClock,
    _llm: Option<mock_vendors::MockVendors>,
}

async fn scene(backend: Backend, with_model: bool) -> Option<Scene> {
    let clock = ManualClock::at(t0());
    let llm = if with_model { Some(mock_vendors::MockVendors::start().await) } else { None };
    let base = llm.as_ref().map(|m| m.base_url("openai"));
    let mut env: Vec<(&str, &str)> = FAST_RUNNER.to_vec();
    if let Some(base) = base.as_deref() {
        env.push(("OPENAI_BASE_URL", base));
        env.push(("OPENAI_API_KEY", "sk-test"));
    }
    let c = calling_at(backend, &env, Some(Arc::new(clock.clone()))).await?;
    Some(Scene { c, clock, _llm: llm })
}

impl Scene {
    /// An answered call with `lines` said on it, hung up.
    async fn call_with(&self, lines: &[(&str, &str)]) -> String {
        self.scripted_call(lines, None, "+33612345678").await
    }

    /// As [`Scene::call_with`], to `phone` (one prospect per number), the
    /// agent given `script` when there is one.
    async fn scripted_call(&self, lines: &[(&str, &str)], script: Option<&str>, phone: &str) -> String {
        let p = self.c.prospect(json!({"first_name": "Ada", "phone": phone})).await;
        let (s, call) = self
            .c
            .place(json!({"prospect_id": p, "agent_id": self.c.agent, "script_id": script}), None)
            .await;
        assert_eq!(s, 201, "{call}");
        let id = call["id"].as_str().unwrap().to_string();
        self.c.until(&id, "answered").await;
        let turns: Vec<Value> = lines
            .iter()
            .enumerate()
            .map(|(i, (who, text))| {
                json!({"seq": i, "speaker": who, "text": text, "start_ms": i * 2000, "end_ms": i * 2000 + 1500})
            })
            .collect();
        let org = &self.c.org;
        let (s, v) = self
            .c
            .owner
            .rest(Method::POST, &format!("/orgs/{org}/calls/{id}/turns"), Some(json!({"turns": turns})))
            .await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = self.c.owner.rest(Method::POST, &format!("/orgs/{org}/calls/{id}/hang-up"), None).await;
        assert_eq!(s, 200, "{v}");
        id
    }

    async fn analysis(&self, id: &str) -> (u16, Value) {
        self.c.owner.rest(Method::GET, &format!("/orgs/{}/calls/{id}/analysis", self.c.org), None).await
    }

    /// Moves the clock on and waits (real time) until the analysis is in `state`.
    async fn until(&self, id: &str, state: &str, step: chrono::Duration) -> Value {
        for _ in 0..200 {
            self.clock.advance(step);
            let (s, v) = self.analysis(id).await;
            if s == 200 && v["state"] == state {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        panic!("the analysis never got to {state}: {:?}", self.analysis(id).await);
    }
}

const GOOD_CALL: &[(&str, &str)] = &[
    ("agent", "Hello, this is Max from Handoo. Do you have a minute?"),
    ("prospect", "Sure. We run twelve vans and renew them in spring."),
    ("agent", "Could we book a demo on Tuesday at ten?"),
    ("prospect", "Yes, Tuesday at ten works for me."),
];

on_both_backends!(an_answered_call_is_analysed_and_a_manager_corrects_it, |backend: Backend| async move {
    let Some(s) = scene(backend, true).await else { return };
    let id = s.call_with(GOOD_CALL).await;
    // Pending until its transcript has had time to arrive.
    let (code, v) = s.analysis(&id).await;
    assert_eq!((code, v["state"].as_str()), (200, Some("pending")), "{v}");
    let v = s.until(&id, "done", chrono::Duration::seconds(5)).await;
    let a = &v["analysis"];
    assert_eq!(a["suggested_outcome"], "meeting_booked", "{v}");
    assert_eq!(a["sentiment"], "positive");
    assert_eq!(a["extracted"]["vans"], 12, "the agent's data field, from the transcript: {v}");
    let phases: Vec<&str> =
        a["phases"].as_array().unwrap().iter().map(|p| p["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["opening", "discovery", "presentation", "objection_handling", "closing"]);
    assert_eq!(a["phases"][0]["evidence"], "Hello, this is Max from Handoo. Do you");
    assert!(v["model"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(v["attempts"], 1);

    // A manager corrects it; the log keeps what it replaced.
    let org = &s.c.org;
    let mut fixed = a.clone();
    fixed["summary"] = json!("Booked a demo for Tuesday 10:00.");
    fixed["phases"][2] =
        json!({"phase": "presentation", "score": 6, "evidence": "the rep explained pricing"});
    let path = format!("/orgs/{org}/calls/{id}/analysis");
    let (code, e) = s.c.owner.rest(Method::PUT, &path, Some(json!({"analysis": fixed}))).await;
    assert_eq!(code, 200, "{e}");
    assert_eq!(e["analysis"]["summary"], "Booked a demo for Tuesday 10:00.");
    assert!(e["edited_by"].is_string() && e["edited_at"].is_string());
    let log = s.c.owner.call("audit_log", &[("org_id", org)]).await.unwrap();
    let entry =
        log.as_array().unwrap().iter().find(|e| e["action"] == "call.analysis_edited").expect("audited");
    assert!(entry.to_string().contains("A call of 4 turns"), "the entry keeps what was replaced: {entry}");
    // Out-of-range edits are refused by field.
    let mut bad = fixed.clone();
    bad["phases"][0]["score"] = json!(12);
    let (code, e) = s.c.owner.rest(Method::PUT, &path, Some(json!({"analysis": bad}))).await;
    assert_eq!((code, e["field"].as_str()), (422, Some("analysis.phases.0.score")), "{e}");
    // A member reads but does not edit; another organisation sees nothing.
    let (member, _) = s.c.owner.invite_new_user(&s.c.app, org, "Mo", "mo@example.com", "member").await;
    let (code, _) = member.rest(Method::GET, &path, None).await;
    assert_eq!(code, 200);
    let (code, _) = member.rest(Method::PUT, &path, Some(json!({"analysis": fixed}))).await;
    assert_eq!(code, 403);
    let other = s.c.app.client().await;
    other.sign_up("Eve", "eve@example.com", GOOD_PASSWORD).await.unwrap();
    let org_b = other.create_org("Other").await;
    let (code, _) = other.rest(Method::GET, &format!("/orgs/{org_b}/calls/{id}/analysis"), None).await;
    assert_eq!(code, 404);
    let (code, _) = other.rest(Method::GET, &path, None).await;
    assert_eq!(code, 404);
});

on_both_backends!(a_call_given_a_script_is_scored_against_it, |backend: Backend| async move {
    let Some(s) = scene(backend, true).await else { return };
    let script = s.c.script("Fleet pitch", "en").await;
    // Placed through the API: a script in another language than the
    // agent's, or one that is not the organisation's, is refused by field.
    let french = s.c.script("Relance flotte", "fr").await;
    let p = s.c.prospect(json!({"first_name": "Ada", "phone": "+33612345670"})).await;
    let (code, e) =
        s.c.place(json!({"prospect_id": p, "agent_id": s.c.agent, "script_id": french}), None).await;
    assert_eq!(
        (code, e["code"].as_str(), e["field"].as_str()),
        (422, Some("script_language_mismatch"), Some("script_id")),
        "{e}"
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    let (code, e) =
        s.c.place(json!({"prospect_id": p, "agent_id": s.c.agent, "script_id": unknown}), None).await;
    assert_eq!((code, e["field"].as_str()), (404, Some("script_id")), "{e}");

    let said = &[
        ("agent", "Hello Ada, this is Max from Handoo."),
        ("prospect", "Hi, what is it about?"),
        ("agent", "Our routing software cuts your fuel costs by a fifth."),
        ("prospect", "Interesting, tell me more."),
    ];
    let scripted = s.scripted_call(said, Some(&script), "+33612345671").await;
    let plain = s.scripted_call(said, None, "+33612345672").await;
    let v = s.until(&scripted, "done", chrono::Duration::seconds(5)).await;
    let phase = |v: &Value, name: &str| {
        v["analysis"]["phases"].as_array().unwrap().iter().find(|p| p["phase"] == name).unwrap().clone()
    };
    // The presentation the script asked for was given, word for word.
    let presentation = phase(&v, "presentation");
    assert_eq!(presentation["score"], 10, "{v:#}");
    assert_eq!(presentation["evidence"], "Our routing software cuts your fuel costs by a fifth.");
    // The close it asked for never came.
    assert!(phase(&v, "closing")["score"].is_null(), "{v:#}");
    // The same words on a call without a script: nothing to hold them against.
    let v = s.until(&plain, "done", chrono::Duration::seconds(5)).await;
    assert!(phase(&v, "presentation")["score"].is_null(), "{v:#}");
    // Of the two analysis requests, the scripted call's carried the script
    // (its objection handler is nowhere else).
    let bodies: Vec<String> = s
        ._llm
        .as_ref()
        .unwrap()
        .state
        .requests_for("openai")
        .iter()
        .map(|r| r.body.to_string())
        .filter(|b| b.contains("You analyse a finished sales call"))
        .collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies.iter().filter(|b| b.contains("It pays for itself within three months.")).count(),
        1,
        "{bodies:#?}"
    );

    // Its outcome counts in the script library's effectiveness, as a rep's would.
    let org = &s.c.org;
    let (code, v) =
        s.c.owner
            .rest(
                Method::POST,
                &format!("/orgs/{org}/calls/{scripted}/outcome"),
                Some(json!({"outcome": "interested"})),
            )
            .await;
    assert_eq!(code, 200, "{v}");
    let (_, list) = s.c.owner.rest(Method::GET, &format!("/orgs/{org}/scripts"), None).await;
    let row =
        list.as_array().unwrap().iter().find(|r| r["id"] == script.as_str()).expect("the script").clone();
    assert_eq!((row["calls"].as_u64(), row["effectiveness"].as_u64()), (Some(1), Some(50)), "{row}");
});

on_both_backends!(a_malformed_answer_is_retried_then_marked_failed, |backend: Backend| async move {
    let Some(s) = scene(backend, true).await else { return };
    let id = s
        .call_with(&[("agent", "Hello, this is Max."), ("prospect", "Please garble your notes today.")])
        .await;
    let v = s.until(&id, "failed", chrono::Duration::seconds(10)).await;
    assert_eq!(v["attempts"], 3, "{v}");
    assert!(v["error"].as_str().unwrap().starts_with("malformed answer"), "{v}");
    assert_eq!(v["analysis"], Value::Null);
});

on_both_backends!(without_a_model_the_analysis_says_so_at_once, |backend: Backend| async move {
    let Some(s) = scene(backend, false).await else { return };
    let id = s.call_with(GOOD_CALL).await;
    let v = s.until(&id, "no_model", chrono::Duration::seconds(5)).await;
    assert_eq!((v["attempts"].as_i64(), v["error"].as_str()), (Some(1), None), "{v}");
});

on_both_backends!(a_reps_copilot_call_is_analysed_and_a_manager_corrects_it, |backend: Backend| async move {
    let Some(s) = scene(backend, true).await else { return };
    let org = &s.c.org;
    let p = s.c.prospect(json!({"first_name": "Paul", "phone": "+33612345679"})).await;
    let start = json!({"prospect_id": p, "mode": "practice", "language": "en"});
    let (code, session) =
        s.c.owner.rest(Method::POST, &format!("/orgs/{org}/copilot/sessions"), Some(start)).await;
    assert_eq!(code, 201, "{session}");
    let sid = session["id"].as_str().unwrap().to_string();
    let path = format!("/orgs/{org}/copilot/sessions/{sid}/analysis");
    // Nothing to read while the call goes on.
    let (code, _) = s.c.owner.rest(Method::GET, &path, None).await;
    assert_eq!(code, 404);
    for (who, text) in [
        ("rep", "Hello, this is Remy from Handoo."),
        ("prospect", "We run twelve vans and renew them in spring."),
        ("rep", "Could we book a demo on Tuesday at ten?"),
        ("prospect", "Yes, Tuesday at ten works for me."),
    ] {
        let (code, v) =
            s.c.owner
                .rest(
                    Method::POST,
                    &format!("/orgs/{org}/copilot/sessions/{sid}/transcript"),
                    Some(json!({"speaker": who, "text": text})),
                )
                .await;
        assert_eq!(code, 200, "{v}");
    }
    let (code, v) =
        s.c.owner
            .rest(
                Method::POST,
                &format!("/orgs/{org}/copilot/sessions/{sid}/end"),
                Some(json!({"outcome": "meeting_booked", "notes": ""})),
            )
            .await;
    assert_eq!(code, 200, "{v}");
    let mut done = Value::Null;
    let mut last = Value::Null;
    for _ in 0..300 {
        s.clock.advance(chrono::Duration::seconds(5));
        let (code, v) = s.c.owner.rest(Method::GET, &path, None).await;
        if code == 200 && v["state"] == "done" {
            done = v;
            break;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert!(!done.is_null(), "the analysis never got done: {last}");
    let a = &done["analysis"];
    assert_eq!(a["suggested_outcome"], "meeting_booked", "{done}");
    assert_eq!(a["phases"][0]["evidence"], "Hello, this is Remy from Handoo.", "quoted from the rep: {done}");

    // A manager corrects it (audited with the session named); a member and
    // another organisation cannot.
    let mut fixed = a.clone();
    fixed["summary"] = json!("Demo on Tuesday.");
    let (code, e) = s.c.owner.rest(Method::PUT, &path, Some(json!({"analysis": fixed}))).await;
    assert_eq!((code, e["analysis"]["summary"].as_str()), (200, Some("Demo on Tuesday.")), "{e}");
    let log = s.c.owner.call("audit_log", &[("org_id", org)]).await.unwrap();
    let entry =
        log.as_array().unwrap().iter().find(|e| e["action"] == "call.analysis_edited").expect("audited");
    assert!(entry.to_string().contains(&sid), "{entry}");
    let (member, _) = s.c.owner.invite_new_user(&s.c.app, org, "Mo", "mo@example.com", "member").await;
    assert_eq!(member.rest(Method::GET, &path, None).await.0, 200);
    assert_eq!(member.rest(Method::PUT, &path, Some(json!({"analysis": fixed}))).await.0, 403);
    let other = s.c.app.client().await;
    other.sign_up("Eve", "eve@example.com", GOOD_PASSWORD).await.unwrap();
    let org_b = other.create_org("Other").await;
    let (code, _) =
        other.rest(Method::GET, &format!("/orgs/{org_b}/copilot/sessions/{sid}/analysis"), None).await;
    assert_eq!(code, 404);
    let (code, _) = other
        .rest(
            Method::PUT,
            &format!("/orgs/{org_b}/copilot/sessions/{sid}/analysis"),
            Some(json!({"analysis": fixed})),
        )
        .await;
    assert_eq!(code, 404);
});
