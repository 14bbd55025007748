//! A campaign's lifecycle: `draft → active ⇄ paused → completed →
//! archived`. Managers start, pause, resume, complete and archive; the
//! dialer completes a campaign whose prospects are all done or whose end
//! has passed, and pauses one whose dials keep failing. Anything else is an
//! [`IllegalTransition`] (409 at the boundary).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CampaignStatus {
    Draft,
    Active,
    Paused,
    Completed,
    Archived,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 5] = [
        CampaignStatus::Draft,
        CampaignStatus::Active,
        CampaignStatus::Paused,
        CampaignStatus::Completed,
        CampaignStatus::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Completed => "completed",
            CampaignStatus::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Dials go out only from an active campaign.
    pub fn dials(self) -> bool {
        self == CampaignStatus::Active
    }

    /// Settings and prospects may still change: not once it is over.
    pub fn editable(self) -> bool {
        matches!(self, CampaignStatus::Draft | CampaignStatus::Active | CampaignStatus::Paused)
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is asked of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CampaignAction {
    Start,
    Pause,
    Resume,
    Complete,
    Archive,
}

impl CampaignAction {
    pub const ALL: [CampaignAction; 5] = [
        CampaignAction::Start,
        CampaignAction::Pause,
        CampaignAction::Resume,
        CampaignAction::Complete,
        CampaignAction::Archive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignAction::Start => "start",
            CampaignAction::Pause => "pause",
            CampaignAction::Resume => "resume",
            CampaignAction::Complete => "complete",
            CampaignAction::Archive => "archive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for CampaignAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action the campaign's state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from} campaign cannot {action}")]
pub struct IllegalTransition {
    pub from: CampaignStatus,
    pub action: CampaignAction,
}

/// The state `action` leads to from `from`.
pub fn transition(from: CampaignStatus, action: CampaignAction) -> Result<CampaignStatus, IllegalTransition> {
    use CampaignAction as A;
    use CampaignStatus as S;
    match (from, action) {
        (S::Draft, A::Start) => Ok(S::Active),
        (S::Active, A::Pause) => Ok(S::Paused),
        (S::Paused, A::Resume) => Ok(S::Active),
        // A paused campaign whose end passes is over too.
        (S::Active | S::Paused, A::Complete) => Ok(S::Completed),
        // A draft that will never run is put away as well as a finished one.
        (S::Draft | S::Completed, A::Archive) => Ok(S::Archived),
        _ => Err(IllegalTransition { from, action }),
    }
}

#[cfg(test)]
mod tests {
    use super::CampaignAction as A;
    use super::CampaignStatus as S;
    use super::*;

    #[test]
    fn the_lifecycle_goes_forward_and_pauses_both_ways() {
        let mut s = S::Draft;
        for (action, to) in
            [(A::Start, S::Active), (A::Pause, S::Paused), (A::Resume, S::Active), (A::Pause, S::Paused)]
        {
            s = transition(s, action).unwrap();
            assert_eq!(s, to);
        }
        assert_eq!(transition(s, A::Complete), Ok(S::Completed));
        assert_eq!(transition(S::Completed, A::Archive), Ok(S::Archived));
        assert_eq!(transition(S::Draft, A::Archive), Ok(S::Archived));
    }

    #[test]
    fn every_other_move_is_refused_and_named() {
        let allowed = [
            (S::Draft, A::Start),
            (S::Active, A::Pause),
            (S::Paused, A::Resume),
            (S::Active, A::Complete),
            (S::Paused, A::Complete),
            (S::Draft, A::Archive),
            (S::Completed, A::Archive),
        ];
        for from in S::ALL {
            for action in A::ALL {
                let r = transition(from, action);
                assert_eq!(r.is_ok(), allowed.contains(&(from, action)), "{from} {action}");
                if let Err(e) = r {
                    assert_eq!(e, IllegalTransition { from, action });
                }
            }
        }
        // Nothing leaves an archived campaign; a completed one never dials again.
        assert!(A::ALL.iter().all(|a| transition(S::Archived, *a).is_err()));
        assert!(transition(S::Completed, A::Resume).is_err() && transition(S::Completed, A::Start).is_err());
        assert_eq!(
            transition(S::Active, A::Start).unwrap_err().to_string(),
            "a active campaign cannot start"
        );
    }

    #[test]
    fn wire_names_round_trip() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        for a in A::ALL {
            assert_eq!(A::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        }
        assert_eq!(S::parse("running"), None);
        assert!(S::Active.dials() && !S::Paused.dials() && !S::Draft.dials());
        assert!(S::Paused.editable() && !S::Completed.editable() && !S::Archived.editable());
    }
}
