//! Recording a call: decided when it is dialled (the agent's choice, else
//! the organisation's), started once the callee answers (an audio-only
//! room-composite egress writing Ogg to the organisation's bucket), finished
//! by LiveKit's `egress_ended` webhook (the object key and duration stored),
//! played through this server (the page's player) or a short-lived presigned
//! address (the API), given only to members of the call's organisation.
//!
//! A recording that cannot start never fails the call: the call's timeline
//! says why.

use std::time::Duration;

use domain::agent::AgentSettings;
use domain::{ErrorCode, Permission};
use entity::{agents, call_events, calls};
use livekit_protocol as proto;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::lifecycle::{CallUpdate, CALLS_TOPIC};
use crate::authz::OrgCtx;
use crate::events::EventBus;
use crate::telephony::bucket::Bucket;
use crate::telephony::livekit::LiveKit;
use crate::telephony::recording_settings::{bucket_of, check_reachable, row as settings_row};
use crate::telephony::settings::error_code;
use crate::telephony::TelephonyEnv;
use crate::{new_id, now, ServiceError, ServiceResult};

pub use domain::telephony::RecordingLink;

/// How long a playback address lives: long enough to start playing and
/// seek, short enough that a copied link soon stops working.
pub const LINK_TTL: Duration = Duration::from_secs(300);

/// Recordings are Ogg (Opus), as LiveKit's audio-only egress writes them.
pub const CONTENT_TYPE: &str = "audio/ogg";

/// Every object of an organisation's recordings is under this prefix.
pub fn prefix(org: Uuid) -> String {
    format!("recordings/{org}")
}

pub fn object_key(org: Uuid, call: Uuid) -> String {
    format!("{}/{}.ogg", prefix(org), call.simple())
}

/// What a dial does about recording.
pub(crate) struct Plan {
    /// Where to record to, when the call is recorded.
    pub bucket: Option<Bucket>,
    /// Recording was asked for but cannot be done: why.
    pub refused: Option<ErrorCode>,
    /// Spoken first by the agent.
    pub disclosure: Option<String>,
}

/// Decides, for a call by `agent_id` of `org`.
pub(crate) async fn plan(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    org: Uuid,
    agent_id: Option<Uuid>,
) -> ServiceResult<Plan> {
    let settings: Option<AgentSettings> = match agent_id {
        Some(id) => agents::Entity::find_by_id(id)
            .filter(agents::Column::OrgId.eq(org))
            .one(db)
            .await?
            .and_then(|a| serde_json::from_value(a.settings).ok()),
        None => None,
    };
    let org_row = settings_row(db, org).await?;
    let org_default = org_row.as_ref().is_some_and(|r| r.record_calls);
    let wanted = settings.as_ref().map_or(org_default, |s| s.recording.records(org_default));
    let disclosure = settings.and_then(|s| s.recording_disclosure);
    if !wanted {
        return Ok(Plan { bucket: None, refused: None, disclosure });
    }
    let bucket = match &org_row {
        Some(r) => bucket_of(r, env)?,
        None => None,
    };
    let Some(bucket) = bucket else {
        return Ok(Plan {
            bucket: None,
            refused: Some(ErrorCode::RecordingStorageNotConfigured),
            disclosure,
        });
    };
    if let Err(e) = check_reachable(env, &bucket).await {
        return Ok(Plan { bucket: None, refused: Some(e.code), disclosure });
    }
    Ok(Plan { bucket: Some(bucket), refused: None, disclosure })
}

/// Starts recording an answered call; the outcome lands on its timeline.
pub(crate) async fn start(
    db: &DatabaseConnection,
    bus: &EventBus,
    lk: &LiveKit,
    call: &calls::Model,
    plan: &Plan,
) -> ServiceResult<()> {
    if let Some(code) = plan.refused {
        let change = Change { status: "failed", error: Some(code.as_str().into()), ..Default::default() };
        note(db, bus, call.id, "recording_failed", "request", None, json!({ "code": code.as_str() }), change)
            .await?;
        return Ok(());
    }
    let Some(bucket) = &plan.bucket else { return Ok(()) };
    let key = object_key(call.org_id, call.id);
    let req = proto::RoomCompositeEgressRequest {
        room_name: call.room_name.clone(),
        audio_only: true,
        file_outputs: vec![proto::EncodedFileOutput {
            file_type: proto::EncodedFileType::Ogg as i32,
            filepath: key.clone(),
            output: Some(proto::encoded_file_output::Output::S3(bucket.upload())),
            ..Default::default()
        }],
        ..Default::default()
    };
    match lk.start_room_composite_egress(req).await {
        Ok(info) => {
            let change =
                Change { status: "recording", egress_id: Some(info.egress_id.clone()), ..Default::default() };
            let data = json!({ "egress_id": info.egress_id, "key": key });
            note(db, bus, call.id, "recording_started", "request", None, data, change).await?;
        }
        Err(e) => {
            tracing::warn!(call = %call.id, error = %e, "recording not started");
            let code = error_code(&e);
            let change = Change { status: "failed", error: Some(code.as_str().into()), ..Default::default() };
            note(
                db,
                bus,
                call.id,
                "recording_failed",
                "request",
                None,
                json!({ "code": code.as_str() }),
                change,
            )
            .await?;
        }
    }
    Ok(())
}

