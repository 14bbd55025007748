//! What one dial of a campaign prospect came to, and when the prospect is
//! tried again: a retry rule per result — no answer, busy, voicemail, a
//! failed dial — each with the most attempts it allows and the delay
//! before the next. A prospect who answered is done: what they said is the
//! outcome's business, not the dialer's.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::call::CallStatus;
use crate::error::{ErrorCode, FieldError};

/// The attempts one prospect may get in a campaign, whatever the rules say.
pub const MAX_ATTEMPTS: u32 = 10;

/// Delay bounds: long enough not to hammer a line, short enough to be a
/// retry of the same campaign (a week).
pub const DELAY_MINUTES_RANGE: (u32, u32) = (5, 7 * 24 * 60);

/// What a dial came to, as far as the dialer cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AttemptResult {
    /// A person took the call.
    Answered,
    NoAnswer,
    Busy,
    /// A machine answered (a message left or not).
    Voicemail,
    /// The dial itself failed: a SIP error, the trunk, LiveKit.
    Failed,
}

impl AttemptResult {
    pub const ALL: [AttemptResult; 5] = [
        AttemptResult::Answered,
        AttemptResult::NoAnswer,
        AttemptResult::Busy,
        AttemptResult::Voicemail,
        AttemptResult::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptResult::Answered => "answered",
            AttemptResult::NoAnswer => "no_answer",
            AttemptResult::Busy => "busy",
            AttemptResult::Voicemail => "voicemail",
            AttemptResult::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The result of a call that has ended (`None` while it has not):
    /// `voicemail` says a machine answered (the agent's report says so).
    pub fn of_call(status: CallStatus, voicemail: bool) -> Option<AttemptResult> {
        if !status.is_final() {
            return None;
        }
        Some(match status {
            _ if status.was_answered() && voicemail => AttemptResult::Voicemail,
            _ if status.was_answered() => AttemptResult::Answered,
            CallStatus::Busy => AttemptResult::Busy,
            // Our own cancel of a ring nobody picked up.
            CallStatus::NoAnswer | CallStatus::Canceled => AttemptResult::NoAnswer,
            _ => AttemptResult::Failed,
        })
    }
}

/// How often, and how far apart, a result is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetryRule {
    /// The prospect's attempts in the campaign after which this result
    /// ends their turn (1: never retried).
    pub max_attempts: u32,
    pub delay_minutes: u32,
}

/// A retry rule per result that is worth another try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetryPolicy {
    pub no_answer: RetryRule,
    pub busy: RetryRule,
    pub voicemail: RetryRule,
    pub failed: RetryRule,
}

impl Default for RetryPolicy {
    /// Busy lines clear quickly, unanswered ones later in the day; a
    /// machine is tried again tomorrow; a failed dial soon, but not often.
    fn default() -> Self {
        RetryPolicy {
            no_answer: RetryRule { max_attempts: 3, delay_minutes: 4 * 60 },
            busy: RetryRule { max_attempts: 3, delay_minutes: 30 },
            voicemail: RetryRule { max_attempts: 2, delay_minutes: 24 * 60 },
            failed: RetryRule { max_attempts: 2, delay_minutes: 60 },
        }
    }
}

/// After an attempt: the prospect's turn is over, or comes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Done,
    RetryAt(DateTime<Utc>),
}

impl RetryPolicy {
    pub fn rule(&self, result: AttemptResult) -> Option<RetryRule> {
        match result {
            AttemptResult::Answered => None,
            AttemptResult::NoAnswer => Some(self.no_answer),
            AttemptResult::Busy => Some(self.busy),
            AttemptResult::Voicemail => Some(self.voicemail),
            AttemptResult::Failed => Some(self.failed),
        }
    }

    /// Attempts 1–[`MAX_ATTEMPTS`], delays within [`DELAY_MINUTES_RANGE`];
    /// errors name `retry.<result>.max_attempts|delay_minutes`.
    pub fn validate(self) -> Result<RetryPolicy, FieldError> {
        for result in AttemptResult::ALL {
            let Some(rule) = self.rule(result) else { continue };
            let name = result.as_str();
            if !(1..=MAX_ATTEMPTS).contains(&rule.max_attempts) {
                return Err(FieldError::new(format!("retry.{name}.max_attempts"), ErrorCode::OutOfRange)
                    .with_detail(format!("1–{MAX_ATTEMPTS}")));
            }
            let (lo, hi) = DELAY_MINUTES_RANGE;
            if !(lo..=hi).contains(&rule.delay_minutes) {
                return Err(FieldError::new(format!("retry.{name}.delay_minutes"), ErrorCode::OutOfRange)
                    .with_detail(format!("{lo}–{hi}")));
            }
        }
        Ok(self)
    }

