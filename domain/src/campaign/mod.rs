//! Campaigns: an AI voice agent dials a list of prospects inside the hours
//! the law and the prospects allow, retries by the result of each dial, and
//! stops itself when dials keep failing. The pure rules: the lifecycle
//! ([`status`]), calling windows per weekday across time zones and clock
//! changes ([`windows`]), retries ([`retry`]), the circuit breaker
//! ([`breaker`]) and the settings a manager edits.

pub mod breaker;
pub mod retry;
pub mod status;
pub mod views;
pub mod windows;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ErrorCode, FieldError};
pub use breaker::{BreakerRule, Tripped};
pub use retry::{AttemptResult, RetryPolicy, RetryRule};
pub use status::{transition, CampaignAction, CampaignStatus, IllegalTransition};
pub use windows::{next_open_both, WeeklyWindows};

/// Calls a campaign may hold at once.
pub const CONCURRENCY_RANGE: (u32, u32) = (1, 50);

/// Whose clock the calling windows read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CampaignZone {
    /// Each prospect's own (inferred from the number when not set); one
    /// with none is skipped and reported, never called at a guess.
    #[default]
    Prospect,
    /// One IANA zone for every call ("Europe/Paris").
    Fixed { zone: String },
}

/// What a manager sets on a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignSettings {
    pub name: String,
    /// A voice agent of the organisation's (checked active when it starts).
    pub agent_id: Uuid,
    #[serde(default)]
    pub script_id: Option<Uuid>,
    /// The trunk and caller number; the organisation's defaults when unset.
    #[serde(default)]
    pub trunk_id: Option<Uuid>,
    #[serde(default)]
    pub from_number: Option<String>,
    /// No dial before; none after (the campaign then completes).
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub windows: WeeklyWindows,
    #[serde(default)]
    pub zone: CampaignZone,
    pub concurrency: u32,
    #[serde(default)]
    pub retry: RetryPolicy,
}

impl CampaignSettings {
    /// Normalises and checks everything that needs no database: the name,
    /// the dates in order, the windows, the zone, concurrency and retries.
    /// `zone_known` says whether an IANA zone exists (the tz database is a
    /// server-side table).
    pub fn validate(mut self, zone_known: impl Fn(&str) -> bool) -> Result<CampaignSettings, FieldError> {
        self.name = crate::validation::normalize_name("name", &self.name)?;
        if let (Some(start), Some(end)) = (self.starts_at, self.ends_at) {
            if end <= start {
                return Err(FieldError::new("ends_at", ErrorCode::OutOfRange));
            }
        }
        self.windows = self.windows.validate()?;
        if let CampaignZone::Fixed { zone } = &mut self.zone {
            *zone = zone.trim().to_string();
            if !zone_known(zone) {
                return Err(
                    FieldError::new("zone.zone", ErrorCode::InvalidTimezone).with_detail(zone.clone())
                );
            }
        }
        let (lo, hi) = CONCURRENCY_RANGE;
        if !(lo..=hi).contains(&self.concurrency) {
            return Err(
                FieldError::new("concurrency", ErrorCode::OutOfRange).with_detail(format!("{lo}–{hi}"))
            );
        }
        self.retry = self.retry.validate()?;
        if let Some(n) = &mut self.from_number {
            *n = n.trim().to_string();
            if n.is_empty() {
                self.from_number = None;
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> CampaignSettings {
        CampaignSettings {
            name: "  December follow-ups ".into(),
            agent_id: Uuid::nil(),
            script_id: None,
            trunk_id: None,
            from_number: Some(" ".into()),
            starts_at: None,
            ends_at: None,
            windows: WeeklyWindows::default(),
            zone: CampaignZone::Prospect,
            concurrency: 3,
            retry: RetryPolicy::default(),
        }
    }

    fn any_zone(_: &str) -> bool {
        true
    }

    #[test]
    fn settings_are_normalised_and_checked_field_by_field() {
        let ok = valid().validate(any_zone).unwrap();
        assert_eq!((ok.name.as_str(), ok.from_number), ("December follow-ups", None));
        let field = |s: CampaignSettings| s.validate(|z| z == "Europe/Paris").unwrap_err();
        assert_eq!(field(CampaignSettings { name: " ".into(), ..valid() }).code, ErrorCode::NameRequired);
        assert_eq!(field(CampaignSettings { concurrency: 0, ..valid() }).field, "concurrency");
        assert_eq!(field(CampaignSettings { concurrency: 51, ..valid() }).detail.as_deref(), Some("1–50"));
        let now = Utc::now();
        let e = field(CampaignSettings { starts_at: Some(now), ends_at: Some(now), ..valid() });
        assert_eq!((e.field.as_str(), e.code), ("ends_at", ErrorCode::OutOfRange));
        let e =
            field(CampaignSettings { zone: CampaignZone::Fixed { zone: "Mars/Olympus".into() }, ..valid() });
        assert_eq!((e.field.as_str(), e.code), ("zone.zone", ErrorCode::InvalidTimezone));
        let z = valid().validate(|z| z == "Europe/Paris");
        assert!(z.is_ok());
        let fixed =
            CampaignSettings { zone: CampaignZone::Fixed { zone: " Europe/Paris ".into() }, ..valid() };
        assert_eq!(
            fixed.validate(|z| z == "Europe/Paris").unwrap().zone,
            CampaignZone::Fixed { zone: "Europe/Paris".into() }
        );
        assert_eq!(field(CampaignSettings { windows: WeeklyWindows::closed(), ..valid() }).field, "windows");
        let bad_retry =
            RetryPolicy { busy: RetryRule { max_attempts: 0, delay_minutes: 30 }, ..Default::default() };
        assert_eq!(field(CampaignSettings { retry: bad_retry, ..valid() }).field, "retry.busy.max_attempts");
    }

    #[test]
    fn a_minimal_body_takes_the_defaults() {
        let s: CampaignSettings = serde_json::from_value(serde_json::json!({
            "name": "Q1", "agent_id": Uuid::nil(), "concurrency": 2
        }))
        .unwrap();
        assert_eq!(
            (s.windows, s.zone, s.retry),
            (WeeklyWindows::default(), CampaignZone::Prospect, RetryPolicy::default())
        );
        let fixed: CampaignZone =
            serde_json::from_value(serde_json::json!({"kind": "fixed", "zone": "Europe/Paris"})).unwrap();
        assert_eq!(fixed, CampaignZone::Fixed { zone: "Europe/Paris".into() });
    }
}
