//! What kind of sentence an utterance is — a question, a hypothetical or
//! a statement — so that the semantic matcher raises a card only when the
//! prospect *asserts* an objection. "How much does it cost?" sits close in
//! meaning to "it costs too much", and "if it were too expensive I'd tell
//! you" closer still; the phrase rules never fire on them (they need the
//! objection's own words, not negated), but a nearest-example matcher does.
//!
//! Deliberately small and conservative: a question can still *be* an
//! objection for some classes ("can you just email me something?",
//! "could you call me back tomorrow?", "who gave you my number?"), so the
//! gate is per class.

use super::objection::ObjectionKind;
use super::text::normalize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mood {
    Statement,
    Question,
    Hypothetical,
}

/// Words that open a question (normalised: lower case, no accents).
const QUESTION_OPENERS: &[&str] = &[
    // English ("can't", "don't"… are statements: see `mood`)
    "how", "what", "when", "where", "why", "who", "which", "is", "are", "do", "does", "did", "can", "could",
    "would", "will", "should", // French (inverted forms: "avez-vous", "pouvez-vous")
    "combien", "comment", "quand", "pourquoi", "qui", "est", "pouvez", "pourriez", "avez", "etes",
];

/// Openers of a condition or a supposition.
const HYPOTHETICAL_OPENERS: &[&[&str]] = &[
    &["if"],
    &["suppose"],
    &["supposing"],
    &["imagine"],
    &["what", "if"],
    &["say", "we"],
    &["let", "s", "say"],
    &["in", "case"],
    &["even", "if"],
    &["si"],
    &["s", "il"],
    &["s", "ils"],
    &["supposons"],
    &["imaginons"],
    &["admettons"],
    &["au", "cas"],
    &["meme", "si"],
    &["mettons", "que"],
];

/// Fillers skipped before the opener ("well, how much…", "bon, si…").
const FILLERS: &[&str] = &[
    "well",
    "so",
    "ok",
    "okay",
    "um",
    "uh",
    "er",
    "erm",
    "hmm",
    "and",
    "but",
    "just",
    "out",
    "of",
    "curiosity",
    "bon",
    "alors",
    "euh",
    "ben",
    "bah",
    "donc",
    "et",
    "mais",
    "juste",
    "dites",
    "moi",
    "ah",
    "oh",
    "oui",
    "yes",
    "yeah",
    "sure",
    "right",
    "honestly",
    "franchement",
    "look",
    "ecoutez",
];

/// The mood of `utterance`, from its first words and its final mark.
pub fn mood(utterance: &str) -> Mood {
    let words = normalize(utterance);
    let start = words.iter().position(|w| !FILLERS.contains(&w.as_str())).unwrap_or(words.len());
    let rest = &words[start..];
    if HYPOTHETICAL_OPENERS
        .iter()
        .any(|o| rest.len() >= o.len() && rest.iter().zip(o.iter()).all(|(w, o)| w == o))
    {
        return Mood::Hypothetical;
    }
    // The last sentence decides: "Too expensive. How do you compare?" asks.
    let last = utterance.trim_end().trim_end_matches(['"', '\'', '»', ' ', '\u{a0}']);
    if last.ends_with('?') {
        return Mood::Question;
    }
    // "can't", "don't", "wouldn't": a negated auxiliary opens a statement.
    let negated = rest.get(1).is_some_and(|w| w == "t" || w == "not");
    if !negated && rest.first().is_some_and(|w| QUESTION_OPENERS.contains(&w.as_str())) && rest.len() <= 25 {
        // STT often drops the question mark.
        return Mood::Question;
    }
    Mood::Statement
}

/// Whether a card of `kind` found by meaning (not by a rule) may be raised
/// for an utterance of this mood. Questions may be brush-offs only for the
/// kinds that are themselves requests; an opt-out counts in any form.
pub fn semantic_card_allowed(kind: ObjectionKind, utterance: &str) -> bool {
    matches!(
        (mood(utterance), kind),
        (_, ObjectionKind::OptOut)
            | (Mood::Statement, _)
            | (Mood::Question, ObjectionKind::SendEmail | ObjectionKind::CallLater)
    )
}

#[cfg(test)]
mod tests {
    use super::ObjectionKind::*;
    use super::*;

    #[test]
    fn questions_hypotheticals_and_statements() {
        for (text, expected) in [
            ("How much does it cost per user?", Mood::Question),
            ("well how much is it per month", Mood::Question),
            ("Combien ça coûte par mois ?", Mood::Question),
            ("est-ce que vous avez une plaquette", Mood::Question),
            ("If it were too expensive I'd tell you", Mood::Hypothetical),
            ("Bon, si jamais c'était trop cher je vous le dirais", Mood::Hypothetical),
            ("s'il fallait changer de fournisseur on le ferait", Mood::Hypothetical),
            ("That's way more than we budgeted", Mood::Statement),
            ("C'est au-dessus de nos moyens", Mood::Statement),
            ("Too expensive. How do you compare with the others?", Mood::Question),
            ("can't afford it this year, sorry", Mood::Statement),
            ("Don't bother, we're not interested", Mood::Statement),
            ("", Mood::Statement),
        ] {
            assert_eq!(mood(text), expected, "{text}");
        }
    }

    #[test]
    fn requests_and_opt_outs_survive_the_question_gate() {
        assert!(semantic_card_allowed(SendEmail, "Can you just send me something in writing?"));
        assert!(semantic_card_allowed(CallLater, "could you try me again next week?"));
        assert!(semantic_card_allowed(OptOut, "Who gave you my number?"));
        assert!(!semantic_card_allowed(TooExpensive, "How much does it cost?"));
        assert!(!semantic_card_allowed(NotInterested, "if we weren't interested would we be talking?"));
        assert!(semantic_card_allowed(TooExpensive, "that's a lot more than we planned to spend"));
    }
}