/// What a recording event changes on the call.
#[derive(Default)]
struct Change {
    status: &'static str,
    egress_id: Option<String>,
    error: Option<String>,
    key: Option<String>,
    duration_ms: Option<i64>,
}

/// What became of an egress webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EgressApplied {
    Recorded,
    /// Already applied (the same webhook id).
    Duplicate,
    /// Not this call's recording (another egress of the room).
    Unrelated,
}

/// Applies LiveKit's `egress_started` / `egress_updated` / `egress_ended`
/// for `call`. The file must be where this call's recording was asked to go.
pub(crate) async fn egress_event(
    db: &DatabaseConnection,
    bus: &EventBus,
    call: &calls::Model,
    ev: &proto::WebhookEvent,
) -> ServiceResult<EgressApplied> {
    let Some(info) = ev.egress_info.as_ref() else { return Ok(EgressApplied::Unrelated) };
    if call.recording_egress_id.as_deref().is_some_and(|id| id != info.egress_id) {
        return Ok(EgressApplied::Unrelated);
    }
    use proto::EgressStatus as S;
    let status = S::try_from(info.status).unwrap_or(S::EgressFailed);
    let file = info.file_results.first();
    let expected = object_key(call.org_id, call.id);
    let change = match status {
        S::EgressStarting | S::EgressActive | S::EgressEnding => {
            Change { status: "recording", egress_id: Some(info.egress_id.clone()), ..Default::default() }
        }
        S::EgressComplete | S::EgressLimitReached => match file {
            Some(f) if f.filename == expected => Change {
                status: "ready",
                egress_id: Some(info.egress_id.clone()),
                key: Some(f.filename.clone()),
                duration_ms: Some(f.duration / 1_000_000),
                ..Default::default()
            },
            // Written somewhere else than asked: never played from there.
            _ => Change { status: "failed", error: Some("recording_misplaced".into()), ..Default::default() },
        },
        S::EgressFailed | S::EgressAborted => {
            Change { status: "failed", error: Some("recording_failed".into()), ..Default::default() }
        }
    };
    let data = json!({
        "egress_id": info.egress_id,
        "status": status.as_str_name(),
        "file": file.map(|f| json!({ "filename": f.filename, "duration_ms": f.duration / 1_000_000, "size": f.size })),
    });
    let id = Some(ev.id.clone()).filter(|i| !i.is_empty());
    if !note(db, bus, call.id, &ev.event, "webhook", id, data, change).await? {
        return Ok(EgressApplied::Duplicate);
    }
    Ok(EgressApplied::Recorded)
}

/// Keeps `kind` on the call's timeline and applies `change`, in one
/// transaction; false when this webhook was already applied.
#[allow(clippy::too_many_arguments)]
async fn note(
    db: &DatabaseConnection,
    bus: &EventBus,
    call_id: Uuid,
    kind: &str,
    source: &str,
    event_id: Option<String>,
    data: Value,
    change: Change,
) -> ServiceResult<bool> {
    let txn = crate::db::begin_write(db).await?;
    let Some(call) = calls::Entity::find_by_id(call_id).one(&txn).await? else {
        return Err(ServiceError::new(ErrorCode::NotFound));
    };
    let entry = call_events::ActiveModel {
        id: Set(new_id()),
        call_id: Set(call.id),
        org_id: Set(call.org_id),
        source: Set(source.into()),
        kind: Set(kind.into()),
        event_id: Set(event_id.clone()),
        from_status: Set(call.status.clone()),
        to_status: Set(call.status.clone()),
        ignored: Set(None),
        data: Set(data),
        at: Set(now()),
    };
    if let Err(e) = call_events::Entity::insert(entry).exec_without_returning(&txn).await {
        if event_id.is_some() && crate::db::is_unique_violation(&e) {
            return Ok(false);
        }
        return Err(e.into());
    }
    // A late "started" never undoes a finished recording.
    let finished = matches!(call.recording_status.as_deref(), Some("ready" | "failed"));
    if finished && change.status == "recording" {
        txn.commit().await?;
        return Ok(true);
    }
    let mut m: calls::ActiveModel = call.clone().into();
    m.recording_status = Set(Some(change.status.into()));
    if let Some(id) = change.egress_id {
        m.recording_egress_id = Set(Some(id));
    }
    m.recording_error = Set(change.error);
    if change.key.is_some() {
        m.recording_key = Set(change.key);
        m.recording_duration_ms = Set(change.duration_ms);
    }
    m.updated_at = Set(now());
    let updated = m.update(&txn).await?;
    txn.commit().await?;
    let update = CallUpdate { call: super::view(&updated) };
    if let Err(e) = bus.publish(updated.org_id, CALLS_TOPIC, &update).await {
        tracing::warn!(call = %call_id, error = %e, "recording update not published");
    }
    Ok(true)
}

