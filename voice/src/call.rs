//! What a conversation is given (the agent's configuration, its providers,
//! what its actions do) and what it gives back (turns, events, the report).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use domain::agent::{Interruption, Voicemail};
use domain::data_schema::DataSchema;
use domain::locale::Locale;
use domain::tools::ToolName;
use providers::stt::SpeechToText;
use providers::tts::TextToSpeech;
use providers::ChatModel;
use serde::Serialize;
use serde_json::Value;

/// One voice the agent can speak with; later ones are fallbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voice {
    pub model: String,
    pub voice: String,
}

/// Everything about the agent a call needs, read once at job start (prompt
/// and first message already rendered with the prospect's variables).
#[derive(Debug, Clone)]
pub struct CallConfig {
    /// BCP-47 (`en`, `fr-FR`).
    pub language: String,
    pub system_prompt: String,
    pub first_message: String,
    pub llm_model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    pub stt_model: String,
    pub voices: Vec<Voice>,
    pub tools: Vec<ToolName>,
    pub data_schema: DataSchema,
    pub transfer_number: Option<String>,
    pub interruption: Interruption,
    /// Caller silence that ends their turn (after the VAD's own end of speech).
    pub end_of_turn_silence_ms: u64,
    /// How long past the end of the turn to wait for the STT's final words.
    pub stt_final_wait_ms: u64,
    /// Caller silence (with the agent quiet) before asking whether they are still there.
    pub silence_reprompt_ms: u64,
    /// Caller silence before saying goodbye and hanging up.
    pub silence_hang_up_ms: u64,
    pub max_call_ms: u64,
    pub voicemail: Voicemail,
}

impl CallConfig {
    pub fn locale(&self) -> Locale {
        Locale::parse(self.language.split(['-', '_']).next().unwrap_or("en")).unwrap_or(Locale::En)
    }

    /// How long the caller must speak over the agent before the agent gives
    /// up its turn, and whether its audio pauses at once: with `Low`, the
    /// agent keeps talking until the caller has clearly taken over.
    pub fn barge_in(&self) -> (u64, bool) {
        match self.interruption {
            Interruption::High => (200, true),
            Interruption::Medium => (450, true),
            Interruption::Low => (900, false),
        }
    }
}

/// The clients a call talks to.
pub struct Providers {
    pub llm: Arc<dyn ChatModel>,
    pub stt: Arc<dyn SpeechToText>,
    /// One per [`CallConfig::voices`] entry (a fallback voice may be another vendor).
    pub tts: Vec<Arc<dyn TextToSpeech>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Agent,
    Prospect,
}

/// A transcript turn, written as it happens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnRecord {
    /// 0, 1, 2… in the call.
    pub index: u32,
    pub speaker: Speaker,
    /// For an interrupted agent turn, what was actually heard.
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub interrupted: bool,
}

pub use domain::agent_report::{CallUsage as Usage, EndReason, TurnLatency};

/// What a call leaves behind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallReport {
    pub duration_ms: u64,
    pub end: EndReason,
    pub turns: u32,
    pub interruptions: u32,
    pub collected_data: BTreeMap<String, Value>,
    pub usage: Usage,
    pub latencies: Vec<TurnLatency>,
    /// Caller speech start → agent audio stopped, per barge-in (ms).
    pub barge_ins_ms: Vec<f64>,
    /// What the agent said the call came to when it ended it (a suggestion
    /// for whoever logs the outcome).
    pub outcome: Option<domain::copilot::outcome::CallOutcome>,
}

impl CallReport {
    /// What is stored on the call (the collected data is stored as it comes).
    pub fn agent_report(&self) -> domain::agent_report::AgentReport {
        domain::agent_report::AgentReport {
            duration_ms: self.duration_ms,
            end: self.end.clone(),
            turns: self.turns,
            interruptions: self.interruptions,
            usage: self.usage.clone(),
            latencies: self.latencies.clone(),
            barge_ins_ms: self.barge_ins_ms.clone(),
            outcome: self.outcome,
        }
    }
}

/// Live, for open screens (partial words, metrics); best effort.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    Partial { text: String },
    Turn { turn: TurnRecord },
    Data { field: String, value: Value },
    Note { text: String },
    Latency { latency: TurnLatency },
    Ended { report: CallReport },
}

