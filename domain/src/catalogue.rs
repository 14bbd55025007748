//! The provider catalogue shipped with Handoo: which LLM, speech-to-text and
//! text-to-speech providers exist, their models, default voices and
//! languages. The agent form reads it (it compiles to wasm); the server
//! replaces the voice list with the provider's own when a key is set.
//!
//! Model lists are curated, not exhaustive: providers marked
//! `any_model` (OpenAI-compatible servers such as Ollama or vLLM) accept
//! whatever model name the user types.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Llm,
    Stt,
    Tts,
}

impl Capability {
    pub const ALL: [Capability; 3] = [Capability::Llm, Capability::Stt, Capability::Tts];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Llm => "llm",
            Capability::Stt => "stt",
            Capability::Tts => "tts",
        }
    }
}

/// The wire protocol a provider speaks; several providers share one
/// (Groq and Ollama speak OpenAI's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    OpenAi,
    Anthropic,
    Gemini,
    Deepgram,
    AssemblyAi,
    Cartesia,
    ElevenLabs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Voice {
    pub id: &'static str,
    pub name: &'static str,
    /// BCP-47 primary language the voice was made for ("en", "fr"; "multi").
    pub language: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Provider {
    /// Stable id stored in agents and credentials.
    pub id: &'static str,
    pub name: &'static str,
    pub protocol: Protocol,
    pub default_base_url: &'static str,
    /// Keys are optional (a local Ollama needs none).
    pub key_optional: bool,
    /// Any model name is accepted (self-hosted servers).
    pub any_model: bool,
    pub llm_models: &'static [&'static str],
    pub stt_models: &'static [&'static str],
    pub tts_models: &'static [&'static str],
    pub voices: &'static [Voice],
    /// Languages (BCP-47 primary subtags) the speech models handle; empty = any.
    pub languages: &'static [&'static str],
}

impl Provider {
    pub fn supports(&self, cap: Capability) -> bool {
        !self.models(cap).is_empty() || (self.any_model && cap == Capability::Llm)
    }

    pub fn models(&self, cap: Capability) -> &'static [&'static str] {
        match cap {
            Capability::Llm => self.llm_models,
            Capability::Stt => self.stt_models,
            Capability::Tts => self.tts_models,
        }
    }

    pub fn accepts_model(&self, cap: Capability, model: &str) -> bool {
        (self.any_model && cap == Capability::Llm && is_model_name(model))
            || self.models(cap).contains(&model)
    }

    pub fn speaks(&self, language: &str) -> bool {
        let primary = language.split('-').next().unwrap_or(language).to_ascii_lowercase();
        self.languages.is_empty() || self.languages.iter().any(|l| *l == primary)
    }
}

/// A plausible model identifier for free-form providers (`llama3.1:8b`,
/// `meta-llama/Llama-3.1-8B-Instruct`).
pub fn is_model_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || "._:/-@".contains(c))
}

const SPEECH_LANGUAGES: &[&str] = &["en", "fr", "de", "es", "it", "pt", "nl"];

const OPENAI_VOICES: &[Voice] = &[
    Voice { id: "alloy", name: "Alloy", language: "multi" },
    Voice { id: "ash", name: "Ash", language: "multi" },
    Voice { id: "ballad", name: "Ballad", language: "multi" },
    Voice { id: "coral", name: "Coral", language: "multi" },
    Voice { id: "echo", name: "Echo", language: "multi" },
    Voice { id: "fable", name: "Fable", language: "multi" },
    Voice { id: "nova", name: "Nova", language: "multi" },
    Voice { id: "onyx", name: "Onyx", language: "multi" },
    Voice { id: "sage", name: "Sage", language: "multi" },
    Voice { id: "shimmer", name: "Shimmer", language: "multi" },
    Voice { id: "verse", name: "Verse", language: "multi" },
];

