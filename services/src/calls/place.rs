//! Placing a call: the one path every caller takes (the prospect page, the
//! REST API, later the dialer). The call row is written before LiveKit is
//! asked anything, the dial runs on the job runner, and a repeated request
//! with the same idempotency key returns the same call.

use std::collections::BTreeMap;
use std::time::Duration;

use domain::call::CallEvent;
use domain::{ErrorCode, Permission};
use entity::{calls, prospects, sip_trunks};
use livekit_protocol as proto;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest;
use uuid::Uuid;

use super::lifecycle::{apply, Happened};
use super::{view, Call};
use crate::authz::OrgCtx;
use crate::events::EventBus;
use crate::jobs::{self, JobFailure, NewJob};
use crate::telephony::livekit::LiveKitError;
use crate::telephony::settings::{client, error_code};
use crate::telephony::trunks::{voice_agent, AGENT_NAME};
use crate::telephony::{e164, TelephonyEnv};
use crate::{new_id, ServiceError, ServiceResult};

pub const DIAL_JOB: &str = "calls.dial";

/// How long the phone rings before the call counts as unanswered.
pub const RINGING_TIMEOUT: Duration = Duration::from_secs(30);

/// Extra template variables: at most this many, names `[a-z0-9_]{1,40}`,
/// values text up to [`VARIABLE_CHARS`].
const VARIABLES_MAX: usize = 50;
const VARIABLE_CHARS: usize = 1_000;

/// What a caller asks for. Exactly one of `prospect_id` and `to_number`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlaceCall {
    pub prospect_id: Option<Uuid>,
    /// A number (E.164 or as the organisation's default region reads it).
    pub to_number: Option<String>,
    /// An active voice agent of the organisation's.
    pub agent_id: Uuid,
    /// An outbound trunk; the organisation's default when absent.
    pub trunk_id: Option<Uuid>,
    /// The caller ID; the default caller number, else the trunk's first.
    pub from_number: Option<String>,
    /// Extra template variables (`{{call.<name>}}`).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// A script of the organisation's for the agent to follow, in its
    /// language; pinned at its current version.
    #[serde(default)]
    pub script_id: Option<Uuid>,
}

/// The call, and whether this request created it (false: an idempotent repeat).
#[derive(Debug, Clone)]
pub struct Placed {
    pub call: Call,
    pub created: bool,
}

/// The longest idempotency key accepted.
const KEY_MAX: usize = 255;

fn check_key(key: &str) -> ServiceResult<()> {
    if key.is_empty() || key.len() > KEY_MAX || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(ServiceError::field(ErrorCode::Validation, "idempotency_key"));
    }
    Ok(())
}

/// What makes two requests "the same": the request, canonically.
fn request_hash(req: &PlaceCall) -> String {
    let mut canonical = json!({
        "prospect_id": req.prospect_id,
        "to_number": req.to_number.as_deref().map(str::trim),
        "agent_id": req.agent_id,
        "trunk_id": req.trunk_id,
        "from_number": req.from_number.as_deref().map(str::trim),
        "variables": req.variables,
    });
    // Only when named: keys stored before scripts existed keep their hash.
    if let Some(script) = req.script_id {
        canonical["script_id"] = json!(script);
    }
    hex::encode(sha2::Sha256::digest(sorted(&canonical).to_string().as_bytes()))
}

/// `v` with every object's keys in order: the same text whichever way
/// serde_json keeps its maps in this build (its `preserve_order` feature is
/// switched on by whichever dependency wants it), so a stored hash matches
/// across builds.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

