//! Post-call analysis: what one structured request to the organisation's
//! model says about a finished call — a summary, key points, sentiment, a
//! suggested outcome, the agent's data fields filled from what was said,
//! and a score per script phase, each backed by words quoted from the
//! transcript. The model's answer is checked here, strictly: a quote that
//! is not in the transcript, a score out of range, a phase named twice or
//! a value the data schema refuses makes the answer malformed (the job
//! asks again), never a half-right analysis.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::copilot::outcome::CallOutcome;
use crate::copilot::script::{Phase, ScriptContent};
use crate::data_schema::{CollectedData, DataSchema};

/// The marker the prompt opens with (local model mocks key on it).
pub const SYSTEM_MARKER: &str = "You analyse a finished sales call";

/// Limits on what is kept.
pub const SUMMARY_CHARS: usize = 2_000;
pub const KEY_POINTS: usize = 8;
pub const POINT_CHARS: usize = 300;
pub const EVIDENCE_CHARS: usize = 400;
/// The transcript sent: its last part when longer (the close matters most).
pub const TRANSCRIPT_CHARS: usize = 24_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Sentiment {
    Positive,
    Neutral,
    Negative,
}

impl Sentiment {
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Positive => "positive",
            Sentiment::Neutral => "neutral",
            Sentiment::Negative => "negative",
        }
    }

    pub fn parse(s: &str) -> Option<Sentiment> {
        [Sentiment::Positive, Sentiment::Neutral, Sentiment::Negative].into_iter().find(|x| x.as_str() == s)
    }
}

/// How one phase of the script went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhaseScore {
    pub phase: Phase,
    /// 0–10; `None` when the call never reached the phase.
    pub score: Option<u8>,
    /// Words from the transcript that back the score (empty with no score).
    pub evidence: String,
}

/// One call's analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallAnalysis {
    pub summary: String,
    pub key_points: Vec<String>,
    pub sentiment: Sentiment,
    /// -1 (hostile) to 1 (delighted).
    pub sentiment_score: f32,
    pub suggested_outcome: Option<CallOutcome>,
    /// The agent's data fields, as the transcript fills them.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extracted: CollectedData,
    /// Every phase, in script order.
    pub phases: Vec<PhaseScore>,
}

/// Where an analysis stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AnalysisState {
    /// Waiting for its job (or being asked again after a malformed answer).
    Pending,
    Done,
    /// The model kept answering malformed, or kept failing.
    Failed,
    /// The organisation has no model configured: nothing to run.
    NoModel,
    /// Nothing was said (unanswered, or no transcript).
    NoTranscript,
}

impl AnalysisState {
    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisState::Pending => "pending",
            AnalysisState::Done => "done",
            AnalysisState::Failed => "failed",
            AnalysisState::NoModel => "no_model",
            AnalysisState::NoTranscript => "no_transcript",
        }
    }

    pub fn parse(s: &str) -> Option<AnalysisState> {
        use AnalysisState::*;
        [Pending, Done, Failed, NoModel, NoTranscript].into_iter().find(|x| x.as_str() == s)
    }
}

/// What the API shows of a call's analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalysisView {
    pub state: AnalysisState,
    pub analysis: Option<CallAnalysis>,
    /// The model that wrote it.
    pub model: Option<String>,
    pub attempts: i32,
    /// Why it failed (a short reason, never the model's raw text).
    pub error: Option<String>,
    pub edited_by: Option<Uuid>,
    pub edited_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A manager's correction: the whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalysisEdit {
    pub analysis: CallAnalysis,
}

/// One line of what was said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// "Agent", "Rep" or "Prospect".
    pub speaker: String,
    pub text: String,
}

