//! What the mock model "says": a few deterministic rules so tests and the
//! e2e playground can drive every path (text, each tool, tool results).
//!
//! - the last message is a tool result → "Got it." (or an apology if the tool failed)
//! - "note: <text>"                      → addNote(text)
//! - "<field> is <value>"                → updateData(field, value) when `field`
//!   is one of updateData's declared fields
//! - "bye" / "goodbye" / "au revoir"     → endCall("prospect said goodbye")
//! - "… not interested …" / "… pas intéressé …" → endCall("prospect not
//!   interested", outcome not_interested)
//! - "… a human …" / "… transfer me …"   → transferCall(the allowed number)
//! - system prompt asks for a sales script → a valid phase-structured script
//!   (JSON) about the product named in the request
//! - system prompt asks for a pre-call brief → a brief (JSON)
//! - system prompt asks to label a prospect's utterance (the copilot's
//!   second opinion) → `{"label": …}` from a small keyword table, `none`
//!   when no keyword is in the utterance
//! - system prompt asks to analyse a finished call → the analysis (JSON):
//!   evidence quoted from the transcript it was sent, a number stated for
//!   each numeric data field ("twelve"/"12 vans"), the outcome a meeting
//!   when a demo or meeting was agreed; a transcript where the prospect
//!   says "garble your notes" gets prose with no JSON (a malformed answer);
//!   with a `script`, each scripted phase is scored by how many of its
//!   words (four letters or more) the caller's closest line used, that
//!   line its evidence, and left unscored when none was said
//! - anything else                        → "You said: <message>", streamed word by word

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Text(String),
    Tool { name: String, args: Value },
}

/// The conversation as the mock needs it, whatever the vendor format.
#[derive(Debug, Clone, Default)]
pub struct Prompt {
    pub last_user: Option<String>,
    /// `Some(is_error)` when the last message is a tool result.
    pub last_tool_result: Option<bool>,
    pub tool_names: Vec<String>,
    /// updateData's allowed field names.
    pub data_fields: Vec<String>,
    /// The one number transferCall allows, when it is offered.
    pub transfer_number: Option<String>,
    /// The system prompt (all vendors' forms), for the copilot's structured requests.
    pub system: String,
}

pub fn reply(p: &Prompt) -> Vec<Step> {
    if p.system.contains("You write phone sales scripts") {
        return vec![Step::Text(sales_script(p.last_user.as_deref().unwrap_or_default()))];
    }
    if p.system.contains("You prepare a sales rep for a cold call") {
        let brief = json!({
            "opening_angle": "Mention their fleet renewal season and ask how they handle it today.",
            "likely_objections": ["already_have_supplier", "too_expensive"],
            "questions": ["How many vehicles do you run?", "When is your next renewal?", "Who signs off on it?"]
        });
        return vec![Step::Text(format!("Here you go:\n{brief}"))];
    }
    if p.system.contains("You analyse a finished sales call") {
        return vec![Step::Text(call_analysis(p.last_user.as_deref().unwrap_or_default()))];
    }
    if p.system.contains("You label one thing a sales prospect said") {
        let utterance: Value =
            serde_json::from_str(p.last_user.as_deref().unwrap_or_default()).unwrap_or_default();
        let label = objection_label(utterance["utterance"].as_str().unwrap_or_default());
        return vec![Step::Text(json!({ "label": label }).to_string())];
    }
    if let Some(is_error) = p.last_tool_result {
        let text = if is_error { "Sorry, let me correct that." } else { "Got it." };
        return vec![Step::Text(text.into())];
    }
    let msg = p.last_user.clone().unwrap_or_default();
    let lower = msg.trim().to_lowercase();
    let has = |t: &str| p.tool_names.iter().any(|n| n == t);
    if let Some(note) =
        lower.strip_prefix("note:").map(|rest| msg.trim().get(5..).unwrap_or(rest).trim().to_string())
    {
        if has("addNote") {
            return vec![
                Step::Text("Noting that.".into()),
                Step::Tool { name: "addNote".into(), args: json!({"text": note}) },
            ];
        }
    }
    if has("updateData") {
        for field in &p.data_fields {
            let needle = format!("{} is ", field.replace('_', " "));
            let alt = format!("{field} is ");
            let pos = lower
                .find(&alt)
                .map(|i| i + alt.len())
                .or_else(|| lower.find(&needle).map(|i| i + needle.len()));
            if let Some(start) = pos {
                let value = msg
                    .get(start..)
                    .unwrap_or(&lower[start..])
                    .trim()
                    .trim_end_matches(['.', '!'])
                    .to_string();
                return vec![Step::Tool {
                    name: "updateData".into(),
                    args: json!({"field": field, "value": value}),
                }];
            }
        }
    }
    if let Some(number) = p.transfer_number.as_ref().filter(|_| has("transferCall")) {
        if ["a human", "transfer me", "a person", "un humain", "transférez-moi"]
            .iter()
            .any(|w| lower.contains(w))
        {
            return vec![
                Step::Text("Let me transfer you to a colleague.".into()),
                Step::Tool { name: "transferCall".into(), args: json!({"number": number}) },
            ];
        }
    }
    if has("endCall") && ["not interested", "pas intéressé"].iter().any(|w| lower.contains(w)) {
        return vec![
            Step::Text("I understand. Thank you for your time, goodbye!".into()),
            Step::Tool {
                name: "endCall".into(),
                args: json!({"reason": "prospect not interested", "outcome": "not_interested"}),
            },
        ];
    }
    if has("endCall")
        && ["bye", "goodbye", "au revoir"].iter().any(|w| lower.trim_end_matches(['.', '!']) == *w)
    {
        return vec![
            Step::Text("Goodbye!".into()),
            Step::Tool { name: "endCall".into(), args: json!({"reason": "prospect said goodbye"}) },
        ];
    }
    vec![Step::Text(format!("You said: {}", msg.trim()))]
}

