//! What the voice agent leaves on a call: why it ended, what it spent (for
//! billing) and where the time went on each reply (the call page's latency
//! panel, and the same figures as Prometheus histograms). The voice worker
//! builds these; the server stores and shows them.

use serde::{Deserialize, Serialize};

/// Where the time went between the caller's last word and the agent's first
/// sound, for one reply (milliseconds, from the end of the caller's speech).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TurnLatency {
    /// The prospect turn it answers.
    pub turn: u32,
    /// The configured end-of-turn silence (the caller's pause, not our time).
    pub end_of_turn_silence_ms: f64,
    /// → the STT's final words in hand.
    pub stt_final_ms: f64,
    /// → the model's first token.
    pub llm_first_token_ms: f64,
    /// → the model's first whole sentence (what the voice starts on).
    pub first_sentence_ms: f64,
    /// → the first byte of synthesized audio.
    pub tts_first_byte_ms: f64,
    /// → the first frame of agent audio sent.
    pub first_audio_ms: f64,
    /// Of that, our own time: everything but the configured silence and
    /// the providers' (STT, LLM up to the first sentence, TTS) waits.
    pub overhead_ms: f64,
}

/// Spent on a call, for billing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallUsage {
    pub stt_seconds: f64,
    pub llm_input_tokens: u64,
    pub llm_output_tokens: u64,
    pub tts_characters: u64,
}

/// Why the agent's side of a call ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum EndReason {
    /// The caller hung up (or the media went away).
    Caller,
    /// The agent ended it (`endCall`).
    Agent {
        reason: String,
    },
    Transferred {
        number: String,
    },
    /// The caller stayed silent past the agent's hang-up delay.
    Silence,
    MaxDuration,
    Voicemail {
        message_left: bool,
    },
    /// A provider failed past what could be recovered.
    Failed {
        reason: String,
    },
    /// The prospect asked not to be called again: the agent apologised and
    /// said goodbye (the opt-out is recorded on the prospect as it is heard).
    OptOut,
}

impl EndReason {
    /// A stable key for the UI's translations and for metrics labels.
    pub fn key(&self) -> &'static str {
        match self {
            EndReason::Caller => "caller",
            EndReason::Agent { .. } => "agent",
            EndReason::Transferred { .. } => "transferred",
            EndReason::Silence => "silence",
            EndReason::MaxDuration => "max_duration",
            EndReason::Voicemail { .. } => "voicemail",
            EndReason::Failed { .. } => "failed",
            EndReason::OptOut => "opt_out",
        }
    }
}

/// The agent's report on a call (stored on it when the call ends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentReport {
    /// From the agent joining to the end, in milliseconds.
    pub duration_ms: u64,
    pub end: EndReason,
    pub turns: u32,
    pub interruptions: u32,
    pub usage: CallUsage,
    /// One per agent reply to the prospect.
    pub latencies: Vec<TurnLatency>,
    /// Caller speech start → agent audio stopped, per barge-in (ms).
    #[serde(default)]
    pub barge_ins_ms: Vec<f64>,
    /// The outcome the agent suggested as it ended the call (`endCall`'s
    /// `outcome`): shown on the call for whoever logs the outcome, never
    /// logged for them.
    #[serde(default)]
    pub outcome: Option<crate::copilot::outcome::CallOutcome>,
}

/// p50 and p90 of one stage over a call's replies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub p50: f64,
    pub p90: f64,
}

/// The latency panel's summary row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub replies: usize,
    pub stt_final: Spread,
    pub llm_first_token: Spread,
    pub tts_first_byte: Spread,
    pub first_audio: Spread,
    pub overhead: Spread,
}

/// The `q` quantile (nearest rank) of `values`; `None` when empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = (q.clamp(0.0, 1.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

impl AgentReport {
    /// p50/p90 of each stage, or `None` when the agent never replied.
    pub fn latency_summary(&self) -> Option<LatencySummary> {
        if self.latencies.is_empty() {
            return None;
        }
        let spread = |f: fn(&TurnLatency) -> f64| {
            let v: Vec<f64> = self.latencies.iter().map(f).collect();
            Spread { p50: quantile(&v, 0.5).unwrap_or(0.0), p90: quantile(&v, 0.9).unwrap_or(0.0) }
        };
        Some(LatencySummary {
            replies: self.latencies.len(),
            stt_final: spread(|l| l.stt_final_ms),
            llm_first_token: spread(|l| l.llm_first_token_ms),
            tts_first_byte: spread(|l| l.tts_first_byte_ms),
            first_audio: spread(|l| l.first_audio_ms),
            overhead: spread(|l| l.overhead_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank_and_ignore_non_numbers() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[3.0], 0.9), Some(3.0));
        let v = [5.0, 1.0, 4.0, 2.0, 3.0, f64::NAN];
        assert_eq!(quantile(&v, 0.5), Some(3.0));
        assert_eq!(quantile(&v, 0.9), Some(5.0));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
    }

    #[test]
    fn the_summary_spreads_each_stage_and_the_report_round_trips() {
        let l = |first: f64| TurnLatency {
            first_audio_ms: first,
            overhead_ms: first / 100.0,
            ..Default::default()
        };
        let report = AgentReport {
            duration_ms: 61_000,
            end: EndReason::Agent { reason: "meeting booked".into() },
            turns: 6,
            interruptions: 1,
            usage: CallUsage {
                stt_seconds: 30.5,
                llm_input_tokens: 900,
                llm_output_tokens: 80,
                tts_characters: 420,
            },
            latencies: vec![l(700.0), l(400.0), l(500.0)],
            barge_ins_ms: vec![62.0],
            outcome: Some(crate::copilot::outcome::CallOutcome::Interested),
        };
        let s = report.latency_summary().unwrap();
        assert_eq!((s.replies, s.first_audio.p50, s.first_audio.p90), (3, 500.0, 700.0));
        assert_eq!(s.overhead.p50, 5.0);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["end"], serde_json::json!({"by": "agent", "reason": "meeting booked"}));
        assert_eq!(json["outcome"], "interested");
        assert_eq!(serde_json::from_value::<AgentReport>(json.clone()).unwrap(), report);
        // Reports stored before outcomes were suggested read as none.
        let mut old = json;
        old.as_object_mut().unwrap().remove("outcome");
        assert_eq!(serde_json::from_value::<AgentReport>(old).unwrap().outcome, None);
        assert!(AgentReport { latencies: vec![], ..report }.latency_summary().is_none());
    }
}
