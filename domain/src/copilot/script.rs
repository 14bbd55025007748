//! Call scripts and the phase engine that follows a live call through them.
//!
//! A script walks the five phases Opening → Discovery → Presentation →
//! Objection handling → Closing. Each phase has its text (a template with
//! `{{prospect.first_name}}`-style variables), tips, and the triggers that move
//! the call on to the next phase: phrases (see [`super::text`]) or intents
//! recognised by built-in rules, optionally restricted to one speaker.
//!
//! [`PhaseEngine`] consumes transcript utterances and reports what changed —
//! a phase advance, objections raised — so the server can publish exactly
//! those events and the browser can replay them.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::objection::{self, Detection, ObjectionKind};
use super::text::{normalize, Pattern};
use crate::error::{ErrorCode, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Opening,
    Discovery,
    Presentation,
    ObjectionHandling,
    Closing,
}

impl Phase {
    pub const ALL: [Phase; 5] =
        [Phase::Opening, Phase::Discovery, Phase::Presentation, Phase::ObjectionHandling, Phase::Closing];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Opening => "opening",
            Phase::Discovery => "discovery",
            Phase::Presentation => "presentation",
            Phase::ObjectionHandling => "objection_handling",
            Phase::Closing => "closing",
        }
    }

    /// Parses a phase name; an unknown one is a clear, field-named error.
    pub fn parse(s: &str) -> Result<Phase, FieldError> {
        Self::ALL.into_iter().find(|p| p.as_str() == s.trim()).ok_or_else(|| {
            FieldError::new("phase", ErrorCode::UnknownPhase)
                .with_detail(s.chars().take(40).collect::<String>())
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Rep,
    Prospect,
    /// One mixed channel (practice mode's microphone, a recording): counts as
    /// either speaker.
    #[default]
    Unknown,
}

impl Speaker {
    fn satisfies(self, wanted: Option<Speaker>) -> bool {
        match wanted {
            None => true,
            Some(w) => self == w || self == Speaker::Unknown,
        }
    }
}

/// What the other side signals, recognised by built-in bilingual rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// "Yes, I have a minute", "allez-y".
    Available,
    /// A problem, need or goal is voiced.
    NeedExpressed,
    /// "Sounds interesting, tell me more".
    Interest,
    /// Any objection ([`objection::detect`]).
    Objection,
    /// "Sounds good", "d'accord".
    Agreement,
    /// A meeting, demo or follow-up is being booked.
    MeetingAccepted,
}

impl Intent {
    pub const ALL: [Intent; 6] = [
        Intent::Available,
        Intent::NeedExpressed,
        Intent::Interest,
        Intent::Objection,
        Intent::Agreement,
        Intent::MeetingAccepted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Available => "available",
            Intent::NeedExpressed => "need_expressed",
            Intent::Interest => "interest",
            Intent::Objection => "objection",
            Intent::Agreement => "agreement",
            Intent::MeetingAccepted => "meeting_accepted",
        }
    }

    pub fn parse(s: &str) -> Option<Intent> {
        Self::ALL.into_iter().find(|i| i.as_str() == s.trim())
    }

    fn patterns(self) -> &'static [&'static str] {
        match self {
            Intent::Available => &[
                "have|got a minute|moment|second|few",
                "go ahead",
                "i m listening",
                "what is it about|this",
                "what can i do for you",
                "je vous ecoute",
                "allez y",
                "j ai * minute~|moment|instant",
                "c est a quel sujet|propos",
                "qu est ce que je peux faire pour vous",
            ],
            Intent::NeedExpressed => &[
                "problem|problems|issue|issues|challenge|challenges|struggle~|pain|headache~|frustrat~",
                "difficult~ to|with",
                "we need",
                "we want to",
                "looking for",
                "take~ too long",
                "take~ too much time",
                "probleme~|souci~|difficulte~|galere~",
                "on|nous cherch~",
                "besoin de|d",
                "prend~ trop de temps",
            ],
            Intent::Interest => &[
                "sounds|looks interesting",
                "tell me more",
                "how does it|that work",
                "how much does it cost",
                "interessant",
                "dites m en plus",
                "comment ca marche|fonctionne",
                "en savoir plus",
                "combien ca coute",
            ],
            Intent::Objection => &[],
            Intent::Agreement => &[
                "sounds good|great|fair",
                "that works",
                "let s do it|that",
                "makes sense",
                "i agree",
                "d accord",
                "ca marche",
                "ca me va",
                "ca me convient",
                "allons y",
                "tres bien",
                "bonne idee",
            ],
            Intent::MeetingAccepted => &[
                "book|schedule|arrange * meeting|call|demo|appointment",
                "set up * meeting|call|demo|appointment",
                "what time|day works",
                "does * monday|tuesday|wednesday|thursday|friday|tomorrow work",
                "send * invite|invitation",
                "rendez vous",
                "une demo",
                "quel jour|creneau|horaire",
                "quelle heure",
                "lundi|mardi|mercredi|jeudi|vendredi|demain * ca me va",
                "lundi|mardi|mercredi|jeudi|vendredi|demain * parfait",
            ],
        }
    }

    /// True when `words` (normalised) express this intent.
    pub fn matches(self, words: &[String]) -> bool {
        if self == Intent::Objection {
            return !objection::detect_words(words).is_empty();
        }
        intent_patterns(self).iter().any(|p| p.find(words).is_some())
    }
}

