//! Plans: what an organisation pays and what it may use for it. With
//! Polar, plans are its recurring products; the limits are the products'
//! metadata (`call_minutes`, `llm_tokens`, `stt_minutes`,
//! `tts_characters`: whole numbers; absent means no limit).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::money::Money;

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
}

impl Plan {
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
}
