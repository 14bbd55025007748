//! The built-in tools an agent can call: defined once here (name, purpose,
//! JSON schema of the arguments) and parsed here, so the chat playground and
//! the voice worker refuse exactly the same bad calls. The handlers (what a
//! call does) live in `services`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::copilot::outcome::CallOutcome;
use crate::data_schema::{DataSchema, ValueError};

/// What `endCall` may suggest the call came to (a callback needs a time,
/// and no answer or a voicemail the agent knows without saying).
pub const SUGGESTED_OUTCOMES: [CallOutcome; 3] =
    [CallOutcome::MeetingBooked, CallOutcome::Interested, CallOutcome::NotInterested];

pub const MAX_NOTE_CHARS: usize = 2000;
pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ToolName {
    #[serde(rename = "addNote")]
    AddNote,
    #[serde(rename = "updateData")]
    UpdateData,
    #[serde(rename = "endCall")]
    EndCall,
    #[serde(rename = "transferCall")]
    TransferCall,
}

impl ToolName {
    pub const ALL: [ToolName; 4] =
        [ToolName::AddNote, ToolName::UpdateData, ToolName::EndCall, ToolName::TransferCall];

    /// The name the LLM sees and calls.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolName::AddNote => "addNote",
            ToolName::UpdateData => "updateData",
            ToolName::EndCall => "endCall",
            ToolName::TransferCall => "transferCall",
        }
    }

    pub fn parse(s: &str) -> Option<ToolName> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A tool as offered to an LLM: the same shape OpenAI, Anthropic and Gemini
/// accept (each provider client wraps it in its own envelope).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

/// What a tool needs to know about the agent to describe and check calls.
#[derive(Debug, Clone, Copy)]
pub struct ToolContext<'a> {
    pub enabled: &'a [ToolName],
    pub schema: &'a DataSchema,
    /// The only number `transferCall` may dial (E.164); `None` disables transfers.
    pub transfer_number: Option<&'a str>,
}