fn intent_patterns(intent: Intent) -> &'static [Pattern] {
    static COMPILED: OnceLock<BTreeMap<Intent, Vec<Pattern>>> = OnceLock::new();
    COMPILED
        .get_or_init(|| {
            Intent::ALL
                .into_iter()
                .map(|i| {
                    let compiled = i
                        .patterns()
                        .iter()
                        // Covered by a unit test over every built-in pattern.
                        .map(|p| {
                            Pattern::parse(p).unwrap_or_else(|e| panic!("built-in intent rule {p:?}: {e:?}"))
                        })
                        .collect();
                    (i, compiled)
                })
                .collect()
        })
        .get(&intent)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// What a trigger listens for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    Phrase { pattern: String },
    Intent { intent: Intent },
}

/// What moves a call out of a phase: a condition, optionally limited to one
/// speaker, leading to the next phase or to a named one (`goto`), e.g.
/// Presentation → Closing when the prospect agrees, skipping objections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trigger {
    #[serde(flatten)]
    pub condition: Condition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<Speaker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goto: Option<Phase>,
}

impl Trigger {
    pub fn phrase(pattern: &str) -> Trigger {
        Trigger { condition: Condition::Phrase { pattern: pattern.into() }, speaker: None, goto: None }
    }

    pub fn intent(intent: Intent) -> Trigger {
        Trigger { condition: Condition::Intent { intent }, speaker: None, goto: None }
    }

    pub fn from(mut self, speaker: Speaker) -> Trigger {
        self.speaker = Some(speaker);
        self
    }

    pub fn to(mut self, phase: Phase) -> Trigger {
        self.goto = Some(phase);
        self
    }

    /// The editor's one-line form: `[rep:|prospect:]<phrase>` or
    /// `[rep:|prospect:]intent:<name>`, optionally followed by `-> <phase>`.
    pub fn parse_line(line: &str) -> Result<Trigger, FieldError> {
        let (body, goto) = match line.split_once("->") {
            Some((b, g)) => (b, Some(Phase::parse(g.trim())?)),
            None => (line, None),
        };
        let body = body.trim();
        let (speaker, body) = if let Some(rest) = body.strip_prefix("rep:") {
            (Some(Speaker::Rep), rest.trim())
        } else if let Some(rest) = body.strip_prefix("prospect:") {
            (Some(Speaker::Prospect), rest.trim())
        } else {
            (None, body)
        };
        let condition = match body.strip_prefix("intent:") {
            Some(name) => Condition::Intent {
                intent: Intent::parse(name).ok_or_else(|| {
                    FieldError::new("trigger", ErrorCode::InvalidValue).with_detail(name.trim().to_string())
                })?,
            },
            None => {
                Pattern::parse(body)?;
                Condition::Phrase { pattern: body.to_string() }
            }
        };
        Ok(Trigger { condition, speaker, goto })
    }

    /// The inverse of [`Trigger::parse_line`].
    pub fn to_line(&self) -> String {
        let mut out = match self.speaker {
            Some(Speaker::Rep) => "rep: ".to_string(),
            Some(Speaker::Prospect) => "prospect: ".to_string(),
            _ => String::new(),
        };
        match &self.condition {
            Condition::Phrase { pattern } => out.push_str(pattern),
            Condition::Intent { intent } => {
                out.push_str("intent:");
                out.push_str(intent.as_str());
            }
        }
        if let Some(g) = self.goto {
            out.push_str(" -> ");
            out.push_str(g.as_str());
        }
        out
    }

