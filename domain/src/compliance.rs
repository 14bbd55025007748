//! May we call this prospect now? The one check every dialer path runs
//! before placing a call (campaigns, the SDR dashboard, the API).
//!
//! Refuses, in this order: numbers on the organisation's do-not-call list,
//! prospects flagged do-not-call, prospects who said "not interested" and
//! asked not to be contacted again, prospects with no usable number or time
//! zone, and calls outside the calling window in the prospect's local time.

#[cfg(feature = "phone")]
use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::prospect::ProspectStatus;

/// The organisation's calling hours, in the prospect's local time, as
/// minutes after midnight: `[start, end)`. Default 08:00–21:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallingWindow {
    pub start_minute: u16,
    pub end_minute: u16,
}

impl Default for CallingWindow {
    fn default() -> Self {
        CallingWindow { start_minute: 8 * 60, end_minute: 21 * 60 }
    }
}

impl CallingWindow {
    /// A window must start before it ends, within one day.
    pub fn validate(self) -> Result<Self, crate::error::FieldError> {
        if self.end_minute > 24 * 60 || self.start_minute >= self.end_minute {
            return Err(crate::error::FieldError::new("calling_window", crate::ErrorCode::OutOfRange)
                .with_detail(format!("{}–{}", hhmm(self.start_minute), hhmm(self.end_minute))));
        }
        Ok(self)
    }

    pub fn contains(self, minute_of_day: u16) -> bool {
        (self.start_minute..self.end_minute).contains(&minute_of_day)
    }
}

/// `HH:MM` for a minute of the day.
pub fn hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Parses `HH:MM` (or `H:MM`, `24:00` for the end of the day).
pub fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// What the check needs to know about a prospect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTarget<'a> {
    /// E.164, or empty when the prospect has no phone.
    pub phone: &'a str,
    pub timezone: &'a str,
    pub status: ProspectStatus,
    pub do_not_call: bool,
    pub opted_out: bool,
    /// Whether `phone` is on the organisation's do-not-call list (a lookup
    /// the caller makes; the list lives in the database).
    pub on_dnc_list: bool,
}

/// Why a call is refused. Serialised for the UI and the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum CallRefusal {
    #[error("the number is on the do-not-call list")]
    OnDncList,
    #[error("the prospect is flagged do-not-call")]
    FlaggedDoNotCall,
    #[error("the prospect opted out")]
    OptedOut,
    #[error("the prospect has no phone number")]
    NoPhone,
    #[error("the prospect's time zone is unknown")]
    UnknownTimezone,
    #[error("it is {local_time} for the prospect, outside calling hours ({window})")]
    OutsideWindow { local_time: String, window: String },
}

/// The check (server side: it needs the tz database). `now` is passed in so callers (and tests) control the clock.
#[cfg(feature = "phone")]
pub fn may_call(
    target: &CallTarget<'_>,
    window: CallingWindow,
    now: DateTime<Utc>,
) -> Result<(), CallRefusal> {
    // The most specific reason first: an opt-out also puts the number on the
    // organisation's list, and the person's own request is what to show.
    // An opt-out ("do not contact me again", usually given with a "not
    // interested") binds whatever the sales status says.
    if target.opted_out {
        return Err(CallRefusal::OptedOut);
    }
    if target.do_not_call {
        return Err(CallRefusal::FlaggedDoNotCall);
    }
    if target.on_dnc_list {
        return Err(CallRefusal::OnDncList);
    }
    if target.phone.is_empty() {
        return Err(CallRefusal::NoPhone);
    }
    let tz: chrono_tz::Tz = target.timezone.parse().map_err(|_| CallRefusal::UnknownTimezone)?;
    let local = now.with_timezone(&tz);
    let minute = (local.hour() * 60 + local.minute()) as u16;
    if !window.contains(minute) {
        return Err(CallRefusal::OutsideWindow {
            local_time: hhmm(minute),
            window: format!("{}–{}", hhmm(window.start_minute), hhmm(window.end_minute)),
        });
    }
    Ok(())
}

/// The tz database's zones, for the server's calendar maths.
#[cfg(feature = "phone")]
pub use chrono_tz::Tz;

#[cfg(feature = "phone")]
/// Whether `tz` names a zone of the tz database (`Europe/Paris`).
pub fn is_valid_timezone(tz: &str) -> bool {
    tz.parse::<chrono_tz::Tz>().is_ok()
}

