//! When a campaign may dial: spans of local time per weekday (e.g. Monday
//! to Friday 09:00–12:00 and 14:00–18:00), read on the clock of the zone the
//! call lands in — the prospect's, or the campaign's. A span reads the wall
//! clock, so it keeps its local hours across daylight-saving changes; a
//! start that falls in the hour skipped when clocks go forward moves to the
//! first minute that exists, and one in the hour lived twice when they go
//! back is its first occurrence. Spans never cross midnight: "22:00–02:00"
//! is 22:00–24:00 one day and 00:00–02:00 the next.

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::compliance::{hhmm, CallingWindow};
use crate::error::{ErrorCode, FieldError};

/// Spans a day may hold.
pub const MAX_SPANS_PER_DAY: usize = 4;

/// Calling spans per weekday, in order and apart within each day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeeklyWindows {
    #[serde(default)]
    pub mon: Vec<CallingWindow>,
    #[serde(default)]
    pub tue: Vec<CallingWindow>,
    #[serde(default)]
    pub wed: Vec<CallingWindow>,
    #[serde(default)]
    pub thu: Vec<CallingWindow>,
    #[serde(default)]
    pub fri: Vec<CallingWindow>,
    #[serde(default)]
    pub sat: Vec<CallingWindow>,
    #[serde(default)]
    pub sun: Vec<CallingWindow>,
}

impl Default for WeeklyWindows {
    /// Office hours with a lunch break, Monday to Friday.
    fn default() -> Self {
        let office = vec![
            CallingWindow { start_minute: 9 * 60, end_minute: 12 * 60 },
            CallingWindow { start_minute: 14 * 60, end_minute: 18 * 60 },
        ];
        WeeklyWindows {
            mon: office.clone(),
            tue: office.clone(),
            wed: office.clone(),
            thu: office.clone(),
            fri: office,
            sat: Vec::new(),
            sun: Vec::new(),
        }
    }
}

impl WeeklyWindows {
    /// No span on any day.
    pub fn closed() -> WeeklyWindows {
        WeeklyWindows {
            mon: Vec::new(),
            tue: Vec::new(),
            wed: Vec::new(),
            thu: Vec::new(),
            fri: Vec::new(),
            sat: Vec::new(),
            sun: Vec::new(),
        }
    }

    /// The same span every day: an organisation's legal calling hours.
    pub fn every_day(w: CallingWindow) -> WeeklyWindows {
        let d = vec![w];
        WeeklyWindows {
            mon: d.clone(),
            tue: d.clone(),
            wed: d.clone(),
            thu: d.clone(),
            fri: d.clone(),
            sat: d.clone(),
            sun: d,
        }
    }

    pub fn day(&self, day: Weekday) -> &[CallingWindow] {
        match day {
            Weekday::Mon => &self.mon,
            Weekday::Tue => &self.tue,
            Weekday::Wed => &self.wed,
            Weekday::Thu => &self.thu,
            Weekday::Fri => &self.fri,
            Weekday::Sat => &self.sat,
            Weekday::Sun => &self.sun,
        }
    }

    pub fn day_mut(&mut self, day: Weekday) -> &mut Vec<CallingWindow> {
        match day {
            Weekday::Mon => &mut self.mon,
            Weekday::Tue => &mut self.tue,
            Weekday::Wed => &mut self.wed,
            Weekday::Thu => &mut self.thu,
            Weekday::Fri => &mut self.fri,
            Weekday::Sat => &mut self.sat,
            Weekday::Sun => &mut self.sun,
        }
    }

