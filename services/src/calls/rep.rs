//! Reps calling from the copilot: the rep presses Call on a prospect and
//! talks from the browser. The call takes the path every call takes
//! (`place`'s checks, its row and dial job, the lifecycle LiveKit's
//! webhooks drive), with the rep where an AI agent would be:
//!
//! - the call row names the rep (`rep_user_id`) and no agent, and the
//!   copilot session that follows it is written in the same transaction;
//! - the dial dispatches the voice worker in listen-only mode (it
//!   transcribes both sides into the session and onto the call);
//! - the rep joins the room with a token that may publish a microphone and
//!   data (DTMF) and nothing else, shown under their name;
//! - hold is done by the server (the callee is unsubscribed from the rep's
//!   tracks and the rep from the callee's), so it holds whatever the page does;
//! - the rep leaving the room for good hangs up (the callee is not left
//!   talking to nobody).

use chrono::{DateTime, Utc};
use domain::call::CallStatus;
use domain::call_views::{HoldState, RepCall, RepCallRequest, RoomAccess};
use domain::copilot::outcome::OutcomeReport;
use domain::{ErrorCode, Permission};
use entity::{call_events, calls};
use livekit_protocol as proto;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;

use super::control::CALLEE;
use super::lifecycle::{apply, Happened};
use super::listen::{client_url, TOKEN_TTL};
use super::place::{insert, line, NewCall};
use super::{find, status_of, view};
use crate::authz::OrgCtx;
use crate::events::EventBus;
use crate::telephony::livekit::{LiveKit, LiveKitError, RoomRole};
use crate::telephony::settings::{client, error_code};
use crate::telephony::TelephonyEnv;
use crate::{now, ServiceError, ServiceResult};

/// The rep's identity in their call's room: the transcriber knows the rep's
/// track by it, and a whisper is addressed to it.
pub fn rep_identity(user: Uuid) -> String {
    format!("rep-{}", user.simple())
}

/// Whether `identity` is a rep's.
pub fn is_rep_identity(identity: &str) -> bool {
    identity.strip_prefix("rep-").is_some_and(|u| Uuid::try_parse(u).is_ok())
}

async fn user_name<C: ConnectionTrait>(db: &C, user: Uuid) -> ServiceResult<String> {
    Ok(entity::users::Entity::find_by_id(user).one(db).await?.map(|u| u.name).unwrap_or_default())
}

/// The person behind `ctx`: a rep's call is a person's, never an API key's.
fn person(ctx: &OrgCtx) -> ServiceResult<Uuid> {
    ctx.user_id().ok_or_else(|| {
        ServiceError::new(ErrorCode::Forbidden).with_detail("a rep's call is placed by a person")
    })
}

/// Places a rep's call to a prospect; see the module. Returns at once: the
/// dial runs on the job runner while the rep's page joins the room.
pub async fn place(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    req: RepCallRequest,
) -> ServiceResult<RepCall> {
    let lang = req.language.unwrap_or_default();
    ctx.require(Permission::UseWorkspace)?;
    let user = person(ctx)?;
    // One call at a time: a second press (or a second tab) is refused
    // rather than dialling the prospect twice.
    let busy = calls::Entity::find()
        .filter(calls::Column::OrgId.eq(ctx.org_id()))
        .filter(calls::Column::RepUserId.eq(user))
        .filter(calls::Column::Status.is_in(CallStatus::LIVE.iter().map(|s| s.as_str())))
        .one(db)
        .await?;
    if let Some(live) = busy {
        return Err(ServiceError::new(ErrorCode::Conflict).with_detail(format!("on call {}", live.id)));
    }
    crate::billing::quota::allows(db, &env.billing, ctx.org_id(), domain::billing::usage::Spend::Call)
        .await?;
    let at = env.clock.now();
    let prospect = crate::prospects::find(db, ctx, req.prospect_id).await.map_err(|e| match e.code {
        ErrorCode::NotFound => ServiceError::field(ErrorCode::NotFound, "prospect_id"),
        _ => e,
    })?;
    crate::prospects::compliance::may_call(db, ctx, prospect.id, at)
        .await?
        .map_err(|r| ServiceError::new(ErrorCode::CallNotAllowed).with_detail(r.to_string()))?;
    let line = line(db, ctx, env, req.trunk_id, req.from_number.as_deref()).await?;
    // The script the session will follow (the default one in `lang`), read before anything is written.
    let script = crate::copilot::scripts::for_session(db, ctx, req.script_id, lang).await?;
    let lk = client(db, ctx, env).await?;
    let name = user_name(db, user).await?;

    let extra = Default::default();
    let new = NewCall {
        agent: None,
        rep: Some(user),
        prospect: Some(&prospect),
        to_number: prospect.phone.clone().unwrap_or_default(),
        line: &line,
        extra: &extra,
        idempotency: None,
        campaign_id: None,
        script: Some(crate::copilot::scripts::Pin { id: script.0.id, version: script.0.version }),
        at,
    };
    let txn = crate::db::begin_write(db).await?;
    let call = insert(&txn, ctx, env, new).await?;
    let session = crate::copilot::sessions::insert_for_call(&txn, ctx, prospect.id, &script, call.id).await?;
    txn.commit().await?;
    env.wake_runner();
    let access = rep_access(&lk, &call, user, &name)?;
    Ok(RepCall { call: view(&call), session_id: session.id, access, hold: None })
}

