//! LiveKit's webhooks: verified before anything is read (the
//! `Authorization` JWT, signed with the project's secret, carries the body's
//! SHA-256), then turned into call events.
//!
//! The token's issuer is the API key: the server's own project, or the
//! organisations whose project uses that key. A call is only ever touched
//! for an organisation whose secret signed the webhook.

use domain::call::CallEvent;
use domain::call_views::SuperviseMode;
use entity::{calls, telephony_settings};
use livekit_api::access_token::{Claims, TokenVerifier};
use livekit_api::webhooks::WebhookReceiver;
use livekit_protocol as proto;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use super::lifecycle::{apply_locked, locked, Applied, Happened};
use crate::events::EventBus;
use crate::telephony::TelephonyEnv;
use crate::ServiceResult;

/// Bodies larger than this are refused before they are hashed.
pub const BODY_MAX: usize = 256 * 1024;

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No token, an unknown key, a bad signature or hash, an expired token.
    Unauthorized,
    /// Signed, but not a webhook event we can read.
    Malformed,
}

/// What became of a verified webhook.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Applied(Applied),
    /// About the call's recording.
    Recording(super::recording::EgressApplied),
    /// Not about a call of ours (another room, an event we do not follow).
    Unrelated,
}

/// Who signed: the server's project, or these organisations.
enum Signer {
    Server,
    Orgs(Vec<Uuid>),
}

async fn signer(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    body: &str,
    auth: &str,
) -> ServiceResult<Option<(Signer, proto::WebhookEvent)>> {
    let Ok(claims) = Claims::from_unverified(auth) else { return Ok(None) };
    let receive = |key: &str, secret: &str| {
        WebhookReceiver::new(TokenVerifier::with_api_key(key, secret)).receive(body, auth)
    };
    if let Some(p) = &env.default {
        if p.api_key == claims.iss {
            return Ok(receive(&p.api_key, &p.api_secret).ok().map(|ev| (Signer::Server, ev)));
        }
    }
    let rows = telephony_settings::Entity::find()
        .filter(telephony_settings::Column::LivekitApiKey.eq(claims.iss.as_str()))
        .all(db)
        .await?;
    let mut orgs = Vec::new();
    let mut event = None;
    for r in rows {
        let Some(sealed) = r.livekit_secret_ciphertext.as_deref() else { continue };
        let Ok(secret) = env.secrets.open(sealed, &crate::telephony::settings::aad(r.org_id)) else {
            continue;
        };
        if let Ok(ev) = receive(&claims.iss, &secret) {
            orgs.push(r.org_id);
            event = Some(ev);
        }
    }
    Ok(event.map(|ev| (Signer::Orgs(orgs), ev)))
}

