//! Calls, copilot calls and analyses for the analytics tests and bench,
//! written straight to the database in batches. Each row follows a fixed
//! pattern of its index ([`ai_call`], [`rep_call`]), so a test computes
//! the expected figures from the same pattern, independently of the SQL.

use chrono::{DateTime, Duration, Utc};
use entity::{call_analyses, calls, copilot_sessions};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde_json::json;
use uuid::Uuid;

/// Who the rows belong to, and the days they spread over from `start`.
#[derive(Clone, Copy)]
pub struct Seed {
    pub org: Uuid,
    pub agent: Uuid,
    pub user: Uuid,
    pub prospect: Uuid,
    pub start: DateTime<Utc>,
    pub days: i64,
}

/// What AI call `i` is.
pub struct AiCall {
    pub at: DateTime<Utc>,
    pub answered: bool,
    pub outcome: Option<&'static str>,
    pub talk_ms: Option<i64>,
    /// An analysis with this sentiment score (opening 8, closing 6).
    pub analysed: Option<f64>,
    /// The agent's report: two replies, first audio at 700 and 900 ms.
    pub reported: bool,
}

pub fn ai_call(s: &Seed, i: u64) -> AiCall {
    let at = s.start + Duration::days((i as i64) % s.days) + Duration::seconds(((i * 7919) % 86_000) as i64);
    let answered = !i.is_multiple_of(4);
    let outcome = match (answered, i % 10) {
        (false, _) => Some("no_answer"),
        (true, 1) => Some("voicemail"),
        (true, 2) => Some("meeting_booked"),
        (true, 3) => Some("interested"),
        (true, 5) => Some("not_interested"),
        _ => None,
    };
    let talk_ms = answered.then_some(if i.is_multiple_of(3) { 20_000 } else { 45_000 });
    let analysed = (answered && i.is_multiple_of(5)).then_some(if i.is_multiple_of(2) { 0.5 } else { -0.25 });
    let reported = answered && i % 5 == 1;
    AiCall { at, answered, outcome, talk_ms, analysed, reported }
}

/// The report [`AiCall::reported`] calls carry.
pub fn agent_report() -> serde_json::Value {
    use domain::agent_report::{AgentReport, CallUsage, EndReason, TurnLatency};
    let turn = |turn, first_audio_ms| TurnLatency {
        turn,
        end_of_turn_silence_ms: 300.0,
        stt_final_ms: 150.0,
        llm_first_token_ms: 250.0,
        first_sentence_ms: 320.0,
        tts_first_byte_ms: 120.0,
        first_audio_ms,
        overhead_ms: 40.0,
    };
    let report = AgentReport {
        duration_ms: 45_000,
        end: EndReason::Caller,
        turns: 2,
        interruptions: 0,
        usage: CallUsage::default(),
        latencies: vec![turn(1, 700.0), turn(2, 900.0)],
        barge_ins_ms: vec![],
        outcome: None,
    };
    serde_json::to_value(report).expect("a report")
}

/// What rep call `i` is: every one a minute long, a meeting one in three.
pub fn rep_call(s: &Seed, i: u64) -> (DateTime<Utc>, &'static str) {
    let at =
        s.start + Duration::days((i as i64) % s.days) + Duration::seconds(((i * 104_729) % 86_000) as i64);
    (at, if i.is_multiple_of(3) { "meeting_booked" } else { "not_interested" })
}