    /// What follows the prospect's `attempts`-th attempt (counting this
    /// one), which came to `result` and ended at `ended_at`.
    pub fn next(&self, result: AttemptResult, attempts: u32, ended_at: DateTime<Utc>) -> Next {
        match self.rule(result) {
            Some(rule) if attempts < rule.max_attempts.min(MAX_ATTEMPTS) => {
                Next::RetryAt(ended_at + Duration::minutes(i64::from(rule.delay_minutes)))
            }
            _ => Next::Done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AttemptResult as R;
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_call_comes_to_one_result() {
        assert_eq!(R::of_call(CallStatus::Completed, false), Some(R::Answered));
        assert_eq!(R::of_call(CallStatus::Completed, true), Some(R::Voicemail));
        assert_eq!(R::of_call(CallStatus::Busy, false), Some(R::Busy));
        assert_eq!(R::of_call(CallStatus::NoAnswer, false), Some(R::NoAnswer));
        assert_eq!(R::of_call(CallStatus::Canceled, false), Some(R::NoAnswer));
        assert_eq!(R::of_call(CallStatus::Failed, false), Some(R::Failed));
        for open in [CallStatus::Initiated, CallStatus::Ringing, CallStatus::Answered, CallStatus::InProgress]
        {
            assert_eq!(R::of_call(open, false), None, "{open:?} has not ended");
        }
        for r in R::ALL {
            assert_eq!(R::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn each_result_is_retried_by_its_own_rule() {
        let p = RetryPolicy::default();
        let end = at("2026-12-07T10:00:00Z");
        assert_eq!(p.next(R::Answered, 1, end), Next::Done);
        assert_eq!(p.next(R::Busy, 1, end), Next::RetryAt(at("2026-12-07T10:30:00Z")));
        assert_eq!(p.next(R::NoAnswer, 2, end), Next::RetryAt(at("2026-12-07T14:00:00Z")));
        assert_eq!(p.next(R::NoAnswer, 3, end), Next::Done, "the third unanswered attempt is the last");
        assert_eq!(p.next(R::Voicemail, 1, end), Next::RetryAt(at("2026-12-08T10:00:00Z")));
        assert_eq!(p.next(R::Voicemail, 2, end), Next::Done);
        assert_eq!(p.next(R::Failed, 1, end), Next::RetryAt(at("2026-12-07T11:00:00Z")));
        // Attempts count across results: busy twice, then no answer, is three.
        assert_eq!(p.next(R::NoAnswer, 3, end), Next::Done);
        let never = RetryPolicy { busy: RetryRule { max_attempts: 1, delay_minutes: 5 }, ..p };
        assert_eq!(never.next(R::Busy, 1, end), Next::Done);
    }

    #[test]
    fn rules_stay_within_bounds() {
        assert!(RetryPolicy::default().validate().is_ok());
        let p = RetryPolicy::default();
        let e = RetryPolicy { voicemail: RetryRule { max_attempts: 0, delay_minutes: 60 }, ..p }
            .validate()
            .unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("retry.voicemail.max_attempts", ErrorCode::OutOfRange));
        let e = RetryPolicy { busy: RetryRule { max_attempts: 11, delay_minutes: 60 }, ..p }
            .validate()
            .unwrap_err();
        assert_eq!(e.field, "retry.busy.max_attempts");
        let e = RetryPolicy { failed: RetryRule { max_attempts: 2, delay_minutes: 1 }, ..p }
            .validate()
            .unwrap_err();
        assert_eq!((e.field.as_str(), e.detail.as_deref()), ("retry.failed.delay_minutes", Some("5–10080")));
        let json = serde_json::to_value(p).unwrap();
        assert_eq!(json["no_answer"]["max_attempts"], 3);
        assert_eq!(serde_json::from_value::<RetryPolicy>(json).unwrap(), p);
    }
}