pub const PROVIDERS: &[Provider] = &[
    Provider {
        id: "openai",
        name: "OpenAI",
        protocol: Protocol::OpenAi,
        default_base_url: "https://api.openai.com/v1",
        key_optional: false,
        any_model: false,
        llm_models: &[
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-5",
            "gpt-5-mini",
            "gpt-5-nano",
        ],
        stt_models: &["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "whisper-1"],
        tts_models: &["gpt-4o-mini-tts", "tts-1", "tts-1-hd"],
        voices: OPENAI_VOICES,
        languages: &[],
    },
    Provider {
        id: "anthropic",
        name: "Anthropic",
        protocol: Protocol::Anthropic,
        default_base_url: "https://api.anthropic.com/v1",
        key_optional: false,
        any_model: false,
        llm_models: &["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1", "claude-3-5-haiku-latest"],
        stt_models: &[],
        tts_models: &[],
        voices: &[],
        languages: &[],
    },
    Provider {
        id: "gemini",
        name: "Google Gemini",
        protocol: Protocol::Gemini,
        default_base_url: "https://generativelanguage.googleapis.com/v1beta",
        key_optional: false,
        any_model: false,
        llm_models: &["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro", "gemini-2.0-flash"],
        stt_models: &[],
        tts_models: &[],
        voices: &[],
        languages: &[],
    },
    Provider {
        id: "groq",
        name: "Groq",
        protocol: Protocol::OpenAi,
        default_base_url: "https://api.groq.com/openai/v1",
        key_optional: false,
        any_model: false,
        llm_models: &[
            "llama-3.3-70b-versatile",
            "llama-3.1-8b-instant",
            "openai/gpt-oss-120b",
            "openai/gpt-oss-20b",
        ],
        stt_models: &[],
        tts_models: &[],
        voices: &[],
        languages: &[],
    },
    Provider {
        id: "openai_compatible",
        name: "OpenAI-compatible (Ollama, vLLM, …)",
        protocol: Protocol::OpenAi,
        default_base_url: "http://127.0.0.1:11434/v1",
        key_optional: true,
        any_model: true,
        llm_models: &[],
        stt_models: &[],
        tts_models: &[],
        voices: &[],
        languages: &[],
    },
    Provider {
        id: "deepgram",
        name: "Deepgram",
        protocol: Protocol::Deepgram,
        default_base_url: "wss://api.deepgram.com/v1",
        key_optional: false,
        any_model: false,
        llm_models: &[],
        stt_models: &["nova-3", "nova-2"],
        tts_models: &[],
        voices: &[],
        languages: SPEECH_LANGUAGES,
    },
    Provider {
        id: "assemblyai",
        name: "AssemblyAI",
        protocol: Protocol::AssemblyAi,
        default_base_url: "wss://streaming.assemblyai.com/v3",
        key_optional: false,
        any_model: false,
        llm_models: &[],
        stt_models: &["universal-streaming-english", "universal-streaming-multilingual"],
        tts_models: &[],
        voices: &[],
        languages: &["en", "fr", "de", "es", "it", "pt"],
    },
    Provider {
        id: "cartesia",
        name: "Cartesia",
        protocol: Protocol::Cartesia,
        default_base_url: "wss://api.cartesia.ai",
        key_optional: false,
        any_model: false,
        llm_models: &[],
        stt_models: &[],
        tts_models: &["sonic-2", "sonic-turbo"],
        voices: &[
            Voice { id: "a0e99841-438c-4a64-b679-ae501e7d6091", name: "Barbershop Man", language: "en" },
            Voice { id: "79a125e8-cd45-4c13-8a67-188112f4dd22", name: "British Lady", language: "en" },
            Voice { id: "694f9389-aac1-45b6-b726-9d9369183238", name: "Sarah", language: "en" },
        ],
        languages: SPEECH_LANGUAGES,
    },
    Provider {
        id: "elevenlabs",
        name: "ElevenLabs",
        protocol: Protocol::ElevenLabs,
        default_base_url: "https://api.elevenlabs.io/v1",
        key_optional: false,
        any_model: false,
        llm_models: &[],
        stt_models: &[],
        tts_models: &["eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_multilingual_v2"],
        voices: &[
            Voice { id: "21m00Tcm4TlvDq8ikWAM", name: "Rachel", language: "multi" },
            Voice { id: "pNInz6obpgDQGcFmaJgB", name: "Adam", language: "multi" },
            Voice { id: "EXAVITQu4vr4xnJGZMt0", name: "Bella", language: "multi" },
            Voice { id: "ErXwobaYiN019PkySvjV", name: "Antoni", language: "multi" },
        ],
        languages: SPEECH_LANGUAGES,
    },
];

pub fn provider(id: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.id == id)
}

/// Providers offering `cap`, in catalogue order.
pub fn providers_for(cap: Capability) -> impl Iterator<Item = &'static Provider> {
    PROVIDERS.iter().filter(move |p| p.supports(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_capability_has_providers_with_models() {
        for cap in Capability::ALL {
            assert!(providers_for(cap).count() >= 2, "{cap:?}");
        }
        for p in PROVIDERS {
            assert!(p.any_model || Capability::ALL.iter().any(|c| !p.models(*c).is_empty()), "{}", p.id);
            assert_eq!(provider(p.id), Some(p));
            if !p.tts_models.is_empty() {
                assert!(!p.voices.is_empty(), "{} ships no default voice", p.id);
            }
        }
        let mut ids: Vec<_> = PROVIDERS.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), PROVIDERS.len(), "duplicate provider id");
    }

    #[test]
    fn model_acceptance() {
        let openai = provider("openai").unwrap();
        assert!(openai.accepts_model(Capability::Llm, "gpt-4o-mini"));
        assert!(!openai.accepts_model(Capability::Llm, "gpt-2"));
        assert!(!openai.accepts_model(Capability::Stt, "gpt-4o-mini"));
        let compat = provider("openai_compatible").unwrap();
        assert!(compat.accepts_model(Capability::Llm, "llama3.1:8b"));
        assert!(compat.accepts_model(Capability::Llm, "meta-llama/Llama-3.1-8B-Instruct"));
        assert!(!compat.accepts_model(Capability::Llm, "two words"));
        assert!(!compat.accepts_model(Capability::Tts, "anything"));
    }

    #[test]
    fn languages() {
        let dg = provider("deepgram").unwrap();
        assert!(dg.speaks("fr-FR") && dg.speaks("en"));
        assert!(!dg.speaks("ja"));
        assert!(provider("openai").unwrap().speaks("ja"));
    }
}
