//! Plans: what an organisation pays and what it may use for it. With
//! Polar, plans are its recurring products; the limits are the products'
//! metadata (`call_minutes`, `llm_tokens`, `stt_minutes`,
//! `tts_characters`: whole numbers; absent means no limit). A plan may
//! also charge per unit used (Polar's metered prices, on a meter named
//! after one of those four): the period's cost estimate adds them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::money::Money;
use super::usage::Usage;

/// What a plan allows per billing period (`None`: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanLimits {
    pub call_minutes: Option<i64>,
    pub llm_tokens: Option<i64>,
    pub stt_minutes: Option<i64>,
    pub tts_characters: Option<i64>,
}

impl PlanLimits {
    pub fn unlimited() -> PlanLimits {
        PlanLimits::default()
    }

    /// The limit on `metric` (one of [`PRICED_METRICS`]), in its units.
    pub fn get(&self, metric: &str) -> Option<i64> {
        match metric {
            "call_minutes" => self.call_minutes,
            "llm_tokens" => self.llm_tokens,
            "stt_minutes" => self.stt_minutes,
            "tts_characters" => self.tts_characters,
            _ => None,
        }
    }

    /// The limits written in a product's metadata. A value that is not a
    /// whole number ≥ 0 (or its text) is ignored rather than read as 0: a
    /// typo in the dashboard must not lock an organisation out.
    pub fn from_metadata(meta: &Value) -> PlanLimits {
        let read = |k: &str| -> Option<i64> {
            match meta.get(k)? {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().replace('_', "").parse().ok(),
                _ => None,
            }
            .filter(|n| *n >= 0)
        };
        PlanLimits {
            call_minutes: read("call_minutes"),
            llm_tokens: read("llm_tokens"),
            stt_minutes: read("stt_minutes"),
            tts_characters: read("tts_characters"),
        }
    }
}

/// One plan on the pricing page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    /// Polar's product id (or the local catalogue's key).
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Per `interval`; `None` for a plan without a fixed price.
    pub price: Option<Money>,
    /// `month` or `year` (`None`: one-off).
    pub interval: Option<String>,
    pub limits: PlanLimits,
    /// What each unit used costs on top of `price`.
    #[serde(default)]
    pub unit_prices: Vec<UnitPrice>,
}

/// The four things a plan limits or charges, in the units plans speak of.
pub const PRICED_METRICS: [&str; 4] = ["call_minutes", "llm_tokens", "stt_minutes", "tts_characters"];

/// `used` in a plan's units: started minutes, tokens in and out, characters.
pub fn plan_units(metric: &str, used: &Usage) -> Option<i64> {
    let minutes = |s: i64| s.saturating_add(59) / 60;
    Some(match metric {
        "call_minutes" => minutes(used.call_seconds),
        "llm_tokens" => used.llm_input_tokens.saturating_add(used.llm_output_tokens),
        "stt_minutes" => minutes(used.stt_seconds),
        "tts_characters" => used.tts_characters,
        _ => return None,
    })
}

/// A price per unit of one metric, in minor units as exact decimal text
/// (Polar's `unit_amount`: `"0.5"` is half a cent), with an optional cap
/// per period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitPrice {
    /// One of [`PRICED_METRICS`].
    pub metric: String,
    /// Minor units per unit, a non-negative decimal (`"0.5"`, `"12"`).
    pub unit_amount: String,
    pub currency: String,
    /// At most this much per period, in minor units.
    pub cap_minor: Option<i64>,
}

/// Exact decimal text (at most 12 decimals) as `(digits, scale)`.
fn decimal(s: &str) -> Option<(i128, u32)> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + frac.len() == 0 || frac.len() > 12 || whole.len() > 18 || !ok(whole) || !ok(frac) {
        return None;
    }
    Some((format!("{whole}{frac}").parse().ok()?, frac.len() as u32))
}

impl UnitPrice {
    /// A price read from outside: `None` when its metric is not one we meter
    /// or its amount is not a non-negative decimal.
    pub fn new(metric: &str, unit_amount: &str, currency: &str, cap_minor: Option<i64>) -> Option<UnitPrice> {
        if !PRICED_METRICS.contains(&metric) || decimal(unit_amount).is_none() {
            return None;
        }
        let currency = Money::new(0, currency).ok()?.currency;
        Some(UnitPrice {
            metric: metric.into(),
            unit_amount: unit_amount.trim().into(),
            currency,
            cap_minor: cap_minor.filter(|c| *c >= 0),
        })
    }

    /// The price per unit in major units as exact text, at least two
    /// decimals (`"0.5"` cent → `"0.005"`, `"200"` cents → `"2.00"`).
    pub fn major_text(&self) -> String {
        let Some((digits, scale)) = decimal(&self.unit_amount) else { return self.unit_amount.clone() };
        let e = Money::new(0, &self.currency).map_or(2, |m| m.exponent());
        let places = (scale + e) as usize;
        let text = format!("{digits:0>width$}", width = places + 1);
        let (whole, frac) = text.split_at(text.len() - places);
        let frac = frac.trim_end_matches('0');
        let keep = if e == 0 { 0 } else { 2 };
        match frac.len().max(keep) {
            0 => whole.to_string(),
            n => format!("{whole}.{frac:0<n$}"),
        }
    }

