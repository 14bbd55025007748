//! A sales script as a language model reads it: the instructions a voice
//! agent follows on a call it was given a script for, and the script the
//! post-call analysis scores each phase against. The texts are already
//! rendered for the prospect; nothing here fills templates.

use serde_json::{json, Value};

use super::objection::ObjectionKind;
use super::script::{Phase, ScriptContent};

/// A phase's name as a person would say it.
pub fn phase_title(p: Phase) -> &'static str {
    match p {
        Phase::Opening => "Opening",
        Phase::Discovery => "Discovery",
        Phase::Presentation => "Presentation",
        Phase::ObjectionHandling => "Objection handling",
        Phase::Closing => "Closing",
    }
}

fn objection_title(k: ObjectionKind) -> String {
    k.as_str().replace('_', " ")
}

/// What the voice agent is told to follow, appended to its own prompt.
/// The agent speaks, so it is asked to say the script's points in its own
/// words and to follow the prospect, not to read a page aloud; an opt-out
/// ends the call whatever the script says.
pub fn agent_instructions(script: &ScriptContent) -> String {
    let mut out = String::from(
        "\n\nFollow this call script. Go through its phases in order, moving on when the prospect is ready \
         (or when a phase's cue is heard). Say each phase's points in your own words, briefly, and answer \
         what the prospect actually says before going back to the script.\n",
    );
    for p in &script.phases {
        out.push_str(&format!("\n## {}\n{}\n", phase_title(p.phase), p.text.trim()));
        if !p.tips.is_empty() {
            out.push_str("Tips:\n");
            for t in &p.tips {
                out.push_str(&format!("- {}\n", t.trim()));
            }
        }
        let cues: Vec<String> = p.triggers.iter().map(|t| t.describe()).collect();
        if !cues.is_empty() {
            out.push_str(&format!("Move on when you hear: {}\n", cues.join(", ")));
        }
    }
    let handlers: Vec<_> = script.handlers.iter().filter(|h| h.objection != ObjectionKind::OptOut).collect();
    if !handlers.is_empty() {
        out.push_str("\n## Objections\n");
        for h in handlers {
            let examples = if h.examples.is_empty() {
                String::new()
            } else {
                format!(
                    " (e.g. {})",
                    h.examples.iter().map(|e| format!("\"{}\"", e.trim())).collect::<Vec<_>>().join(", ")
                )
            };
            out.push_str(&format!("- {}{examples}: {}\n", objection_title(h.objection), h.response.trim()));
        }
    }
    out.push_str(
        "\nIf the prospect asks not to be called again, acknowledge it, apologise briefly and end the call, \
         whatever the script says.",
    );
    out
}

/// The script as the analysis request carries it: each phase's text and
/// tips, and the objection handlers.
pub fn for_analysis(script: &ScriptContent) -> Value {
    json!({
        "phases": script.phases.iter().map(|p| json!({
            "phase": p.phase.as_str(),
            "text": p.text.trim(),
            "tips": p.tips,
        })).collect::<Vec<_>>(),
        "objection_handlers": script.handlers.iter().map(|h| json!({
            "objection": h.objection.as_str(),
            "response": h.response.trim(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copilot::script::{ObjectionHandler, PhaseScript, Trigger};

    fn script() -> ScriptContent {
        ScriptContent {
            phases: vec![
                PhaseScript {
                    phase: Phase::Opening,
                    text: "Hello Paula, I am calling about your vans.".into(),
                    tips: vec!["Smile".into()],
                    triggers: vec![Trigger::phrase("tell me more")],
                },
                PhaseScript {
                    phase: Phase::Closing,
                    text: "Shall we book a demo on Tuesday?".into(),
                    tips: vec![],
                    triggers: vec![],
                },
            ],
            handlers: vec![
                ObjectionHandler {
                    objection: ObjectionKind::TooExpensive,
                    response: "It pays for itself in three months.".into(),
                    examples: vec!["too expensive".into()],
                },
                ObjectionHandler {
                    objection: ObjectionKind::OptOut,
                    response: "Keep pitching.".into(),
                    examples: vec![],
                },
            ],
        }
    }

    #[test]
    fn the_agent_reads_every_phase_in_order_with_its_tips_cues_and_handlers() {
        let s = agent_instructions(&script());
        let opening = s.find("## Opening\nHello Paula, I am calling about your vans.").expect(&s);
        let closing = s.find("## Closing\nShall we book a demo on Tuesday?").expect(&s);
        assert!(opening < closing, "{s}");
        assert!(s.contains("Tips:\n- Smile\n"), "{s}");
        assert!(s.contains("Move on when you hear: \"tell me more\""), "{s}");
        assert!(
            s.contains("- too expensive (e.g. \"too expensive\"): It pays for itself in three months."),
            "{s}"
        );
        // A script cannot tell the agent to talk over an opt-out.
        assert!(!s.contains("Keep pitching"), "{s}");
        assert!(s.trim_end().ends_with("whatever the script says."), "{s}");
    }

    #[test]
    fn the_analysis_gets_the_phases_by_their_wire_names() {
        let v = for_analysis(&script());
        assert_eq!(v["phases"][0]["phase"], "opening");
        assert_eq!(v["phases"][1]["text"], "Shall we book a demo on Tuesday?");
        assert_eq!(v["objection_handlers"][0]["objection"], "too_expensive");
    }
}
