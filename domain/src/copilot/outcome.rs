//! How a call ended, as the rep logs it, and what that does to the prospect.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError};
use crate::prospect::ProspectStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    MeetingBooked,
    CallbackScheduled,
    Interested,
    NotInterested,
    NoAnswer,
    Voicemail,
}

pub const NOTES_MAX_CHARS: usize = 5_000;

impl CallOutcome {
    pub const ALL: [CallOutcome; 6] = [
        CallOutcome::MeetingBooked,
        CallOutcome::CallbackScheduled,
        CallOutcome::Interested,
        CallOutcome::NotInterested,
        CallOutcome::NoAnswer,
        CallOutcome::Voicemail,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::MeetingBooked => "meeting_booked",
            CallOutcome::CallbackScheduled => "callback_scheduled",
            CallOutcome::Interested => "interested",
            CallOutcome::NotInterested => "not_interested",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::Voicemail => "voicemail",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s.trim())
    }

    /// The prospect's status after a call with this outcome. Unreached
    /// prospects become `contacted` only if they were `new`: a voicemail must
    /// not erase "interested".
    pub fn next_status(self, current: ProspectStatus) -> ProspectStatus {
        match self {
            CallOutcome::MeetingBooked => ProspectStatus::MeetingScheduled,
            CallOutcome::CallbackScheduled => ProspectStatus::CallbackScheduled,
            CallOutcome::Interested => ProspectStatus::Interested,
            CallOutcome::NotInterested => ProspectStatus::NotInterested,
            CallOutcome::NoAnswer | CallOutcome::Voicemail => match current {
                ProspectStatus::New => ProspectStatus::Contacted,
                other => other,
            },
        }
    }

    /// Was the prospect actually reached (counts toward script effectiveness)?
    pub fn reached(self) -> bool {
        !matches!(self, CallOutcome::NoAnswer | CallOutcome::Voicemail)
    }

    /// Success weight of the outcome for script and technique effectiveness, 0–100.
    pub fn score(self) -> u8 {
        match self {
            CallOutcome::MeetingBooked => 100,
            CallOutcome::CallbackScheduled => 60,
            CallOutcome::Interested => 50,
            CallOutcome::NotInterested | CallOutcome::NoAnswer | CallOutcome::Voicemail => 0,
        }
    }
}

/// An outcome as logged at the end of a call, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutcomeReport {
    pub outcome: CallOutcome,
    /// Required for `callback_scheduled`, and must be in the future.
    #[serde(default)]
    pub callback_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub notes: String,
}

impl OutcomeReport {
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), FieldError> {
        match (self.outcome, self.callback_at) {
            (CallOutcome::CallbackScheduled, None) => {
                return Err(FieldError::new("callback_at", ErrorCode::RequiredValue));
            }
            (CallOutcome::CallbackScheduled, Some(at)) if at <= now => {
                return Err(FieldError::new("callback_at", ErrorCode::OutOfRange));
            }
            (CallOutcome::CallbackScheduled, Some(at)) if at > now + chrono::Duration::days(366) => {
                return Err(FieldError::new("callback_at", ErrorCode::OutOfRange));
            }
            _ => {}
        }
        if self.notes.chars().count() > NOTES_MAX_CHARS {
            return Err(
                FieldError::new("notes", ErrorCode::TextTooLong).with_detail(NOTES_MAX_CHARS.to_string())
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn outcomes_move_the_prospect_status() {
        use ProspectStatus::*;
        assert_eq!(CallOutcome::MeetingBooked.next_status(New), MeetingScheduled);
        assert_eq!(CallOutcome::NotInterested.next_status(Interested), NotInterested);
        assert_eq!(CallOutcome::Voicemail.next_status(New), Contacted);
        assert_eq!(CallOutcome::NoAnswer.next_status(Interested), Interested);
        for o in CallOutcome::ALL {
            assert_eq!(CallOutcome::parse(o.as_str()), Some(o));
        }
    }

    #[test]
    fn a_callback_needs_a_future_date() {
        let now = Utc::now();
        let report = |outcome, callback_at| OutcomeReport { outcome, callback_at, notes: String::new() };
        assert_eq!(
            report(CallOutcome::CallbackScheduled, None).validate(now).unwrap_err().code,
            ErrorCode::RequiredValue
        );
        let past = report(CallOutcome::CallbackScheduled, Some(now - Duration::minutes(1)));
        assert_eq!(past.validate(now).unwrap_err().code, ErrorCode::OutOfRange);
        assert!(report(CallOutcome::CallbackScheduled, Some(now + Duration::days(1))).validate(now).is_ok());
        assert!(report(CallOutcome::NoAnswer, None).validate(now).is_ok());
        let long = OutcomeReport {
            outcome: CallOutcome::Interested,
            callback_at: None,
            notes: "x".repeat(NOTES_MAX_CHARS + 1),
        };
        assert_eq!(long.validate(now).unwrap_err().code, ErrorCode::TextTooLong);
    }
}
