//! A phone call's lifecycle: the states a call goes through, what moves it
//! from one to the next, and how a SIP status code reads as an ending.
//!
//! Events arrive from LiveKit's webhooks and from our own requests to it;
//! webhooks may come twice, late or out of order. The rules here make that
//! harmless: a call never moves backwards, a final state is final, and an
//! event that changes nothing says why ([`Ignored`]), so the caller can log
//! it and keep it on the timeline without touching the state.

use serde::{Deserialize, Serialize};

/// Where a call stands. `initiated → ringing → answered → in_progress →
/// completed`, or one of the unanswered endings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Stored, not yet dialled (or the dial request is under way).
    Initiated,
    /// The far end is ringing.
    Ringing,
    /// The callee picked up.
    Answered,
    /// The agent and the callee are both on the call.
    InProgress,
    /// Answered, then hung up (by either side).
    Completed,
    /// The dial failed (unknown number, trunk refused, LiveKit unreachable…).
    Failed,
    /// The callee was busy or declined.
    Busy,
    /// Nobody picked up.
    NoAnswer,
    /// Hung up by us before anyone answered.
    Canceled,
}

impl CallStatus {
    pub const ALL: [CallStatus; 9] = [
        CallStatus::Initiated,
        CallStatus::Ringing,
        CallStatus::Answered,
        CallStatus::InProgress,
        CallStatus::Completed,
        CallStatus::Failed,
        CallStatus::Busy,
        CallStatus::NoAnswer,
        CallStatus::Canceled,
    ];

    /// The states of a call still under way (not final).
    pub const LIVE: [CallStatus; 4] =
        [CallStatus::Initiated, CallStatus::Ringing, CallStatus::Answered, CallStatus::InProgress];

    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::Answered => "answered",
            CallStatus::InProgress => "in_progress",
            CallStatus::Completed => "completed",
            CallStatus::Failed => "failed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no_answer",
            CallStatus::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    /// No event moves a call out of a final state.
    pub fn is_final(self) -> bool {
        self.stage() == Stage::Ended
    }

    /// Whether someone picked up at some point.
    pub fn was_answered(self) -> bool {
        matches!(self, CallStatus::Answered | CallStatus::InProgress | CallStatus::Completed)
    }

    fn stage(self) -> Stage {
        match self {
            CallStatus::Initiated => Stage::Initiated,
            CallStatus::Ringing => Stage::Ringing,
            CallStatus::Answered => Stage::Answered,
            CallStatus::InProgress => Stage::InProgress,
            _ => Stage::Ended,
        }
    }
}

/// The order states come in; a call only moves forward through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Initiated,
    Ringing,
    Answered,
    InProgress,
    Ended,
}

/// Something that happened to a call, whatever reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallEvent {
    /// The far end rings (SIP 180/183, or the SIP participant reports it).
    Ringing,
    /// The callee picked up (the SIP participant joined the room answered).
    Answered,
    /// The agent is on the call with the callee.
    AgentJoined,
    /// The callee's leg ended: after an answer this completes the call;
    /// before one, the SIP status (if any) says how it ended.
    Hangup { sip_status: Option<u16> },
    /// The dial request itself failed (LiveKit or the trunk refused it).
    DialFailed { sip_status: Option<u16> },
    /// We hung up (the call page or the API).
    HungUp,
    /// The room is gone: whatever was still open ends now, even if the
    /// voice worker vanished without a word.
    RoomFinished,
}

/// Why an event left the state as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ignored {
    /// The call already ended: nothing moves it any more (a late or
    /// repeated webhook).
    AlreadyEnded,
    /// The call is already past the state this event leads to (an event
    /// that arrived out of order).
    Behind,
}

/// The state an event leads to from `from`, or why it leads nowhere.
pub fn next(from: CallStatus, event: CallEvent) -> Result<CallStatus, Ignored> {
    if from.is_final() {
        return Err(Ignored::AlreadyEnded);
    }
    let to = match event {
        CallEvent::Ringing => CallStatus::Ringing,
        CallEvent::Answered => CallStatus::Answered,
        CallEvent::AgentJoined if from.was_answered() => CallStatus::InProgress,
        // The agent may join the room before the callee picks up: the call
        // is not in progress until someone has answered.
        CallEvent::AgentJoined => return Err(Ignored::Behind),
        CallEvent::Hangup { sip_status } | CallEvent::DialFailed { sip_status } => ending(from, sip_status),
        CallEvent::HungUp => {
            if from.was_answered() {
                CallStatus::Completed
            } else {
                CallStatus::Canceled
            }
        }
        CallEvent::RoomFinished => ending(from, None),
    };
    if to.stage() <= from.stage() {
        return Err(Ignored::Behind);
    }
    Ok(to)
}

/// How a call in `from` ends when its leg goes away with `sip_status`.
fn ending(from: CallStatus, sip_status: Option<u16>) -> CallStatus {
    if from.was_answered() {
        return CallStatus::Completed;
    }
    match sip_status {
        Some(code) => unanswered(code),
        // No status: it rang out, or it never got that far.
        None if from == CallStatus::Ringing => CallStatus::NoAnswer,
        None => CallStatus::Failed,
    }
}

