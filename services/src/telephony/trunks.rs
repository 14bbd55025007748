//! SIP trunks, created in the organisation's LiveKit project and mirrored
//! here: outbound ones carry calls to prospects (address, numbers, digest
//! credentials — the password sealed), inbound ones take calls to the
//! organisation's numbers to an agent through a dispatch rule.

use domain::agent::AgentKind;
use domain::{ErrorCode, Permission};
use entity::{agents, sip_trunks as trunk, telephony_settings};
use livekit_protocol as proto;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use uuid::Uuid;

pub use domain::telephony::{NewTrunk, Trunk, TrunkDirection};

use super::livekit::LiveKitError;
use super::settings::{client, error_code};
use super::{e164, TelephonyEnv};
use crate::authz::OrgCtx;
use crate::{new_id, now, ServiceError, ServiceResult};

/// The name the voice worker registers under with LiveKit; dispatches and
/// dispatch rules name it, with the call or agent in the job's metadata.
pub const AGENT_NAME: &str = "handoo-voice";

/// Numbers per trunk at most.
const NUMBERS_MAX: usize = 50;

fn aad(org_id: Uuid, id: Uuid) -> Vec<u8> {
    format!("telephony:{org_id}:trunk:{id}").into_bytes()
}

fn view(r: &trunk::Model, default: Option<Uuid>) -> Trunk {
    Trunk {
        id: r.id,
        direction: if r.direction == "inbound" { TrunkDirection::Inbound } else { TrunkDirection::Outbound },
        name: r.name.clone(),
        livekit_trunk_id: r.livekit_trunk_id.clone(),
        address: r.address.clone(),
        numbers: serde_json::from_value(r.numbers.clone()).unwrap_or_default(),
        auth_username: r.auth_username.clone(),
        has_password: r.auth_password_ciphertext.is_some(),
        agent_id: r.agent_id,
        is_default: default == Some(r.id),
        created_at: r.created_at,
    }
}

/// A SIP address: `host` or `host:port`, no scheme, user or parameters
/// (LiveKit adds `sip:` itself).
fn check_address(address: &str) -> ServiceResult<(String, String, u16)> {
    let bad = || ServiceError::field(ErrorCode::Validation, "address");
    let a = address.trim();
    if a.is_empty() || a.len() > 253 || a.contains(['@', ';', '/', '?', '#', ' ']) || a.starts_with("sip:") {
        return Err(bad());
    }
    let url = url::Url::parse(&format!("sip-check://{a}")).map_err(|_| bad())?;
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?.to_string();
    Ok((a.to_string(), host, url.port().unwrap_or(5060)))
}

