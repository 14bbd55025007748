//! What an organisation uses — call time, model tokens, speech seconds and
//! characters — summed per call or playground turn, per day and per
//! billing period, and the quota check made against a plan's limits.

use serde::{Deserialize, Serialize};

use super::plan::PlanLimits;

/// One thing that is metered, in the unit it is recorded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Seconds of phone calls (an AI agent's, from the answer to the end).
    CallSeconds,
    LlmInputTokens,
    LlmOutputTokens,
    /// Seconds of audio sent to speech-to-text.
    SttSeconds,
    /// Characters sent to text-to-speech.
    TtsCharacters,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::CallSeconds,
        Metric::LlmInputTokens,
        Metric::LlmOutputTokens,
        Metric::SttSeconds,
        Metric::TtsCharacters,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::CallSeconds => "call_seconds",
            Metric::LlmInputTokens => "llm_input_tokens",
            Metric::LlmOutputTokens => "llm_output_tokens",
            Metric::SttSeconds => "stt_seconds",
            Metric::TtsCharacters => "tts_characters",
        }
    }

    pub fn parse(s: &str) -> Option<Metric> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Sums of every metric (one call's, one day's, one period's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    pub call_seconds: i64,
    pub llm_input_tokens: i64,
    pub llm_output_tokens: i64,
    pub stt_seconds: i64,
    pub tts_characters: i64,
}

impl Usage {
    pub fn get(&self, m: Metric) -> i64 {
        match m {
            Metric::CallSeconds => self.call_seconds,
            Metric::LlmInputTokens => self.llm_input_tokens,
            Metric::LlmOutputTokens => self.llm_output_tokens,
            Metric::SttSeconds => self.stt_seconds,
            Metric::TtsCharacters => self.tts_characters,
        }
    }

    /// Saturating: a corrupt row never wraps a period's total to negative.
    pub fn add(&mut self, o: &Usage) {
        self.call_seconds = self.call_seconds.saturating_add(o.call_seconds);
        self.llm_input_tokens = self.llm_input_tokens.saturating_add(o.llm_input_tokens);
        self.llm_output_tokens = self.llm_output_tokens.saturating_add(o.llm_output_tokens);
        self.stt_seconds = self.stt_seconds.saturating_add(o.stt_seconds);
        self.tts_characters = self.tts_characters.saturating_add(o.tts_characters);
    }

    pub fn is_empty(&self) -> bool {
        Metric::ALL.iter().all(|m| self.get(*m) == 0)
    }

    /// Negative quantities (a corrupt report) are recorded as none.
    pub fn clamped(self) -> Usage {
        Usage {
            call_seconds: self.call_seconds.max(0),
            llm_input_tokens: self.llm_input_tokens.max(0),
            llm_output_tokens: self.llm_output_tokens.max(0),
            stt_seconds: self.stt_seconds.max(0),
            tts_characters: self.tts_characters.max(0),
        }
    }
}

/// A limit of the plan that the period's usage has reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{limit} reached: {used} used of {allowed}")]
pub struct QuotaExceeded {
    /// `call_minutes`, `llm_tokens`, `stt_minutes` or `tts_characters`.
    pub limit: String,
    pub used: i64,
    pub allowed: i64,
}

/// What is about to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// A phone call (it uses minutes, speech and tokens).
    Call,
    /// A turn with a model (the playground, a chat agent).
    ModelTurn,
}

/// Whether `used` this period leaves room for `what` under `limits`.
/// Nothing is cut once started: the check is made before a dial or a
/// turn, never during one, so a call in progress always finishes.
pub fn check(limits: &PlanLimits, used: &Usage, what: Spend) -> Result<(), QuotaExceeded> {
    let metrics: &[&str] = match what {
        Spend::Call => &["llm_tokens", "call_minutes", "stt_minutes", "tts_characters"],
        Spend::ModelTurn => &["llm_tokens"],
    };
    for name in metrics {
        let Some(allowed) = limits.get(name) else { continue };
        let used = super::plan::plan_units(name, used).unwrap_or(0);
        if used >= allowed {
            return Err(QuotaExceeded { limit: (*name).into(), used, allowed });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> PlanLimits {
        PlanLimits {
            call_minutes: Some(10),
            llm_tokens: Some(1_000),
            stt_minutes: None,
            tts_characters: Some(5_000),
        }
    }

    #[test]
    fn a_dial_is_refused_once_a_limit_is_reached_and_names_it() {
        let mut u = Usage { call_seconds: 9 * 60, ..Default::default() };
        assert!(check(&limits(), &u, Spend::Call).is_ok());
        // A started minute counts whole: 9 min 1 s is 10 minutes.
        u.call_seconds += 1;
        let e = check(&limits(), &u, Spend::Call).unwrap_err();
        assert_eq!((e.limit.as_str(), e.used, e.allowed), ("call_minutes", 10, 10));
        // Minutes limit only calls: a playground turn still goes.
        assert!(check(&limits(), &u, Spend::ModelTurn).is_ok());
    }

    #[test]
    fn tokens_count_both_ways_and_no_limit_means_none() {
        let u = Usage {
            llm_input_tokens: 600,
            llm_output_tokens: 400,
            stt_seconds: 1_000_000,
            ..Default::default()
        };
        assert_eq!(check(&limits(), &u, Spend::ModelTurn).unwrap_err().limit, "llm_tokens");
        assert!(check(&PlanLimits::unlimited(), &u, Spend::Call).is_ok());
    }

    #[test]
    fn sums_saturate_and_negative_reports_count_as_nothing() {
        let mut a = Usage { call_seconds: i64::MAX - 1, ..Default::default() };
        a.add(&Usage { call_seconds: 5, ..Default::default() });
        assert_eq!(a.call_seconds, i64::MAX);
        let c = Usage { tts_characters: -3, stt_seconds: 2, ..Default::default() }.clamped();
        assert_eq!((c.tts_characters, c.stt_seconds), (0, 2));
        assert!(Usage::default().is_empty());
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.as_str()), Some(m));
        }
    }
}
