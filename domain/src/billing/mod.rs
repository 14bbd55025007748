//! Billing's rules, pure: money in minor units, what a plan allows, the
//! subscription states Polar's webhooks move an organisation through (and
//! which update wins when they arrive out of order), the usage a call or a
//! playground turn records, and the quota check made before either.

pub mod money;
pub mod plan;
pub mod subscription;
pub mod usage;
pub mod views;

pub use money::Money;
pub use plan::{Plan, PlanLimits, UnitPrice};
pub use subscription::{SubscriptionState, SubscriptionStatus};
pub use usage::{Metric, QuotaExceeded, Usage};
