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

/// Seconds as minutes with one decimal (`90` → `1.5`, `1,5` in French),
/// rounded to the nearest tenth, in integers throughout.
pub fn minutes(locale: Locale, seconds: i64) -> String {
    let tenths = (seconds.max(0).saturating_mul(10).saturating_add(30)) / 60;
    let point = match locale {
        Locale::En => '.',
        Locale::Fr => ',',
    };
    format!("{}{point}{}", locale.format_integer(tenths / 10), tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_have_one_decimal_in_the_locales_way() {
        assert_eq!(minutes(Locale::En, 90), "1.5");
        assert_eq!(minutes(Locale::Fr, 90), "1,5");
        assert_eq!(minutes(Locale::En, 2), "0.0");
        assert_eq!(minutes(Locale::En, 3), "0.1");
        assert_eq!(minutes(Locale::En, 60_000 * 60), "60,000.0");
        assert_eq!(minutes(Locale::En, -5), "0.0");
    }
}