/// The prompt: the system text and the user message. With the `script`
/// the caller was given, each phase is scored against what that script
/// asked of it; without one, against good sales practice.
pub fn prompt(
    lines: &[Line],
    schema: &DataSchema,
    language: &str,
    script: Option<&ScriptContent>,
) -> (String, String) {
    // Each field as the schema states it: name, type (enum options), description.
    let fields: Vec<Value> = schema.fields.iter().filter_map(|f| serde_json::to_value(f).ok()).collect();
    let system = format!(
        "{SYSTEM_MARKER} and score it for the sales team. Answer with one JSON object and nothing else:\n\
         {{\"summary\": text (3 sentences at most), \"key_points\": [text] (at most {KEY_POINTS}), \
         \"sentiment\": \"positive\"|\"neutral\"|\"negative\" (the prospect's), \"sentiment_score\": -1 to 1, \
         \"suggested_outcome\": one of {outcomes} or null, \
         \"extracted\": {{field: value}} for the fields below that the prospect stated (omit the others), \
         \"phases\": [{{\"phase\": one of {phases}, \"score\": 0-10 or null when the call never reached it, \
         \"evidence\": words copied exactly from the transcript that justify the score (empty when null)}}] \
         — each of the five phases once}}.\n\
         Write the summary and key points in {language}. Quote evidence verbatim; never invent it.{against}",
        against = if script.is_some() {
            "\nThe caller was given the script under \"script\" (placeholders in {{…}} stand for the prospect's \
             details). Score each phase by how well the caller did what the script's phase asks, in substance \
             rather than word for word; a phase the script leaves out is scored on good sales practice."
        } else {
            ""
        },
        outcomes = serde_json::to_string(&CallOutcome::ALL.map(CallOutcome::as_str)).unwrap_or_default(),
        phases = serde_json::to_string(&Phase::ALL.map(Phase::as_str)).unwrap_or_default(),
    );
    let mut transcript: String = lines.iter().map(|l| format!("{}: {}\n", l.speaker, l.text)).collect();
    if transcript.chars().count() > TRANSCRIPT_CHARS {
        let skip = transcript.chars().count() - TRANSCRIPT_CHARS;
        transcript = transcript.chars().skip(skip).collect();
    }
    let mut user = serde_json::json!({ "data_fields": fields, "transcript": transcript });
    if let Some(script) = script {
        user["script"] = crate::copilot::script_prompt::for_analysis(script);
    }
    let user = user.to_string();
    (system, user)
}

