//! An agent's configuration and the rules it must satisfy before it is
//! saved. The same [`AgentSettings::validate`] runs in the browser (instant
//! inline errors) and in the service (the authority).

use serde::{Deserialize, Serialize};

use crate::catalogue::{self, Capability};
use crate::data_schema::DataSchema;
use crate::error::FieldError;
use crate::template;
use crate::tools::ToolName;
use crate::validation::normalize_name;
use crate::ErrorCode;

pub const MAX_DESCRIPTION_CHARS: usize = 1000;
pub const MAX_PROMPT_CHARS: usize = 20_000;
pub const MAX_FIRST_MESSAGE_CHARS: usize = 2000;
pub const MAX_VOICEMAIL_CHARS: usize = 1000;
/// A recording disclosure is one or two sentences.
pub const MAX_DISCLOSURE_CHARS: usize = 500;
pub const TEMPERATURE_MAX: f32 = 2.0;
pub const MAX_TOKENS_RANGE: (u32, u32) = (16, 32_000);
pub const CALL_SECONDS_RANGE: (u32, u32) = (30, 4 * 3600);
/// The caller's pause that ends their turn (after the VAD hears silence).
pub const END_OF_TURN_MS_RANGE: (u32, u32) = (100, 3000);
/// How long past the end of a turn to wait for the STT's last words.
pub const STT_FINAL_WAIT_MS_RANGE: (u32, u32) = (100, 5000);
pub const SILENCE_REPROMPT_SECONDS_RANGE: (u32, u32) = (3, 120);
pub const SILENCE_HANG_UP_SECONDS_RANGE: (u32, u32) = (5, 600);
/// Voices tried in turn when the agent's own voice fails mid-call.
pub const MAX_FALLBACK_VOICES: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    Chat,
    Voice,
}

impl AgentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Chat => "chat",
            AgentKind::Voice => "voice",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "chat" => Some(AgentKind::Chat),
            "voice" => Some(AgentKind::Voice),
            _ => None,
        }
    }
}