/// Verifies, reads and applies one webhook.
pub async fn receive(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    bus: &EventBus,
    hub: &crate::copilot::sessions::CopilotHub,
    body: &str,
    authorization: &str,
) -> Result<Outcome, Result<Refusal, crate::ServiceError>> {
    if body.len() > BODY_MAX {
        return Err(Ok(Refusal::Malformed));
    }
    // LiveKit sends the bare token; some proxies and clients add a scheme.
    let auth = authorization.trim().trim_start_matches("Bearer ").trim();
    let Some((signer, event)) = signer(db, env, body, auth).await.map_err(Err)? else {
        return Err(Ok(Refusal::Unauthorized));
    };
    let room = event.room.as_ref().map(|r| r.name.clone()).filter(|n| !n.is_empty());
    // Egress events name their room in the egress, not beside it.
    let room =
        room.or_else(|| event.egress_info.as_ref().map(|e| e.room_name.clone()).filter(|n| !n.is_empty()));
    let Some(room) = room else {
        return Ok(Outcome::Unrelated);
    };
    // Not a room of ours (LiveKit reports every room of the project): ours
    // are named by `place` (`call-…`) and the inbound dispatch rule (`inbound-…`).
    if !(room.starts_with("call-") || room.starts_with("inbound-")) {
        return Ok(Outcome::Unrelated);
    }
    if event.event.starts_with("egress_") {
        let Some(call) = find_allowed(db, &signer, &room).await.map_err(Err)? else {
            return Ok(Outcome::Unrelated);
        };
        return match super::recording::egress_event(db, bus, &call, &event).await.map_err(Err)? {
            super::recording::EgressApplied::Unrelated => Ok(Outcome::Unrelated),
            r => Ok(Outcome::Recording(r)),
        };
    }
    if let Some(done) = rep_call_event(db, env, hub, &signer, &room, &event).await.map_err(Err)? {
        return Ok(done);
    }
    let Some(ev) = call_event(&event) else { return Ok(Outcome::Unrelated) };
    let h = Happened {
        event: ev,
        source: "webhook",
        kind: kind_of(&event, ev),
        event_id: Some(event.id.clone()).filter(|i| !i.is_empty()),
        data: summary(&event),
        at: chrono::DateTime::from_timestamp(event.created_at, 0).unwrap_or_else(crate::now),
        failure_reason: None,
    };
    // Most webhooks of an ended call (late ones, redeliveries) only go on its
    // timeline: two statements, no transaction. The others are applied under
    // the call's lock, read again in the transaction that applies them.
    let Some((call, own_project)) = with_own_project(db, &room, false).await.map_err(|e| Err(e.into()))?
    else {
        return Ok(Outcome::Unrelated);
    };
    if !allowed(&signer, &call, own_project) {
        return Ok(Outcome::Unrelated);
    }
    // On a rep's call the worker only transcribes: the call is under way
    // when the rep is on it, not when the transcriber joins.
    if call.rep_user_id.is_some()
        && ev == CallEvent::AgentJoined
        && event.participant.as_ref().is_some_and(agent_kind)
    {
        return Ok(Outcome::Unrelated);
    }
    if let Some(applied) = super::lifecycle::record_after_end(db, &call, &h).await.map_err(Err)? {
        return Ok(Outcome::Applied(applied));
    }
    let txn = crate::db::begin_write(db).await.map_err(|e| Err(e.into()))?;
    let Some((call, own_project)) = with_own_project(&txn, &room, true).await.map_err(|e| Err(e.into()))?
    else {
        return Ok(Outcome::Unrelated);
    };
    if !allowed(&signer, &call, own_project) {
        return Ok(Outcome::Unrelated);
    }
    apply_locked(txn, env, bus, call, h).await.map(Outcome::Applied).map_err(Err)
}