impl ToolContext<'_> {
    /// The specs to offer the LLM: enabled tools that can work for this agent
    /// (`updateData` needs a schema, `transferCall` a configured number).
    pub fn specs(&self) -> Vec<ToolSpec> {
        ToolName::ALL.into_iter().filter(|t| self.enabled.contains(t)).filter_map(|t| self.spec(t)).collect()
    }

    fn spec(&self, tool: ToolName) -> Option<ToolSpec> {
        let (description, parameters) = match tool {
            ToolName::AddNote => (
                "Save a short note about the conversation for the sales team (facts learned, follow-ups).".to_string(),
                object(json!({"text": {"type": "string", "description": "The note", "maxLength": MAX_NOTE_CHARS}}), &["text"]),
            ),
            ToolName::UpdateData => {
                if self.schema.fields.is_empty() {
                    return None;
                }
                let fields: Vec<String> = self
                    .schema
                    .fields
                    .iter()
                    .map(|f| {
                        let req = if f.required { ", required" } else { "" };
                        let opts = match &f.kind {
                            crate::data_schema::FieldKind::Enum { options } => format!(" one of [{}]", options.join(", ")),
                            _ => String::new(),
                        };
                        format!("- {} ({}{req}{opts}): {}", f.name, f.kind.type_name(), f.description)
                    })
                    .collect();
                (
                    format!(
                        "Record a value the prospect gave for one of these fields:\n{}",
                        fields.join("\n")
                    ),
                    object(
                        json!({
                            "field": {"type": "string", "enum": self.schema.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>()},
                            "value": {"description": "The value, in the field's type (dates as YYYY-MM-DD)."}
                        }),
                        &["field", "value"],
                    ),
                )
            }
            ToolName::EndCall => (
                "End the conversation politely once it is over (goal reached, prospect asks to stop, or nothing left to do)."
                    .to_string(),
                object(
                    json!({
                        "reason": {"type": "string", "description": "Why the call ends", "maxLength": MAX_REASON_CHARS},
                        "outcome": {"type": "string", "enum": SUGGESTED_OUTCOMES.map(CallOutcome::as_str),
                                    "description": "What the call came to, when it is clear"}
                    }),
                    &["reason"],
                ),
            ),
            ToolName::TransferCall => {
                let number = self.transfer_number?;
                (
                    format!("Transfer the call to a human colleague at {number} when the prospect asks for a person."),
                    object(json!({"number": {"type": "string", "enum": [number]}}), &["number"]),
                )
            }
        };
        Some(ToolSpec { name: tool.as_str().to_string(), description, parameters })
    }

    /// Checks a call the LLM made. The error text is sent back to the LLM as
    /// the tool result, so it says how to call correctly.
    pub fn parse_call(&self, name: &str, arguments: &str) -> Result<ToolCall, ToolError> {
        let tool = ToolName::parse(name).ok_or_else(|| ToolError::UnknownTool(name.to_string()))?;
        if !self.enabled.contains(&tool) {
            return Err(ToolError::NotEnabled(tool));
        }
        let args: Value = if arguments.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str(arguments).map_err(|e| ToolError::InvalidJson(e.to_string()))?
        };
        let Value::Object(args) = args else {
            return Err(ToolError::InvalidJson("arguments must be a JSON object".into()));
        };
        match tool {
            ToolName::AddNote => {
                let text = required_text(&args, "text", MAX_NOTE_CHARS)?;
                Ok(ToolCall::AddNote { text })
            }
            ToolName::UpdateData => {
                let field = required_text(&args, "field", 64)?;
                let value = args.get("value").ok_or(ToolError::MissingArgument("value"))?;
                let value = self.schema.check_value(&field, value).map_err(ToolError::Data)?;
                Ok(ToolCall::UpdateData { field, value })
            }
            ToolName::EndCall => {
                let reason = required_text(&args, "reason", MAX_REASON_CHARS)?;
                // Optional, and never a reason not to hang up: a value
                // outside the list is no suggestion.
                let outcome = args
                    .get("outcome")
                    .and_then(Value::as_str)
                    .and_then(|o| CallOutcome::parse(o.trim()))
                    .filter(|o| SUGGESTED_OUTCOMES.contains(o));
                Ok(ToolCall::EndCall { reason, outcome })
            }
            ToolName::TransferCall => {
                let allowed = self.transfer_number.ok_or(ToolError::TransferNotConfigured)?;
                let number = required_text(&args, "number", 32)?;
                let normalised = crate::agent::normalize_e164(&number);
                if normalised.as_deref() != Some(allowed) {
                    return Err(ToolError::InvalidArgument {
                        arg: "number",
                        reason: format!("only {allowed} is allowed"),
                    });
                }
                Ok(ToolCall::TransferCall { number: allowed.to_string() })
            }
        }
    }
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

fn required_text(args: &Map<String, Value>, name: &'static str, max: usize) -> Result<String, ToolError> {
    let v = args.get(name).ok_or(ToolError::MissingArgument(name))?;
    let s = v.as_str().ok_or(ToolError::InvalidArgument { arg: name, reason: "must be a string".into() })?;
    let s = s.trim();
    if s.is_empty() {
        return Err(ToolError::InvalidArgument { arg: name, reason: "must not be empty".into() });
    }
    if s.chars().count() > max {
        return Err(ToolError::InvalidArgument { arg: name, reason: format!("at most {max} characters") });
    }
    Ok(s.to_string())
}

/// A validated tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "tool", rename_all = "snake_case")]
pub enum ToolCall {
    AddNote { text: String },
    UpdateData { field: String, value: Value },
    EndCall { reason: String, outcome: Option<CallOutcome> },
    TransferCall { number: String },
}

