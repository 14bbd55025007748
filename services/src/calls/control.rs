//! Acting on a live call from the call page or the API: hang up, and cold
//! transfer to the number its agent is configured with (never anywhere else).

use domain::call::{CallEvent, CallStatus};
use domain::{ErrorCode, Permission};
use livekit_protocol as proto;
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

use super::lifecycle::{apply, Happened};
use super::{find, get, CallDetail};
use crate::authz::OrgCtx;
use crate::events::EventBus;
use crate::telephony::livekit::LiveKitError;
use crate::telephony::settings::{client, error_code};
use crate::telephony::TelephonyEnv;
use crate::{now, ServiceError, ServiceResult};

/// The callee's identity in the room (set when dialling).
pub const CALLEE: &str = "callee";

/// What a person (or an integration) did to the call, for its timeline.
fn by_caller(ctx: &OrgCtx, kind: &str, mut data: serde_json::Value) -> Happened {
    data["by_user"] = json!(ctx.user_id());
    data["by_api_key"] = json!(ctx.api_key_id());
    Happened {
        // For the call, either ends it: a transferred callee has left us.
        event: CallEvent::HungUp,
        source: "user",
        kind: kind.into(),
        event_id: None,
        data,
        at: now(),
        failure_reason: None,
    }
}

fn upstream(e: &LiveKitError) -> ServiceError {
    tracing::warn!(error = %e, "LiveKit call control failed");
    ServiceError::new(error_code(e))
}

/// Ends the call: the room is deleted, which hangs up every leg. A call
/// that already ended is left as it is (hanging up twice is not an error).
pub async fn hang_up(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    bus: &EventBus,
    id: Uuid,
) -> ServiceResult<CallDetail> {
    ctx.require(Permission::UseWorkspace)?;
    let call = find(db, ctx, id).await?;
    let status = super::status_of(&call);
    if !status.is_final() {
        let lk = client(db, ctx, env).await?;
        match lk.delete_room(&call.room_name).await {
            Ok(()) => {}
            // Not created yet, or already gone: nothing left to hang up.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(upstream(&e)),
        }
        apply(db, env, bus, ctx.org_id(), id, by_caller(ctx, "hung_up", json!({}))).await?;
    }
    get(db, ctx, id).await
}

/// Transfers the callee to the agent's transfer number (a SIP REFER):
/// only on a call in progress, only to that number.
pub async fn transfer(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    bus: &EventBus,
    id: Uuid,
) -> ServiceResult<CallDetail> {
    ctx.require(Permission::UseWorkspace)?;
    let call = find(db, ctx, id).await?;
    let status = super::status_of(&call);
    if !matches!(status, CallStatus::Answered | CallStatus::InProgress) {
        return Err(ServiceError::new(ErrorCode::InvalidTransition).with_detail(status.as_str()));
    }
    let agent = match call.agent_id {
        Some(a) => crate::agents::get(db, ctx, a).await?,
        None => return Err(ServiceError::field(ErrorCode::Validation, "transfer_number")),
    };
    let Some(to) = agent.settings.transfer_number.clone() else {
        return Err(
            ServiceError::field(ErrorCode::Validation, "transfer_number").with_detail("the agent has none")
        );
    };
    let lk = client(db, ctx, env).await?;
    let req = proto::TransferSipParticipantRequest {
        room_name: call.room_name.clone(),
        participant_identity: CALLEE.into(),
        transfer_to: format!("tel:{to}"),
        play_dialtone: true,
        ..Default::default()
    };
    lk.transfer_sip_participant(req).await.map_err(|e| {
        let refused = transfer_error(&e);
        if refused.code == ErrorCode::TransferRefused {
            tracing::info!(call = %id, error = %e, "transfer refused by the callee's side");
        }
        refused
    })?;
    apply(db, env, bus, ctx.org_id(), id, by_caller(ctx, "transferred", json!({ "to": to }))).await?;
    get(db, ctx, id).await
}

/// What a failed `TransferSIPParticipant` means for the call. LiveKit sent
/// the REFER, and the far end said no (`failed_precondition`, with its SIP
/// status) or never confirmed it (`canceled`, `deadline_exceeded`: the SIP
/// transaction ended without a final answer). Either way nothing moved and
/// the call goes on as it was, which is what `transfer_refused` tells the
/// caller. Anything else is LiveKit's own failure.
fn transfer_error(e: &LiveKitError) -> ServiceError {
    match e {
        LiveKitError::Twirp { code, sip_status, .. }
            if matches!(code.as_str(), "failed_precondition" | "canceled" | "deadline_exceeded") =>
        {
            let detail = match (sip_status, code.as_str()) {
                (Some(s), _) => format!("SIP {s}"),
                (None, "failed_precondition") => "SIP".to_string(),
                (None, _) => "no answer to the transfer".to_string(),
            };
            ServiceError::new(ErrorCode::TransferRefused).with_detail(detail)
        }
        _ => upstream(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twirp(status: u16, code: &str, sip_status: Option<u16>) -> LiveKitError {
        LiveKitError::Twirp { status, code: code.into(), msg: "x".into(), sip_status }
    }

    #[test]
    fn a_transfer_the_far_end_refused_or_never_confirmed_leaves_the_call_as_it_was() {
        let refused = transfer_error(&twirp(412, "failed_precondition", Some(486)));
        assert_eq!((refused.code, refused.detail.as_deref()), (ErrorCode::TransferRefused, Some("SIP 486")));
        // LiveKit's bridge when the REFER's transaction ends with no final answer.
        let unanswered = transfer_error(&twirp(408, "canceled", None));
        assert_eq!(
            (unanswered.code, unanswered.detail.as_deref()),
            (ErrorCode::TransferRefused, Some("no answer to the transfer"))
        );
        assert_eq!(transfer_error(&twirp(504, "deadline_exceeded", None)).code, ErrorCode::TransferRefused);
        // LiveKit's own failures stay theirs.
        assert_eq!(transfer_error(&twirp(503, "unavailable", None)).code, ErrorCode::ProviderUnavailable);
        assert_eq!(transfer_error(&twirp(400, "invalid_argument", None)).code, ErrorCode::ProviderBadRequest);
        assert_eq!(transfer_error(&LiveKitError::Timeout).code, ErrorCode::ProviderTimeout);
    }
}