fn numbers(list: &[String]) -> ServiceResult<Vec<String>> {
    if list.is_empty() || list.len() > NUMBERS_MAX {
        return Err(
            ServiceError::field(ErrorCode::Validation, "numbers").with_detail(NUMBERS_MAX.to_string())
        );
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for n in list {
        let n = e164(n, "numbers")?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

fn lk_error(e: LiveKitError) -> ServiceError {
    tracing::warn!(error = %e, "LiveKit SIP request failed");
    ServiceError::new(error_code(&e))
}

/// Creates a trunk in LiveKit, then here. If storing it fails, the LiveKit
/// trunk is deleted again so that nothing is left behind unseen.
pub async fn create(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    new: NewTrunk,
) -> ServiceResult<Trunk> {
    ctx.require(Permission::ManageSettings)?;
    let direction = new.direction.unwrap_or(TrunkDirection::Outbound);
    let name = domain::validation::normalize_name("name", &new.name).map_err(ServiceError::from)?;
    let numbers = numbers(&new.numbers)?;
    let id = new_id();
    let lk = client(db, ctx, env).await?;
    let username = new.auth_username.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(str::to_string);
    let password = new.auth_password.as_deref().filter(|p| !p.is_empty()).map(str::to_string);
    if username.as_deref().is_some_and(|u| u.len() > 200 || u.chars().any(char::is_control))
        || password.as_deref().is_some_and(|p| p.len() > 500)
    {
        return Err(ServiceError::field(ErrorCode::Validation, "auth_username"));
    }
    let (address, agent_id, remote_id, rule_id) = match direction {
        TrunkDirection::Outbound => {
            let (address, host, port) = check_address(&new.address)?;
            if lk_is_operators(db, ctx, env).await? {
                // The operator's SIP bridge would dial it: keep it out of
                // our own network, as for every other tenant-given address.
                env.egress.resolve(&host, port).await.map_err(|e| match e {
                    providers::ProviderError::AddressRefused => {
                        ServiceError::field(ErrorCode::ProviderAddressRefused, "address")
                    }
                    _ => ServiceError::field(ErrorCode::Validation, "address"),
                })?;
            }
            let info = proto::SipOutboundTrunkInfo {
                name: name.clone(),
                metadata: serde_json::json!({ "org_id": ctx.org_id(), "trunk_id": id }).to_string(),
                address: address.clone(),
                numbers: numbers.clone(),
                auth_username: username.clone().unwrap_or_default(),
                auth_password: password.clone().unwrap_or_default(),
                ..Default::default()
            };
            let made = lk.create_outbound_trunk(info).await.map_err(lk_error)?;
            (address, None, made.sip_trunk_id, None)
        }
        TrunkDirection::Inbound => {
            let agent_id =
                new.agent_id.ok_or_else(|| ServiceError::field(ErrorCode::Validation, "agent_id"))?;
            voice_agent(db, ctx, agent_id).await?;
            let info = proto::SipInboundTrunkInfo {
                name: name.clone(),
                metadata: serde_json::json!({ "org_id": ctx.org_id(), "trunk_id": id }).to_string(),
                numbers: numbers.clone(),
                auth_username: username.clone().unwrap_or_default(),
                auth_password: password.clone().unwrap_or_default(),
                ..Default::default()
            };
            let made = lk.create_inbound_trunk(info).await.map_err(lk_error)?;
            let rule = proto::CreateSipDispatchRuleRequest {
                dispatch_rule: Some(proto::SipDispatchRuleInfo {
                    name: format!("{name} → agent"),
                    trunk_ids: vec![made.sip_trunk_id.clone()],
                    metadata: serde_json::json!({ "org_id": ctx.org_id(), "agent_id": agent_id }).to_string(),
                    // One room per caller, the agent dispatched into it.
                    rule: Some(proto::SipDispatchRule {
                        rule: Some(proto::sip_dispatch_rule::Rule::DispatchRuleIndividual(
                            proto::SipDispatchRuleIndividual {
                                room_prefix: "inbound-".into(),
                                ..Default::default()
                            },
                        )),
                    }),
                    room_config: Some(proto::RoomConfiguration {
                        agents: vec![proto::RoomAgentDispatch {
                            agent_name: AGENT_NAME.into(),
                            metadata: serde_json::json!({
                                "org_id": ctx.org_id(), "agent_id": agent_id, "direction": "inbound"
                            })
                            .to_string(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let rule = match lk.create_dispatch_rule(rule).await {
                Ok(r) => r,
                Err(e) => {
                    let _ = lk.delete_trunk(&made.sip_trunk_id).await;
                    return Err(lk_error(e));
                }
            };
            (String::new(), Some(agent_id), made.sip_trunk_id, Some(rule.sip_dispatch_rule_id))
        }
    };
    let row = trunk::ActiveModel {
        id: Set(id),
        org_id: Set(ctx.org_id()),
        direction: Set(direction.as_str().into()),
        name: Set(name),
        livekit_trunk_id: Set(remote_id.clone()),
        address: Set(address),
        numbers: Set(serde_json::json!(numbers)),
        auth_username: Set(username),
        auth_password_ciphertext: Set(password.map(|p| env.secrets.seal(&p, &aad(ctx.org_id(), id)))),
        agent_id: Set(agent_id),
        livekit_dispatch_rule_id: Set(rule_id.clone()),
        created_by: Set(ctx.user_id()),
        created_at: Set(now()),
    };
    let stored = async {
        let txn = crate::db::begin_write(db).await?;
        let saved = row.insert(&txn).await?;
        crate::audit::record(
            &txn,
            ctx.org_id(),
            ctx,
            crate::audit::action::TRUNK_CREATED,
            None,
            serde_json::json!({ "trunk_id": id, "direction": direction.as_str(), "livekit_trunk_id": remote_id }),
        )
        .await?;
        txn.commit().await?;
        ServiceResult::Ok(saved)
    }
    .await;
    match stored {
        Ok(saved) => {
            let default = default_trunk(db, ctx).await?;
            Ok(view(&saved, default))
        }
        Err(e) => {
            if let Some(rule) = &rule_id {
                let _ = lk.delete_dispatch_rule(rule).await;
            }
            let _ = lk.delete_trunk(&remote_id).await;
            Err(e)
        }
    }
}

async fn lk_is_operators(db: &DatabaseConnection, ctx: &OrgCtx, env: &TelephonyEnv) -> ServiceResult<bool> {
    let own = super::settings::row(db, ctx).await?.is_some_and(|r| r.livekit_url.is_some());
    Ok(!own && env.default.is_some())
}

async fn default_trunk(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<Option<Uuid>> {
    Ok(telephony_settings::Entity::find_by_id(ctx.org_id()).one(db).await?.and_then(|r| r.default_trunk_id))
}

/// An active voice agent of this organisation's.
pub(crate) async fn voice_agent(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<agents::Model> {
    let a = agents::Entity::find_by_id(id)
        .filter(agents::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::field(ErrorCode::NotFound, "agent_id"))?;
    if AgentKind::parse(&a.kind) != Some(AgentKind::Voice) || !a.active {
        return Err(ServiceError::field(ErrorCode::Validation, "agent_id").with_detail("voice agent, active"));
    }
    Ok(a)
}

pub async fn list(db: &DatabaseConnection, ctx: &OrgCtx) -> ServiceResult<Vec<Trunk>> {
    ctx.require(Permission::UseWorkspace)?;
    let default = default_trunk(db, ctx).await?;
    let rows = trunk::Entity::find()
        .filter(trunk::Column::OrgId.eq(ctx.org_id()))
        .order_by_asc(trunk::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows.iter().map(|r| view(r, default)).collect())
}

pub async fn find(db: &DatabaseConnection, ctx: &OrgCtx, id: Uuid) -> ServiceResult<trunk::Model> {
    trunk::Entity::find_by_id(id)
        .filter(trunk::Column::OrgId.eq(ctx.org_id()))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::new(ErrorCode::NotFound))
}

/// Deletes the trunk in LiveKit (one already gone there is fine), then here;
/// it stops being the default.
pub async fn delete(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &TelephonyEnv,
    id: Uuid,
) -> ServiceResult<()> {
    ctx.require(Permission::ManageSettings)?;
    let t = find(db, ctx, id).await?;
    let lk = client(db, ctx, env).await?;
    let gone = |r: Result<(), LiveKitError>| match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other.map_err(lk_error),
    };
    if let Some(rule) = &t.livekit_dispatch_rule_id {
        gone(lk.delete_dispatch_rule(rule).await)?;
    }
    gone(lk.delete_trunk(&t.livekit_trunk_id).await)?;
    let txn = db.begin().await?;
    telephony_settings::Entity::update_many()
        .col_expr(telephony_settings::Column::DefaultTrunkId, Expr::value(Option::<Uuid>::None))
        .filter(telephony_settings::Column::OrgId.eq(ctx.org_id()))
        .filter(telephony_settings::Column::DefaultTrunkId.eq(id))
        .exec(&txn)
        .await?;
    trunk::Entity::delete_by_id(id).filter(trunk::Column::OrgId.eq(ctx.org_id())).exec(&txn).await?;
    crate::audit::record(
        &txn,
        ctx.org_id(),
        ctx,
        crate::audit::action::TRUNK_DELETED,
        None,
        serde_json::json!({ "trunk_id": id, "livekit_trunk_id": t.livekit_trunk_id }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_addresses_are_host_and_port_only() {
        assert_eq!(
            check_address(" sip.example.com ").unwrap(),
            ("sip.example.com".into(), "sip.example.com".into(), 5060)
        );
        assert_eq!(check_address("203.0.113.5:5080").unwrap().2, 5080);
        for bad in ["", "sip:x.com", "user@x.com", "x.com;transport=tcp", "x.com/a", "a b", "x.com:99999"] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_are_e164_without_repeats() {
        let n =
            numbers(&["+33 6 12 34 56 78".into(), "+33612345678".into(), "+1 415 555 0100".into()]).unwrap();
        assert_eq!(n, vec!["+33612345678", "+14155550100"]);
        assert!(numbers(&[]).is_err());
        assert!(numbers(&["0612345678".into()]).is_err(), "a national number is ambiguous here");
        assert!(numbers(&vec!["+33612345678".to_string(); NUMBERS_MAX + 1]).is_err());
    }
}