/// Why a model's answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("no JSON object in the answer")]
    NoJson,
    #[error("the answer does not have the expected shape: {0}")]
    Shape(String),
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    #[error("phase {0} is scored more than once")]
    PhaseTwice(&'static str),
    #[error("phase {0} is missing")]
    PhaseMissing(&'static str),
    #[error("the evidence for {0} is not in the transcript")]
    EvidenceNotQuoted(&'static str),
    #[error("a score without evidence ({0})")]
    NoEvidence(&'static str),
    #[error("the value of {0} does not fit the data schema")]
    BadField(String),
}

#[derive(Deserialize)]
struct Raw {
    summary: String,
    #[serde(default)]
    key_points: Vec<String>,
    sentiment: String,
    sentiment_score: f64,
    #[serde(default)]
    suggested_outcome: Option<String>,
    #[serde(default)]
    extracted: BTreeMap<String, Value>,
    phases: Vec<RawPhase>,
}

#[derive(Deserialize)]
struct RawPhase {
    phase: String,
    score: Option<f64>,
    #[serde(default)]
    evidence: String,
}

/// Lowercase words only: a quote survives the model's changes to case,
/// punctuation and spacing, not to the words.
fn words(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn clip(s: &str, max: usize) -> String {
    s.trim().chars().take(max).collect()
}

/// Reads and checks the model's answer against the transcript and schema.
pub fn parse(answer: &str, lines: &[Line], schema: &DataSchema) -> Result<CallAnalysis, Malformed> {
    let (start, end) =
        (answer.find('{').ok_or(Malformed::NoJson)?, answer.rfind('}').ok_or(Malformed::NoJson)?);
    if end <= start {
        return Err(Malformed::NoJson);
    }
    let raw: Raw = serde_json::from_str(&answer[start..=end]).map_err(|e| Malformed::Shape(e.to_string()))?;
    let summary = clip(&raw.summary, SUMMARY_CHARS);
    if summary.is_empty() {
        return Err(Malformed::Shape("an empty summary".into()));
    }
    let sentiment = Sentiment::parse(raw.sentiment.trim()).ok_or(Malformed::OutOfRange("sentiment"))?;
    if !(-1.0..=1.0).contains(&raw.sentiment_score) || raw.sentiment_score.is_nan() {
        return Err(Malformed::OutOfRange("sentiment_score"));
    }
    let suggested_outcome = match raw.suggested_outcome.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(o) => Some(CallOutcome::parse(o).ok_or(Malformed::OutOfRange("suggested_outcome"))?),
    };
    let said = words(&lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n"));
    let mut phases: BTreeMap<Phase, PhaseScore> = BTreeMap::new();
    for p in raw.phases {
        let phase = Phase::parse(&p.phase).map_err(|_| Malformed::OutOfRange("phase"))?;
        let name = phase.as_str();
        let score = match p.score {
            None => None,
            Some(s) if (0.0..=10.0).contains(&s) => Some(s.round() as u8),
            Some(_) => return Err(Malformed::OutOfRange("score")),
        };
        let evidence = clip(&p.evidence, EVIDENCE_CHARS);
        if score.is_some() {
            let quoted = words(&evidence);
            if quoted.is_empty() {
                return Err(Malformed::NoEvidence(name));
            }
            if !said.contains(&quoted) {
                return Err(Malformed::EvidenceNotQuoted(name));
            }
        }
        let entry =
            PhaseScore { phase, score, evidence: if score.is_some() { evidence } else { String::new() } };
        if phases.insert(phase, entry).is_some() {
            return Err(Malformed::PhaseTwice(name));
        }
    }
    if let Some(missing) = Phase::ALL.into_iter().find(|p| !phases.contains_key(p)) {
        return Err(Malformed::PhaseMissing(missing.as_str()));
    }
    let mut extracted = CollectedData::new();
    for (field, value) in raw.extracted {
        if value.is_null() {
            continue;
        }
        let v = schema.check_value(&field, &value).map_err(|_| Malformed::BadField(clip(&field, 60)))?;
        extracted.insert(field, v);
    }
    Ok(CallAnalysis {
        summary,
        key_points: raw
            .key_points
            .iter()
            .map(|p| clip(p, POINT_CHARS))
            .filter(|p| !p.is_empty())
            .take(KEY_POINTS)
            .collect(),
        sentiment,
        sentiment_score: raw.sentiment_score as f32,
        suggested_outcome,
        extracted,
        phases: Phase::ALL.into_iter().filter_map(|p| phases.remove(&p)).collect(),
    })
}

/// Checks a manager's edit: the same rules as a model's answer, except that
/// evidence may be their own words (they heard the recording).
pub fn check_edit(a: CallAnalysis, schema: &DataSchema) -> Result<CallAnalysis, crate::error::FieldError> {
    use crate::error::{ErrorCode, FieldError};
    let summary = clip(&a.summary, SUMMARY_CHARS);
    if summary.is_empty() {
        return Err(FieldError::new("analysis.summary", ErrorCode::RequiredValue));
    }
    if !(-1.0..=1.0).contains(&a.sentiment_score) {
        return Err(FieldError::new("analysis.sentiment_score", ErrorCode::OutOfRange).with_detail("-1–1"));
    }
    if a.key_points.len() > KEY_POINTS {
        return Err(
            FieldError::new("analysis.key_points", ErrorCode::OutOfRange).with_detail(KEY_POINTS.to_string())
        );
    }
    let mut seen = Vec::new();
    for (i, p) in a.phases.iter().enumerate() {
        if p.score.is_some_and(|s| s > 10) {
            return Err(FieldError::new(format!("analysis.phases.{i}.score"), ErrorCode::OutOfRange)
                .with_detail("0–10"));
        }
        if seen.contains(&p.phase) {
            return Err(FieldError::new(format!("analysis.phases.{i}.phase"), ErrorCode::InvalidValue));
        }
        seen.push(p.phase);
    }
    let mut extracted = CollectedData::new();
    for (field, value) in &a.extracted {
        if value.is_null() {
            continue;
        }
        let v = schema.check_value(field, value).map_err(|e| {
            FieldError::new(format!("analysis.extracted.{field}"), ErrorCode::InvalidValue)
                .with_detail(e.to_string())
        })?;
        extracted.insert(field.clone(), v);
    }
    let mut phases = a.phases;
    phases.sort_by_key(|p| p.phase);
    for p in &mut phases {
        p.evidence = clip(&p.evidence, EVIDENCE_CHARS);
    }
    Ok(CallAnalysis {
        summary,
        key_points: a.key_points.iter().map(|p| clip(p, POINT_CHARS)).filter(|p| !p.is_empty()).collect(),
        extracted,
        phases,
        ..a
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines() -> Vec<Line> {
        vec![
            Line {
                speaker: "Agent".into(),
                text: "Hi, this is Max from Handoo. Do you have a minute?".into(),
            },
            Line { speaker: "Prospect".into(), text: "Sure, we run twelve vans and renew in spring.".into() },
            Line { speaker: "Agent".into(), text: "Could we book a demo on Tuesday?".into() },
            Line { speaker: "Prospect".into(), text: "Yes, Tuesday at ten works.".into() },
        ]
    }

    fn schema() -> DataSchema {
        serde_json::from_value(json!({"fields": [{"name": "vans", "type": "number"}]})).unwrap()
    }

    fn answer() -> Value {
        json!({
            "summary": "The prospect runs 12 vans and booked a demo.",
            "key_points": ["12 vans", "renews in spring"],
            "sentiment": "positive", "sentiment_score": 0.7,
            "suggested_outcome": "meeting_booked",
            "extracted": {"vans": 12},
            "phases": [
                {"phase": "opening", "score": 8, "evidence": "this is Max from Handoo"},
                {"phase": "discovery", "score": 7, "evidence": "we run twelve vans, and renew in spring"},
                {"phase": "presentation", "score": null, "evidence": ""},
                {"phase": "objection_handling", "score": null},
                {"phase": "closing", "score": 9, "evidence": "COULD WE BOOK A DEMO on tuesday"},
            ]
        })
    }

    #[test]
    fn a_well_formed_answer_is_read_in_phase_order() {
        let text = format!("Here it is:\n{}", answer());
        let a = parse(&text, &lines(), &schema()).unwrap();
        assert_eq!(a.sentiment, Sentiment::Positive);
        assert_eq!(a.suggested_outcome, Some(CallOutcome::MeetingBooked));
        assert_eq!(a.extracted.get("vans"), Some(&json!(12)));
        assert_eq!(a.phases.iter().map(|p| p.phase).collect::<Vec<_>>(), Phase::ALL.to_vec());
        assert_eq!(a.phases[2].score, None);
        assert_eq!(a.phases[4].score, Some(9));
    }

    #[test]
    fn every_kind_of_malformed_answer_is_refused() {
        let bad = |edit: &dyn Fn(&mut Value)| {
            let mut v = answer();
            edit(&mut v);
            parse(&v.to_string(), &lines(), &schema()).unwrap_err()
        };
        assert_eq!(parse("I cannot help with that.", &lines(), &schema()).unwrap_err(), Malformed::NoJson);
        assert!(matches!(parse("{\"summary\": 3}", &lines(), &schema()).unwrap_err(), Malformed::Shape(_)));
        assert_eq!(bad(&|v| v["sentiment"] = json!("ecstatic")), Malformed::OutOfRange("sentiment"));
        assert_eq!(bad(&|v| v["sentiment_score"] = json!(3)), Malformed::OutOfRange("sentiment_score"));
        assert_eq!(
            bad(&|v| v["suggested_outcome"] = json!("sold")),
            Malformed::OutOfRange("suggested_outcome")
        );
        assert_eq!(bad(&|v| v["phases"][0]["score"] = json!(11)), Malformed::OutOfRange("score"));
        assert_eq!(
            bad(&|v| v["phases"][4]["evidence"] = json!("they signed the contract")),
            Malformed::EvidenceNotQuoted("closing")
        );
        assert_eq!(bad(&|v| v["phases"][0]["evidence"] = json!("")), Malformed::NoEvidence("opening"));
        assert_eq!(bad(&|v| v["phases"][1]["phase"] = json!("opening")), Malformed::PhaseTwice("opening"));
        assert_eq!(
            bad(&|v| {
                v["phases"].as_array_mut().unwrap().pop();
            }),
            Malformed::PhaseMissing("closing")
        );
        assert_eq!(bad(&|v| v["extracted"]["vans"] = json!("lots")), Malformed::BadField("vans".into()));
        assert_eq!(bad(&|v| v["extracted"]["colour"] = json!("red")), Malformed::BadField("colour".into()));
    }

    #[test]
    fn the_prompt_holds_the_transcript_and_the_fields_and_keeps_the_end_of_a_long_call() {
        let (system, user) = prompt(&lines(), &schema(), "English", None);
        assert!(system.starts_with(SYSTEM_MARKER));
        let u: Value = serde_json::from_str(&user).unwrap();
        assert!(u["transcript"].as_str().unwrap().contains("Prospect: Yes, Tuesday at ten works."));
        assert_eq!(
            (u["data_fields"][0]["name"].as_str(), u["data_fields"][0]["type"].as_str()),
            (Some("vans"), Some("number"))
        );
        let long: Vec<Line> = (0..2_000)
            .map(|i| Line { speaker: "Prospect".into(), text: format!("sentence number {i} of a long call") })
            .collect();
        let (_, user) = prompt(&long, &schema(), "English", None);
        let t = serde_json::from_str::<Value>(&user).unwrap()["transcript"].as_str().unwrap().to_string();
        assert!(t.chars().count() <= TRANSCRIPT_CHARS && t.contains("sentence number 1999"));
    }

    #[test]
    fn a_script_given_to_the_caller_is_what_the_phases_are_scored_against() {
        let script = ScriptContent {
            phases: vec![crate::copilot::script::PhaseScript {
                phase: Phase::Presentation,
                text: "Our routing cuts fuel costs by a fifth.".into(),
                tips: vec![],
                triggers: vec![],
            }],
            handlers: vec![],
        };
        let (system, user) = prompt(&lines(), &schema(), "English", Some(&script));
        assert!(system.contains("Score each phase by how well the caller did what the script's phase asks"));
        let u: Value = serde_json::from_str(&user).unwrap();
        assert_eq!(u["script"]["phases"][0]["phase"], "presentation");
        assert_eq!(u["script"]["phases"][0]["text"], "Our routing cuts fuel costs by a fifth.");
        let (system, user) = prompt(&lines(), &schema(), "English", None);
        assert!(!system.contains("under \"script\""), "{system}");
        assert!(serde_json::from_str::<Value>(&user).unwrap().get("script").is_none());
    }

    #[test]
    fn an_edit_is_checked_and_normalised() {
        let a = parse(&answer().to_string(), &lines(), &schema()).unwrap();
        let mut e = a.clone();
        e.summary = "  Booked a demo.  ".into();
        e.phases.reverse();
        let ok = check_edit(e, &schema()).unwrap();
        assert_eq!(ok.summary, "Booked a demo.");
        assert_eq!(ok.phases[0].phase, Phase::Opening);
        let mut e = a.clone();
        e.sentiment_score = 2.0;
        assert_eq!(check_edit(e, &schema()).unwrap_err().field, "analysis.sentiment_score");
        let mut e = a;
        e.extracted.insert("vans".into(), json!("many"));
        assert_eq!(check_edit(e, &schema()).unwrap_err().field, "analysis.extracted.vans");
    }
}
