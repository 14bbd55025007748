//! An organisation's subscription as Polar reports it, reduced to the
//! states the product acts on, and the rule that keeps a late, older
//! webhook from overwriting a newer state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// Checkout started, first payment not through.
    Incomplete,
    Trialing,
    Active,
    /// A renewal failed; Polar retries the payment. The plan still applies.
    PastDue,
    /// Cancelled: the plan applies until the period's end, then lapses.
    Canceled,
    /// Access ended (revoked, unpaid, or a cancellation that took effect).
    Revoked,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 6] = [
        SubscriptionStatus::Incomplete,
        SubscriptionStatus::Trialing,
        SubscriptionStatus::Active,
        SubscriptionStatus::PastDue,
        SubscriptionStatus::Canceled,
        SubscriptionStatus::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Incomplete => "incomplete",
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<SubscriptionStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Ours, from Polar's `status` and `ended_at` (and whether the event
    /// was a revocation): `unpaid`, `incomplete_expired` and a
    /// cancellation whose end has passed lose access; `paused` too.
    pub fn from_polar(
        status: &str,
        ended_at: Option<DateTime<Utc>>,
        revoked: bool,
        now: DateTime<Utc>,
    ) -> Self {
        use SubscriptionStatus as S;
        if revoked {
            return S::Revoked;
        }
        match status {
            "trialing" => S::Trialing,
            "active" => S::Active,
            "past_due" => S::PastDue,
            "incomplete" => S::Incomplete,
            "canceled" if ended_at.is_none_or(|e| e > now) => S::Canceled,
            // canceled and over, unpaid, incomplete_expired, paused, anything new
            _ => S::Revoked,
        }
    }
}

/// What is kept of a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionState {
    pub status: SubscriptionStatus,
    /// The plan (Polar's product id).
    pub plan_id: String,
    pub plan_name: String,
    pub price: Money,
    pub interval: String,
    pub current_period_start: Option<DateTime<Utc>>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    /// Polar's `modified_at` (else `created_at`): the order of updates.
    pub modified_at: DateTime<Utc>,
}

impl SubscriptionState {
    /// Whether the plan's limits (rather than the free plan's) apply now.
    pub fn grants_plan(&self, now: DateTime<Utc>) -> bool {
        use SubscriptionStatus as S;
        match self.status {
            S::Trialing | S::Active | S::PastDue => true,
            S::Canceled => self.current_period_end.is_none_or(|end| end > now),
            S::Incomplete | S::Revoked => false,
        }
    }
}

/// Whether an update of a subscription modified at `incoming` replaces
/// the stored one modified at `stored`: only if it is not older. Equal
/// times apply (a replay of the same state changes nothing), so a
/// webhook and the reconciliation reading the same version agree.
pub fn supersedes(stored: Option<DateTime<Utc>>, incoming: DateTime<Utc>) -> bool {
    stored.is_none_or(|s| incoming >= s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn polar_statuses_become_ours() {
        use SubscriptionStatus as S;
        let now = t("2026-12-07T10:00:00Z");
        assert_eq!(S::from_polar("active", None, false, now), S::Active);
        assert_eq!(S::from_polar("trialing", None, false, now), S::Trialing);
        assert_eq!(S::from_polar("past_due", None, false, now), S::PastDue);
        assert_eq!(S::from_polar("unpaid", None, false, now), S::Revoked);
        assert_eq!(S::from_polar("canceled", Some(t("2026-12-31T00:00:00Z")), false, now), S::Canceled);
        assert_eq!(S::from_polar("canceled", Some(t("2026-12-01T00:00:00Z")), false, now), S::Revoked);
        assert_eq!(
            S::from_polar("active", None, true, now),
            S::Revoked,
            "a revocation ends it whatever the status"
        );
        assert_eq!(S::from_polar("something_new", None, false, now), S::Revoked);
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn a_cancelled_plan_holds_until_its_period_ends() {
        let now = t("2026-12-07T10:00:00Z");
        let mut s = SubscriptionState {
            status: SubscriptionStatus::Canceled,
            plan_id: "p".into(),
            plan_name: "Pro".into(),
            price: Money::new(2900, "usd").unwrap(),
            interval: "month".into(),
            current_period_start: Some(t("2026-11-20T00:00:00Z")),
            current_period_end: Some(t("2026-12-20T00:00:00Z")),
            cancel_at_period_end: true,
            modified_at: now,
        };
        assert!(s.grants_plan(now));
        assert!(!s.grants_plan(t("2026-12-20T00:00:01Z")));
        s.status = SubscriptionStatus::Incomplete;
        assert!(!s.grants_plan(now));
    }

    #[test]
    fn an_older_update_never_overwrites_a_newer_one() {
        let a = t("2026-12-07T10:00:00Z");
        let b = t("2026-12-07T10:00:01Z");
        assert!(supersedes(None, a));
        assert!(supersedes(Some(a), b));
        assert!(supersedes(Some(a), a));
        assert!(!supersedes(Some(b), a));
    }
}
