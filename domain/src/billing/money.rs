//! An amount of money: integer minor units (cents) and a currency, never a
//! float — what Polar sends and what a sum of usage stays exact in.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    /// In the currency's minor unit (cents for `usd` and `eur`).
    pub amount_minor: i64,
    /// ISO 4217, lowercase (`usd`), as Polar writes it.
    pub currency: String,
}

/// Currencies without a minor unit (ISO 4217 exponent 0).
const NO_MINOR_UNIT: [&str; 16] = [
    "bif", "clp", "djf", "gnf", "isk", "jpy", "kmf", "krw", "pyg", "rwf", "ugx", "uyi", "vnd", "vuv", "xaf",
    "xof",
];

impl Money {
    /// `currency` checked (three ASCII letters) and lowercased.
    pub fn new(amount_minor: i64, currency: &str) -> Result<Money, FieldError> {
        let c = currency.trim().to_ascii_lowercase();
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(FieldError::new("currency", ErrorCode::InvalidValue)
                .with_detail(currency.chars().take(8).collect::<String>()));
        }
        Ok(Money { amount_minor, currency: c })
    }

    /// Digits after the decimal point in the currency's major unit.
    pub fn exponent(&self) -> u32 {
        if NO_MINOR_UNIT.contains(&self.currency.as_str()) {
            0
        } else {
            2
        }
    }

    /// The amount in major units as exact decimal text (`2900` usd →
    /// `"29.00"`, `-5` → `"-0.05"`), for display and CSV.
    pub fn major_text(&self) -> String {
        let e = self.exponent();
        if e == 0 {
            return self.amount_minor.to_string();
        }
        let unit = 10_i64.pow(e);
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let abs = self.amount_minor.unsigned_abs();
        format!("{sign}{}.{:0width$}", abs / unit as u64, abs % unit as u64, width = e as usize)
    }

    /// The same amount times `n`, or `None` on overflow.
    pub fn times(&self, n: i64) -> Option<Money> {
        Some(Money { amount_minor: self.amount_minor.checked_mul(n)?, currency: self.currency.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_stay_exact_in_minor_units() {
        let m = Money::new(2900, "USD").unwrap();
        assert_eq!((m.currency.as_str(), m.major_text()), ("usd", "29.00".to_string()));
        assert_eq!(Money::new(-5, "eur").unwrap().major_text(), "-0.05");
        assert_eq!(Money::new(1234, "jpy").unwrap().major_text(), "1234");
        assert_eq!(Money::new(i64::MIN, "eur").unwrap().major_text(), "-92233720368547758.08");
        assert_eq!(Money::new(7, "usd").unwrap().times(3).unwrap().amount_minor, 21);
        assert!(Money::new(i64::MAX, "usd").unwrap().times(2).is_none());
    }

    #[test]
    fn a_currency_is_three_letters() {
        for bad in ["", "us", "usdd", "u$d", "€"] {
            assert_eq!(Money::new(1, bad).unwrap_err().field, "currency", "{bad}");
        }
    }
}