impl ToolCall {
    pub fn name(&self) -> ToolName {
        match self {
            ToolCall::AddNote { .. } => ToolName::AddNote,
            ToolCall::UpdateData { .. } => ToolName::UpdateData,
            ToolCall::EndCall { .. } => ToolName::EndCall,
            ToolCall::TransferCall { .. } => ToolName::TransferCall,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ToolError {
    #[error("there is no tool named '{0}'")]
    UnknownTool(String),
    #[error("the tool {} is not enabled for this agent", .0.as_str())]
    NotEnabled(ToolName),
    #[error("arguments are not valid JSON: {0}")]
    InvalidJson(String),
    #[error("missing argument '{0}'")]
    MissingArgument(&'static str),
    #[error("argument '{arg}' {reason}")]
    InvalidArgument { arg: &'static str, reason: String },
    #[error("{0}")]
    Data(ValueError),
    #[error("this agent has no transfer number")]
    TransferNotConfigured,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data_schema::{DataField, FieldKind};

    fn schema() -> DataSchema {
        DataSchema {
            fields: vec![
                DataField {
                    name: "budget".into(),
                    kind: FieldKind::Number,
                    description: "Monthly budget".into(),
                    required: true,
                },
                DataField {
                    name: "model".into(),
                    kind: FieldKind::Enum { options: vec!["Clio".into(), "Megane".into()] },
                    description: String::new(),
                    required: false,
                },
            ],
        }
    }

    fn ctx<'a>(schema: &'a DataSchema, enabled: &'a [ToolName]) -> ToolContext<'a> {
        ToolContext { enabled, schema, transfer_number: Some("+33612345678") }
    }

    #[test]
    fn specs_follow_enabled_tools_and_agent_setup() {
        let s = schema();
        let all = ToolName::ALL;
        let specs = ctx(&s, &all).specs();
        let names: Vec<_> = specs.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["addNote", "updateData", "endCall", "transferCall"]);
        let update = &specs[1];
        assert_eq!(update.parameters["properties"]["field"]["enum"], json!(["budget", "model"]));
        assert!(update.description.contains("budget (number, required): Monthly budget"));
        assert!(update.description.contains("one of [Clio, Megane]"));
        assert_eq!(specs[3].parameters["properties"]["number"]["enum"], json!(["+33612345678"]));
        for spec in &specs {
            assert_eq!(spec.parameters["type"], "object");
            assert_eq!(spec.parameters["additionalProperties"], false);
        }

        // No schema → no updateData; no number → no transferCall; disabled → absent.
        let empty = DataSchema::default();
        let c = ToolContext { enabled: &all, schema: &empty, transfer_number: None };
        let names: Vec<_> = c.specs().into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["addNote", "endCall"]);
        assert!(ctx(&s, &[ToolName::EndCall]).specs().iter().all(|t| t.name == "endCall"));
    }

    #[test]
    fn valid_calls_parse_and_normalise() {
        let s = schema();
        let c = ctx(&s, &ToolName::ALL);
        assert_eq!(
            c.parse_call("updateData", r#"{"field":"budget","value":"450"}"#).unwrap(),
            ToolCall::UpdateData { field: "budget".into(), value: json!(450) }
        );
        assert_eq!(
            c.parse_call("addNote", r#"{"text":"  wants a hybrid "}"#).unwrap(),
            ToolCall::AddNote { text: "wants a hybrid".into() }
        );
        assert_eq!(
            c.parse_call("endCall", r#"{"reason":"meeting booked"}"#).unwrap().name(),
            ToolName::EndCall
        );
        // The outcome it suggests: one of the list, or none (never a refusal to hang up).
        assert_eq!(
            c.parse_call("endCall", r#"{"reason":"demo on Friday","outcome":" meeting_booked "}"#).unwrap(),
            ToolCall::EndCall { reason: "demo on Friday".into(), outcome: Some(CallOutcome::MeetingBooked) }
        );
        for odd in [r#""voicemail""#, r#""callback_scheduled""#, r#""great""#, "42", "null"] {
            let args = format!(r#"{{"reason":"done","outcome":{odd}}}"#);
            assert_eq!(
                c.parse_call("endCall", &args).unwrap(),
                ToolCall::EndCall { reason: "done".into(), outcome: None }
            );
        }
        assert_eq!(
            c.parse_call("transferCall", r#"{"number":"+33 6 12 34 56 78"}"#).unwrap(),
            ToolCall::TransferCall { number: "+33612345678".into() }
        );
    }

    #[test]
    fn bad_calls_are_refused_with_a_useful_message() {
        let s = schema();
        let c = ctx(&s, &[ToolName::AddNote, ToolName::UpdateData, ToolName::TransferCall]);
        let err = |n: &str, a: &str| c.parse_call(n, a).unwrap_err();
        assert_eq!(err("sendEmail", "{}"), ToolError::UnknownTool("sendEmail".into()));
        assert_eq!(err("endCall", r#"{"reason":"x"}"#), ToolError::NotEnabled(ToolName::EndCall));
        assert!(matches!(err("addNote", "{text:"), ToolError::InvalidJson(_)));
        assert!(matches!(err("addNote", "[1]"), ToolError::InvalidJson(_)));
        assert_eq!(err("addNote", ""), ToolError::MissingArgument("text"));
        assert!(matches!(err("addNote", r#"{"text": 5}"#), ToolError::InvalidArgument { arg: "text", .. }));
        assert!(matches!(err("addNote", r#"{"text": "  "}"#), ToolError::InvalidArgument { .. }));
        let long = format!(r#"{{"text":"{}"}}"#, "x".repeat(MAX_NOTE_CHARS + 1));
        assert!(matches!(err("addNote", &long), ToolError::InvalidArgument { .. }));
        assert_eq!(err("updateData", r#"{"field":"budget"}"#), ToolError::MissingArgument("value"));
        let e = err("updateData", r#"{"field":"model","value":"Zoe"}"#);
        assert_eq!(e.to_string(), "'model' expects one of: Clio, Megane");
        assert!(matches!(err("updateData", r#"{"field":"colour","value":"red"}"#), ToolError::Data(_)));
        let e = err("transferCall", r#"{"number":"+19005550100"}"#);
        assert_eq!(e.to_string(), "argument 'number' only +33612345678 is allowed");
        let no_number = ToolContext { transfer_number: None, ..c };
        assert_eq!(
            no_number.parse_call("transferCall", r#"{"number":"+1"}"#).unwrap_err(),
            ToolError::TransferNotConfigured
        );
    }

    #[test]
    fn wire_names_round_trip() {
        for t in ToolName::ALL {
            assert_eq!(ToolName::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
    }
}

/// Property tests: whatever name and argument text an LLM produces (cut
/// short mid-stream, nested, mistyped), checking it never panics and what
/// passes is exactly what the handlers may trust.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;
    use crate::data_schema::{DataField, FieldKind};

    fn schema() -> DataSchema {
        let field = |name: &str, kind: FieldKind| DataField {
            name: name.into(),
            kind,
            description: String::new(),
            required: false,
        };
        DataSchema {
            fields: vec![
                field("budget", FieldKind::Number),
                field("model", FieldKind::Enum { options: vec!["Clio".into(), "Megane".into()] }),
                field("visit", FieldKind::Date),
                field("hybrid", FieldKind::Boolean),
                field("notes", FieldKind::String),
            ],
        }
    }

    const NUMBER: &str = "+33612345678";

    fn tool_name() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(ToolName::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>()).prop_map(str::to_string),
            1 => prop::sample::select(vec!["", "addnote", "AddNote", "sendEmail", " endCall"]).prop_map(str::to_string),
            1 => "\\PC{0,12}",
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "\\PC{0,24}".prop_map(Value::String),
            prop::sample::select(vec![
                "450",
                "3,5",
                "1,200",
                "1.234,5",
                "1e400",
                "NaN",
                "-0",
                "2024-02-29",
                "2023-02-29",
                "clio ",
                "MEGANE",
                "oui",
                "0",
                "  ",
                "+33 6 12 34 56 78",
                "+19005550100",
                "budget",
                "notes",
            ])
            .prop_map(|s| Value::String(s.to_string())),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Argument objects shaped like real calls: the expected keys, often
    /// with plausible values, plus strays.
    fn arguments() -> impl Strategy<Value = Map<String, Value>> {
        let key = prop::sample::select(vec!["text", "reason", "field", "value", "number", "extra", ""]);
        let field = prop::sample::select(vec!["budget", "model", "visit", "hybrid", "notes", "colour"])
            .prop_map(|f| Value::String(f.to_string()));
        let value = prop_oneof![json_value(), field];
        prop::collection::btree_map(key.prop_map(str::to_string), value, 0..5)
            .prop_map(|m| m.into_iter().collect())
    }

    /// Argument text: serialized objects (whole, cut short, padded), JSON
    /// syntax soup, deep nesting and arbitrary text.
    fn argument_text() -> impl Strategy<Value = String> {
        let soup = prop::sample::select(vec![
            "{", "}", "[", "]", "\"", ":", ",", "\\", "\\u", "\\ud800", "null", "1e999", "-", "\"text\"",
            "\"x\"", " ", "\n", "true",
        ]);
        prop_oneof![
            4 => arguments().prop_map(|a| Value::Object(a).to_string()),
            2 => (arguments(), any::<prop::sample::Index>()).prop_map(|(a, cut)| {
                let s = Value::Object(a).to_string();
                let ends: Vec<usize> = (0..=s.len()).filter(|i| s.is_char_boundary(*i)).collect();
                s[..*cut.get(&ends)].to_string()
            }),
            2 => prop::collection::vec(soup, 0..32).prop_map(|p| p.concat()),
            1 => (1usize..3000, prop::sample::select(vec!["[", "{\"a\":", "[{\"text\":"])).prop_map(|(n, open)| open.repeat(n)),
            1 => "\\PC{0,128}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, max_shrink_iters: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_call_is_checked_and_what_passes_is_trustworthy(
            name in tool_name(),
            args in argument_text(),
            enabled in prop::sample::subsequence(ToolName::ALL.to_vec(), 0..=4),
            transfer in any::<bool>(),
        ) {
            let s = schema();
            let ctx = ToolContext { enabled: &enabled, schema: &s, transfer_number: transfer.then_some(NUMBER) };
            let Ok(call) = ctx.parse_call(&name, &args) else { return Ok(()) };
            prop_assert_eq!(call.name().as_str(), name.as_str());
            prop_assert!(enabled.contains(&call.name()));
            match &call {
                ToolCall::AddNote { text } => {
                    prop_assert!(!text.is_empty() && text.trim() == text.as_str() && text.chars().count() <= MAX_NOTE_CHARS)
                }
                ToolCall::EndCall { reason, .. } => {
                    prop_assert!(!reason.is_empty() && reason.trim() == reason.as_str() && reason.chars().count() <= MAX_REASON_CHARS)
                }
                ToolCall::UpdateData { field, value } => {
                    // The stored value is already in its checked form.
                    let checked = s.check_value(field, value);
                    prop_assert_eq!(checked.as_ref(), Ok(value));
                }
                ToolCall::TransferCall { number } => {
                    prop_assert!(transfer);
                    prop_assert_eq!(number.as_str(), NUMBER);
                }
            }
            // Whitespace around the JSON changes nothing.
            prop_assert_eq!(ctx.parse_call(&name, &format!(" \n{args}\t ")), Ok(call));
        }

        #[test]
        fn arguments_cut_short_are_never_accepted(name in tool_name(), args in arguments(), cut in any::<prop::sample::Index>()) {
            let s = schema();
            let ctx = ToolContext { enabled: &ToolName::ALL, schema: &s, transfer_number: Some(NUMBER) };
            let whole = Value::Object(args).to_string();
            let ends: Vec<usize> = (0..whole.len()).filter(|i| whole.is_char_boundary(*i)).collect();
            let partial = &whole[..*cut.get(&ends)];
            prop_assert!(ctx.parse_call(&name, partial).is_err(), "{:?}", partial);
        }

        #[test]
        fn text_arguments_survive_json_escaping(text in "\\PC{0,64}|[\\s\\S]{0,64}", tool in prop::sample::select(vec![ToolName::AddNote, ToolName::EndCall])) {
            let s = schema();
            let ctx = ToolContext { enabled: &ToolName::ALL, schema: &s, transfer_number: None };
            let key = if tool == ToolName::AddNote { "text" } else { "reason" };
            let args = Value::Object([(key.to_string(), Value::String(text.clone()))].into_iter().collect());
            let got = ctx.parse_call(tool.as_str(), &args.to_string());
            let t = text.trim();
            if t.is_empty() {
                prop_assert!(matches!(got, Err(ToolError::InvalidArgument { .. })), "{:?}", got);
            } else {
                let want = match tool {
                    ToolName::AddNote => ToolCall::AddNote { text: t.to_string() },
                    _ => ToolCall::EndCall { reason: t.to_string(), outcome: None },
                };
                prop_assert_eq!(got, Ok(want));
            }
        }
    }

    #[test]
    fn deeply_nested_arguments_are_refused_without_overflowing_the_stack() {
        let s = schema();
        let ctx = ToolContext { enabled: &ToolName::ALL, schema: &s, transfer_number: None };
        for depth in [10, 100, 1_000, 100_000] {
            for open in ["[", "{\"text\":"] {
                let args =
                    format!("{}1{}", open.repeat(depth), if open == "[" { "]" } else { "}" }.repeat(depth));
                let got = ctx.parse_call("addNote", &args);
                // Shallow ones are JSON, just not a note; past serde_json's
                // recursion limit (128) they are refused as JSON.
                assert!(got.is_err(), "{depth}");
                if depth > 128 {
                    assert!(matches!(got, Err(ToolError::InvalidJson(_))), "{depth}: {got:?}");
                }
            }
        }
    }
}