/// Writes AI calls `0..n` (and their analyses).
pub async fn seed_ai_calls(db: &DatabaseConnection, s: &Seed, n: u64) {
    let mut i = 0;
    while i < n {
        let end = (i + 500).min(n);
        let mut rows = Vec::new();
        let mut analyses = Vec::new();
        for k in i..end {
            let c = ai_call(s, k);
            let id = Uuid::now_v7();
            let ended = c.at + Duration::milliseconds(c.talk_ms.unwrap_or(0) + 5_000);
            rows.push(calls::ActiveModel {
                id: Set(id),
                org_id: Set(s.org),
                direction: Set("outbound".into()),
                prospect_id: Set(None),
                agent_id: Set(Some(s.agent)),
                trunk_id: Set(None),
                to_number: Set("+33612345678".into()),
                from_number: Set(None),
                status: Set(if c.answered { "completed" } else { "no_answer" }.into()),
                sip_status: Set(None),
                failure_reason: Set(None),
                room_name: Set(format!("call-{}", id.simple())),
                variables: Set(json!({})),
                placed_by_user: Set(None),
                placed_by_api_key: Set(None),
                idempotency_key: Set(None),
                request_hash: Set(None),
                outcome: Set(c.outcome.map(str::to_string)),
                recording_key: Set(None),
                recording_duration_ms: Set(None),
                recording_egress_id: Set(None),
                recording_status: Set(None),
                recording_error: Set(None),
                talk_ms: Set(c.talk_ms),
                callback_at: Set(None),
                notes: Set(String::new()),
                collected_data: Set(None),
                agent_report: Set(c.reported.then(agent_report)),
                campaign_id: Set(None),
                script_id: Set(None),
                script_version: Set(None),
                rep_user_id: Set(None),
                created_at: Set(c.at),
                ringing_at: Set(Some(c.at)),
                answered_at: Set(c.answered.then_some(c.at + Duration::seconds(5))),
                ended_at: Set(Some(ended)),
                updated_at: Set(ended),
            });
            if let Some(score) = c.analysed {
                analyses.push(analysis(s.org, Some(id), None, score, ended));
            }
        }
        calls::Entity::insert_many(rows).exec_without_returning(db).await.expect("calls written");
        if !analyses.is_empty() {
            call_analyses::Entity::insert_many(analyses)
                .exec_without_returning(db)
                .await
                .expect("analyses written");
        }
        i = end;
    }
}

fn analysis(
    org: Uuid,
    call: Option<Uuid>,
    session: Option<Uuid>,
    score: f64,
    at: DateTime<Utc>,
) -> call_analyses::ActiveModel {
    call_analyses::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org),
        call_id: Set(call),
        session_id: Set(session),
        state: Set("done".into()),
        result: Set(None),
        model: Set(Some("seed".into())),
        attempts: Set(1),
        error: Set(None),
        sentiment: Set(Some(if score >= 0.0 { "positive" } else { "negative" }.into())),
        sentiment_score: Set(Some(score)),
        score_opening: Set(Some(8)),
        score_discovery: Set(None),
        score_presentation: Set(None),
        score_objection_handling: Set(None),
        score_closing: Set(Some(6)),
        edited_by: Set(None),
        edited_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// Writes rep calls `0..n`, each analysed (sentiment 0.2, opening 8, closing 6).
pub async fn seed_rep_calls(db: &DatabaseConnection, s: &Seed, n: u64) {
    let mut i = 0;
    while i < n {
        let end = (i + 500).min(n);
        let mut rows = Vec::new();
        let mut analyses = Vec::new();
        for k in i..end {
            let (at, outcome) = rep_call(s, k);
            let id = Uuid::now_v7();
            rows.push(copilot_sessions::ActiveModel {
                id: Set(id),
                org_id: Set(s.org),
                user_id: Set(Some(s.user)),
                prospect_id: Set(s.prospect),
                script_id: Set(None),
                script_version: Set(0),
                mode: Set("call".into()),
                phase: Set("closing".into()),
                started_at: Set(at),
                ended_at: Set(Some(at + Duration::seconds(60))),
                outcome: Set(Some(outcome.into())),
                callback_at: Set(None),
                notes: Set(String::new()),
                technique_ids: Set(json!([])),
                call_id: Set(None),
            });
            analyses.push(analysis(s.org, None, Some(id), 0.2, at));
        }
        copilot_sessions::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await
            .expect("sessions written");
        call_analyses::Entity::insert_many(analyses)
            .exec_without_returning(db)
            .await
            .expect("analyses written");
        i = end;
    }
}
