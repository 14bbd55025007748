//! Locale-aware display of dates and numbers (rules live in `domain::Locale`).

use chrono::{DateTime, Datelike, Timelike, Utc};
use domain::Locale;

pub fn date(locale: Locale, at: DateTime<Utc>) -> String {
    locale.format_date(at.year(), at.month(), at.day())
}

pub fn datetime(locale: Locale, at: DateTime<Utc>) -> String {
    locale.format_datetime(at.year(), at.month(), at.day(), at.hour(), at.minute())
}

pub fn integer(locale: Locale, n: i64) -> String {
    locale.format_integer(n)
}