/// What a final SIP response on an unanswered call means for the call.
pub fn unanswered(sip_status: u16) -> CallStatus {
    match sip_status {
        // Busy here, busy everywhere, declined.
        486 | 600 | 603 => CallStatus::Busy,
        // Temporarily unavailable, request timeout.
        480 | 408 => CallStatus::NoAnswer,
        // Request terminated: our own cancel reached the far end.
        487 => CallStatus::Canceled,
        _ => CallStatus::Failed,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn live_states_are_exactly_the_unfinished_ones() {
        for s in CallStatus::ALL {
            assert_eq!(CallStatus::LIVE.contains(&s), !s.is_final(), "{s:?}");
        }
    }

    use super::CallEvent as E;
    use super::CallStatus::*;
    use super::*;

    /// Runs `events` from `initiated`; the final state and how many events
    /// were ignored.
    fn run(events: &[CallEvent]) -> (CallStatus, usize) {
        let mut state = Initiated;
        let mut ignored = 0;
        for e in events {
            match next(state, *e) {
                Ok(to) => state = to,
                Err(_) => ignored += 1,
            }
        }
        (state, ignored)
    }

    #[test]
    fn every_status_reads_back_from_its_name() {
        for s in CallStatus::ALL {
            assert_eq!(CallStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CallStatus::parse("ringing "), Some(CallStatus::Ringing));
        assert_eq!(CallStatus::parse("E::Ringing"), None);
    }

    /// Sequences a person would recognise, and where each must end.
    #[test]
    fn lifecycles_end_where_a_person_would_expect() {
        let cases: &[(&str, &[CallEvent], CallStatus, usize)] = &[
            (
                "normal call",
                &[E::Ringing, E::Answered, E::AgentJoined, E::Hangup { sip_status: None }, E::RoomFinished],
                Completed,
                1,
            ),
            (
                "agent in the room before the answer",
                &[E::AgentJoined, E::Ringing, E::Answered, E::AgentJoined, E::Hangup { sip_status: None }],
                Completed,
                1,
            ),
            ("busy", &[E::Ringing, E::Hangup { sip_status: Some(486) }, E::RoomFinished], Busy, 1),
            ("declined", &[E::Ringing, E::Hangup { sip_status: Some(603) }], Busy, 0),
            ("no answer (480)", &[E::Ringing, E::Hangup { sip_status: Some(480) }], NoAnswer, 0),
            ("no answer (timeout)", &[E::Ringing, E::Hangup { sip_status: Some(408) }], NoAnswer, 0),
            ("rang out, no status", &[E::Ringing, E::RoomFinished], NoAnswer, 0),
            ("unknown number", &[E::DialFailed { sip_status: Some(404) }], Failed, 0),
            ("address incomplete", &[E::Ringing, E::DialFailed { sip_status: Some(484) }], Failed, 0),
            ("trunk refused, no status", &[E::DialFailed { sip_status: None }], Failed, 0),
            (
                "we hung up while it rang",
                &[E::Ringing, E::HungUp, E::Hangup { sip_status: Some(487) }, E::RoomFinished],
                Canceled,
                2,
            ),
            (
                "we hung up after the answer",
                &[E::Ringing, E::Answered, E::AgentJoined, E::HungUp, E::RoomFinished],
                Completed,
                1,
            ),
            (
                "worker gone: the room finishing ends it",
                &[E::Ringing, E::Answered, E::AgentJoined, E::RoomFinished],
                Completed,
                0,
            ),
            ("room gone before anything", &[E::RoomFinished], Failed, 0),
            // Redelivered and reordered webhooks.
            (
                "every event twice",
                &[
                    E::Ringing,
                    E::Ringing,
                    E::Answered,
                    E::Answered,
                    E::AgentJoined,
                    E::AgentJoined,
                    E::Hangup { sip_status: None },
                    E::Hangup { sip_status: None },
                ],
                Completed,
                4,
            ),
            (
                "ringing arrives after the answer",
                &[E::Answered, E::Ringing, E::AgentJoined, E::Hangup { sip_status: None }],
                Completed,
                1,
            ),
            (
                "the end arrives first",
                &[E::Hangup { sip_status: Some(486) }, E::Ringing, E::Answered, E::AgentJoined],
                Busy,
                3,
            ),
            (
                "room finished before the hangup",
                &[E::Ringing, E::Answered, E::RoomFinished, E::Hangup { sip_status: Some(486) }],
                Completed,
                1,
            ),
        ];
        for (name, events, end, ignored) in cases {
            assert_eq!(run(events), (*end, *ignored), "{name}");
        }
    }

    #[test]
    fn a_call_never_moves_backwards_nor_out_of_an_ending() {
        let events = [
            E::Ringing,
            E::Answered,
            E::AgentJoined,
            E::Hangup { sip_status: None },
            E::Hangup { sip_status: Some(486) },
            E::DialFailed { sip_status: Some(404) },
            E::HungUp,
            E::RoomFinished,
        ];
        for from in CallStatus::ALL {
            for e in events {
                match next(from, e) {
                    Ok(to) => {
                        assert!(to.stage() > from.stage(), "{from:?} + {e:?} → {to:?}");
                        assert!(!from.is_final());
                    }
                    Err(Ignored::AlreadyEnded) => assert!(from.is_final(), "{from:?} + {e:?}"),
                    Err(Ignored::Behind) => assert!(!from.is_final(), "{from:?} + {e:?}"),
                }
            }
        }
    }

    #[test]
    fn sip_statuses_read_as_endings() {
        for (code, status) in [
            (486, Busy),
            (600, Busy),
            (603, Busy),
            (480, NoAnswer),
            (408, NoAnswer),
            (487, Canceled),
            (404, Failed),
            (484, Failed),
            (503, Failed),
            (403, Failed),
        ] {
            assert_eq!(unanswered(code), status, "{code}");
        }
    }

    #[test]
    fn events_travel_as_tagged_json() {
        let e = E::Hangup { sip_status: Some(486) };
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json, serde_json::json!({"type": "hangup", "sip_status": 486}));
        assert_eq!(serde_json::from_value::<CallEvent>(json).unwrap(), e);
        assert_eq!(serde_json::to_value(InProgress).unwrap(), "in_progress");
    }
}