    pub fn describe(&self) -> String {
        match &self.condition {
            Condition::Phrase { pattern } => format!("\"{pattern}\""),
            Condition::Intent { intent } => format!("intent:{}", intent.as_str()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhaseScript {
    pub phase: Phase,
    /// A template; variables are filled per prospect.
    pub text: String,
    #[serde(default)]
    pub tips: Vec<String>,
    /// Any of these moves the call to the next phase.
    #[serde(default)]
    pub triggers: Vec<Trigger>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectionHandler {
    pub objection: ObjectionKind,
    pub response: String,
    #[serde(default)]
    pub examples: Vec<String>,
}

/// The editable body of a script (stored as JSON, versioned as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptContent {
    pub phases: Vec<PhaseScript>,
    #[serde(default)]
    pub handlers: Vec<ObjectionHandler>,
}

pub const PHASE_TEXT_MAX_CHARS: usize = 4_000;
pub const TIP_MAX_CHARS: usize = 300;
pub const TIPS_MAX: usize = 12;
pub const TRIGGERS_MAX: usize = 24;
pub const HANDLER_MAX_CHARS: usize = 2_000;
pub const EXAMPLES_MAX: usize = 12;

impl ScriptContent {
    /// Checks everything a save must hold, reporting every problem at once.
    /// Phases appear at most once each, in the canonical order; texts are valid
    /// templates; triggers compile and are not match-everything; at most one
    /// handler per objection kind.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.phases.is_empty() {
            errors.push(FieldError::new("phases", ErrorCode::RequiredValue));
        }
        let mut last: Option<Phase> = None;
        for (i, p) in self.phases.iter().enumerate() {
            let at = |f: &str| format!("phases[{i}].{f}");
            if last.is_some_and(|l| p.phase <= l) {
                errors.push(
                    FieldError::new(at("phase"), ErrorCode::InvalidValue).with_detail(p.phase.as_str()),
                );
            }
            last = Some(p.phase);
            if p.text.trim().is_empty() {
                errors.push(FieldError::new(at("text"), ErrorCode::RequiredValue));
            } else if p.text.chars().count() > PHASE_TEXT_MAX_CHARS {
                errors.push(
                    FieldError::new(at("text"), ErrorCode::TextTooLong)
                        .with_detail(PHASE_TEXT_MAX_CHARS.to_string()),
                );
            } else if let Err(e) = crate::template::validate(&at("text"), &p.text) {
                errors.push(e);
            }
            if p.tips.len() > TIPS_MAX {
                errors.push(
                    FieldError::new(at("tips"), ErrorCode::OutOfRange).with_detail(TIPS_MAX.to_string()),
                );
            }
            for (j, tip) in p.tips.iter().enumerate() {
                if tip.trim().is_empty() || tip.chars().count() > TIP_MAX_CHARS {
                    errors.push(FieldError::new(format!("phases[{i}].tips[{j}]"), ErrorCode::TextTooLong));
                }
            }
            if p.triggers.len() > TRIGGERS_MAX {
                errors.push(
                    FieldError::new(at("triggers"), ErrorCode::OutOfRange)
                        .with_detail(TRIGGERS_MAX.to_string()),
                );
            }
            for (j, t) in p.triggers.iter().enumerate() {
                if let Condition::Phrase { pattern } = &t.condition {
                    if let Err(mut e) = Pattern::parse(pattern) {
                        e.field = format!("phases[{i}].triggers[{j}]");
                        errors.push(e);
                    }
                }
                if let Some(goto) = t.goto {
                    if goto == p.phase || !self.phases.iter().any(|q| q.phase == goto) {
                        errors.push(
                            FieldError::new(
                                format!("phases[{i}].triggers[{j}].goto"),
                                ErrorCode::UnknownPhase,
                            )
                            .with_detail(goto.as_str()),
                        );
                    }
                }
            }
        }
        let mut seen = Vec::new();
        for (i, h) in self.handlers.iter().enumerate() {
            if seen.contains(&h.objection) {
                errors.push(
                    FieldError::new(format!("handlers[{i}].objection"), ErrorCode::InvalidValue)
                        .with_detail(h.objection.as_str()),
                );
            }
            seen.push(h.objection);
            if h.response.trim().is_empty() {
                errors.push(FieldError::new(format!("handlers[{i}].response"), ErrorCode::RequiredValue));
            } else if h.response.chars().count() > HANDLER_MAX_CHARS {
                errors.push(FieldError::new(format!("handlers[{i}].response"), ErrorCode::TextTooLong));
            }
            if h.examples.len() > EXAMPLES_MAX || h.examples.iter().any(|e| e.chars().count() > TIP_MAX_CHARS)
            {
                errors.push(FieldError::new(format!("handlers[{i}].examples"), ErrorCode::OutOfRange));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    pub fn handler(&self, kind: ObjectionKind) -> Option<&ObjectionHandler> {
        self.handlers.iter().find(|h| h.objection == kind)
    }
}

/// One piece of transcript as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Utterance {
    pub speaker: Speaker,
    pub text: String,
    /// Partial (interim) STT results may still change; only final ones move
    /// the script, but both may raise objections so cards appear early.
    pub is_final: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Advance {
    pub from: Phase,
    pub to: Phase,
    /// Why: the trigger that fired, or `manual`.
    pub reason: String,
}

/// Where an utterance's objections come from.
enum Heard {
    /// The phrase rules, plus what another detector found.
    RulesAnd(Vec<objection::Detection>),
    /// Decided elsewhere; the rules are not consulted.
    Judged(Vec<objection::Detection>),
}

/// What one utterance changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Observation {
    pub advance: Option<Advance>,
    /// Objections raised for the first time in a while (see [`PhaseEngine`]).
    pub objections: Vec<Detection>,
}

struct CompiledTrigger {
    trigger: Trigger,
    pattern: Option<Pattern>,
}

/// Follows a call through a script.
///
/// - Only final utterances fire triggers, and only the current phase's.
/// - An objection kind is raised once and not again until
///   [`PhaseEngine::REPEAT_AFTER`] further final utterances have passed, so
///   partials and repeats do not pile up cards.
/// - Objections from the rep's own speech are ignored (they are often the rep
///   rephrasing one); [`Speaker::Unknown`] counts.
pub struct PhaseEngine {
    phases: Vec<Phase>,
    triggers: Vec<Vec<CompiledTrigger>>,
    current: usize,
    finals: u64,
    raised: BTreeMap<ObjectionKind, u64>,
}

impl PhaseEngine {
    pub const REPEAT_AFTER: u64 = 3;

    /// Builds an engine over a validated script; invalid trigger patterns are
    /// skipped rather than trusted (validation already refused them at save).
    pub fn new(script: &ScriptContent) -> PhaseEngine {
        let phases = script.phases.iter().map(|p| p.phase).collect();
        let triggers = script
            .phases
            .iter()
            .map(|p| {
                p.triggers
                    .iter()
                    .filter_map(|t| match &t.condition {
                        Condition::Phrase { pattern } => Pattern::parse(pattern)
                            .ok()
                            .map(|compiled| CompiledTrigger { trigger: t.clone(), pattern: Some(compiled) }),
                        Condition::Intent { .. } => {
                            Some(CompiledTrigger { trigger: t.clone(), pattern: None })
                        }
                    })
                    .collect()
            })
            .collect();
        PhaseEngine { phases, triggers, current: 0, finals: 0, raised: BTreeMap::new() }
    }

    pub fn phase(&self) -> Option<Phase> {
        self.phases.get(self.current).copied()
    }

    pub fn index(&self) -> usize {
        self.current
    }

    /// Progress through the script, 0–100.
    pub fn progress_percent(&self) -> u8 {
        match self.phases.len() {
            0 | 1 => 100 * u8::from(!self.phases.is_empty()),
            n => (self.current * 100 / (n - 1)) as u8,
        }
    }

    /// Moves to `phase` (manual navigation or resuming a session); unknown
    /// phases for this script leave it where it is and return `None`.
    pub fn go_to(&mut self, phase: Phase) -> Option<Advance> {
        let to = self.phases.iter().position(|p| *p == phase)?;
        let from = self.phase()?;
        if to == self.current {
            return None;
        }
        self.current = to;
        Some(Advance { from, to: phase, reason: "manual".into() })
    }

    pub fn next_phase(&mut self) -> Option<Advance> {
        let to = *self.phases.get(self.current + 1)?;
        self.go_to(to)
    }

    pub fn previous_phase(&mut self) -> Option<Advance> {
        let to = *self.phases.get(self.current.checked_sub(1)?)?;
        self.go_to(to)
    }

    pub fn observe(&mut self, u: &Utterance) -> Observation {
        self.observe_with(u, Vec::new())
    }

    /// As [`Self::observe`], with objections another detector found in the
    /// same utterance (the server's semantic matcher). They count like the
    /// rules' own, after them: a kind both found is reported once, as the
    /// rule saw it.
    pub fn observe_with(&mut self, u: &Utterance, also: Vec<objection::Detection>) -> Observation {
        self.observe_heard(u, Heard::RulesAnd(also))
    }

    /// As [`Self::observe`], with the objections decided by a better judge
    /// than the phrase rules — the server's classifier, which weighs
    /// negation, questions and hypotheticals — so the rules are not
    /// consulted. An empty list means "no objection", a partial line
    /// included (the judge speaks on final lines).
    pub fn observe_judged(&mut self, u: &Utterance, judged: Vec<objection::Detection>) -> Observation {
        self.observe_heard(u, Heard::Judged(judged))
    }

    fn observe_heard(&mut self, u: &Utterance, heard_from: Heard) -> Observation {
        let mut words = normalize(&u.text);
        words.truncate(objection::MAX_WORDS);
        let mut out = Observation::default();
        let mut heard = Vec::new();
        if u.speaker != Speaker::Rep {
            heard = match heard_from {
                Heard::RulesAnd(mut also) => {
                    let mut heard = objection::detect_words(&words);
                    also.retain(|a| !heard.iter().any(|d| d.kind == a.kind));
                    heard.extend(also);
                    heard
                }
                Heard::Judged(judged) => judged,
            };
            let seq = self.finals;
            for d in heard.iter().cloned() {
                let fresh = match self.raised.get(&d.kind) {
                    None => true,
                    Some(at) => seq.saturating_sub(*at) >= Self::REPEAT_AFTER,
                };
                if fresh {
                    self.raised.insert(d.kind, seq);
                    out.objections.push(d);
                }
            }
        }
        if u.is_final && !words.is_empty() {
            self.finals += 1;
            let objection_heard = !heard.is_empty();
            let fired = self.triggers.get(self.current).and_then(|triggers| {
                triggers.iter().find(|t| {
                    u.speaker.satisfies(t.trigger.speaker)
                        && match &t.trigger.condition {
                            Condition::Phrase { .. } => {
                                t.pattern.as_ref().is_some_and(|p| p.find(&words).is_some())
                            }
                            // Same speaker rule as the cards above.
                            Condition::Intent { intent: Intent::Objection } => objection_heard,
                            Condition::Intent { intent } => intent.matches(&words),
                        }
                })
            });
            if let (Some(t), Some(from)) = (fired, self.phase()) {
                let target = match t.trigger.goto {
                    Some(goto) => self.phases.iter().position(|p| *p == goto),
                    None => (self.current + 1 < self.phases.len()).then_some(self.current + 1),
                };
                if let Some(to) = target.filter(|to| *to != self.current) {
                    let reason = t.trigger.describe();
                    self.current = to;
                    out.advance = Some(Advance { from, to: self.phases[to], reason });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(p: &str) -> Trigger {
        Trigger::phrase(p)
    }

    fn intent(i: Intent) -> Trigger {
        Trigger::intent(i).from(Speaker::Prospect)
    }

    fn script() -> ScriptContent {
        let phase = |phase, triggers| PhaseScript {
            phase,
            text: "Hi {{prospect.first_name}}".into(),
            tips: vec![],
            triggers,
        };
        ScriptContent {
            phases: vec![
                phase(Phase::Opening, vec![intent(Intent::Available), phrase("how do you * today")]),
                phase(Phase::Discovery, vec![intent(Intent::NeedExpressed)]),
                phase(
                    Phase::Presentation,
                    vec![intent(Intent::Objection), intent(Intent::MeetingAccepted).to(Phase::Closing)],
                ),
                phase(Phase::ObjectionHandling, vec![intent(Intent::Agreement)]),
                phase(Phase::Closing, vec![]),
            ],
            handlers: vec![],
        }
    }

    fn say(engine: &mut PhaseEngine, speaker: Speaker, text: &str) -> Observation {
        engine.observe(&Utterance { speaker, text: text.into(), is_final: true })
    }

    #[test]
    fn another_detectors_objections_count_like_the_rules() {
        let semantic = |kind| objection::Detection {
            kind,
            language: crate::Locale::En,
            rule: "that is way more than we planned to spend".into(),
            matched: "a lot more than we budgeted".into(),
            similarity: Some(71),
            confirmed_by: None,
        };
        let mut e = PhaseEngine::new(&script());
        say(&mut e, Speaker::Prospect, "yes I have a minute");
        say(&mut e, Speaker::Prospect, "Our main problem is downtime");
        assert_eq!(e.phase(), Some(Phase::Presentation));
        let said = |t: &str| Utterance { speaker: Speaker::Prospect, text: t.into(), is_final: true };
        // It raises a card and fires an objection-intent trigger…
        let o =
            e.observe_with(&said("a lot more than we budgeted"), vec![semantic(ObjectionKind::TooExpensive)]);
        assert_eq!(o.objections.len(), 1);
        assert_eq!(o.objections[0].similarity, Some(71));
        assert_eq!(o.advance.unwrap().to, Phase::ObjectionHandling);
        // …is deduplicated like a rule's own card…
        let again =
            e.observe_with(&said("still more than budgeted"), vec![semantic(ObjectionKind::TooExpensive)]);
        assert!(again.objections.is_empty());
        // …yields to a rule that saw the same kind, and never comes from the rep.
        let o = e.observe_with(
            &said("I'd have to check with my boss"),
            vec![semantic(ObjectionKind::NotDecisionMaker)],
        );
        assert_eq!((o.objections.len(), o.objections[0].similarity), (1, None));
        let rep = Utterance { speaker: Speaker::Rep, text: "we could do that".into(), is_final: true };
        assert!(e.observe_with(&rep, vec![semantic(ObjectionKind::CallLater)]).objections.is_empty());
    }

    #[test]
    fn a_judged_utterance_ignores_the_rules() {
        let mut e = PhaseEngine::new(&script());
        let said = |t: &str| Utterance { speaker: Speaker::Prospect, text: t.into(), is_final: true };
        // The rules would read "too expensive"; the judge heard a hypothetical.
        assert!(e
            .observe_judged(&said("if it were too expensive I'd tell you"), vec![])
            .objections
            .is_empty());
        let partial = Utterance { is_final: false, ..said("way too expensive") };
        assert!(e.observe_judged(&partial, vec![]).objections.is_empty(), "partials wait for the final");
        let judged = objection::Detection {
            kind: ObjectionKind::TooExpensive,
            language: crate::Locale::En,
            rule: "that's above our budget".into(),
            matched: "that's over our budget".into(),
            similarity: Some(93),
            confirmed_by: None,
        };
        let o = e.observe_judged(&said("that's over our budget"), vec![judged]);
        assert_eq!(o.objections[0].kind, ObjectionKind::TooExpensive);
    }

    #[test]
    fn built_in_intent_rules_compile() {
        for i in Intent::ALL {
            let _ = intent_patterns(i);
        }
        assert!(Intent::Available.matches(&normalize("Oui, allez-y, je vous écoute")));
        assert!(Intent::NeedExpressed.matches(&normalize("Our biggest problem is downtime")));
        assert!(Intent::Agreement.matches(&normalize("D'accord, ça me va")));
        assert!(Intent::MeetingAccepted.matches(&normalize("Let's book a demo for Tuesday")));
        assert!(!Intent::Agreement.matches(&normalize("I don't agree at all")));
    }

    #[test]
    fn a_call_walks_the_phases_on_triggers() {
        let mut e = PhaseEngine::new(&script());
        assert_eq!(e.phase(), Some(Phase::Opening));
        assert_eq!(e.progress_percent(), 0);
        // A partial never advances.
        let o = e.observe(&Utterance {
            speaker: Speaker::Prospect,
            text: "yes I have a minute".into(),
            is_final: false,
        });
        assert!(o.advance.is_none());
        // The rep's line does not satisfy a prospect-only intent…
        assert!(say(&mut e, Speaker::Rep, "Do you have a minute?").advance.is_none());
        // …but a phrase trigger for anyone fires on the rep's discovery question.
        let a = say(&mut e, Speaker::Rep, "How do you manage your fleet today?").advance.unwrap();
        assert_eq!((a.from, a.to), (Phase::Opening, Phase::Discovery));
        assert_eq!(a.reason, "\"how do you * today\"");
        // Only the current phase's triggers count: agreement does nothing in discovery.
        assert!(say(&mut e, Speaker::Prospect, "Sounds good").advance.is_none());
        let a = say(&mut e, Speaker::Prospect, "Our main problem is downtime").advance.unwrap();
        assert_eq!(a.to, Phase::Presentation);
        let o = say(&mut e, Speaker::Prospect, "Hmm, that's too expensive for us");
        assert_eq!(o.advance.unwrap().to, Phase::ObjectionHandling);
        assert_eq!(o.objections[0].kind, ObjectionKind::TooExpensive);
        assert_eq!(
            say(&mut e, Speaker::Prospect, "OK, that makes sense").advance.unwrap().to,
            Phase::Closing
        );
        assert_eq!(e.progress_percent(), 100);
        // The last phase has nowhere to go.
        assert!(say(&mut e, Speaker::Prospect, "Sounds good").advance.is_none());
    }

    #[test]
    fn a_trigger_may_jump_to_a_named_phase() {
        let mut e = PhaseEngine::new(&script());
        e.go_to(Phase::Presentation);
        let a = say(&mut e, Speaker::Prospect, "Great, let's book a demo").advance.unwrap();
        assert_eq!((a.from, a.to), (Phase::Presentation, Phase::Closing));
        assert_eq!(a.reason, "intent:meeting_accepted");
    }

    #[test]
    fn triggers_round_trip_as_json() {
        let t = Trigger::phrase("how many vehicles").from(Speaker::Rep).to(Phase::Closing);
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "phrase", "pattern": "how many vehicles", "speaker": "rep", "goto": "closing"})
        );
        assert_eq!(serde_json::from_value::<Trigger>(json).unwrap(), t);
        let plain: Trigger = serde_json::from_str(r#"{"type":"intent","intent":"agreement"}"#).unwrap();
        assert_eq!(plain, Trigger::intent(Intent::Agreement));
        assert!(serde_json::from_str::<Trigger>(r#"{"type":"intent","intent":"telepathy"}"#).is_err());
    }

    #[test]
    fn triggers_have_a_one_line_form_for_the_editor() {
        for line in [
            "prospect: intent:meeting_accepted -> closing",
            "rep: how do you * today",
            "go ahead",
            "intent:agreement",
        ] {
            let t = Trigger::parse_line(line).unwrap();
            assert_eq!(t.to_line(), line);
        }
        assert_eq!(Trigger::parse_line("intent:telepathy").unwrap_err().code, ErrorCode::InvalidValue);
        assert_eq!(Trigger::parse_line("go ahead -> haggling").unwrap_err().code, ErrorCode::UnknownPhase);
        assert_eq!(Trigger::parse_line("rep: the").unwrap_err().code, ErrorCode::TriggerTooBroad);
    }

    #[test]
    fn manual_navigation_stays_inside_the_script() {
        let mut e = PhaseEngine::new(&script());
        assert!(e.previous_phase().is_none());
        assert_eq!(e.next_phase().unwrap().to, Phase::Discovery);
        assert_eq!(e.go_to(Phase::Closing).unwrap().reason, "manual");
        assert!(e.next_phase().is_none());
        assert_eq!(e.previous_phase().unwrap().to, Phase::ObjectionHandling);
        let short = ScriptContent { phases: vec![script().phases[0].clone()], handlers: vec![] };
        let mut e = PhaseEngine::new(&short);
        assert!(e.go_to(Phase::Closing).is_none());
        assert_eq!(e.progress_percent(), 100);
        assert_eq!(PhaseEngine::new(&ScriptContent::default()).progress_percent(), 0);
    }

    #[test]
    fn objections_are_raised_once_then_again_after_a_while() {
        let mut e = PhaseEngine::new(&script());
        let partial = |t: &str| Utterance { speaker: Speaker::Unknown, text: t.into(), is_final: false };
        assert_eq!(e.observe(&partial("too expensive")).objections.len(), 1);
        // The final of the same utterance, and a repeat right after: no new card.
        assert!(say(&mut e, Speaker::Unknown, "too expensive really").objections.is_empty());
        assert!(say(&mut e, Speaker::Prospect, "way too expensive").objections.is_empty());
        // The rep's own words never raise one.
        assert!(say(&mut e, Speaker::Rep, "I hear you, send me an email is fine").objections.is_empty());
        say(&mut e, Speaker::Prospect, "right");
        assert_eq!(say(&mut e, Speaker::Prospect, "still too expensive").objections.len(), 1);
    }

    #[test]
    fn empty_and_huge_transcripts_are_harmless() {
        let mut e = PhaseEngine::new(&script());
        assert_eq!(say(&mut e, Speaker::Prospect, ""), Observation::default());
        assert_eq!(say(&mut e, Speaker::Prospect, " ... "), Observation::default());
        let huge = "word ".repeat(200_000);
        assert_eq!(say(&mut e, Speaker::Prospect, &huge), Observation::default());
    }

    #[test]
    fn validation_reports_every_problem() {
        let mut s = script();
        s.phases[1].phase = Phase::Opening; // out of order / duplicate
        s.phases[2].text = "Hello {{prospect.shoe_size}}".into();
        s.phases[3].triggers.push(phrase("*"));
        s.phases[0].triggers.push(phrase("the"));
        s.phases[4].text = " ".into();
        s.phases[4].triggers.push(phrase("budget approved").to(Phase::Closing));
        s.handlers = vec![
            ObjectionHandler {
                objection: ObjectionKind::CallLater,
                response: "When?".into(),
                examples: vec![],
            },
            ObjectionHandler { objection: ObjectionKind::CallLater, response: "".into(), examples: vec![] },
        ];
        let errors = s.validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            [
                ("phases[0].triggers[2]", ErrorCode::TriggerTooBroad),
                ("phases[1].phase", ErrorCode::InvalidValue),
                ("phases[2].text", ErrorCode::TemplateUnknownVariable),
                ("phases[3].triggers[1]", ErrorCode::TriggerTooBroad),
                ("phases[4].text", ErrorCode::RequiredValue),
                ("phases[4].triggers[0].goto", ErrorCode::UnknownPhase),
                ("handlers[1].objection", ErrorCode::InvalidValue),
                ("handlers[1].response", ErrorCode::RequiredValue),
            ]
        );
        assert!(script().validate().is_ok());
        assert_eq!(ScriptContent::default().validate().unwrap_err()[0].code, ErrorCode::RequiredValue);
        assert_eq!(Phase::parse("negotiation").unwrap_err().code, ErrorCode::UnknownPhase);
        assert_eq!(Phase::parse("objection_handling").unwrap(), Phase::ObjectionHandling);
    }

    #[test]
    fn unknown_phase_names_in_stored_json_are_rejected() {
        let err = serde_json::from_str::<PhaseScript>(r#"{"phase":"haggling","text":"x"}"#);
        assert!(err.is_err());
    }
}

/// Property tests of the trigger's one-line form: any line parses or is
/// refused, and what parses prints back to a line that parses the same.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    fn line() -> impl Strategy<Value = String> {
        let speaker =
            prop::sample::select(vec!["", "rep:", "prospect:", "rep: ", " prospect:  ", "REP:", "rep:rep:"]);
        let body = prop_oneof![
            prop::sample::select(vec![
                "intent:agreement",
                "intent: objection ",
                "intent:",
                "intent:telepathy",
                "intent:intent:",
                "too expensive",
                "price|cost * high",
                "expens~",
                "the",
                "*",
                "go ahead",
                "c'est trop cher",
                "don't|never",
                "a->b",
                "-",
                ">",
                "x-",
                "rep: budget",
                "",
            ])
            .prop_map(str::to_string),
            "\\PC{0,64}",
        ];
        let goto = prop::sample::select(vec![
            "",
            "",
            "-> closing",
            " ->discovery",
            "->  objection_handling ",
            "-> haggling",
            "->",
            "-> closing -> opening",
        ]);
        prop_oneof![
            3 => (speaker, body, goto).prop_map(|(s, b, g)| format!("{s}{b} {g}")),
            1 => "\\PC{0,128}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, max_shrink_iters: 64, ..ProptestConfig::default() })]

        #[test]
        fn parsed_lines_print_back_to_the_same_trigger(l in line()) {
            let Ok(t) = Trigger::parse_line(&l) else { return Ok(()) };
            let printed = t.to_line();
            prop_assert_eq!(Trigger::parse_line(&printed), Ok(t.clone()));
            prop_assert_eq!(Trigger::parse_line(&printed).map(|t| t.to_line()), Ok(printed));
            if let Condition::Phrase { pattern } = &t.condition {
                prop_assert!(Pattern::parse(pattern).is_ok());
                prop_assert!(!pattern.contains("->"));
            }
            // And the JSON form stored in scripts round-trips too.
            let json = serde_json::to_string(&t).unwrap();
            prop_assert_eq!(serde_json::from_str::<Trigger>(&json).unwrap(), t);
        }

        #[test]
        fn an_engine_over_any_triggers_follows_any_utterances(
            lines in prop::collection::vec(line(), 0..6),
            said in prop::collection::vec(("\\PC{0,80}", any::<bool>(), 0u8..3), 0..12),
        ) {
            let triggers: Vec<Trigger> = lines.iter().filter_map(|l| Trigger::parse_line(l).ok()).collect();
            let phases = Phase::ALL
                .into_iter()
                .map(|phase| PhaseScript { phase, text: String::new(), tips: vec![], triggers: triggers.clone() })
                .collect();
            let mut engine = PhaseEngine::new(&ScriptContent { phases, handlers: vec![] });
            for (text, is_final, who) in said {
                let speaker = [Speaker::Rep, Speaker::Prospect, Speaker::Unknown][who as usize];
                let before = engine.phase();
                let seen = engine.observe(&Utterance { speaker, text, is_final });
                if let Some(a) = seen.advance {
                    prop_assert!(is_final);
                    prop_assert_eq!(Some(a.from), before);
                    prop_assert_eq!(engine.phase(), Some(a.to));
                    prop_assert_ne!(a.from, a.to);
                }
                prop_assert!(engine.progress_percent() <= 100);
            }
        }
    }
}
