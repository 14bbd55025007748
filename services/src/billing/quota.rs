//! The plan's limits, checked before something that spends them starts: a
//! dial (`calls::place`, the campaign dialer) or a playground turn. Never
//! during: a call already under way always finishes.

use domain::billing::usage::{check, Spend};
use domain::ErrorCode;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::BillingEnv;
use crate::{ServiceError, ServiceResult};

/// Whether `org_id` may start `what` now; otherwise `quota_exceeded`
/// naming the limit (`call_minutes`, `llm_tokens`, …) as its detail.
pub async fn allows<C: ConnectionTrait>(
    db: &C,
    env: &BillingEnv,
    org_id: Uuid,
    what: Spend,
) -> ServiceResult<()> {
    if env.polar.is_none() {
        return Ok(());
    }
    let cur = super::current(db, env, org_id).await?;
    let used = super::usage::between(db, org_id, cur.period.0, cur.period.1).await?;
    check(&cur.limits, &used, what).map_err(|e| {
        ServiceError::new(ErrorCode::QuotaExceeded)
            .with_detail(format!("{}: {} of {}", e.limit, e.used, e.allowed))
    })
}
