//! `POST /webhooks/polar`: Polar tells us a subscription changed. The
//! signature is checked first (Standard Webhooks, see [`super::signature`]);
//! then, in one transaction, the `webhook-id` is recorded (a second
//! delivery of the same webhook finds it and changes nothing) and the
//! subscription it carries is stored — unless what is stored was modified
//! later, so a late, older event never overwrites a newer state.

use chrono::{DateTime, Utc};
use domain::billing::subscription::supersedes;
use domain::billing::SubscriptionStatus;
use domain::ErrorCode;
use entity::{billing_accounts, subscriptions, webhook_receipts};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::polar::{parse_subscription, PolarSubscription};
use super::signature::{self, Headers};
use super::{BillingEnv, BILLING_TOPIC};
use crate::events::EventBus;
use crate::{new_id, ServiceError, ServiceResult};

/// Who billing's writes are attributed to in the audit log.
pub const ACTOR: &str = "polar";

/// What a webhook did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Its subscription was stored for this organisation.
    Applied(Uuid),
    /// Already processed (the same `webhook-id` again).
    Duplicate,
    /// A subscription update older than the one stored.
    Stale,
    /// Nothing for us in it (another type; an unknown organisation).
    Ignored,
}

/// Verifies and applies one webhook. Errors: `unauthenticated` for a
/// signature that does not hold (Polar will retry; a forger gets nothing),
/// `validation` for a signed body that is not a webhook.
pub async fn receive(
    db: &DatabaseConnection,
    env: &BillingEnv,
    bus: &EventBus,
    headers: Headers<'_>,
    body: &[u8],
) -> ServiceResult<Received> {
    let Some(polar) = env.polar.as_ref() else {
        return Err(ServiceError::new(ErrorCode::NotFound));
    };
    let now = env.clock.now();
    if let Err(refusal) = signature::verify(&polar.config().webhook_secret, &headers, body, now.timestamp()) {
        tracing::warn!(webhook_id = headers.id, %refusal, "Polar webhook refused");
        return Err(ServiceError::new(ErrorCode::Unauthenticated).with_detail(refusal.to_string()));
    }
    let envelope: Value = serde_json::from_slice(body)
        .map_err(|_| ServiceError::field(ErrorCode::Validation, "body").with_detail("not JSON"))?;
    let kind = envelope["type"].as_str().unwrap_or_default().to_string();
    if kind.is_empty() || headers.id.len() > 255 {
        return Err(ServiceError::field(ErrorCode::Validation, "type"));
    }
    let txn = crate::db::begin_write(db).await?;
    let first = webhook_receipts::Entity::insert(webhook_receipts::ActiveModel {
        id: Set(headers.id.to_string()),
        source: Set("polar".into()),
        event_type: Set(kind.chars().take(64).collect()),
        received_at: Set(now),
    })
    .on_conflict(OnConflict::column(webhook_receipts::Column::Id).do_nothing().to_owned())
    .exec_without_returning(&txn)
    .await?;
    if first == 0 {
        txn.rollback().await?;
        return Ok(Received::Duplicate);
    }
    let out = match kind.as_str() {
        k if k.starts_with("subscription.") => match parse_subscription(&envelope["data"]) {
            Some(s) => store(&txn, &s, k == "subscription.revoked", now, &kind).await?,
            None => {
                tracing::warn!(
                    webhook_id = headers.id,
                    kind,
                    "a subscription webhook without a readable subscription"
                );
                Received::Ignored
            }
        },
        "customer.created" | "customer.updated" => {
            link_customer(&txn, &envelope["data"], now).await?;
            Received::Ignored
        }
        _ => Received::Ignored,
    };
    let pending = match &out {
        Received::Applied(org) => Some(bus.event(*org, BILLING_TOPIC, &json!({"reason": kind}))?),
        _ => None,
    };
    if let Some(ev) = &pending {
        bus.notify_within(&txn, ev).await?;
    }
    txn.commit().await?;
    if let Some(ev) = pending {
        bus.deliver(ev);
    }
    Ok(out)
}

