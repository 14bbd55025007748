//! The campaign's circuit breaker: when dials keep failing — the trunk
//! refuses them, the carrier is down, LiveKit answers errors — dialling on
//! only burns through the list (each failure is an attempt) and may get a
//! number flagged. Past a failure share over a recent window, the dialer
//! pauses the campaign and says why; a manager resumes it by hand.
//! Unanswered and busy lines are ordinary and never count.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::retry::AttemptResult;

/// More than half of at least five dials in two minutes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BreakerRule {
    pub window_seconds: u32,
    pub min_dials: u32,
    /// Trips when failures exceed this share of the window's dials.
    pub failure_share: f32,
}

impl Default for BreakerRule {
    fn default() -> Self {
        BreakerRule { window_seconds: 120, min_dials: 5, failure_share: 0.5 }
    }
}

/// Why a breaker tripped: what the manager and the audit log are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tripped {
    pub failed: u32,
    pub dials: u32,
    pub window_seconds: u32,
}

impl BreakerRule {
    /// Whether the campaign's recent dials — `(ended at, result)`, in any
    /// order — trip the breaker at `now`.
    pub fn check(&self, recent: &[(DateTime<Utc>, AttemptResult)], now: DateTime<Utc>) -> Option<Tripped> {
        let since = now - Duration::seconds(i64::from(self.window_seconds));
        let window: Vec<AttemptResult> =
            recent.iter().filter(|(at, _)| *at > since && *at <= now).map(|(_, r)| *r).collect();
        let dials = window.len() as u32;
        let failed = window.iter().filter(|r| **r == AttemptResult::Failed).count() as u32;
        (dials >= self.min_dials && failed as f32 > self.failure_share * dials as f32).then_some(Tripped {
            failed,
            dials,
            window_seconds: self.window_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::AttemptResult::*;
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().with_timezone(&Utc)
            + Duration::seconds(s)
    }

    #[test]
    fn more_than_half_of_five_dials_in_two_minutes_trips_it() {
        let rule = BreakerRule::default();
        let now = t(120);
        let three_of_five =
            [(t(10), Failed), (t(20), Failed), (t(30), Failed), (t(40), Answered), (t(50), NoAnswer)];
        assert_eq!(
            rule.check(&three_of_five, now),
            Some(Tripped { failed: 3, dials: 5, window_seconds: 120 })
        );
        // Half is not more than half.
        let two_of_four = [(t(10), Failed), (t(20), Failed), (t(30), Answered), (t(40), Busy)];
        assert_eq!(rule.check(&two_of_four, now), None);
        // Too few dials to judge, however bad.
        assert_eq!(
            rule.check(&[(t(10), Failed), (t(20), Failed), (t(30), Failed), (t(40), Failed)], now),
            None
        );
        // Older failures have left the window.
        let old = [(t(-10), Failed), (t(-5), Failed), (t(0), Failed), (t(40), Answered), (t(50), Answered)];
        assert_eq!(rule.check(&old, now), None);
        // Busy lines and unanswered calls are no fault of the line.
        let busy = [(t(10), Busy), (t(20), Busy), (t(30), NoAnswer), (t(40), NoAnswer), (t(50), Voicemail)];
        assert_eq!(rule.check(&busy, now), None);
    }
}