/// How eagerly the voice agent stops talking when the prospect speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Interruption {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Voicemail {
    HangUp,
    LeaveMessage { text: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LlmChoice {
    pub provider: String,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SttChoice {
    pub provider: String,
    pub model: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TtsChoice {
    pub provider: String,
    pub model: String,
    pub voice: String,
}

impl TtsChoice {
    /// A vendor and model that speak `language`, and a voice id of a sane
    /// shape (voices are checked against the vendor's live list when a key
    /// is set, in the editor). Errors name `{prefix}.provider` and so on.
    fn validate(mut self, prefix: &str, language: &str) -> Result<TtsChoice, FieldError> {
        check_model(prefix, Capability::Tts, &self.provider, &self.model)?;
        check_language(&format!("{prefix}.provider"), &self.provider, language)?;
        self.model = self.model.trim().to_string();
        self.voice = self.voice.trim().to_string();
        if self.voice.is_empty() || self.voice.len() > 128 || self.voice.chars().any(char::is_control) {
            return Err(FieldError::new(format!("{prefix}.voice"), ErrorCode::Validation));
        }
        Ok(self)
    }
}

/// Everything an admin edits on an agent (identity and folder live beside it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentSettings {
    pub name: String,
    pub description: String,
    pub kind: AgentKind,
    pub system_prompt: String,
    pub first_message: String,
    /// BCP-47 tag ("en", "fr-FR").
    pub language: String,
    pub llm: LlmChoice,
    /// Speech settings; required for voice agents, ignored by chat agents.
    pub stt: Option<SttChoice>,
    pub tts: Option<TtsChoice>,
    /// Tried in order when the voice before fails mid-call (an outage, a
    /// revoked key): another voice, possibly another vendor, rather than
    /// silence. At most [`MAX_FALLBACK_VOICES`]; voice agents only.
    #[serde(default)]
    pub fallback_voices: Vec<TtsChoice>,
    pub interruption: Interruption,
    pub max_call_seconds: u32,
    pub voicemail: Voicemail,
    /// E.164; `transferCall` may only dial this number.
    pub transfer_number: Option<String>,
    pub tools: Vec<ToolName>,
    pub data_schema: DataSchema,
    /// Whether this agent's calls are recorded (absent in agents saved
    /// before recordings existed: the organisation decides).
    #[serde(default)]
    pub recording: RecordingChoice,
    /// Spoken first on every call when set ("This call is recorded…"), so
    /// the callee hears it before anything else is said.
    #[serde(default)]
    pub recording_disclosure: Option<String>,
    /// When the caller's turn ends and what the agent does when they say
    /// nothing (absent in agents saved before: the defaults).
    #[serde(default)]
    pub turn_taking: TurnTaking,
}

/// How a voice agent takes turns and handles silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TurnTaking {
    /// Caller silence that ends their turn, in ms (shorter: snappier
    /// replies, more cut-in on slow speakers).
    pub end_of_turn_ms: u32,
    /// How long past the end of the turn to wait for the STT's final words, in ms.
    pub stt_final_wait_ms: u32,
    /// Caller silence (with the agent quiet) before it asks whether they are still there.
    pub silence_reprompt_seconds: u32,
    /// Caller silence before it says goodbye and hangs up; longer than the re-prompt.
    pub silence_hang_up_seconds: u32,
}

impl Default for TurnTaking {
    fn default() -> Self {
        TurnTaking {
            end_of_turn_ms: 500,
            stt_final_wait_ms: 1500,
            silence_reprompt_seconds: 10,
            silence_hang_up_seconds: 30,
        }
    }
}

impl TurnTaking {
    pub fn validate(self) -> Result<TurnTaking, FieldError> {
        let within = |field: &str, v: u32, (lo, hi): (u32, u32)| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(FieldError::new(field, ErrorCode::OutOfRange).with_detail(format!("{lo}–{hi}")))
            }
        };
        within("turn_taking.end_of_turn_ms", self.end_of_turn_ms, END_OF_TURN_MS_RANGE)?;
        within("turn_taking.stt_final_wait_ms", self.stt_final_wait_ms, STT_FINAL_WAIT_MS_RANGE)?;
        within(
            "turn_taking.silence_reprompt_seconds",
            self.silence_reprompt_seconds,
            SILENCE_REPROMPT_SECONDS_RANGE,
        )?;
        within(
            "turn_taking.silence_hang_up_seconds",
            self.silence_hang_up_seconds,
            SILENCE_HANG_UP_SECONDS_RANGE,
        )?;
        if self.silence_hang_up_seconds <= self.silence_reprompt_seconds {
            return Err(FieldError::new("turn_taking.silence_hang_up_seconds", ErrorCode::OutOfRange)
                .with_detail(format!("> {}", self.silence_reprompt_seconds)));
        }
        Ok(self)
    }
}

/// Whether an agent's calls are recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordingChoice {
    /// As the organisation's recording settings say.
    #[default]
    Organisation,
    Always,
    Never,
}

impl RecordingChoice {
    pub const ALL: [RecordingChoice; 3] =
        [RecordingChoice::Organisation, RecordingChoice::Always, RecordingChoice::Never];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordingChoice::Organisation => "organisation",
            RecordingChoice::Always => "always",
            RecordingChoice::Never => "never",
        }
    }

    pub fn parse(s: &str) -> Option<RecordingChoice> {
        RecordingChoice::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether a call is recorded, given the organisation's default.
    pub fn records(self, organisation_default: bool) -> bool {
        match self {
            RecordingChoice::Organisation => organisation_default,
            RecordingChoice::Always => true,
            RecordingChoice::Never => false,
        }
    }
}

impl AgentSettings {
    /// The product's language closest to the agent's (`fr-CA` → French);
    /// English for one it has no texts in.
    pub fn locale(&self) -> crate::Locale {
        crate::Locale::parse(&self.language).unwrap_or(crate::Locale::En)
    }