/// What the agent's actions do, and where the call's record goes: the
/// services in the server's process, the REST API from a worker apart, a
/// recorder in tests.
#[async_trait]
pub trait CallEffects: Send + Sync + 'static {
    /// A finished turn; a crash loses at most the one in flight.
    async fn turn(&self, turn: &TurnRecord);
    async fn live(&self, _event: &LiveEvent) {}
    async fn add_note(&self, text: &str) -> Result<(), String>;
    /// `value` is already checked against the data schema.
    async fn update_data(&self, field: &str, value: &Value) -> Result<(), String>;
    /// Cold transfer to `number` (the agent's configured number only).
    async fn transfer(&self, number: &str) -> Result<(), String>;
    async fn ended(&self, report: &CallReport);
    /// Whether the prospect's words ask not to be called again, beyond what
    /// the phrase rules hear (the conversation applies those itself, at
    /// once). Asked beside the reply, so it never delays it; the server's
    /// asks the copilot's objection classifier.
    async fn opts_out(&self, _words: &str, _locale: Locale) -> bool {
        false
    }
    /// The prospect opted out with these words: record it (prospect opted
    /// out, number on the do-not-call list) — before the goodbye is said.
    async fn opted_out(&self, _words: &str) -> Result<(), String> {
        Ok(())
    }
}

/// Fixed phrases, in the agent's language.
pub(crate) fn phrase(locale: Locale, what: Phrase) -> &'static str {
    match (locale, what) {
        (Locale::En, Phrase::Apology) => "Sorry, give me a second.",
        (Locale::Fr, Phrase::Apology) => "Excusez-moi, une petite seconde.",
        (Locale::En, Phrase::StillThere) => "Are you still there?",
        (Locale::Fr, Phrase::StillThere) => "Vous êtes toujours là ?",
        (Locale::En, Phrase::SilenceGoodbye) => "I'll let you go for now. Goodbye!",
        (Locale::Fr, Phrase::SilenceGoodbye) => "Je vous laisse pour le moment. Au revoir !",
        (Locale::En, Phrase::TimeGoodbye) => "I'm afraid we're out of time. Thank you, goodbye!",
        (Locale::Fr, Phrase::TimeGoodbye) => "Nous arrivons au bout du temps prévu. Merci, au revoir !",
        (Locale::En, Phrase::TroubleGoodbye) => {
            "Sorry, I'm having technical trouble. We'll call you back. Goodbye!"
        }
        (Locale::Fr, Phrase::TroubleGoodbye) => {
            "Désolé, j'ai un souci technique. Nous vous rappellerons. Au revoir !"
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phrase {
    Apology,
    StillThere,
    SilenceGoodbye,
    TimeGoodbye,
    TroubleGoodbye,
}

/// Words a listener says to show they follow, not to take the turn.
const BACKCHANNEL: &[&str] = &[
    "yeah",
    "yes",
    "yep",
    "yup",
    "uh-huh",
    "uh",
    "huh",
    "mhm",
    "mm",
    "mmhmm",
    "mm-hmm",
    "hmm",
    "ok",
    "okay",
    "right",
    "sure",
    "i see",
    "got it",
    "oui",
    "ouais",
    "d'accord",
    "daccord",
    "ok",
    "mmh",
    "hm",
    "ah",
    "oh",
    "voilà",
    "exactement",
    "bien sûr",
    "je vois",
    "tout à fait",
    "c'est ça",
    "en effet",
];

/// Whether `text` is only back-channel words (empty counts: nothing said yet).
pub fn is_backchannel(text: &str) -> bool {
    let lower = text.to_lowercase();
    let cleaned: String = lower
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '\'' || c == '-' || c == ' ' { c } else { ' ' })
        .collect();
    let mut rest = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    // Strip known phrases from the front until nothing (or something else) is left.
    'outer: while !rest.is_empty() {
        for b in BACKCHANNEL {
            if rest == *b || rest.starts_with(&format!("{b} ")) {
                rest = rest[b.len()..].trim_start().to_string();
                continue 'outer;
            }
        }
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_channel_words_are_told_from_taking_the_turn() {
        for yes in [
            "",
            "Yeah.",
            "uh-huh",
            "Mm-hmm, okay",
            "Oui, d'accord.",
            "Ouais ouais",
            "Je vois.",
            "right right",
        ] {
            assert!(is_backchannel(yes), "{yes:?}");
        }
        for no in [
            "Yeah but it's too expensive",
            "No.",
            "Stop",
            "Oui mais non",
            "Okay, who is this?",
            "d'accord pour jeudi",
        ] {
            assert!(!is_backchannel(no), "{no:?}");
        }
    }
}