#[cfg(all(test, feature = "phone"))]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn target() -> CallTarget<'static> {
        CallTarget {
            phone: "+33612345678",
            timezone: "Europe/Paris",
            status: ProspectStatus::New,
            do_not_call: false,
            opted_out: false,
            on_dnc_list: false,
        }
    }

    fn utc(h: u32, m: u32) -> DateTime<Utc> {
        // 15 January: Paris is UTC+1, New York UTC-5.
        Utc.with_ymd_and_hms(2026, 1, 15, h, m, 0).unwrap()
    }

    #[test]
    fn calls_inside_local_hours_are_allowed() {
        assert_eq!(may_call(&target(), CallingWindow::default(), utc(9, 0)), Ok(()));
        // 07:00 UTC = 08:00 Paris: the window's first minute.
        assert_eq!(may_call(&target(), CallingWindow::default(), utc(7, 0)), Ok(()));
    }

    #[test]
    fn the_window_is_in_the_prospects_local_time() {
        // 06:59 UTC = 07:59 in Paris.
        let e = may_call(&target(), CallingWindow::default(), utc(6, 59)).unwrap_err();
        assert_eq!(
            e,
            CallRefusal::OutsideWindow { local_time: "07:59".into(), window: "08:00–21:00".into() }
        );
        // 20:00 UTC = 21:00 Paris: the end is exclusive.
        assert!(may_call(&target(), CallingWindow::default(), utc(20, 0)).is_err());
        // The same instant is 15:00 in New York: fine there.
        let ny = CallTarget { timezone: "America/New_York", phone: "+12125550100", ..target() };
        assert_eq!(may_call(&ny, CallingWindow::default(), utc(20, 0)), Ok(()));
        // Summer time: 15 July 06:30 UTC = 08:30 in Paris (UTC+2).
        let july = Utc.with_ymd_and_hms(2026, 7, 15, 6, 30, 0).unwrap();
        assert_eq!(may_call(&target(), CallingWindow::default(), july), Ok(()));
    }

    #[test]
    fn windows_are_configurable() {
        let w = CallingWindow { start_minute: 10 * 60, end_minute: 12 * 60 + 30 };
        assert!(may_call(&target(), w, utc(8, 0)).is_err()); // 09:00 Paris
        assert_eq!(may_call(&target(), w, utc(9, 0)), Ok(()));
        assert!(may_call(&target(), w, utc(11, 30)).is_err()); // 12:30 Paris
        assert!(CallingWindow { start_minute: 600, end_minute: 600 }.validate().is_err());
        assert!(CallingWindow { start_minute: 0, end_minute: 1441 }.validate().is_err());
        assert_eq!(parse_hhmm("8:05"), Some(485));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("24:01"), None);
        assert_eq!(parse_hhmm("9h"), None);
    }

    #[test]
    fn do_not_call_and_opt_out_win_over_everything() {
        let w = CallingWindow::default();
        let noon = utc(11, 0);
        assert_eq!(
            may_call(&CallTarget { on_dnc_list: true, ..target() }, w, noon),
            Err(CallRefusal::OnDncList)
        );
        assert_eq!(
            may_call(&CallTarget { do_not_call: true, ..target() }, w, noon),
            Err(CallRefusal::FlaggedDoNotCall)
        );
        let opted = CallTarget { opted_out: true, status: ProspectStatus::NotInterested, ..target() };
        assert_eq!(may_call(&opted, w, noon), Err(CallRefusal::OptedOut));
        let opted_later = CallTarget { opted_out: true, status: ProspectStatus::Interested, ..target() };
        assert_eq!(may_call(&opted_later, w, noon), Err(CallRefusal::OptedOut));
        // Several reasons: the person's own request is the one shown.
        let all = CallTarget { opted_out: true, do_not_call: true, on_dnc_list: true, ..target() };
        assert_eq!(may_call(&all, w, noon), Err(CallRefusal::OptedOut));
        let flagged_and_listed = CallTarget { do_not_call: true, on_dnc_list: true, ..target() };
        assert_eq!(may_call(&flagged_and_listed, w, noon), Err(CallRefusal::FlaggedDoNotCall));
        // "Not interested" alone is a sales outcome, not a legal opt-out.
        let not_interested = CallTarget { status: ProspectStatus::NotInterested, ..target() };
        assert_eq!(may_call(&not_interested, w, noon), Ok(()));
        assert_eq!(may_call(&CallTarget { phone: "", ..target() }, w, noon), Err(CallRefusal::NoPhone));
        assert_eq!(
            may_call(&CallTarget { timezone: "Mars/Olympus", ..target() }, w, noon),
            Err(CallRefusal::UnknownTimezone)
        );
    }
}