/// What only a rep's call listens for: the rep leaving the room (the call
/// is hung up unless they come back), a whisper's track (kept from the
/// callee) and a manager leaving (the rep is told).
async fn rep_call_event(
    db: &DatabaseConnection,
    env: &TelephonyEnv,
    hub: &crate::copilot::sessions::CopilotHub,
    signer: &Signer,
    room: &str,
    event: &proto::WebhookEvent,
) -> ServiceResult<Option<Outcome>> {
    let Some(p) = event.participant.as_ref() else { return Ok(None) };
    let manager = supervisor_mode(p);
    let whisper = event.event == "track_published" && manager == Some(SuperviseMode::Whisper);
    let rep_left = event.event == "participant_left" && super::rep::is_rep_identity(&p.identity);
    let manager_left = event.event == "participant_left" && manager.is_some();
    let rep_published = event.event == "track_published" && super::rep::is_rep_identity(&p.identity);
    if !(whisper || rep_left || manager_left || rep_published) {
        return Ok(None);
    }
    let Some(call) = find_allowed(db, signer, room).await? else { return Ok(Some(Outcome::Unrelated)) };
    if rep_left {
        super::rep::rep_left(db, env, &call, &p.identity, &p.sid).await?;
    } else if rep_published {
        super::rep::keep_hold(db, env, &call).await?;
    } else if whisper {
        if let Some(track) = event.track.as_ref() {
            super::rep::guard_whisper(db, env, &call, &track.sid).await?;
        }
    } else if let Some(mode) = manager {
        let ctx = crate::OrgCtx::system(call.org_id, "livekit");
        if let Some(session) = crate::copilot::sessions::of_call(db, &ctx, call.id).await? {
            let name = if p.name.is_empty() { "API" } else { p.name.as_str() };
            match crate::copilot::sessions::supervisor(db, hub, &ctx, session.id, name, mode, false).await {
                Ok(()) => {}
                Err(e) if e.code == domain::ErrorCode::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(Some(Outcome::Unrelated))
}

/// How a manager is on the call (the role their token gave them), if they are one.
fn supervisor_mode(p: &proto::ParticipantInfo) -> Option<SuperviseMode> {
    use crate::telephony::livekit::ROLE_ATTRIBUTE;
    SuperviseMode::parse(p.attributes.get(ROLE_ATTRIBUTE)?)
}

/// Whether `signer` speaks for `call`'s organisation. The server's key
/// speaks for organisations without a project of their own.
fn allowed(signer: &Signer, call: &calls::Model, own_project: bool) -> bool {
    let ok = match signer {
        Signer::Orgs(orgs) => orgs.contains(&call.org_id),
        Signer::Server => !own_project,
    };
    if !ok {
        tracing::warn!(call = %call.id, "webhook signed by a project that is not the call's: ignored");
    }
    ok
}

/// The call in `room`, and whether its organisation has a LiveKit project
/// of its own — one statement; with `lock`, the row is locked on PostgreSQL
/// (only meaningful inside the transaction that applies the event).
async fn with_own_project<C: ConnectionTrait>(
    db: &C,
    room: &str,
    lock: bool,
) -> Result<Option<(calls::Model, bool)>, sea_orm::DbErr> {
    let own = sea_orm::sea_query::Expr::exists(
        sea_orm::sea_query::Query::select()
            .expr(sea_orm::sea_query::Expr::val(1))
            .from(telephony_settings::Entity)
            .and_where(
                sea_orm::sea_query::Expr::col((
                    telephony_settings::Entity,
                    telephony_settings::Column::OrgId,
                ))
                .equals((calls::Entity, calls::Column::OrgId)),
            )
            .and_where(
                sea_orm::sea_query::Expr::col((
                    telephony_settings::Entity,
                    telephony_settings::Column::LivekitUrl,
                ))
                .is_not_null(),
            )
            .to_owned(),
    );
    let mut q = calls::Entity::find().filter(calls::Column::RoomName.eq(room)).expr_as(own, "own_project");
    if lock {
        q = locked(db, q);
    }
    let Some(row) = q.into_model::<CallWithOwn>().one(db).await? else { return Ok(None) };
    Ok(Some((row.call, row.own_project)))
}

struct CallWithOwn {
    call: calls::Model,
    own_project: bool,
}

impl sea_orm::FromQueryResult for CallWithOwn {
    fn from_query_result(res: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(CallWithOwn {
            call: calls::Model::from_query_result(res, pre)?,
            // SQLite answers EXISTS with an integer, PostgreSQL with a boolean.
            own_project: res
                .try_get::<bool>(pre, "own_project")
                .or_else(|_| res.try_get::<i32>(pre, "own_project").map(|n| n != 0))?,
        })
    }
}

/// The call in `room`, if `signer` speaks for its organisation.
async fn find_allowed(
    db: &DatabaseConnection,
    signer: &Signer,
    room: &str,
) -> ServiceResult<Option<calls::Model>> {
    Ok(with_own_project(db, room, false).await?.filter(|(c, own)| allowed(signer, c, *own)).map(|(c, _)| c))
}

fn sip_kind(p: &proto::ParticipantInfo) -> bool {
    p.kind == proto::participant_info::Kind::Sip as i32
}

fn agent_kind(p: &proto::ParticipantInfo) -> bool {
    p.kind == proto::participant_info::Kind::Agent as i32
}

/// The SIP participant's call status, as LiveKit's SIP bridge sets it.
fn sip_status_attr(p: &proto::ParticipantInfo) -> Option<&str> {
    p.attributes.get("sip.callStatus").or_else(|| p.attributes.get("lk.sip.callStatus")).map(String::as_str)
}

/// What a LiveKit event means for a call, if anything.
pub fn call_event(ev: &proto::WebhookEvent) -> Option<CallEvent> {
    let p = ev.participant.as_ref();
    match ev.event.as_str() {
        "room_finished" => Some(CallEvent::RoomFinished),
        // On a rep's call the rep stands where the agent would.
        "participant_joined" | "participant_connection_aborted"
            if p.is_some_and(|p| agent_kind(p) || super::rep::is_rep_identity(&p.identity)) =>
        {
            (ev.event == "participant_joined").then_some(CallEvent::AgentJoined)
        }
        "participant_joined" if p.is_some_and(sip_kind) => match p.and_then(sip_status_attr) {
            Some("dialing" | "ringing") => Some(CallEvent::Ringing),
            // A SIP participant in the room is an answered call unless it says otherwise.
            _ => Some(CallEvent::Answered),
        },
        "participant_left" if p.is_some_and(sip_kind) => {
            let code = p.and_then(|p| p.attributes.get("sip.callStatusCode")).and_then(|c| c.parse().ok());
            Some(CallEvent::Hangup { sip_status: code })
        }
        _ => None,
    }
}

fn kind_of(ev: &proto::WebhookEvent, e: CallEvent) -> String {
    match e {
        CallEvent::AgentJoined => "agent_joined".into(),
        _ => ev.event.clone(),
    }
}

/// What the timeline keeps of a webhook: the event, the participant and
/// its SIP attributes, not the whole body.
fn summary(ev: &proto::WebhookEvent) -> serde_json::Value {
    let p = ev.participant.as_ref().map(|p| {
        let sip: serde_json::Map<String, serde_json::Value> = p
            .attributes
            .iter()
            .filter(|(k, _)| k.starts_with("sip.") || k.starts_with("lk.sip."))
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        json!({ "identity": p.identity, "kind": p.kind, "sip": sip })
    });
    json!({ "event": ev.event, "id": ev.id, "participant": p })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, kind: proto::participant_info::Kind, attrs: &[(&str, &str)]) -> proto::WebhookEvent {
        proto::WebhookEvent {
            event: event.into(),
            participant: Some(proto::ParticipantInfo {
                kind: kind as i32,
                attributes: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn livekit_events_read_as_call_events() {
        use proto::participant_info::Kind;
        assert_eq!(
            call_event(&ev("participant_joined", Kind::Sip, &[("sip.callStatus", "ringing")])),
            Some(CallEvent::Ringing)
        );
        assert_eq!(
            call_event(&ev("participant_joined", Kind::Sip, &[("sip.callStatus", "active")])),
            Some(CallEvent::Answered)
        );
        assert_eq!(call_event(&ev("participant_joined", Kind::Agent, &[])), Some(CallEvent::AgentJoined));
        assert_eq!(
            call_event(&ev("participant_left", Kind::Sip, &[("sip.callStatusCode", "486")])),
            Some(CallEvent::Hangup { sip_status: Some(486) })
        );
        assert_eq!(
            call_event(&ev("participant_left", Kind::Agent, &[])),
            None,
            "the agent leaving ends nothing"
        );
        assert_eq!(call_event(&ev("participant_joined", Kind::Standard, &[])), None, "a listener joining");
        let mut rep = ev("participant_joined", Kind::Standard, &[]);
        rep.participant.as_mut().unwrap().identity = super::super::rep::rep_identity(Uuid::now_v7());
        assert_eq!(call_event(&rep), Some(CallEvent::AgentJoined), "the rep joining their call");
        assert_eq!(call_event(&ev("track_published", Kind::Sip, &[])), None);
        let finished = proto::WebhookEvent { event: "room_finished".into(), ..Default::default() };
        assert_eq!(call_event(&finished), Some(CallEvent::RoomFinished));
    }
}