    /// A sensible new agent: the form starts from this.
    pub fn new_default(kind: AgentKind, language: &str) -> Self {
        let voice = kind == AgentKind::Voice;
        AgentSettings {
            name: String::new(),
            description: String::new(),
            kind,
            system_prompt: String::new(),
            first_message: String::new(),
            language: language.to_string(),
            llm: LlmChoice {
                provider: "openai".into(),
                model: "gpt-4.1-mini".into(),
                temperature: 0.7,
                max_tokens: 512,
            },
            stt: voice.then(|| SttChoice { provider: "deepgram".into(), model: "nova-3".into() }),
            tts: voice.then(|| TtsChoice {
                provider: "cartesia".into(),
                model: "sonic-2".into(),
                voice: "694f9389-aac1-45b6-b726-9d9369183238".into(),
            }),
            interruption: Interruption::Medium,
            max_call_seconds: 600,
            voicemail: Voicemail::HangUp,
            transfer_number: None,
            tools: vec![ToolName::AddNote, ToolName::UpdateData, ToolName::EndCall],
            data_schema: DataSchema::default(),
            recording: RecordingChoice::Organisation,
            recording_disclosure: None,
            turn_taking: TurnTaking::default(),
            fallback_voices: Vec::new(),
        }
    }

    /// Checks every rule and returns the normalised settings, or the first
    /// violation with the form field it belongs to.
    pub fn validate(mut self) -> Result<AgentSettings, FieldError> {
        self.name = normalize_name("name", &self.name)?;
        self.description = bounded("description", self.description.trim(), MAX_DESCRIPTION_CHARS)?;
        self.system_prompt = bounded("system_prompt", self.system_prompt.trim(), MAX_PROMPT_CHARS)?;
        template::validate("system_prompt", &self.system_prompt)?;
        self.first_message = bounded("first_message", self.first_message.trim(), MAX_FIRST_MESSAGE_CHARS)?;
        template::validate("first_message", &self.first_message)?;
        self.language = normalize_language(&self.language).ok_or_else(|| {
            FieldError::new("language", ErrorCode::InvalidLanguage).with_detail(self.language.clone())
        })?;

        check_model("llm", Capability::Llm, &self.llm.provider, &self.llm.model)?;
        if !(0.0..=TEMPERATURE_MAX).contains(&self.llm.temperature) || self.llm.temperature.is_nan() {
            return Err(FieldError::new("llm.temperature", ErrorCode::OutOfRange)
                .with_detail(format!("0–{TEMPERATURE_MAX}")));
        }
        let (lo, hi) = MAX_TOKENS_RANGE;
        if !(lo..=hi).contains(&self.llm.max_tokens) {
            return Err(
                FieldError::new("llm.max_tokens", ErrorCode::OutOfRange).with_detail(format!("{lo}–{hi}"))
            );
        }

        if self.kind == AgentKind::Voice {
            let stt = self
                .stt
                .as_ref()
                .ok_or_else(|| FieldError::new("stt.provider", ErrorCode::UnknownProvider))?;
            check_model("stt", Capability::Stt, &stt.provider, &stt.model)?;
            check_language("stt.provider", &stt.provider, &self.language)?;
            let tts =
                self.tts.take().ok_or_else(|| FieldError::new("tts.provider", ErrorCode::UnknownProvider))?;
            let tts = tts.validate("tts", &self.language)?;
            if self.fallback_voices.len() > MAX_FALLBACK_VOICES {
                return Err(FieldError::new("fallback_voices", ErrorCode::OutOfRange)
                    .with_detail(format!("0–{MAX_FALLBACK_VOICES}")));
            }
            let mut fallbacks: Vec<TtsChoice> = Vec::with_capacity(self.fallback_voices.len());
            for (i, v) in std::mem::take(&mut self.fallback_voices).into_iter().enumerate() {
                let prefix = format!("fallback_voices.{i}");
                let v = v.validate(&prefix, &self.language)?;
                // The same voice again would fail the same way.
                if v == tts || fallbacks.contains(&v) {
                    return Err(FieldError::new(format!("{prefix}.voice"), ErrorCode::DuplicateVoice));
                }
                fallbacks.push(v);
            }
            self.tts = Some(tts);
            self.fallback_voices = fallbacks;
        } else {
            self.stt = None;
            self.tts = None;
            self.fallback_voices = Vec::new();
        }

        let (lo, hi) = CALL_SECONDS_RANGE;
        if !(lo..=hi).contains(&self.max_call_seconds) {
            return Err(
                FieldError::new("max_call_seconds", ErrorCode::OutOfRange).with_detail(format!("{lo}–{hi}"))
            );
        }
        if let Voicemail::LeaveMessage { text } = &mut self.voicemail {
            *text = bounded("voicemail", text.trim(), MAX_VOICEMAIL_CHARS)?;
            if text.is_empty() {
                return Err(FieldError::new("voicemail", ErrorCode::RequiredValue));
            }
            template::validate("voicemail", text)?;
        }
        self.transfer_number = match self.transfer_number.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(n) => Some(
                normalize_e164(n)
                    .ok_or_else(|| FieldError::new("transfer_number", ErrorCode::InvalidPhone))?,
            ),
        };
        self.recording_disclosure = match self.recording_disclosure.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let text = bounded("recording_disclosure", text, MAX_DISCLOSURE_CHARS)?;
                template::validate("recording_disclosure", &text)?;
                Some(text)
            }
        };
        let mut tools: Vec<ToolName> = ToolName::ALL.into_iter().filter(|t| self.tools.contains(t)).collect();
        tools.dedup();
        self.tools = tools;
        self.data_schema = self.data_schema.validate()?;
        self.turn_taking = self.turn_taking.validate()?;
        Ok(self)
    }
}