async fn by_key(db: &DatabaseConnection, ctx: &OrgCtx, key: &str) -> ServiceResult<Option<calls::Model>> {
    Ok(calls::Entity::find()
        .filter(calls::Column::OrgId.eq(ctx.org_id()))
        .filter(calls::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

fn repeat(existing: calls::Model, hash: &str) -> ServiceResult<Placed> {
    if existing.request_hash.as_deref() != Some(hash) {
        return Err(ServiceError::field(ErrorCode::Conflict, "idempotency_key")
            .with_detail("the key was used with another request"));
    }
    Ok(Placed { call: view(&existing), created: false })
}

pub(crate) fn check_variables(vars: &BTreeMap<String, String>) -> ServiceResult<()> {
    let bad = || ServiceError::field(ErrorCode::Validation, "variables");
    if vars.len() > VARIABLES_MAX {
        return Err(bad().with_detail(VARIABLES_MAX.to_string()));
    }
    for (k, v) in vars {
        // A name the agent's texts can use: `{{call.<name>}}`.
        let name_ok = domain::template::is_ident(k);
        if !name_ok || v.chars().count() > VARIABLE_CHARS || v.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad().with_detail(k.chars().take(40).collect::<String>()));
        }
    }
    Ok(())
}

/// Places a call; see the module. Returns at once: the dial runs on the
/// job runner and its outcome lands on the call.
pub async fn place(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    req: PlaceCall,
    idempotency_key: Option<&str>,
) -> ServiceResult<Placed> {
    // 1. Who may, with what, to whom.
    ctx.require(Permission::UseWorkspace)?;
    let hash = request_hash(&req);
    if let Some(key) = idempotency_key {
        check_key(key)?;
        if let Some(existing) = by_key(db, ctx, key).await? {
            return repeat(existing, &hash);
        }
    }
    check_variables(&req.variables)?;
    let agent = voice_agent(db, ctx, req.agent_id).await?;
    let script = match req.script_id {
        Some(id) => {
            let language = crate::agents::settings_of(&agent)?.language;
            Some(crate::copilot::scripts::for_call(db, ctx, id, &language, false).await?)
        }
        None => None,
    };
    // The plan's limits, before anything is written (a campaign's dialer
    // checks them once per round, see `campaigns::dialer`).
    crate::billing::quota::allows(db, &env.billing, ctx.org_id(), domain::billing::usage::Spend::Call)
        .await?;
    let at = env.clock.now();
    let (to_number, prospect) = match (req.prospect_id, req.to_number.as_deref()) {
        (Some(id), None) => {
            let p = crate::prospects::find(db, ctx, id).await?;
            crate::prospects::compliance::may_call(db, ctx, id, at).await?.map_err(refused)?;
            (p.phone.clone().unwrap_or_default(), Some(p))
        }
        (None, Some(n)) => {
            let (n, verdict) = crate::prospects::compliance::may_call_number(db, ctx, n, at).await?;
            verdict.map_err(refused)?;
            (n, None)
        }
        _ => {
            return Err(ServiceError::field(ErrorCode::Validation, "prospect_id")
                .with_detail("prospect_id or to_number"))
        }
    };
    let line = line(db, ctx, env, req.trunk_id, req.from_number.as_deref()).await?;

    // 2. The call row (and its dial job) before any request to LiveKit.
    let new = NewCall {
        agent: Some(&agent),
        rep: None,
        prospect: prospect.as_ref(),
        to_number,
        line: &line,
        extra: &req.variables,
        idempotency: idempotency_key.map(|k| (k, hash.clone())),
        campaign_id: None,
        script,
        at,
    };
    let written = async {
        let txn = crate::db::begin_write(db).await?;
        let saved = insert(&txn, ctx, env, new).await?;
        txn.commit().await?;
        Ok::<_, sea_orm::DbErr>(saved)
    }
    .await;
    let saved = match written {
        Ok(saved) => saved,
        // The same key, at the same moment, from another request: its call.
        Err(e) if idempotency_key.is_some() && crate::db::is_unique_violation(&e) => {
            let existing = by_key(db, ctx, idempotency_key.unwrap_or_default()).await?;
            return repeat(existing.ok_or_else(|| ServiceError::from(e))?, &hash);
        }
        Err(e) => return Err(e.into()),
    };
    env.wake_runner();
    Ok(Placed { call: view(&saved), created: true })
}

/// The line a call goes out on: an outbound trunk of the organisation's
/// and a caller number of that trunk.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub trunk_id: Uuid,
    pub from_number: String,
}

/// Resolves the trunk (the organisation's default when `trunk_id` is
/// unset) and the caller number (the default caller number when it is a
/// number of the trunk, else the trunk's first), and checks there is a
/// LiveKit project to dial through — before any call row is written.
pub(crate) async fn line(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    trunk_id: Option<Uuid>,
    from_number: Option<&str>,
) -> ServiceResult<Line> {
    let settings = crate::telephony::settings::row(db, ctx).await?;
    client(db, ctx, env).await?;
    let trunk_id = trunk_id.or(settings.as_ref().and_then(|s| s.default_trunk_id)).ok_or_else(|| {
        ServiceError::field(ErrorCode::Validation, "trunk_id").with_detail("no default trunk")
    })?;
    let trunk = sip_trunks::Entity::find_by_id(trunk_id)
        .filter(sip_trunks::Column::OrgId.eq(ctx.org_id()))
        .filter(sip_trunks::Column::Direction.eq("outbound"))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::field(ErrorCode::NotFound, "trunk_id"))?;
    let trunk_numbers: Vec<String> = serde_json::from_value(trunk.numbers.clone()).unwrap_or_default();
    let from_number = match from_number.map(str::trim).filter(|s| !s.is_empty()) {
        Some(n) => {
            let n = e164(n, "from_number")?;
            if !trunk_numbers.contains(&n) {
                return Err(ServiceError::field(ErrorCode::Validation, "from_number")
                    .with_detail("not a number of the trunk"));
            }
            n
        }
        None => settings
            .as_ref()
            .and_then(|s| s.default_caller_number.clone())
            .filter(|n| trunk_numbers.contains(n))
            .or_else(|| trunk_numbers.first().cloned())
            .ok_or_else(|| ServiceError::field(ErrorCode::Validation, "from_number"))?,
    };
    Ok(Line { trunk_id: trunk.id, from_number })
}

