//! Listening to a live call (managers coaching their team): a hidden,
//! subscribe-only LiveKit token for the call's room, minted with the
//! organisation's project (or the server's) — the browser then joins with
//! LiveKit's own client SDK. Each access is audited.

use std::time::Duration;

use domain::call_views::ListenAccess;
use domain::{ErrorCode, Permission};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::authz::OrgCtx;
use crate::telephony::settings::{client, error_code};
use crate::telephony::TelephonyEnv;
use crate::{now, ServiceError, ServiceResult};

/// Long enough for a call; the room closes with it anyway.
pub const TOKEN_TTL: Duration = Duration::from_secs(2 * 3600);

/// The address LiveKit's client SDK connects to: `ws(s)://`.
pub fn client_url(project_url: &url::Url) -> String {
    let mut u = project_url.clone();
    let scheme = if u.scheme() == "https" { "wss" } else { "ws" };
    // http→ws and https→wss are allowed scheme changes.
    let _ = u.set_scheme(scheme);
    u.as_str().trim_end_matches('/').to_string()
}

pub async fn listen(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    id: Uuid,
) -> ServiceResult<ListenAccess> {
    ctx.require(Permission::ListenToCalls)?;
    let call = super::find(db, ctx, id).await?;
    if super::status_of(&call).is_final() {
        return Err(ServiceError::new(ErrorCode::InvalidTransition).with_detail("the call has ended"));
    }
    let lk = client(db, ctx, env).await?;
    let who = ctx.user_id().map_or_else(|| "key".to_string(), |u| u.simple().to_string());
    // One identity per listening page: two tabs do not push each other out.
    let identity = format!("listener-{who}-{}", &crate::new_id().simple().to_string()[24..]);
    let token = lk
        .project()
        .join_token(&identity, &call.room_name, false, TOKEN_TTL)
        .map_err(|e| ServiceError::new(error_code(&e)))?;
    crate::audit::record(
        db,
        ctx.org_id(),
        ctx,
        crate::audit::action::CALL_LISTENED,
        Some(call.id),
        serde_json::json!({ "call_id": call.id, "identity": identity }),
    )
    .await?;
    Ok(ListenAccess {
        url: client_url(&lk.project().url),
        token,
        room: call.room_name,
        identity,
        expires_at: now() + chrono::Duration::seconds(TOKEN_TTL.as_secs() as i64),
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
}
