//! Managers on live calls (coaching their team): **listen** (a hidden,
//! subscribe-only token), **whisper** (a microphone only the rep may
//! receive) and **barge** (a microphone in the conversation), each a
//! LiveKit token for the call's room minted with the organisation's
//! project (or the server's) — the browser joins with LiveKit's own client
//! SDK. Every access is permission-checked, audited, noted on the call's
//! timeline and shown to the rep in their copilot.

use std::time::Duration;

use domain::call_views::{RoomAccess, SuperviseMode, Supervision};
use domain::{ErrorCode, Permission};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::json;
use uuid::Uuid;

use crate::authz::OrgCtx;
use crate::copilot::sessions::{self, CopilotHub};
use crate::telephony::livekit::RoomRole;
use crate::telephony::settings::{client, error_code};
use crate::telephony::TelephonyEnv;
use crate::{now, ServiceError, ServiceResult};

/// Long enough for a call; the room closes with it anyway.
pub const TOKEN_TTL: Duration = Duration::from_secs(2 * 3600);

/// The attribute naming whom a whisper is for (the rep's identity).
pub const WHISPER_TO_ATTRIBUTE: &str = "handoo.whisper_to";

/// The address LiveKit's client SDK connects to: `ws(s)://`.
pub fn client_url(project_url: &url::Url) -> String {
    let mut u = project_url.clone();
    let scheme = if u.scheme() == "https" { "wss" } else { "ws" };
    // http→ws and https→wss are allowed scheme changes.
    let _ = u.set_scheme(scheme);
    u.as_str().trim_end_matches('/').to_string()
}

fn role(mode: SuperviseMode) -> RoomRole {
    match mode {
        SuperviseMode::Listen => RoomRole::Listener,
        SuperviseMode::Whisper => RoomRole::Whisperer,
        SuperviseMode::Barge => RoomRole::Barger,
    }
}

fn audit_action(mode: SuperviseMode) -> &'static str {
    match mode {
        SuperviseMode::Listen => crate::audit::action::CALL_LISTENED,
        SuperviseMode::Whisper => crate::audit::action::CALL_WHISPERED,
        SuperviseMode::Barge => crate::audit::action::CALL_BARGED,
    }
}

/// Listening (the call page's button and `POST …/listen`).
pub async fn listen(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    id: Uuid,
) -> ServiceResult<RoomAccess> {
    Ok(supervise(db, hub, ctx, env, id, SuperviseMode::Listen).await?.access)
}

/// Joins live call `id` as `mode`; see the module.
pub async fn supervise(
    db: &DatabaseConnection,
    hub: &CopilotHub,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    id: Uuid,
    mode: SuperviseMode,
) -> ServiceResult<Supervision> {
    ctx.require(Permission::ListenToCalls)?;
    let call = super::find(db, ctx, id).await?;
    if super::status_of(&call).is_final() {
        return Err(ServiceError::new(ErrorCode::InvalidTransition).with_detail("the call has ended"));
    }
    let speaks = mode != SuperviseMode::Listen;
    // A voice in the room is a person's: an API key may only listen.
    let user = ctx.user_id();
    if speaks && user.is_none() {
        return Err(ServiceError::new(ErrorCode::Forbidden).with_detail("only a person may speak on a call"));
    }
    let rep_identity = call.rep_user_id.map(super::rep::rep_identity);
    // A whisper is for the rep; an AI agent's call has nobody to whisper to.
    if mode == SuperviseMode::Whisper && rep_identity.is_none() {
        return Err(ServiceError::field(ErrorCode::Validation, "mode").with_detail("not a rep's call"));
    }
    if call.rep_user_id.is_some() && call.rep_user_id == user {
        return Err(ServiceError::field(ErrorCode::Validation, "mode").with_detail("your own call"));
    }
    let lk = client(db, ctx, env).await?;
    let who = user.map_or_else(|| "key".to_string(), |u| u.simple().to_string());
    // One identity per page: two tabs do not push each other out.
    let identity = format!("{}-{who}-{}", mode.as_str(), &crate::new_id().simple().to_string()[24..]);
    let name = match user {
        Some(u) => entity::users::Entity::find_by_id(u).one(db).await?.map(|u| u.name).unwrap_or_default(),
        None => String::new(),
    };
    let attributes: Vec<(&str, &str)> = match (&rep_identity, mode) {
        (Some(rep), SuperviseMode::Whisper) => vec![(WHISPER_TO_ATTRIBUTE, rep.as_str())],
        _ => Vec::new(),
    };
    let token = lk
        .project()
        .role_token(&identity, &name, &call.room_name, role(mode), &attributes, TOKEN_TTL)
        .map_err(|e| ServiceError::new(error_code(&e)))?;
    let details = json!({ "call_id": call.id, "identity": identity, "mode": mode.as_str() });
    crate::audit::record(db, ctx.org_id(), ctx, audit_action(mode), Some(call.id), details.clone()).await?;
    super::lifecycle::note(
        db,
        &call,
        "user",
        "supervised",
        json!({ "by_user": user, "mode": mode.as_str() }),
    )
    .await?;
    // The rep is told whoever joins their call, and how.
    if let Some(session) = sessions::of_call(db, ctx, call.id).await? {
        let shown = if name.is_empty() { "API".to_string() } else { name.clone() };
        sessions::supervisor(db, hub, ctx, session.id, &shown, mode, true).await?;
    }
    Ok(Supervision {
        mode,
        access: RoomAccess {
            url: client_url(&lk.project().url),
            token,
            room: call.room_name,
            identity,
            expires_at: now() + chrono::Duration::seconds(TOKEN_TTL.as_secs() as i64),
        },
        rep_identity: if mode == SuperviseMode::Listen { None } else { rep_identity },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_connect_over_websockets() {
        assert_eq!(client_url(&"https://acme.livekit.cloud".parse().unwrap()), "wss://acme.livekit.cloud");
        assert_eq!(client_url(&"http://127.0.0.1:7880/".parse().unwrap()), "ws://127.0.0.1:7880");
    }

    #[test]
    fn each_mode_has_its_role_and_audit_action() {
        assert_eq!(role(SuperviseMode::Listen), RoomRole::Listener);
        assert_eq!(role(SuperviseMode::Whisper), RoomRole::Whisperer);
        assert_eq!(role(SuperviseMode::Barge), RoomRole::Barger);
        let actions: std::collections::HashSet<_> =
            SuperviseMode::ALL.iter().map(|m| audit_action(*m)).collect();
        assert_eq!(actions.len(), 3);
    }
}