    /// What `units` cost, rounded up to a whole minor unit and capped.
    pub fn cost(&self, units: i64) -> Option<Money> {
        let (digits, scale) = decimal(&self.unit_amount)?;
        let exact = digits.checked_mul(i128::from(units.max(0)))?;
        let div = 10_i128.pow(scale);
        let minor = i64::try_from((exact + div - 1) / div).ok()?;
        let minor = self.cap_minor.map_or(minor, |c| minor.min(c));
        Money::new(minor, &self.currency).ok()
    }
}

impl Plan {
    /// What a period with `used` costs on this plan: its price and every
    /// unit price's share, when all are in one currency (`None` for a plan
    /// with no price at all, or prices in several currencies).
    pub fn estimate(&self, used: &Usage) -> Option<Money> {
        let mut total = self.price.clone();
        for u in &self.unit_prices {
            let cost = u.cost(plan_units(&u.metric, used)?)?;
            total = match total {
                None => Some(cost),
                Some(t) if t.currency == cost.currency => {
                    Some(Money { amount_minor: t.amount_minor.checked_add(cost.amount_minor)?, ..t })
                }
                Some(_) => return None,
            };
        }
        total
    }

    /// Free plans cost nothing (or have no fixed price and no limits).
    pub fn is_free(&self) -> bool {
        self.price.as_ref().is_some_and(|p| p.amount_minor == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_come_from_metadata_and_bad_values_mean_no_limit() {
        let l = PlanLimits::from_metadata(&json!({
            "call_minutes": 500, "llm_tokens": "2_000_000", "stt_minutes": -4, "tts_characters": "lots",
            "other": true,
        }));
        assert_eq!(
            l,
            PlanLimits {
                call_minutes: Some(500),
                llm_tokens: Some(2_000_000),
                stt_minutes: None,
                tts_characters: None
            }
        );
        assert_eq!(PlanLimits::from_metadata(&json!(null)), PlanLimits::unlimited());
    }

    fn plan(price: Option<Money>, unit_prices: Vec<UnitPrice>) -> Plan {
        Plan {
            id: "p".into(),
            name: "P".into(),
            description: String::new(),
            price,
            interval: Some("month".into()),
            limits: PlanLimits::unlimited(),
            unit_prices,
        }
    }

    #[test]
    fn unit_prices_are_exact_decimals_rounded_up_and_capped() {
        let half_cent = UnitPrice::new("call_minutes", "0.5", "USD", None).unwrap();
        assert_eq!(half_cent.currency, "usd");
        assert_eq!(half_cent.cost(3).unwrap().amount_minor, 2, "1.5 cents is 2");
        assert_eq!(half_cent.cost(0).unwrap().amount_minor, 0);
        let tiny = UnitPrice::new("llm_tokens", "0.0001", "usd", Some(500)).unwrap();
        assert_eq!(tiny.cost(1_000_000).unwrap().amount_minor, 100);
        assert_eq!(tiny.cost(900_000_000).unwrap().amount_minor, 500, "capped");
        for bad in ["-1", "1e3", "", ".", "0.1234567890123", "abc", "1.2.3"] {
            assert!(UnitPrice::new("call_minutes", bad, "usd", None).is_none(), "{bad:?}");
        }
        assert!(UnitPrice::new("sms", "1", "usd", None).is_none(), "a metric we do not meter");
        assert!(half_cent.cost(i64::MAX).is_some_and(|m| m.amount_minor > 0), "no overflow");
        assert_eq!(half_cent.major_text(), "0.005");
        assert_eq!(UnitPrice::new("call_minutes", "200", "usd", None).unwrap().major_text(), "2.00");
        assert_eq!(UnitPrice::new("call_minutes", "12.5", "eur", None).unwrap().major_text(), "0.125");
        assert_eq!(UnitPrice::new("call_minutes", "3", "jpy", None).unwrap().major_text(), "3");
    }

    #[test]
    fn the_estimate_is_the_price_and_what_was_used() {
        let used =
            Usage { call_seconds: 61, llm_input_tokens: 600, llm_output_tokens: 400, ..Default::default() };
        let per_minute = UnitPrice::new("call_minutes", "2", "usd", None).unwrap();
        let per_token = UnitPrice::new("llm_tokens", "0.01", "usd", None).unwrap();
        let p = plan(Some(Money::new(4900, "usd").unwrap()), vec![per_minute.clone(), per_token]);
        // 2 started minutes × 2 + 1,000 tokens × 0.01.
        assert_eq!(p.estimate(&used), Some(Money::new(4900 + 4 + 10, "usd").unwrap()));
        assert_eq!(plan(None, vec![]).estimate(&used), None);
        assert_eq!(plan(None, vec![per_minute.clone()]).estimate(&used).unwrap().amount_minor, 4);
        let euro = plan(Some(Money::new(100, "eur").unwrap()), vec![per_minute]);
        assert_eq!(euro.estimate(&used), None, "two currencies do not add up");
    }
}