/// The first `enum` value of property `prop` in a tool's JSON-schema parameters.
pub fn first_enum(parameters: &Value, prop: &str) -> Option<String> {
    parameters["properties"][prop]["enum"].get(0).and_then(Value::as_str).map(str::to_string)
}

/// The mock's idea of an objection: the first label whose keyword the
/// utterance holds (deterministic, so tests can pick their case).
fn objection_label(utterance: &str) -> &'static str {
    const KEYWORDS: &[(&str, &[&str])] = &[
        ("opt_out", &["your list", "votre liste", "calling me", "m'appeler"]),
        ("too_expensive", &["stretch", "money", "price", "finances", "prix", "cher"]),
        ("call_later", &["busy", "occupé"]),
        ("already_have_supplier", &["spreadsheet", "tableur"]),
    ];
    let lower = utterance.to_lowercase();
    KEYWORDS
        .iter()
        .find(|(_, words)| words.iter().any(|w| lower.contains(w)))
        .map_or("none", |(label, _)| label)
}

/// A script for the product in the request context (`{"product": …, "language": …}`).
fn sales_script(context: &str) -> String {
    let ctx: Value = serde_json::from_str(context).unwrap_or(Value::Null);
    let product = ctx["product"].as_str().unwrap_or("our product");
    let fr = ctx["language"] == "fr";
    let (open, disc, pres, obj, close) = if fr {
        (
            "Bonjour {{prospect.first_name}}, ici {{agent.name}}.",
            "Comment gérez-vous cela aujourd'hui ?",
            "Voici",
            "Je comprends.",
            "Mardi ou jeudi ?",
        )
    } else {
        (
            "Hi {{prospect.first_name}}, this is {{agent.name}}.",
            "How do you handle this today?",
            "Here is",
            "I understand.",
            "Tuesday or Thursday?",
        )
    };
    json!({
        "phases": [
            {"phase": "opening", "text": open, "tips": ["Smile"], "triggers": [{"type": "intent", "intent": "available"}]},
            {"phase": "discovery", "text": disc, "tips": [], "triggers": [{"type": "intent", "intent": "need_expressed"}]},
            {"phase": "presentation", "text": format!("{pres} {product}."), "tips": [], "triggers": [{"type": "intent", "intent": "objection"}]},
            {"phase": "objection_handling", "text": obj, "tips": [], "triggers": [{"type": "phrase", "pattern": "makes sense"}]},
            {"phase": "closing", "text": close, "tips": [], "triggers": []}
        ],
        "handlers": [{"objection": "too_expensive", "response": format!("{product} pays for itself."), "examples": []}]
    })
    .to_string()
}