    /// Each day's spans with the day's wire name, Monday first.
    pub fn days(&self) -> [(&'static str, &[CallingWindow]); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }

    /// Every span valid, at most [`MAX_SPANS_PER_DAY`] a day, in order and
    /// apart; and some span in the week (a campaign that may never dial is
    /// a mistake, not a schedule). Errors name `windows.<day>[.<i>]`.
    pub fn validate(self) -> Result<WeeklyWindows, FieldError> {
        for (name, spans) in self.days() {
            if spans.len() > MAX_SPANS_PER_DAY {
                return Err(FieldError::new(format!("windows.{name}"), ErrorCode::OutOfRange)
                    .with_detail(format!("0–{MAX_SPANS_PER_DAY}")));
            }
            for (i, w) in spans.iter().enumerate() {
                let field = format!("windows.{name}.{i}");
                w.validate().map_err(|e| FieldError { field: field.clone(), ..e })?;
                if let Some(before) = i.checked_sub(1).map(|j| spans[j]) {
                    if before.end_minute > w.start_minute {
                        return Err(FieldError::new(field, ErrorCode::InvalidValue).with_detail(format!(
                            "{}–{} / {}–{}",
                            hhmm(before.start_minute),
                            hhmm(before.end_minute),
                            hhmm(w.start_minute),
                            hhmm(w.end_minute)
                        )));
                    }
                }
            }
        }
        if self.days().iter().all(|(_, spans)| spans.is_empty()) {
            return Err(FieldError::new("windows", ErrorCode::RequiredValue));
        }
        Ok(self)
    }

    /// Whether `at` falls in a span on `tz`'s wall clock.
    pub fn is_open<Tz: TimeZone>(&self, at: DateTime<Utc>, tz: &Tz) -> bool {
        let local = at.with_timezone(tz).naive_local();
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.day(local.weekday()).iter().any(|w| w.contains(minute))
    }

    /// The first instant at or after `at` when a span is open in `tz` —
    /// `at` itself when one is; `None` when the week holds no span. What a
    /// dialer with nobody to call now sleeps until.
    pub fn next_open<Tz: TimeZone>(&self, at: DateTime<Utc>, tz: &Tz) -> Option<DateTime<Utc>> {
        if self.is_open(at, tz) {
            return Some(at);
        }
        // The wall clock enters a span at one of its starts (either time
        // an hour is lived twice, or the first minute after a skipped
        // one); the earliest such instant still ahead is the answer.
        // Yesterday is looked at too (zones far from UTC, and clock changes,
        // move a local day's instants across the UTC date), and a week and a
        // day ahead: today's only span may have fallen in a skipped hour.
        let first = at.with_timezone(tz).date_naive().checked_sub_days(Days::new(1))?;
        (0..=9)
            .filter_map(|d| first.checked_add_days(Days::new(d)))
            .flat_map(|date| {
                self.day(date.weekday()).iter().flat_map(move |w| instants(tz, date, w.start_minute))
            })
            .filter(|start| *start >= at && self.is_open(*start, tz))
            .min()
    }

    /// When the span open at `at` closes (`None` when none is): the
    /// instant after which a dial would land outside the calling hours.
    pub fn closes_at<Tz: TimeZone>(&self, at: DateTime<Utc>, tz: &Tz) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(tz).naive_local();
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let span = self.day(local.weekday()).iter().find(|w| w.contains(minute))?;
        instants(tz, local.date(), span.end_minute).into_iter().filter(|end| *end > at).min()
    }
}

/// The first instant at or after `at` when both `a` (on `a_tz`'s clock) and
/// `b` (on `b_tz`'s) are open: a campaign's hours in its own zone and the
/// law's hours in the prospect's. `None` when they never meet in the
/// coming fortnight (two schedules that share no hour).
pub fn next_open_both<A: TimeZone, B: TimeZone>(
    a: (&WeeklyWindows, &A),
    b: (&WeeklyWindows, &B),
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let horizon = at + chrono::Duration::days(15);
    let mut t = at;
    // Each step moves to the start of a span of one or the other, so the
    // steps are bounded by the spans in the horizon.
    for _ in 0..(2 * 16 * MAX_SPANS_PER_DAY + 4) {
        let ta = a.0.next_open(t, a.1)?;
        let tb = b.0.next_open(ta, b.1)?;
        if tb > horizon {
            return None;
        }
        if tb == ta {
            return Some(ta);
        }
        t = tb;
    }
    None
}

/// The instants `minute` (0–1440) of local `date` names in `tz`: one; two
/// when clocks go back over it (the hour is lived twice); or, when they go
/// forward over it, the first minute that exists after it.
fn instants<Tz: TimeZone>(tz: &Tz, date: NaiveDate, minute: u16) -> Vec<DateTime<Utc>> {
    let (date, minute) = if minute >= 24 * 60 {
        match date.checked_add_days(Days::new(1)) {
            Some(next) => (next, minute - 24 * 60),
            None => return Vec::new(),
        }
    } else {
        (date, minute)
    };
    let Some(mut local) = date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0) else {
        return Vec::new();
    };
    // Gaps are an hour in most zones and never more than a few.
    for _ in 0..=(4 * 60) {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return vec![t.with_timezone(&Utc)],
            LocalResult::Ambiguous(a, b) => {
                let mut both = vec![a.with_timezone(&Utc), b.with_timezone(&Utc)];
                both.sort();
                return both;
            }
            LocalResult::None => local += chrono::Duration::minutes(1),
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn span(start: &str, end: &str) -> CallingWindow {
        let m = |s: &str| crate::compliance::parse_hhmm(s).unwrap();
        CallingWindow { start_minute: m(start), end_minute: m(end) }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn validation_names_the_span_at_fault() {
        assert!(WeeklyWindows::default().validate().is_ok());
        let field = |w: WeeklyWindows| w.validate().unwrap_err();
        let e = field(WeeklyWindows {
            tue: vec![span("09:00", "12:00"), span("11:00", "13:00")],
            ..Default::default()
        });
        assert_eq!((e.field.as_str(), e.code), ("windows.tue.1", ErrorCode::InvalidValue));
        assert_eq!(e.detail.as_deref(), Some("09:00–12:00 / 11:00–13:00"));
        let e = field(WeeklyWindows {
            wed: vec![span("14:00", "18:00"), span("09:00", "12:00")],
            ..Default::default()
        });
        assert_eq!(e.field, "windows.wed.1", "out of order");
        let e = field(WeeklyWindows {
            sat: vec![CallingWindow { start_minute: 600, end_minute: 600 }],
            ..Default::default()
        });
        assert_eq!((e.field.as_str(), e.code), ("windows.sat.0", ErrorCode::OutOfRange));
        let e = field(WeeklyWindows { sun: vec![span("09:00", "10:00"); 5], ..Default::default() });
        assert_eq!((e.field.as_str(), e.code), ("windows.sun", ErrorCode::OutOfRange));
        let e = field(WeeklyWindows::closed());
        assert_eq!((e.field.as_str(), e.code), ("windows", ErrorCode::RequiredValue));
        // Touching spans are fine; so is a whole day.
        let w = WeeklyWindows {
            mon: vec![span("00:00", "12:00"), span("12:00", "24:00")],
            ..WeeklyWindows::closed()
        };
        assert!(w.validate().is_ok());
    }

    #[test]
    fn office_hours_skip_lunch_nights_and_weekends() {
        let w = WeeklyWindows::default();
        let tz = FixedOffset::east_opt(3600).unwrap();
        // 2026-12-07 is a Monday.
        for (at, open, next) in [
            ("2026-12-07T07:59:00+01:00", false, "2026-12-07T09:00:00+01:00"),
            ("2026-12-07T09:00:00+01:00", true, "2026-12-07T09:00:00+01:00"),
            ("2026-12-07T11:59:59+01:00", true, "2026-12-07T11:59:59+01:00"),
            ("2026-12-07T12:00:00+01:00", false, "2026-12-07T14:00:00+01:00"),
            ("2026-12-11T18:00:00+01:00", false, "2026-12-14T09:00:00+01:00"),
            ("2026-12-12T10:00:00+01:00", false, "2026-12-14T09:00:00+01:00"),
            ("2026-12-13T23:59:00+01:00", false, "2026-12-14T09:00:00+01:00"),
        ] {
            assert_eq!(w.is_open(utc(at), &tz), open, "{at}");
            assert_eq!(w.next_open(utc(at), &tz), Some(utc(next)), "{at}");
        }
        assert_eq!(
            w.closes_at(utc("2026-12-07T10:00:00+01:00"), &tz),
            Some(utc("2026-12-07T12:00:00+01:00"))
        );
        assert_eq!(w.closes_at(utc("2026-12-07T13:00:00+01:00"), &tz), None);
        assert_eq!(WeeklyWindows::closed().next_open(utc("2026-12-07T10:00:00Z"), &tz), None);
    }

    #[test]
    fn spans_meet_across_midnight() {
        let w = WeeklyWindows {
            mon: vec![span("22:00", "24:00")],
            tue: vec![span("00:00", "02:00")],
            ..WeeklyWindows::closed()
        };
        let tz = Utc;
        assert!(w.is_open(utc("2026-12-07T23:59:00Z"), &tz));
        assert!(w.is_open(utc("2026-12-08T00:00:00Z"), &tz));
        assert!(w.is_open(utc("2026-12-08T01:59:00Z"), &tz));
        assert!(!w.is_open(utc("2026-12-08T02:00:00Z"), &tz));
        assert_eq!(w.next_open(utc("2026-12-08T02:00:00Z"), &tz), Some(utc("2026-12-14T22:00:00Z")));
        assert_eq!(w.closes_at(utc("2026-12-07T23:00:00Z"), &tz), Some(utc("2026-12-08T00:00:00Z")));
        assert_eq!(w.next_open(utc("2026-12-07T12:00:00Z"), &tz), Some(utc("2026-12-07T22:00:00Z")));
    }

    #[test]
    fn two_schedules_on_two_clocks_meet_at_their_first_shared_minute() {
        let paris = FixedOffset::east_opt(3600).unwrap();
        let new_york = FixedOffset::west_opt(5 * 3600).unwrap();
        let law = WeeklyWindows::every_day(span("08:00", "21:00"));
        let office = WeeklyWindows::default();
        // Monday 08:00 UTC: 09:00 in Paris (open), 03:00 in New York (the
        // law's night) — the first shared minute is 13:00 UTC (08:00 in New
        // York, 14:00 in Paris after lunch).
        let at = utc("2026-12-07T08:00:00Z");
        assert_eq!(
            next_open_both((&office, &paris), (&law, &new_york), at),
            Some(utc("2026-12-07T13:00:00Z"))
        );
        // Both open: now.
        let at = utc("2026-12-07T14:00:00Z");
        assert_eq!(next_open_both((&office, &paris), (&law, &new_york), at), Some(at));
        // Friday 17:30 UTC: Paris closes at 18:00 local (17:00 UTC): Monday.
        let at = utc("2026-12-11T17:30:00Z");
        assert_eq!(
            next_open_both((&office, &paris), (&law, &new_york), at),
            Some(utc("2026-12-14T13:00:00Z"))
        );
        // Schedules that never share a minute.
        let mornings = WeeklyWindows::every_day(span("06:00", "07:00"));
        let evenings = WeeklyWindows::every_day(span("20:00", "21:00"));
        assert_eq!(next_open_both((&mornings, &paris), (&evenings, &paris), at), None);
    }

    #[cfg(feature = "phone")]
    mod daylight_saving {
        use super::*;
        use chrono_tz::{America::New_York, Europe::Paris};

        #[test]
        fn local_hours_hold_across_the_change() {
            let w = WeeklyWindows::default();
            // Paris goes to summer time on Sunday 2026-03-29: the Friday
            // before, 09:00 is 08:00 UTC; the Monday after, 07:00 UTC.
            assert_eq!(w.next_open(utc("2026-03-26T20:00:00Z"), &Paris), Some(utc("2026-03-27T08:00:00Z")));
            assert_eq!(w.next_open(utc("2026-03-27T17:30:00Z"), &Paris), Some(utc("2026-03-30T07:00:00Z")));
            // And back on Sunday 2026-10-25.
            assert_eq!(w.next_open(utc("2026-10-23T16:00:00Z"), &Paris), Some(utc("2026-10-26T08:00:00Z")));
            // New York moves on other dates (2026-03-08, 2026-11-01).
            assert_eq!(
                w.next_open(utc("2026-03-06T23:00:00Z"), &New_York),
                Some(utc("2026-03-09T13:00:00Z"))
            );
            assert_eq!(
                w.next_open(utc("2026-10-30T23:00:00Z"), &New_York),
                Some(utc("2026-11-02T14:00:00Z"))
            );
            // Between the two changes Paris is six hours ahead, not five.
            assert!(w.is_open(utc("2026-03-16T13:30:00Z"), &New_York));
            assert!(!w.is_open(utc("2026-03-16T12:30:00Z"), &New_York));
        }

        #[test]
        fn the_skipped_hour_and_the_hour_lived_twice() {
            let sunday = |spans: Vec<CallingWindow>| WeeklyWindows { sun: spans, ..WeeklyWindows::closed() };
            // 02:30 does not exist in Paris on 2026-03-29: the span opens at 03:00 CEST (01:00 UTC).
            let w = sunday(vec![span("02:30", "05:00")]);
            assert_eq!(w.next_open(utc("2026-03-28T22:00:00Z"), &Paris), Some(utc("2026-03-29T01:00:00Z")));
            assert!(w.is_open(utc("2026-03-29T01:00:00Z"), &Paris));
            // A span wholly inside the skipped hour does not happen that day.
            let gone = sunday(vec![span("02:00", "02:45")]);
            assert_eq!(
                gone.next_open(utc("2026-03-28T22:00:00Z"), &Paris),
                Some(utc("2026-04-05T00:00:00Z"))
            );
            // 02:30 happens twice on 2026-10-25 (00:30 and 01:30 UTC): the span
            // opens both times, and closes in between.
            let w = sunday(vec![span("02:30", "02:45")]);
            assert_eq!(w.next_open(utc("2026-10-24T22:00:00Z"), &Paris), Some(utc("2026-10-25T00:30:00Z")));
            assert!(w.is_open(utc("2026-10-25T00:40:00Z"), &Paris));
            assert_eq!(w.closes_at(utc("2026-10-25T00:40:00Z"), &Paris), Some(utc("2026-10-25T00:45:00Z")));
            assert!(!w.is_open(utc("2026-10-25T01:00:00Z"), &Paris));
            assert_eq!(w.next_open(utc("2026-10-25T00:50:00Z"), &Paris), Some(utc("2026-10-25T01:30:00Z")));
            assert!(w.is_open(utc("2026-10-25T01:40:00Z"), &Paris));
        }

        proptest::proptest! {
            #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
            /// The next opening is open, not before `at`, and no minute
            /// between them is — whatever the zone and the day, changes included.
            #[test]
            fn next_open_is_the_first_open_minute(minutes in 0i64..(366 * 24 * 60), zone in 0usize..4, layout in 0usize..3) {
                let tz = [Paris, New_York, chrono_tz::Australia::Lord_Howe, chrono_tz::Asia::Kolkata][zone];
                let w = match layout {
                    0 => WeeklyWindows::default(),
                    1 => WeeklyWindows { sun: vec![span("01:30", "03:30")], sat: vec![span("23:00", "24:00")], ..WeeklyWindows::closed() },
                    _ => WeeklyWindows { wed: vec![span("02:00", "02:30"), span("12:00", "12:01")], ..WeeklyWindows::closed() },
                };
                let at = utc("2026-01-01T00:00:00Z") + chrono::Duration::minutes(minutes);
                let next = w.next_open(at, &tz).expect("some span in the week");
                proptest::prop_assert!(next >= at);
                proptest::prop_assert!(w.is_open(next, &tz), "{at} → {next}");
                let mut t = at;
                while t < next {
                    proptest::prop_assert!(!w.is_open(t, &tz), "{t} is open, before {next}");
                    t += chrono::Duration::minutes(1);
                }
            }
        }
    }
}