fn bounded(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    if s.chars().count() > max {
        return Err(FieldError::new(field, ErrorCode::TextTooLong).with_detail(max.to_string()));
    }
    Ok(s.to_string())
}

fn check_model(prefix: &str, cap: Capability, provider: &str, model: &str) -> Result<(), FieldError> {
    let p = catalogue::provider(provider).filter(|p| p.supports(cap)).ok_or_else(|| {
        FieldError::new(format!("{prefix}.provider"), ErrorCode::UnknownProvider).with_detail(provider)
    })?;
    if !p.accepts_model(cap, model.trim()) {
        return Err(FieldError::new(format!("{prefix}.model"), ErrorCode::UnknownModel).with_detail(model));
    }
    Ok(())
}

fn check_language(field: &str, provider: &str, language: &str) -> Result<(), FieldError> {
    match catalogue::provider(provider) {
        Some(p) if !p.speaks(language) => {
            Err(FieldError::new(field, ErrorCode::InvalidLanguage).with_detail(language.to_string()))
        }
        _ => Ok(()),
    }
}

/// Normalises a BCP-47 tag of the forms we support: `ll`, `ll-RR`,
/// `ll-Ssss`, `ll-Ssss-RR`, `ll-419` (language 2–3 letters, script, region).
pub fn normalize_language(tag: &str) -> Option<String> {
    let parts: Vec<&str> = tag.trim().split(['-', '_']).collect();
    let lang = parts.first()?;
    if !(2..=3).contains(&lang.len()) || !lang.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut out = lang.to_ascii_lowercase();
    let mut rest = &parts[1..];
    if let Some(script) = rest.first().filter(|s| s.len() == 4 && s.chars().all(|c| c.is_ascii_alphabetic()))
    {
        out.push('-');
        out.push_str(&script[..1].to_ascii_uppercase());
        out.push_str(&script[1..].to_ascii_lowercase());
        rest = &rest[1..];
    }
    if let Some(region) = rest.first() {
        let ok = (region.len() == 2 && region.chars().all(|c| c.is_ascii_alphabetic()))
            || (region.len() == 3 && region.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            return None;
        }
        out.push('-');
        out.push_str(&region.to_ascii_uppercase());
        rest = &rest[1..];
    }
    rest.is_empty().then_some(out)
}