/// The organisation a Polar object names (its customer's external id),
/// if it is one of ours.
async fn organisation<C: ConnectionTrait>(db: &C, hint: Option<&str>) -> ServiceResult<Option<Uuid>> {
    let Some(id) = hint.and_then(|h| Uuid::parse_str(h).ok()) else { return Ok(None) };
    Ok(entity::organizations::Entity::find_by_id(id).one(db).await?.map(|o| o.id))
}

async fn link_customer<C: ConnectionTrait>(
    db: &C,
    customer: &Value,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let Some(org) = organisation(db, customer["external_id"].as_str()).await? else { return Ok(()) };
    let Some(id) = customer["id"].as_str() else { return Ok(()) };
    billing_accounts::Entity::insert(billing_accounts::ActiveModel {
        org_id: Set(org),
        polar_customer_id: Set(Some(id.chars().take(64).collect())),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(billing_accounts::Column::OrgId)
            .update_columns([billing_accounts::Column::PolarCustomerId, billing_accounts::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Stores `s` unless a later version of it is stored (webhooks and the
/// reconciliation both come here). `why` names the change in the audit log.
pub(crate) async fn store<C: ConnectionTrait>(
    txn: &C,
    s: &PolarSubscription,
    revoked: bool,
    now: DateTime<Utc>,
    why: &str,
) -> ServiceResult<Received> {
    let Some(org) = organisation(txn, s.org_hint.as_deref()).await? else {
        tracing::info!(subscription = s.id, "a Polar subscription for no organisation of ours");
        return Ok(Received::Ignored);
    };
    let q = subscriptions::Entity::find().filter(subscriptions::Column::PolarId.eq(&s.id));
    let existing = crate::calls::lifecycle::locked(txn, q).one(txn).await?;
    if let Some(e) = &existing {
        if e.org_id != org {
            // A subscription never moves between organisations.
            tracing::warn!(subscription = s.id, "a Polar subscription changed organisation: ignored");
            return Ok(Received::Ignored);
        }
        if !supersedes(Some(e.polar_modified_at), s.modified_at) {
            return Ok(Received::Stale);
        }
    }
    let status = SubscriptionStatus::from_polar(&s.status, s.ended_at, revoked, now);
    let before = existing.as_ref().map(|e| e.status.clone());
    let is_new = existing.is_none();
    let mut row = match existing {
        Some(e) => e.into(),
        None => subscriptions::ActiveModel {
            id: Set(new_id()),
            org_id: Set(org),
            polar_id: Set(s.id.chars().take(64).collect()),
            created_at: Set(now),
            ..Default::default()
        },
    };
    row.status = Set(status.as_str().into());
    row.plan_id = Set(s.product_id.chars().take(64).collect());
    row.plan_name = Set(s.product_name.chars().take(200).collect());
    row.amount_minor = Set(s.price.amount_minor);
    row.currency = Set(s.price.currency.clone());
    row.interval = Set(s.interval.chars().take(8).collect());
    row.current_period_start = Set(s.current_period_start);
    row.current_period_end = Set(s.current_period_end);
    row.cancel_at_period_end = Set(s.cancel_at_period_end);
    row.polar_modified_at = Set(s.modified_at);
    row.updated_at = Set(now);
    if is_new {
        row.insert(txn).await?;
    } else {
        row.update(txn).await?;
    }
    if before.as_deref() != Some(status.as_str()) {
        crate::audit::record(
            txn,
            org,
            crate::Actor { system: Some(ACTOR), ..Default::default() },
            &format!("billing.subscription_{}", status.as_str()),
            None,
            json!({"subscription": s.id, "plan": s.product_name, "before": before, "why": why}),
        )
        .await?;
    }
    Ok(Received::Applied(org))
}