/// The signed address of call `id`'s recording, for a member of its
/// organisation; the access is audited when `audit`.
async fn signed(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    id: Uuid,
    audit: bool,
) -> ServiceResult<(calls::Model, Bucket, url::Url)> {
    ctx.require(Permission::UseWorkspace)?;
    let call = super::find(db, ctx, id).await?;
    let (Some("ready"), Some(key)) = (call.recording_status.as_deref(), call.recording_key.as_deref()) else {
        return Err(ServiceError::new(ErrorCode::NotFound).with_detail("recording"));
    };
    let bucket = match settings_row(db, ctx.org_id()).await? {
        Some(r) => bucket_of(&r, env)?,
        None => None,
    };
    let bucket = bucket.ok_or_else(|| ServiceError::new(ErrorCode::RecordingStorageNotConfigured))?;
    let url = bucket.presign_get(key, LINK_TTL, CONTENT_TYPE);
    if audit {
        crate::audit::record(
            db,
            ctx.org_id(),
            ctx,
            crate::audit::action::RECORDING_PLAYED,
            Some(call.id),
            json!({ "call_id": call.id }),
        )
        .await?;
    }
    Ok((call, bucket, url))
}

/// The recording's bytes, fetched from the bucket by this server (through
/// the egress policy) for the page's player: the bucket's address never
/// reaches the browser, and the page needs no other origin for media.
/// `range` is the player's `Range` header (seeking); only the first piece
/// of a playback is audited.
pub async fn open(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    id: Uuid,
    range: Option<&str>,
) -> ServiceResult<reqwest::Response> {
    let range = range.map(str::trim).filter(|r| !r.is_empty());
    if range.is_some_and(|r| {
        r.len() > 100
            || !r.starts_with("bytes=")
            || !r[6..].bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b',')
    }) {
        return Err(ServiceError::field(ErrorCode::Validation, "range"));
    }
    let first = range.is_none_or(|r| r.starts_with("bytes=0-"));
    let (_, bucket, url) = signed(db, ctx, env, id, first).await?;
    // Each seek comes here: the egress client's resolver checks names as it
    // connects, so only an address literal needs checking first (no DNS
    // lookup of our own per request).
    env.egress
        .check_url(&bucket.endpoint)
        .map_err(|_| ServiceError::field(ErrorCode::ProviderAddressRefused, "endpoint"))?;
    let mut req = env.egress.client().get(url).timeout(Duration::from_secs(60));
    if let Some(r) = range {
        req = req.header(reqwest::header::RANGE, r);
    }
    let res = req.send().await.map_err(|e| {
        if providers::egress::is_refused(&e) {
            return ServiceError::field(ErrorCode::ProviderAddressRefused, "endpoint");
        }
        tracing::warn!(call = %id, error = %e, "recording not fetched");
        ServiceError::new(if e.is_timeout() {
            ErrorCode::ProviderTimeout
        } else {
            ErrorCode::ProviderUnavailable
        })
    })?;
    match res.status().as_u16() {
        200 | 206 => Ok(res),
        416 => Err(ServiceError::field(ErrorCode::OutOfRange, "range")),
        404 => Err(ServiceError::new(ErrorCode::NotFound).with_detail("recording")),
        s => {
            tracing::warn!(call = %id, status = s, "the bucket refused the recording");
            Err(ServiceError::new(ErrorCode::ProviderUnavailable))
        }
    }
}

/// A short-lived address to play or download call `id`'s recording, for a
/// member of its organisation; the access is audited.
pub async fn link(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    id: Uuid,
) -> ServiceResult<RecordingLink> {
    let (call, _, url) = signed(db, ctx, env, id, true).await?;
    Ok(RecordingLink {
        url: url.to_string(),
        expires_at: now() + chrono::Duration::seconds(LINK_TTL.as_secs() as i64),
        duration_ms: call.recording_duration_ms,
        content_type: CONTENT_TYPE.into(),
    })
}