/// `+` then 8–15 digits, first digit not 0; spaces, dots, dashes and
/// brackets are dropped. Full number-plan validation comes with prospects.
pub fn normalize_e164(input: &str) -> Option<String> {
    let cleaned: String = input.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = cleaned.strip_prefix('+')?;
    let ok = (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data_schema::{DataField, FieldKind};

    fn valid() -> AgentSettings {
        AgentSettings {
            name: "  Sales   Max ".into(),
            system_prompt: "You sell cars to {{prospect.first_name}}.".into(),
            first_message: "Bonjour {{prospect.first_name}}, {{agent.name}} ici.".into(),
            ..AgentSettings::new_default(AgentKind::Voice, "fr_fr")
        }
    }

    #[test]
    fn recording_follows_the_agent_then_the_organisation() {
        assert!(RecordingChoice::Organisation.records(true));
        assert!(!RecordingChoice::Organisation.records(false));
        assert!(RecordingChoice::Always.records(false));
        assert!(!RecordingChoice::Never.records(true));
        // Agents saved before recordings existed read as "as the organisation says".
        let mut old = serde_json::to_value(valid()).unwrap();
        old.as_object_mut().unwrap().remove("recording");
        old.as_object_mut().unwrap().remove("recording_disclosure");
        let read: AgentSettings = serde_json::from_value(old).unwrap();
        assert_eq!((read.recording, read.recording_disclosure), (RecordingChoice::Organisation, None));
    }

    #[test]
    fn turn_taking_defaults_for_old_agents_and_is_bounded() {
        let mut old = serde_json::to_value(valid()).unwrap();
        old.as_object_mut().unwrap().remove("turn_taking");
        let read: AgentSettings = serde_json::from_value(old).unwrap();
        assert_eq!(read.turn_taking, TurnTaking::default());
        assert!(read.validate().is_ok());
        let with =
            |t: TurnTaking| AgentSettings { turn_taking: t, ..valid() }.validate().map_err(|e| e.field);
        let d = TurnTaking::default();
        for (t, field) in [
            (TurnTaking { end_of_turn_ms: 99, ..d }, "turn_taking.end_of_turn_ms"),
            (TurnTaking { end_of_turn_ms: 3001, ..d }, "turn_taking.end_of_turn_ms"),
            (TurnTaking { stt_final_wait_ms: 0, ..d }, "turn_taking.stt_final_wait_ms"),
            (TurnTaking { silence_reprompt_seconds: 2, ..d }, "turn_taking.silence_reprompt_seconds"),
            (TurnTaking { silence_hang_up_seconds: 601, ..d }, "turn_taking.silence_hang_up_seconds"),
            // Hanging up must come after asking.
            (
                TurnTaking { silence_reprompt_seconds: 20, silence_hang_up_seconds: 20, ..d },
                "turn_taking.silence_hang_up_seconds",
            ),
        ] {
            assert_eq!(with(t), Err(field.to_string()), "{t:?}");
        }
        let edge = TurnTaking {
            end_of_turn_ms: 100,
            stt_final_wait_ms: 5000,
            silence_reprompt_seconds: 3,
            silence_hang_up_seconds: 4 + 1,
        };
        assert_eq!(with(edge).map(|_| ()), Ok(()));
    }

    #[test]
    fn a_disclosure_is_trimmed_bounded_and_a_valid_template() {
        let s = AgentSettings {
            recording_disclosure: Some("  This call with {{agent.name}} is recorded. ".into()),
            ..valid()
        };
        assert_eq!(
            s.validate().unwrap().recording_disclosure.as_deref(),
            Some("This call with {{agent.name}} is recorded.")
        );
        let blank = AgentSettings { recording_disclosure: Some(" ".into()), ..valid() }.validate().unwrap();
        assert_eq!(blank.recording_disclosure, None);
        let long =
            AgentSettings { recording_disclosure: Some("x".repeat(MAX_DISCLOSURE_CHARS + 1)), ..valid() };
        assert_eq!(long.validate().unwrap_err().field, "recording_disclosure");
        let bad = AgentSettings { recording_disclosure: Some("Hi {{prospect.age}}".into()), ..valid() };
        assert_eq!(bad.validate().unwrap_err().field, "recording_disclosure");
    }

    #[test]
    fn defaults_are_valid_once_named() {
        for kind in [AgentKind::Chat, AgentKind::Voice] {
            let s = AgentSettings { name: "A".into(), ..AgentSettings::new_default(kind, "en") };
            assert!(s.validate().is_ok(), "{kind:?}");
        }
    }

    #[test]
    fn validation_normalises() {
        let v = valid().validate().unwrap();
        assert_eq!(v.name, "Sales Max");
        assert_eq!(v.language, "fr-FR");
        let chat = AgentSettings { kind: AgentKind::Chat, ..valid() }.validate().unwrap();
        assert!(chat.stt.is_none() && chat.tts.is_none(), "chat agents keep no speech settings");
        let s = AgentSettings {
            transfer_number: Some(" +33 (6) 12-34-56-78 ".into()),
            tools: vec![ToolName::EndCall, ToolName::AddNote, ToolName::EndCall],
            ..valid()
        }
        .validate()
        .unwrap();
        assert_eq!(s.transfer_number.as_deref(), Some("+33612345678"));
        assert_eq!(s.tools, vec![ToolName::AddNote, ToolName::EndCall]);
        let blank = AgentSettings { transfer_number: Some("  ".into()), ..valid() }.validate().unwrap();
        assert_eq!(blank.transfer_number, None);
    }

    #[test]
    fn each_rule_names_its_field() {
        let field = |s: AgentSettings| {
            let e = s.validate().unwrap_err();
            (e.field, e.code)
        };
        let f = |n: &str, c: ErrorCode| (n.to_string(), c);
        assert_eq!(field(AgentSettings { name: " ".into(), ..valid() }), f("name", ErrorCode::NameRequired));
        assert_eq!(
            field(AgentSettings { system_prompt: "Hi {{prospect.age}}".into(), ..valid() }),
            f("system_prompt", ErrorCode::TemplateUnknownVariable)
        );
        assert_eq!(
            field(AgentSettings { first_message: "Hi {{today".into(), ..valid() }),
            f("first_message", ErrorCode::TemplateUnclosed)
        );
        assert_eq!(
            field(AgentSettings { system_prompt: "x".repeat(MAX_PROMPT_CHARS + 1), ..valid() }),
            f("system_prompt", ErrorCode::TextTooLong)
        );
        assert_eq!(
            field(AgentSettings { language: "french".into(), ..valid() }),
            f("language", ErrorCode::InvalidLanguage)
        );
        let mut s = valid();
        s.llm.provider = "skynet".into();
        assert_eq!(field(s), f("llm.provider", ErrorCode::UnknownProvider));
        let mut s = valid();
        s.llm.model = "gpt-2".into();
        assert_eq!(field(s), f("llm.model", ErrorCode::UnknownModel));
        let mut s = valid();
        s.llm.provider = "deepgram".into();
        assert_eq!(field(s), f("llm.provider", ErrorCode::UnknownProvider), "an STT-only provider is no LLM");
        let mut s = valid();
        s.llm.temperature = 2.5;
        assert_eq!(field(s), f("llm.temperature", ErrorCode::OutOfRange));
        let mut s = valid();
        s.llm.temperature = f32::NAN;
        assert_eq!(field(s), f("llm.temperature", ErrorCode::OutOfRange));
        let mut s = valid();
        s.llm.max_tokens = 0;
        assert_eq!(field(s), f("llm.max_tokens", ErrorCode::OutOfRange));
        assert_eq!(
            field(AgentSettings { stt: None, ..valid() }),
            f("stt.provider", ErrorCode::UnknownProvider)
        );
        let mut s = valid();
        s.tts.as_mut().unwrap().model = "tts-1".into();
        assert_eq!(field(s), f("tts.model", ErrorCode::UnknownModel));
        let mut s = AgentSettings { language: "ja".into(), ..valid() };
        s.stt = Some(SttChoice { provider: "deepgram".into(), model: "nova-3".into() });
        assert_eq!(field(s), f("stt.provider", ErrorCode::InvalidLanguage));
        let mut s = valid();
        s.tts.as_mut().unwrap().voice = " ".into();
        assert_eq!(field(s), f("tts.voice", ErrorCode::Validation));
        assert_eq!(
            field(AgentSettings { max_call_seconds: 5, ..valid() }),
            f("max_call_seconds", ErrorCode::OutOfRange)
        );
        assert_eq!(
            field(AgentSettings { voicemail: Voicemail::LeaveMessage { text: " ".into() }, ..valid() }),
            f("voicemail", ErrorCode::RequiredValue)
        );
        assert_eq!(
            field(AgentSettings {
                voicemail: Voicemail::LeaveMessage { text: "{{oops}}".into() },
                ..valid()
            }),
            f("voicemail", ErrorCode::TemplateUnknownVariable)
        );
        assert_eq!(
            field(AgentSettings { transfer_number: Some("0612345678".into()), ..valid() }),
            f("transfer_number", ErrorCode::InvalidPhone)
        );
        let bad_schema = DataSchema {
            fields: vec![DataField {
                name: "9x".into(),
                kind: FieldKind::String,
                description: String::new(),
                required: false,
            }],
        };
        assert_eq!(
            field(AgentSettings { data_schema: bad_schema, ..valid() }),
            f("data_schema.0.name", ErrorCode::InvalidFieldName)
        );
    }

    #[test]
    fn fallback_voices_are_checked_like_the_voice_and_kept_in_order() {
        let field = |s: AgentSettings| s.validate().map(|_| ()).unwrap_err();
        let voice = |provider: &str, model: &str, id: &str| TtsChoice {
            provider: provider.into(),
            model: model.into(),
            voice: id.into(),
        };
        let with = |v: Vec<TtsChoice>| AgentSettings { fallback_voices: v, ..valid() };
        let s = with(vec![
            voice("openai", " gpt-4o-mini-tts ", " alloy "),
            voice("elevenlabs", "eleven_flash_v2_5", "v1"),
        ])
        .validate()
        .unwrap();
        assert_eq!(s.fallback_voices[0], voice("openai", "gpt-4o-mini-tts", "alloy"));
        assert_eq!(s.fallback_voices[1].provider, "elevenlabs");
        // Each entry names its own field.
        let e =
            field(with(vec![voice("openai", "gpt-4o-mini-tts", "alloy"), voice("deepgram", "nova-3", "x")]));
        assert_eq!((e.field.as_str(), e.code), ("fallback_voices.1.provider", ErrorCode::UnknownProvider));
        let e = field(with(vec![voice("openai", "tts-0", "alloy")]));
        assert_eq!((e.field.as_str(), e.code), ("fallback_voices.0.model", ErrorCode::UnknownModel));
        let e = field(with(vec![voice("openai", "gpt-4o-mini-tts", " ")]));
        assert_eq!((e.field.as_str(), e.code), ("fallback_voices.0.voice", ErrorCode::Validation));
        // The agent's own voice, or one listed twice, would fail the same way again.
        let own = valid().tts.unwrap();
        let e = field(with(vec![own]));
        assert_eq!((e.field.as_str(), e.code), ("fallback_voices.0.voice", ErrorCode::DuplicateVoice));
        let alloy = voice("openai", "gpt-4o-mini-tts", "alloy");
        let e = field(with(vec![alloy.clone(), alloy.clone()]));
        assert_eq!((e.field.as_str(), e.code), ("fallback_voices.1.voice", ErrorCode::DuplicateVoice));
        let e = field(with(vec![alloy.clone(); MAX_FALLBACK_VOICES + 1]));
        assert_eq!((e.field.as_str(), e.code), ("fallback_voices", ErrorCode::OutOfRange));
        // A chat agent has no voice at all; agents saved before fallbacks read as none.
        let chat = AgentSettings { kind: AgentKind::Chat, ..with(vec![alloy]) }.validate().unwrap();
        assert!(chat.fallback_voices.is_empty());
        let mut old = serde_json::to_value(valid()).unwrap();
        old.as_object_mut().unwrap().remove("fallback_voices");
        let old: AgentSettings = serde_json::from_value(old).unwrap();
        assert!(old.fallback_voices.is_empty());
    }

    #[test]
    fn languages() {
        for (input, out) in [
            ("en", "en"),
            ("FR", "fr"),
            ("fr_ca", "fr-CA"),
            ("es-419", "es-419"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("yue", "yue"),
        ] {
            assert_eq!(normalize_language(input).as_deref(), Some(out), "{input}");
        }
        for bad in ["", "e", "english", "en-", "en-U", "en-USA1", "12", "en-US-x"] {
            assert_eq!(normalize_language(bad), None, "{bad}");
        }
    }

    #[test]
    fn e164() {
        assert_eq!(normalize_e164("+1 (415) 555-0100").as_deref(), Some("+14155550100"));
        for bad in ["+0123456789", "0612345678", "+12", "+1234567890123456", "+33 6a"] {
            assert_eq!(normalize_e164(bad), None, "{bad}");
        }
    }
}
