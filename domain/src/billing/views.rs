//! What the billing and usage pages (and the REST API) read.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::money::Money;
use super::plan::{Plan, PlanLimits};
use super::subscription::SubscriptionState;
use super::usage::Usage;

/// The organisation's plan, its period and what it has used of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BillingOverview {
    /// Whether billing runs through Polar here (without it: no limits, no checkout).
    pub enabled: bool,
    /// The plans one can choose, cheapest first.
    pub plans: Vec<Plan>,
    /// The plan in force (the free plan when nothing is subscribed).
    pub plan: Option<Plan>,
    /// The subscription behind it, if any (also a cancelled one still running).
    pub subscription: Option<SubscriptionState>,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub limits: PlanLimits,
    pub used: Usage,
    /// What this period costs so far: the plan's price (the subscription's,
    /// when there is one) and its unit prices' share of `used`.
    pub estimate: Option<Money>,
}

/// Where to send the buyer (Polar's checkout, or its customer portal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Redirect {
    pub url: String,
}

/// A plan to buy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutRequest {
    pub plan_id: String,
}

/// One day's usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageDay {
    pub day: NaiveDate,
    pub usage: Usage,
}

/// Usage of one agent or one API key over the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageBy {
    /// `None`: calls and turns without one (placed in the UI; a deleted agent).
    pub id: Option<Uuid>,
    pub name: String,
    pub usage: Usage,
    /// Calls and turns counted.
    pub events: u64,
}

/// The usage page: a range of days, and the current period against the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageReport {
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub days: Vec<UsageDay>,
    pub total: Usage,
    pub by_agent: Vec<UsageBy>,
    pub by_api_key: Vec<UsageBy>,
    pub overview: BillingOverview,
}

/// Which days the usage page reads (UTC; inclusive; 31 days ending today by default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct UsageQuery {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

/// The longest range the usage page reads at once.
pub const MAX_DAYS: i64 = 366;
