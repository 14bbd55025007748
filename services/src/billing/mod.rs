//! Billing: plans from Polar (cached), checkout and the customer portal for
//! Owners, subscriptions kept in sync from signed webhooks ([`webhook`])
//! and a nightly reconciliation ([`reconcile`]), usage recorded per call
//! and playground turn and reported to Polar in batches ([`usage`]), and
//! the plan's limits checked before a dial or a turn ([`quota`]).
//!
//! Without Polar configured, billing is off: the plans of the local
//! catalogue are shown for information and nothing is limited.

pub mod polar;
pub mod quota;
pub mod reconcile;
pub mod signature;
pub mod usage;
pub mod webhook;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use domain::billing::views::{BillingOverview, Redirect};
use domain::billing::{Plan, PlanLimits, SubscriptionState, SubscriptionStatus};
use domain::{ErrorCode, Permission};
use entity::subscriptions;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use self::polar::{Polar, PolarConfig};
use crate::clock::SharedClock;
use crate::{OrgCtx, ServiceError, ServiceResult};

/// The bus topic telling an organisation's billing pages to read again.
pub const BILLING_TOPIC: &str = "billing";

/// How long fetched plans are used before Polar is asked again. Past it, a
/// failed fetch still serves the last plans known (stale beats none).
const PLANS_TTL: Duration = Duration::from_secs(300);

/// What an organisation with no subscription may use when Polar has no
/// free product to say so.
pub const DEFAULT_FREE_LIMITS: PlanLimits = PlanLimits {
    call_minutes: Some(30),
    llm_tokens: Some(200_000),
    stt_minutes: Some(30),
    tts_characters: Some(50_000),
};

/// The plans as last fetched, and when.
type PlansCache = Arc<Mutex<Option<(Instant, Vec<Plan>)>>>;

/// Billing's configuration and its cache of plans.
#[derive(Clone)]
pub struct BillingEnv {
    pub polar: Option<Polar>,
    /// `HANDOO_PLANS`: plans shown when Polar is not configured.
    pub catalogue: Vec<Plan>,
    /// Where Polar sends the buyer back (`HANDOO_PUBLIC_URL`).
    pub public_url: String,
    pub clock: SharedClock,
    plans: PlansCache,
}

impl std::fmt::Debug for BillingEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingEnv")
            .field("polar", &self.polar)
            .field("plans", &self.catalogue.len())
            .finish()
    }
}

impl BillingEnv {
    pub fn new(
        polar: Option<PolarConfig>,
        catalogue: Vec<Plan>,
        public_url: String,
        clock: SharedClock,
    ) -> Self {
        BillingEnv { polar: polar.map(Polar::new), catalogue, public_url, clock, plans: Default::default() }
    }

    /// Billing off: no Polar, no plans, no limits.
    pub fn off(clock: SharedClock) -> Self {
        Self::new(None, Vec::new(), String::new(), clock)
    }

    /// The plans, cheapest first: Polar's (cached), or the local catalogue.
    pub async fn plans(&self) -> ServiceResult<Vec<Plan>> {
        let Some(polar) = &self.polar else { return Ok(self.catalogue.clone()) };
        let cached = self.plans.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some((at, plans)) = &cached {
            if at.elapsed() < PLANS_TTL {
                return Ok(plans.clone());
            }
        }
        match polar.plans().await {
            Ok(mut plans) => {
                plans.sort_by_key(|p| p.price.as_ref().map_or(i64::MAX, |m| m.amount_minor));
                *self.plans.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), plans.clone()));
                Ok(plans)
            }
            Err(e) => match cached {
                Some((_, plans)) => {
                    tracing::warn!(error = %e, "Polar's plans could not be refreshed: the last known are used");
                    Ok(plans)
                }
                None => Err(e.into()),
            },
        }
    }

    /// Forgets the cached plans (tests; an operator changing products).
    pub fn forget_plans(&self) {
        *self.plans.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The first day of `at`'s month and of the next, UTC: the period of an
/// organisation without a subscription.
pub fn calendar_month(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0).single().unwrap_or(at);
    let (y, m) = if at.month() == 12 { (at.year() + 1, 1) } else { (at.year(), at.month() + 1) };
    let end = Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().unwrap_or(at);
    (start, end)
}

fn state_of(r: &subscriptions::Model) -> SubscriptionState {
    SubscriptionState {
        status: SubscriptionStatus::parse(&r.status).unwrap_or(SubscriptionStatus::Revoked),
        plan_id: r.plan_id.clone(),
        plan_name: r.plan_name.clone(),
        price: domain::billing::Money { amount_minor: r.amount_minor, currency: r.currency.clone() },
        interval: r.interval.clone(),
        current_period_start: r.current_period_start,
        current_period_end: r.current_period_end,
        cancel_at_period_end: r.cancel_at_period_end,
        modified_at: r.polar_modified_at,
    }
}

/// The plan in force for an organisation now.
#[derive(Debug, Clone)]
pub struct Current {
    /// `None` without Polar (no limits), or when the plans cannot be read.
    pub plan: Option<Plan>,
    pub subscription: Option<SubscriptionState>,
    pub period: (DateTime<Utc>, DateTime<Utc>),
    pub limits: PlanLimits,
}