/// Splits text into streaming deltas (words with their trailing space).
pub fn deltas(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if c == ' ' {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A post-call analysis of the transcript in `request` (`{"transcript",
/// "data_fields"}`), its evidence quoted from it.
fn call_analysis(request: &str) -> String {
    let req: Value = serde_json::from_str(request).unwrap_or_default();
    let transcript = req["transcript"].as_str().unwrap_or_default();
    let lines: Vec<(&str, &str)> =
        transcript.lines().filter_map(|l| l.split_once(": ")).map(|(s, t)| (s.trim(), t.trim())).collect();
    let lower = transcript.to_lowercase();
    if lower.contains("garble your notes") {
        return "I listened to the call and it went fine overall, I think.".into();
    }
    let quote = |t: &str| t.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
    let ours = |s: &str| s == "Agent" || s == "Rep";
    let first_ours = lines.iter().find(|(s, _)| ours(s)).map(|(_, t)| quote(t));
    let first_theirs = lines.iter().find(|(s, _)| !ours(s)).map(|(_, t)| quote(t));
    let last_ours = lines.iter().rev().find(|(s, _)| ours(s)).map(|(_, t)| quote(t));
    let phase = |name: &str, evidence: Option<String>, score: u8| match evidence {
        Some(e) if !e.is_empty() => json!({"phase": name, "score": score, "evidence": e}),
        _ => json!({"phase": name, "score": null, "evidence": ""}),
    };
    let negative = lower.contains("not interested") || lower.contains("pas intéressé");
    let booked = lower.contains("demo") || lower.contains("meeting") || lower.contains("rendez-vous");
    let mut extracted = serde_json::Map::new();
    for f in req["data_fields"].as_array().into_iter().flatten() {
        let (Some(name), Some("number")) = (f["name"].as_str(), f["type"].as_str()) else { continue };
        let words: Vec<&str> =
            lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let spelled = [
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve",
        ];
        for pair in words.windows(2) {
            if pair[1].trim_end_matches('s') == name.trim_end_matches('s') {
                let n = pair[0]
                    .parse::<u32>()
                    .ok()
                    .or_else(|| spelled.iter().position(|w| *w == pair[0]).map(|i| i as u32));
                if let Some(n) = n {
                    extracted.insert(name.to_string(), json!(n));
                    break;
                }
            }
        }
    }
    // With a script: a scripted phase is scored by how much of its wording
    // the caller's closest line carried, and that line is the evidence.
    let mut phases = vec![
        phase("opening", first_ours, 8),
        phase("discovery", first_theirs, 7),
        phase("presentation", None, 0),
        phase("objection_handling", None, 0),
        phase("closing", last_ours, if booked { 9 } else { 4 }),
    ];
    for step in req["script"]["phases"].as_array().into_iter().flatten() {
        let (Some(name), Some(text)) = (step["phase"].as_str(), step["text"].as_str()) else { continue };
        let wanted = content_words(text);
        let best = lines
            .iter()
            .filter(|(s, _)| ours(s))
            .map(|(_, t)| (content_words(t).intersection(&wanted).count(), *t))
            .max_by_key(|(n, _)| *n);
        let scored = match best {
            Some((n, line)) if n > 0 && !wanted.is_empty() => {
                let score = ((10 * n + wanted.len() / 2) / wanted.len()).clamp(1, 10);
                json!({"phase": name, "score": score, "evidence": line})
            }
            // Nothing of it was said: the call never reached that phase.
            _ => phase(name, None, 0),
        };
        if let Some(slot) = phases.iter_mut().find(|p| p["phase"] == name) {
            *slot = scored;
        }
    }
    json!({
        "summary": format!("A call of {} turns{}.", lines.len(), if booked { " that ended with a meeting booked" } else { "" }),
        "key_points": lines.iter().filter(|(s, _)| !ours(s)).take(3).map(|(_, t)| t.to_string()).collect::<Vec<_>>(),
        "sentiment": if negative { "negative" } else if booked { "positive" } else { "neutral" },
        "sentiment_score": if negative { -0.6 } else if booked { 0.7 } else { 0.1 },
        "suggested_outcome": if negative { "not_interested" } else if booked { "meeting_booked" } else { "interested" },
        "extracted": extracted,
        "phases": phases,
    })
    .to_string()
}

/// The words of four letters or more, lowercased: what a line shares with
/// a script's phase beyond "the" and "a".
fn content_words(t: &str) -> std::collections::BTreeSet<String> {
    t.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4)
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(msg: &str) -> Prompt {
        Prompt {
            last_user: Some(msg.into()),
            tool_names: vec!["addNote".into(), "updateData".into(), "endCall".into()],
            data_fields: vec!["budget".into(), "test_drive".into()],
            ..Default::default()
        }
    }

    #[test]
    fn rules() {
        assert_eq!(reply(&prompt("Hello there")), vec![Step::Text("You said: Hello there".into())]);
        assert_eq!(
            reply(&prompt("Honestly, not interested."))[1],
            Step::Tool {
                name: "endCall".into(),
                args: json!({"reason": "prospect not interested", "outcome": "not_interested"})
            }
        );
        assert_eq!(
            reply(&prompt("My budget is 450 euros.")),
            vec![Step::Tool {
                name: "updateData".into(),
                args: json!({"field": "budget", "value": "450 euros"})
            }]
        );
        assert_eq!(
            reply(&prompt("test drive is 2026-12-01"))[0],
            Step::Tool {
                name: "updateData".into(),
                args: json!({"field": "test_drive", "value": "2026-12-01"})
            }
        );
        assert!(
            matches!(&reply(&prompt("Note: call back Friday"))[1], Step::Tool { name, args } if name == "addNote" && args["text"] == "call back Friday")
        );
        assert!(matches!(&reply(&prompt("Bye!"))[1], Step::Tool { name, .. } if name == "endCall"));
        let transfer = Prompt {
            tool_names: vec!["transferCall".into()],
            transfer_number: Some("+33180000000".into()),
            ..prompt("Can I talk to a human please?")
        };
        assert_eq!(
            reply(&transfer)[1],
            Step::Tool { name: "transferCall".into(), args: json!({"number": "+33180000000"}) }
        );
        assert_eq!(reply(&prompt("Can I talk to a human please?")).len(), 1, "no transfer tool, no transfer");
        let after = Prompt { last_tool_result: Some(false), ..prompt("x") };
        assert_eq!(reply(&after), vec![Step::Text("Got it.".into())]);
        assert_eq!(deltas("a bc d"), vec!["a ", "bc ", "d"]);
    }

    #[test]
    fn labels_utterances_for_the_copilots_second_opinion() {
        let ask = |u: &str| Prompt {
            system: "You label one thing a sales prospect said on a cold call".into(),
            last_user: Some(json!({ "utterance": u }).to_string()),
            ..Default::default()
        };
        assert_eq!(
            reply(&ask("that is a stretch for us")),
            vec![Step::Text(r#"{"label":"too_expensive"}"#.into())]
        );
        assert_eq!(reply(&ask("Take me off your list")), vec![Step::Text(r#"{"label":"opt_out"}"#.into())]);
        assert_eq!(reply(&ask("we'll see")), vec![Step::Text(r#"{"label":"none"}"#.into())]);
    }

    #[test]
    fn a_scripted_phase_is_scored_by_how_much_of_it_the_caller_said() {
        let req = |script: Value| {
            json!({
                "transcript": "Agent: Hello Paula.\nProspect: Hi.\nAgent: Our routing cuts your fuel costs by a fifth.\n",
                "data_fields": [],
                "script": script,
            })
            .to_string()
        };
        let scored = |script: Value| -> Value {
            let a: Value = serde_json::from_str(&call_analysis(&req(script))).unwrap();
            a["phases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["phase"].as_str().unwrap().to_string(), p.clone()))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let p = scored(json!({"phases": [
            {"phase": "presentation", "text": "Our routing cuts fuel costs"},
            {"phase": "closing", "text": "Shall we book a demonstration?"},
        ]}));
        // routing, cuts, fuel, costs: four of four words said.
        assert_eq!(p["presentation"]["score"], 10);
        assert_eq!(p["presentation"]["evidence"], "Our routing cuts your fuel costs by a fifth.");
        assert!(p["closing"]["score"].is_null(), "{p}");
        // Without a script, nothing scores the presentation.
        assert!(scored(Value::Null)["presentation"]["score"].is_null());
    }
}
