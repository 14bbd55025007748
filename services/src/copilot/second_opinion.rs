//! A second opinion from the organisation's LLM on utterances the
//! classifier is unsure of ([`super::semantic::Judgement::unsure`]): the
//! live path never waits for it; a card the model confirms is raised late,
//! labelled with the model's name ([`Detection::confirmed_by`]).
//!
//! The model is asked for one label out of a closed list, at temperature
//! zero, with a short answer budget: the prospect's words reach it as data
//! (a JSON string), and whatever it answers outside the list is ignored.

use std::time::Duration;

use domain::copilot::mood::{denies, semantic_card_allowed};
use domain::copilot::objection::{Detection, ObjectionKind};
use domain::Locale;
use serde::Deserialize;
use serde_json::json;

use super::ai::{ask, json_in, Budget};
use super::semantic::MATCHED_CHARS;
use crate::ServiceResult;

/// Longest wait for the model: past this, the conversation has moved on
/// and a card would only distract.
pub const TIMEOUT: Duration = Duration::from_secs(8);

/// The instructions: what each label means, and what is not an objection.
pub fn system_prompt() -> String {
    let labels = [
        ("too_expensive", "price or budget is the obstacle"),
        ("not_interested", "they do not want it, have no need, or brush the caller off"),
        ("already_have_supplier", "they are already covered by a provider, tool, in-house team or parent company"),
        ("not_decision_maker", "someone else decides or must approve, or they are the wrong person"),
        ("call_later", "now is a bad moment, call another time"),
        ("send_email", "they want the information in writing instead of talking now"),
        ("need_to_think", "they need time to think, consult, compare or decide later"),
        (
            "opt_out",
            "they ask not to be called or canvassed again, to be removed from a list, object to how their number was obtained, or cite a do-not-call registry (any form, even a question)",
        ),
    ];
    let list = labels.iter().map(|(l, d)| format!("- {l}: {d}")).collect::<Vec<_>>().join("\n");
    format!(
        "You label one thing a sales prospect said on a cold call, in English or French.\n\
         Labels:\n{list}\n- none: anything else.\n\
         Use an objection label only when the prospect asserts it. Questions asking for information, \
         hypotheticals, negations (\"price is not the issue\"), what others said, buying steps \
         (asking for the contract or a quote in order to sign) and small talk are none.\n\
         Answer with one JSON object only: {{\"label\": \"<label>\"}}."
    )
}

#[derive(Deserialize)]
struct Answer {
    label: String,
}

/// The label in a model's answer: `Some(None)` for "none", `None` when the
/// answer holds no label from the list.
pub fn parse(answer: &str) -> Option<Option<ObjectionKind>> {
    let a: Answer = serde_json::from_str(json_in(answer)?).ok()?;
    match a.label.trim() {
        "none" => Some(None),
        other => ObjectionKind::parse(other).map(Some),
    }
}

/// Asks `model` about `text`; the objection it asserts, if any. A label
/// the sentence's own form rules out (a question that is not a request, a
/// denial) is dropped, as for the classifier's cards.
pub async fn classify(
    model: &dyn providers::ChatModel,
    name: &str,
    timeout: Duration,
    text: &str,
) -> ServiceResult<Option<ObjectionKind>> {
    let user = json!({ "utterance": text }).to_string();
    let budget = Budget { temperature: 0.0, max_tokens: 40 };
    let answer = ask(model, name, timeout.min(TIMEOUT), system_prompt(), user, budget).await?;
    let Some(label) = parse(&answer) else {
        tracing::warn!(model = name, "second opinion: no label in the answer");
        return Ok(None);
    };
    Ok(label.filter(|k| semantic_card_allowed(*k, text) && !denies(*k, text)))
}

/// The late card for `kind` on `text`, labelled with the model's name.
pub fn late_card(kind: ObjectionKind, language: Locale, text: &str, model: &str) -> Detection {
    Detection {
        kind,
        language,
        rule: String::new(),
        matched: text.chars().take(MATCHED_CHARS).collect(),
        similarity: None,
        confirmed_by: Some(model.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_leniently_and_only_for_known_labels() {
        assert_eq!(parse(r#"{"label": "too_expensive"}"#), Some(Some(ObjectionKind::TooExpensive)));
        assert_eq!(parse("Sure:\n```json\n{\"label\":\"opt_out\"}\n```"), Some(Some(ObjectionKind::OptOut)));
        assert_eq!(parse(r#"{"label": " none "}"#), Some(None));
        assert_eq!(parse(r#"{"label": "angry"}"#), None);
        assert_eq!(parse("too_expensive"), None);
        assert_eq!(parse(r#"{"kind": "too_expensive"}"#), None);
    }

    #[test]
    fn the_prompt_names_every_label() {
        let p = system_prompt();
        for k in ObjectionKind::ALL {
            assert!(p.contains(&format!("- {}:", k.as_str())), "{k:?}");
        }
        assert!(p.contains("- none:"));
    }

    #[test]
    fn a_late_card_says_who_confirmed_it() {
        let long = "x".repeat(500);
        let d = late_card(ObjectionKind::CallLater, Locale::Fr, &long, "gpt-4.1");
        assert_eq!(d.confirmed_by.as_deref(), Some("gpt-4.1"));
        assert_eq!(d.matched.chars().count(), MATCHED_CHARS);
        assert!(d.similarity.is_none() && d.rule.is_empty());
    }
}