/// The organisation's subscription that gives it its plan now, if any:
/// an active (or trialing, or past due) one first, else a cancelled one
/// still running; the one renewing last among equals.
pub(crate) async fn granting<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<Option<SubscriptionState>> {
    let rows = subscriptions::Entity::find().filter(subscriptions::Column::OrgId.eq(org_id)).all(db).await?;
    let mut best: Option<SubscriptionState> = None;
    for s in rows.iter().map(state_of).filter(|s| s.grants_plan(now)) {
        let rank = |s: &SubscriptionState| (s.status != SubscriptionStatus::Canceled, s.current_period_end);
        if best.as_ref().is_none_or(|b| rank(&s) > rank(b)) {
            best = Some(s);
        }
    }
    Ok(best)
}

/// The plan, period and limits that apply to `org_id` now.
pub async fn current<C: ConnectionTrait>(db: &C, env: &BillingEnv, org_id: Uuid) -> ServiceResult<Current> {
    let now = env.clock.now();
    let month = calendar_month(now);
    if env.polar.is_none() {
        return Ok(Current {
            plan: None,
            subscription: None,
            period: month,
            limits: PlanLimits::unlimited(),
        });
    }
    let subscription = granting(db, org_id, now).await?;
    // Plans Polar cannot give right now: a subscriber keeps calling (their
    // limits are unknown, not zero); a free organisation gets the default.
    let plans = env.plans().await.unwrap_or_default();
    let (plan, limits) = match &subscription {
        Some(s) => {
            let plan = plans.iter().find(|p| p.id == s.plan_id).cloned();
            let limits = plan.as_ref().map_or(PlanLimits::unlimited(), |p| p.limits);
            (plan, limits)
        }
        None => {
            let free = plans.iter().find(|p| p.is_free()).cloned();
            let limits = free.as_ref().map_or(DEFAULT_FREE_LIMITS, |p| p.limits);
            (free, limits)
        }
    };
    let period =
        match &subscription {
            Some(SubscriptionState {
                current_period_start: Some(s), current_period_end: Some(e), ..
            }) if s < e => (*s, *e),
            _ => month,
        };
    Ok(Current { plan, subscription, period, limits })
}

/// The billing page: plans, the plan in force, this period's usage.
pub async fn overview(
    db: &DatabaseConnection,
    env: &BillingEnv,
    ctx: &OrgCtx,
) -> ServiceResult<BillingOverview> {
    ctx.require(Permission::ViewAnalytics)?;
    let cur = current(db, env, ctx.org_id()).await?;
    let used = usage::between(db, ctx.org_id(), cur.period.0, cur.period.1).await?;
    let estimate = cur.plan.clone().and_then(|mut p| {
        if let Some(s) = &cur.subscription {
            p.price = Some(s.price.clone());
        }
        p.estimate(&used)
    });
    Ok(BillingOverview {
        enabled: env.polar.is_some(),
        plans: env.plans().await?,
        plan: cur.plan,
        subscription: cur.subscription,
        period_start: cur.period.0,
        period_end: cur.period.1,
        limits: cur.limits,
        used,
        estimate,
    })
}

fn polar_of(env: &BillingEnv) -> ServiceResult<&Polar> {
    env.polar.as_ref().ok_or_else(|| ServiceError::new(ErrorCode::ProviderNotConfigured).with_detail("polar"))
}

/// Starts a checkout of `plan_id` for the organisation (Owners only): the
/// Polar page to send the buyer to. They come back to the billing page.
pub async fn checkout(env: &BillingEnv, ctx: &OrgCtx, plan_id: &str) -> ServiceResult<Redirect> {
    ctx.require(Permission::ManageBilling)?;
    let polar = polar_of(env)?;
    let plans = env.plans().await?;
    let Some(plan) = plans.iter().find(|p| p.id == plan_id) else {
        return Err(ServiceError::field(ErrorCode::NotFound, "plan_id"));
    };
    if plan.is_free() {
        return Err(ServiceError::field(ErrorCode::Validation, "plan_id")
            .with_detail("the free plan needs no checkout"));
    }
    let base = env.public_url.trim_end_matches('/');
    let org = ctx.org_id().to_string();
    let url = polar
        .checkout(
            &plan.id,
            &org,
            &format!("{base}/app/billing?checkout={{CHECKOUT_ID}}"),
            &format!("{base}/app/billing"),
        )
        .await?;
    Ok(Redirect { url })
}

/// Polar's customer portal for the organisation (Owners only): invoices,
/// payment method, cancelling.
pub async fn portal(env: &BillingEnv, ctx: &OrgCtx) -> ServiceResult<Redirect> {
    ctx.require(Permission::ManageBilling)?;
    let polar = polar_of(env)?;
    let base = env.public_url.trim_end_matches('/');
    let url = polar.portal(&ctx.org_id().to_string(), &format!("{base}/app/billing")).await.map_err(|e| {
        match e {
            // Polar knows no customer for an organisation that never paid.
            polar::PolarError::Refused(422) => {
                ServiceError::new(ErrorCode::NotFound).with_detail("no customer")
            }
            e => e.into(),
        }
    })?;
    Ok(Redirect { url })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calendar_month_runs_from_the_first_to_the_first() {
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap();
        let (s, e) = calendar_month(at);
        assert_eq!(s, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(e, Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
        let (s, e) = calendar_month(Utc.with_ymd_and_hms(2027, 2, 28, 23, 59, 59).unwrap());
        assert_eq!((s.month(), e.month()), (2, 3));
    }
}