/// A call about to be written: everything checked.
pub(crate) struct NewCall<'a> {
    /// The AI agent on the call, or none on a rep's call (`rep`).
    pub agent: Option<&'a entity::agents::Model>,
    pub rep: Option<Uuid>,
    pub prospect: Option<&'a prospects::Model>,
    pub to_number: String,
    pub line: &'a Line,
    pub extra: &'a BTreeMap<String, String>,
    /// The idempotency key and the request's hash.
    pub idempotency: Option<(&'a str, String)>,
    pub campaign_id: Option<Uuid>,
    /// The script the agent follows, at the version it has now.
    pub script: Option<crate::copilot::scripts::Pin>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Writes the call row and its dial job in `txn` (the caller commits and
/// then wakes the runner): the attempt exists before the dial goes out.
pub(crate) async fn insert<C: sea_orm::ConnectionTrait>(
    txn: &C,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    new: NewCall<'_>,
) -> Result<calls::Model, sea_orm::DbErr> {
    let id = new_id();
    let row = calls::ActiveModel {
        id: Set(id),
        org_id: Set(ctx.org_id()),
        direction: Set("outbound".into()),
        prospect_id: Set(new.prospect.map(|p| p.id)),
        agent_id: Set(new.agent.map(|a| a.id)),
        trunk_id: Set(Some(new.line.trunk_id)),
        to_number: Set(new.to_number),
        from_number: Set(Some(new.line.from_number.clone())),
        status: Set("initiated".into()),
        sip_status: Set(None),
        failure_reason: Set(None),
        room_name: Set(format!("call-{}", id.simple())),
        variables: Set(variables(new.prospect, new.agent.map_or("", |a| a.name.as_str()), new.extra)),
        placed_by_user: Set(ctx.user_id()),
        placed_by_api_key: Set(ctx.api_key_id()),
        idempotency_key: Set(new.idempotency.as_ref().map(|(k, _)| k.to_string())),
        request_hash: Set(new.idempotency.map(|(_, h)| h)),
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
        campaign_id: Set(new.campaign_id),
        script_id: Set(new.script.map(|p| p.id)),
        script_version: Set(new.script.map(|p| p.version)),
        rep_user_id: Set(new.rep),
        created_at: Set(new.at),
        ringing_at: Set(None),
        answered_at: Set(None),
        ended_at: Set(None),
        updated_at: Set(new.at),
    };
    let saved = row.insert(txn).await?;
    crate::analytics::rollup::touch(txn, saved.org_id, saved.created_at).await?;
    let mut job = NewJob::new(DIAL_JOB, Some(ctx.org_id()), json!({ "call_id": id }));
    // Never twice: a dial that may have reached the phone is not retried.
    job.max_attempts = 1;
    job.dedupe_key = Some(format!("dial:{id}"));
    jobs::enqueue(txn, &env.clock, job).await.map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    Ok(saved)
}

fn refused(r: domain::compliance::CallRefusal) -> ServiceError {
    ServiceError::new(ErrorCode::CallNotAllowed).with_detail(r.to_string())
}

/// What the agent may speak with: the prospect's fields, the agent's name
/// and the caller's extra variables.
fn variables(p: Option<&prospects::Model>, agent: &str, extra: &BTreeMap<String, String>) -> Value {
    let prospect = p.map(|p| {
        json!({
            "first_name": p.first_name, "last_name": p.last_name, "company": p.company,
            "title": p.title, "email": p.email, "phone": p.phone,
        })
    });
    json!({ "prospect": prospect, "agent": { "name": agent }, "call": extra })
}

/// Runs dials: room, agent, then the SIP participant, waiting for the answer.
pub struct DialHandler {
    pub env: TelephonyEnv,
    pub bus: EventBus,
}

#[derive(Deserialize)]
struct DialPayload {
    call_id: Uuid,
}

#[async_trait::async_trait]
impl jobs::Handler for DialHandler {
    async fn run(&self, job: &jobs::RunningJob) -> Result<(), JobFailure> {
        let p: DialPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobFailure::Fatal(format!("payload: {e}")))?;
        let org = job.org_id.ok_or_else(|| JobFailure::Fatal("no organisation".into()))?;
        dial(job.db(), &self.env, &self.bus, org, p.call_id).await.map_err(JobFailure::from)
    }

    /// The runner died mid-dial (the job is never retried): whatever LiveKit
    /// says next decides; a call that never got as far as ringing failed.
    async fn gave_up(&self, db: &DatabaseConnection, job: &jobs::JobInfo, payload: &Value) {
        let (Some(org), Some(id)) =
            (job.org_id, payload.get("call_id").and_then(|v| serde_json::from_value::<Uuid>(v.clone()).ok()))
        else {
            return;
        };
        let h = happened(
            &self.env.clock,
            CallEvent::DialFailed { sip_status: None },
            "dial_interrupted",
            json!({}),
            Some("dial_interrupted"),
        );
        if let Err(e) = apply_if_interrupted(db, &self.env, &self.bus, org, id, h).await {
            tracing::warn!(call = %id, error = %e, "interrupted dial not recorded");
        }
    }
}

/// Fails call `id` as interrupted if its dial never reached the phone: still
/// `initiated`, or `ringing` with no SIP participant in its room (the node
/// died between marking it ringing and asking LiveKit). A call whose SIP
/// participant exists is LiveKit's to report (its webhooks end it).
async fn apply_if_interrupted(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    bus: &EventBus,
    org: Uuid,
    id: Uuid,
    h: Happened,
) -> ServiceResult<()> {
    let Some(call) = calls::Entity::find_by_id(id).filter(calls::Column::OrgId.eq(org)).one(db).await? else {
        return Ok(());
    };
    let reached = match call.status.as_str() {
        "initiated" => false,
        "ringing" => {
            let lk = client(db, &OrgCtx::system(org, "dialer"), env).await?;
            match lk.list_participants(&call.room_name).await {
                Ok(people) => people.iter().any(|p| p.kind == proto::participant_info::Kind::Sip as i32),
                Err(e) if e.is_not_found() => false,
                Err(e) => return Err(ServiceError::new(error_code(&e))),
            }
        }
        _ => true,
    };
    if !reached {
        apply(db, env, bus, org, id, h).await?;
    }
    Ok(())
}

fn happened(
    clock: &crate::clock::SharedClock,
    event: CallEvent,
    kind: &str,
    data: Value,
    failure: Option<&str>,
) -> Happened {
    Happened {
        event,
        source: "request",
        kind: kind.into(),
        event_id: None,
        data,
        at: clock.now(),
        failure_reason: failure.map(str::to_string),
    }
}

async fn dial(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    bus: &EventBus,
    org: Uuid,
    id: Uuid,
) -> ServiceResult<()> {
    let ctx = OrgCtx::system(org, "dialer");
    let call = super::find(db, &ctx, id).await?;
    if call.status != "initiated" {
        // Already dialled (or hung up before the dial): never twice.
        return Ok(());
    }
    let failed = |e: &LiveKitError| {
        let code = error_code(e);
        tracing::warn!(call = %id, error = %e, "dial failed");
        happened(
            &env.clock,
            CallEvent::DialFailed { sip_status: e.sip_status() },
            "dial_failed",
            json!({ "code": code.as_str(), "sip_status": e.sip_status() }),
            Some(code.as_str()),
        )
    };
    let lk = match client(db, &ctx, env).await {
        Ok(lk) => lk,
        Err(e) => {
            let h = happened(
                &env.clock,
                CallEvent::DialFailed { sip_status: None },
                "dial_failed",
                json!({"code": e.code.as_str()}),
                Some(e.code.as_str()),
            );
            apply(db, env, bus, org, id, h).await?;
            return Ok(());
        }
    };
    let trunk = match call.trunk_id {
        Some(t) => {
            sip_trunks::Entity::find_by_id(t).filter(sip_trunks::Column::OrgId.eq(org)).one(db).await?
        }
        None => None,
    };
    let Some(trunk) = trunk else {
        let h = happened(
            &env.clock,
            CallEvent::DialFailed { sip_status: None },
            "dial_failed",
            json!({}),
            Some("trunk_missing"),
        );
        apply(db, env, bus, org, id, h).await?;
        return Ok(());
    };
    let plan = super::recording::plan(db, env, org, call.agent_id).await?;
    let meta = json!({ "call_id": id, "org_id": org, "agent_id": call.agent_id }).to_string();
    // The worker speaks the disclosure first, and knows whether it is recorded.
    // A rep's call gets the same worker in listen-only mode: it transcribes
    // both sides for the copilot and speaks no word.
    let mode =
        if call.rep_user_id.is_some() { super::voice::MODE_TRANSCRIBE } else { super::voice::MODE_AGENT };
    let job_meta = json!({
        "call_id": id,
        "org_id": org,
        "agent_id": call.agent_id,
        "mode": mode,
        "recorded": plan.bucket.is_some(),
        "recording_disclosure": plan.disclosure,
    })
    .to_string();
    let room = proto::CreateRoomRequest {
        name: call.room_name.clone(),
        metadata: meta.clone(),
        // Closed soon after everyone leaves: `room_finished` ends the call.
        empty_timeout: 30,
        departure_timeout: 10,
        ..Default::default()
    };
    let prepared = async {
        lk.create_room(room).await?;
        lk.create_dispatch(proto::CreateAgentDispatchRequest {
            agent_name: AGENT_NAME.into(),
            room: call.room_name.clone(),
            metadata: job_meta,
            ..Default::default()
        })
        .await
    }
    .await;
    if let Err(e) = prepared {
        apply(db, env, bus, org, id, failed(&e)).await?;
        let _ = lk.delete_room(&call.room_name).await;
        return Ok(());
    }
    // Ringing is stored before the dial: a runner that dies past this point
    // leaves a call that is never dialled twice.
    apply(
        db,
        env,
        bus,
        org,
        id,
        happened(&env.clock, CallEvent::Ringing, "dialing", json!({ "to": call.to_number }), None),
    )
    .await?;
    let req = proto::CreateSipParticipantRequest {
        sip_trunk_id: trunk.livekit_trunk_id.clone(),
        sip_call_to: call.to_number.clone(),
        sip_number: call.from_number.clone().unwrap_or_default(),
        room_name: call.room_name.clone(),
        participant_identity: "callee".into(),
        participant_name: "Callee".into(),
        participant_metadata: meta,
        wait_until_answered: true,
        ringing_timeout: Some(pbjson_types::Duration { seconds: RINGING_TIMEOUT.as_secs() as i64, nanos: 0 }),
        ..Default::default()
    };
    match lk.create_sip_participant(req).await {
        Ok(p) => {
            let data = json!({ "participant": p.participant_identity, "sip_call_id": p.sip_call_id });
            apply(
                db,
                env,
                bus,
                org,
                id,
                happened(&env.clock, CallEvent::Answered, "dial_answered", data, None),
            )
            .await?;
            super::recording::start(db, bus, &lk, &call, &plan).await?;
        }
        Err(e) => {
            apply(db, env, bus, org, id, failed(&e)).await?;
            let _ = lk.delete_room(&call.room_name).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_request_same_hash_whatever_the_spacing() {
        let a =
            PlaceCall { to_number: Some("+33612345678".into()), agent_id: Uuid::nil(), ..Default::default() };
        let b = PlaceCall { to_number: Some(" +33612345678 ".into()), ..a.clone() };
        let c = PlaceCall { to_number: Some("+33612345679".into()), ..a.clone() };
        assert_eq!(request_hash(&a), request_hash(&b));
        assert_ne!(request_hash(&a), request_hash(&c));
        // A script is part of the request; without one, the hash is what
        // it was before scripts existed (stored keys still match).
        let d = PlaceCall { script_id: Some(Uuid::nil()), ..a.clone() };
        assert_ne!(request_hash(&a), request_hash(&d));
        // Pinned: the same in every build, whatever serde_json's map order.
        assert_eq!(request_hash(&a), "b6a3c45976578c376f1488987d54cb0c81789bc0e28139d9fd8d6a77bd370bf8");
    }

    #[test]
    fn keys_and_variables_are_checked() {
        assert!(check_key("order-42_retry").is_ok());
        for bad in ["", "has space", "é", &"k".repeat(KEY_MAX + 1)] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
        let ok: BTreeMap<String, String> = [("offer".to_string(), "20 % off".to_string())].into();
        assert!(check_variables(&ok).is_ok());
        let bad: BTreeMap<String, String> = [("Offer-1".to_string(), "x".to_string())].into();
        assert!(check_variables(&bad).is_err());
        let long: BTreeMap<String, String> = [("a".to_string(), "x".repeat(VARIABLE_CHARS + 1))].into();
        assert!(check_variables(&long).is_err());
    }
}
