//! Supported UI languages and Accept-Language negotiation.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    Fr,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Fr];

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }

    /// Accepts a BCP-47 tag ("fr", "fr-CA", "EN_us") and keeps its language.
    pub fn parse(tag: &str) -> Option<Locale> {
        let lang = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match lang.as_str() {
            "en" => Some(Locale::En),
            "fr" => Some(Locale::Fr),
            _ => None,
        }
    }

    /// Picks the best supported locale from an `Accept-Language` header value,
    /// honouring q-weights; `None` when nothing matches.
    pub fn negotiate(accept_language: &str) -> Option<Locale> {
        let mut best: Option<(f32, usize, Locale)> = None;
        for (idx, part) in accept_language.split(',').enumerate() {
            let mut bits = part.split(';');
            let Some(locale) = bits.next().and_then(Locale::parse) else {
                continue;
            };
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok()))
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            // Higher q wins; on ties, the earlier entry wins.
            let better = match best {
                None => true,
                Some((bq, _, _)) => q > bq,
            };
            if better {
                best = Some((q, idx, locale));
            }
        }
        best.map(|(_, _, l)| l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags() {
        assert_eq!(Locale::parse("fr-CA"), Some(Locale::Fr));
        assert_eq!(Locale::parse("EN_us"), Some(Locale::En));
        assert_eq!(Locale::parse("de"), None);
        assert_eq!(Locale::parse(""), None);
    }

    #[test]
    fn negotiates_with_weights() {
        assert_eq!(Locale::negotiate("de-DE,fr;q=0.8,en;q=0.5"), Some(Locale::Fr));
        assert_eq!(Locale::negotiate("en;q=0.2, fr;q=0.9"), Some(Locale::Fr));
        assert_eq!(Locale::negotiate("fr;q=0, en"), Some(Locale::En));
        assert_eq!(Locale::negotiate("de, it"), None);
        assert_eq!(Locale::negotiate("garbage;;;q=x"), None);
    }
}

const MONTHS_EN: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_FR: [&str; 12] =
    ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."];

impl Locale {
    /// "Nov 25, 2026" / "25 nov. 2026". `month` is 1-based.
    pub fn format_date(self, year: i32, month: u32, day: u32) -> String {
        let idx = (month.clamp(1, 12) - 1) as usize;
        match self {
            Locale::En => format!("{} {day}, {year}", MONTHS_EN[idx]),
            Locale::Fr => format!("{day} {} {year}", MONTHS_FR[idx]),
        }
    }

    /// Date and 24h time in the locale's usual style ("Nov 25, 2026, 14:05" /
    /// "25 nov. 2026 à 14:05").
    pub fn format_datetime(self, year: i32, month: u32, day: u32, hour: u32, minute: u32) -> String {
        let date = self.format_date(year, month, day);
        match self {
            Locale::En => format!("{date}, {hour:02}:{minute:02}"),
            Locale::Fr => format!("{date} à {hour:02}:{minute:02}"),
        }
    }

    /// Integer with locale grouping: "12,345" / "12 345" (narrow no-break space).
    pub fn format_integer(self, n: i64) -> String {
        let sep = match self {
            Locale::En => ",",
            Locale::Fr => "\u{202f}",
        };
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(c);
        }
        if n < 0 {
            out.insert(0, '-');
        }
        out
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn dates_and_numbers_follow_the_locale() {
        assert_eq!(Locale::En.format_date(2026, 11, 25), "Nov 25, 2026");
        assert_eq!(Locale::Fr.format_date(2026, 11, 25), "25 nov. 2026");
        assert_eq!(Locale::Fr.format_datetime(2026, 2, 3, 9, 5), "3 févr. 2026 à 09:05");
        assert_eq!(Locale::En.format_integer(1234567), "1,234,567");
        assert_eq!(Locale::Fr.format_integer(-12345), "-12\u{202f}345");
        assert_eq!(Locale::En.format_integer(999), "999");
        assert_eq!(Locale::En.format_integer(0), "0");
    }
}