fn rep_access(lk: &LiveKit, call: &calls::Model, user: Uuid, name: &str) -> ServiceResult<RoomAccess> {
    let identity = rep_identity(user);
    let token = lk
        .project()
        .role_token(&identity, name, &call.room_name, RoomRole::Rep, &[], TOKEN_TTL)
        .map_err(|e| ServiceError::new(error_code(&e)))?;
    Ok(RoomAccess {
        url: client_url(&lk.project().url),
        token,
        room: call.room_name.clone(),
        identity,
        expires_at: now() + chrono::Duration::seconds(TOKEN_TTL.as_secs() as i64),
    })
}

/// The rep's own live call `id`, or not found (another rep's call is not
/// theirs to join, hold or rejoin).
async fn own_live_call(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<(Uuid, calls::Model)> {
    ctx.require(Permission::UseWorkspace)?;
    let user = person(ctx)?;
    let call = find(db, ctx, id).await?;
    if call.rep_user_id != Some(user) {
        return Err(ServiceError::not_found());
    }
    if status_of(&call).is_final() {
        return Err(ServiceError::new(ErrorCode::InvalidTransition).with_detail("the call has ended"));
    }
    Ok((user, call))
}

/// A fresh way back into the rep's own live call (the page was reloaded).
pub async fn join(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    id: Uuid,
) -> ServiceResult<RepCall> {
    let (user, call) = own_live_call(db, ctx, id).await?;
    let session =
        crate::copilot::sessions::of_call(db, ctx, call.id).await?.ok_or_else(ServiceError::not_found)?;
    let lk = client(db, ctx, env).await?;
    let access = rep_access(&lk, &call, user, &user_name(db, user).await?)?;
    let hold = hold_of(db, call.id).await?;
    Ok(RepCall { call: view(&call), session_id: session.id, access, hold })
}

/// The rep's live call, if they are on one (the copilot reopens it).
pub async fn current(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
) -> ServiceResult<Option<RepCall>> {
    ctx.require(Permission::UseWorkspace)?;
    let user = person(ctx)?;
    let live = calls::Entity::find()
        .filter(calls::Column::OrgId.eq(ctx.org_id()))
        .filter(calls::Column::RepUserId.eq(user))
        .filter(calls::Column::Status.is_in(CallStatus::LIVE.iter().map(|s| s.as_str())))
        .one(db)
        .await?;
    match live {
        Some(c) => join(db, ctx, env, c.id).await.map(Some),
        None => Ok(None),
    }
}

/// The audio tracks `identity` publishes in `people`.
fn tracks_of(people: &[proto::ParticipantInfo], identity: &str) -> Vec<String> {
    people
        .iter()
        .filter(|p| p.identity == identity)
        .flat_map(|p| p.tracks.iter())
        .filter(|t| t.r#type == proto::TrackType::Audio as i32)
        .map(|t| t.sid.clone())
        .collect()
}

/// Puts the rep's call on hold (or takes it off): the rep stops receiving
/// the callee's voice, and the callee the rep's microphone — unless the
/// rep's page plays hold music on it (`music`), which the callee then
/// hears. On the timeline.
pub async fn hold(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    id: Uuid,
    on: bool,
    music: bool,
) -> ServiceResult<()> {
    let (user, call) = own_live_call(db, ctx, id).await?;
    if !status_of(&call).was_answered() {
        return Err(ServiceError::new(ErrorCode::InvalidTransition).with_detail("not answered yet"));
    }
    let lk = client(db, ctx, env).await?;
    apply_hold(&lk, &call.room_name, &rep_identity(user), on, music).await.map_err(|e| upstream(&e))?;
    let kind = if on { "held" } else { "resumed" };
    let data = json!({ "by_user": user, "music": on && music });
    super::lifecycle::note(db, &call, "user", kind, data).await
}

/// The subscriptions a hold is made of, as the room is now: `rep` stops
/// (or starts again) receiving the callee, and the callee `rep` — unless
/// the page plays music on the rep's track (`music`).
async fn apply_hold(lk: &LiveKit, room: &str, rep: &str, on: bool, music: bool) -> Result<(), LiveKitError> {
    let people = lk.list_participants(room).await?;
    let (rep_tracks, callee_tracks) = (tracks_of(&people, rep), tracks_of(&people, CALLEE));
    // With music the callee keeps the rep's track (the page plays music on
    // it); a resume gives it back either way.
    let cut_rep = !(on && music);
    if cut_rep && !rep_tracks.is_empty() {
        lk.update_subscriptions(room, CALLEE, rep_tracks, !on).await?;
    }
    if !callee_tracks.is_empty() {
        lk.update_subscriptions(room, rep, callee_tracks, !on).await?;
    }
    Ok(())
}

/// Whether the call is on hold now — the last hold or resume on its
/// timeline — and with music.
async fn hold_of<C: ConnectionTrait>(db: &C, call_id: Uuid) -> ServiceResult<Option<HoldState>> {
    let last = call_events::Entity::find()
        .filter(call_events::Column::CallId.eq(call_id))
        .filter(call_events::Column::Kind.is_in(["held", "resumed"]))
        .order_by_desc(call_events::Column::At)
        .order_by_desc(call_events::Column::Id)
        .one(db)
        .await?;
    Ok(last.filter(|e| e.kind == "held").map(|e| HoldState {
        music: e.data.get("music").and_then(serde_json::Value::as_bool).unwrap_or(false),
    }))
}

/// The rep's participant published a track while the call is on hold: their
/// page joined again (a reload, or the SDK's full reconnect), and LiveKit
/// subscribes a newcomer to everyone. The hold is made again for the new
/// participant, so the prospect stays held whatever the page did.
pub(crate) async fn keep_hold(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    call: &calls::Model,
) -> ServiceResult<()> {
    let Some(user) = call.rep_user_id else { return Ok(()) };
    if status_of(call).is_final() {
        return Ok(());
    }
    let Some(hold) = hold_of(db, call.id).await? else { return Ok(()) };
    let ctx = OrgCtx::system(call.org_id, "rep_hold");
    let lk = client(db, &ctx, env).await?;
    match apply_hold(&lk, &call.room_name, &rep_identity(user), true, hold.music).await {
        // The room or the participant gone meanwhile (the call ending, the
        // page leaving again): nothing left to hold.
        Err(e) if e.is_not_found() => Ok(()),
        // Anything else: the webhook fails, and LiveKit delivers it again.
        r => r.map_err(|e| upstream(&e)),
    }
}

fn upstream(e: &LiveKitError) -> ServiceError {
    tracing::warn!(error = %e, "LiveKit call control failed");
    ServiceError::new(error_code(e))
}

/// The outcome a rep gave when ending the copilot session, on its call
/// (in the session's transaction). An outcome already set on the call page
/// stays; the rep's notes and callback go with theirs.
pub(crate) async fn outcome_from_session<C: ConnectionTrait>(
    txn: &C,
    ctx: &OrgCtx,
    call_id: Uuid,
    report: &OutcomeReport,
    notes: &str,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    calls::Entity::update_many()
        .col_expr(calls::Column::Outcome, Expr::value(Some(report.outcome.as_str())))
        .col_expr(calls::Column::CallbackAt, Expr::value(report.callback_at))
        .col_expr(calls::Column::Notes, Expr::value(notes.to_string()))
        .col_expr(calls::Column::UpdatedAt, Expr::value(at))
        .filter(calls::Column::Id.eq(call_id))
        .filter(calls::Column::OrgId.eq(ctx.org_id()))
        .filter(calls::Column::Outcome.is_null())
        .exec(txn)
        .await?;
    if let Some(call) = calls::Entity::find_by_id(call_id).one(txn).await? {
        crate::analytics::rollup::touch(txn, call.org_id, call.created_at).await?;
    }
    Ok(())
}

/// The job that decides, once the grace has passed, whether a rep who left
/// their call's room is gone for good ([`RepGoneHandler`]).
pub const REP_GONE_JOB: &str = "calls.rep_gone";

/// The rep's participant left their call's room. That is not yet the rep
/// gone: LiveKit's browser SDK, after a network change it cannot resume
/// from, leaves and joins again as a new participant of the same identity.
/// So the call is checked again after `env.rep_rejoin_grace`, durably (the
/// node that heard the webhook may not be the one that checks), once per
/// departing participant however often the webhook arrives.
pub(crate) async fn rep_left(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    call: &calls::Model,
    identity: &str,
    participant_sid: &str,
) -> ServiceResult<()> {
    if status_of(call).is_final() || call.rep_user_id.map(rep_identity).as_deref() != Some(identity) {
        return Ok(());
    }
    let grace = chrono::Duration::from_std(env.rep_rejoin_grace).unwrap_or_default();
    let mut job = crate::jobs::NewJob::new(
        REP_GONE_JOB,
        Some(call.org_id),
        json!({ "call_id": call.id, "identity": identity }),
    );
    job.run_at = Some(env.clock.now() + grace);
    job.dedupe_key = Some(format!("rep_gone:{}:{participant_sid}", call.id));
    crate::jobs::enqueue(db, &env.clock, job).await?;
    if grace.is_zero() {
        env.wake_runner();
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct RepGonePayload {
    call_id: Uuid,
    identity: String,
}

/// Runs [`REP_GONE_JOB`]: unless the rep is back in the room (or the call
/// is over), the call is hung up, as the rep would — the callee is not left
/// talking to nobody.
pub struct RepGoneHandler {
    pub env: TelephonyEnv,
    pub bus: EventBus,
}

#[async_trait::async_trait]
impl crate::jobs::Handler for RepGoneHandler {
    async fn run(&self, job: &crate::jobs::RunningJob) -> Result<(), crate::jobs::JobFailure> {
        let p: RepGonePayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| crate::jobs::JobFailure::Fatal(format!("payload: {e}")))?;
        rep_gone(job.db(), &self.env, &self.bus, p.call_id, &p.identity).await.map_err(Into::into)
    }
}

async fn rep_gone(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    bus: &EventBus,
    call_id: Uuid,
    identity: &str,
) -> ServiceResult<()> {
    let Some(call) = calls::Entity::find_by_id(call_id).one(db).await? else { return Ok(()) };
    if status_of(&call).is_final() {
        return Ok(());
    }
    let ctx = OrgCtx::system(call.org_id, "rep_left");
    let lk = client(db, &ctx, env).await?;
    let people = match lk.list_participants(&call.room_name).await {
        Ok(people) => people,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(upstream(&e)),
    };
    if people.iter().any(|p| p.identity == identity) {
        return Ok(());
    }
    match lk.delete_room(&call.room_name).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(upstream(&e)),
    }
    let h = Happened {
        event: domain::call::CallEvent::HungUp,
        source: "webhook",
        kind: "rep_left".into(),
        event_id: None,
        data: json!({ "identity": identity }),
        at: env.clock.now(),
        failure_reason: None,
    };
    apply(db, env, bus, call.org_id, call.id, h).await?;
    Ok(())
}

/// A whisper's track was published: whatever the manager's page did, the
/// callee (and any other machine in the room: the transcriber, a recorder)
/// is unsubscribed from it. Only people of ours hear a whisper.
pub(crate) async fn guard_whisper(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    call: &calls::Model,
    track_sid: &str,
) -> ServiceResult<usize> {
    let ctx = OrgCtx::system(call.org_id, "whisper_guard");
    let lk = client(db, &ctx, env).await?;
    let people = lk.list_participants(&call.room_name).await.map_err(|e| upstream(&e))?;
    let machines = people.iter().filter(|p| p.kind != proto::participant_info::Kind::Standard as i32);
    let mut guarded = 0;
    let mut failed = None;
    for p in machines {
        // One participant gone meanwhile must not leave the others subscribed.
        match lk.update_subscriptions(&call.room_name, &p.identity, vec![track_sid.to_string()], false).await
        {
            Ok(()) => guarded += 1,
            Err(e) if e.is_not_found() => {}
            Err(e) => failed = Some(e),
        }
    }
    // Anything else: the webhook fails, and LiveKit delivers it again.
    match failed {
        Some(e) => Err(upstream(&e)),
        None => Ok(guarded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rep_identities_name_a_user() {
        let u = Uuid::now_v7();
        assert!(is_rep_identity(&rep_identity(u)));
        for other in ["callee", "rep-", "rep-x", "listener-abc", "whisper-1"] {
            assert!(!is_rep_identity(other), "{other}");
        }
    }

    #[test]
    fn hold_takes_only_audio_tracks_of_the_named_participant() {
        let track = |sid: &str, t: proto::TrackType| proto::TrackInfo {
            sid: sid.into(),
            r#type: t as i32,
            ..Default::default()
        };
        let people = vec![
            proto::ParticipantInfo {
                identity: "rep-1".into(),
                tracks: vec![track("TR_a", proto::TrackType::Audio), track("TR_v", proto::TrackType::Video)],
                ..Default::default()
            },
            proto::ParticipantInfo {
                identity: "callee".into(),
                tracks: vec![track("TR_c", proto::TrackType::Audio)],
                ..Default::default()
            },
        ];
        assert_eq!(tracks_of(&people, "rep-1"), vec!["TR_a".to_string()]);
        assert_eq!(tracks_of(&people, "callee"), vec!["TR_c".to_string()]);
        assert!(tracks_of(&people, "nobody").is_empty());
    }
}
