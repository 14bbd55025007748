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

/// Phrases that deny an objection rather than raise it — "no need to send
/// me anything, I'm listening", "je n'ai besoin de l'accord de personne" —
/// per kind, as normalised words (lower case, no accents, split at
/// apostrophes). A sentence holding one gets no card of that kind from the
/// semantic path: the words are the objection's own, the meaning is its
/// opposite, and a sentence vector cannot tell the two apart reliably.
/// Deliberately narrow: each phrase names the objection's own act.
const DENIALS: &[(ObjectionKind, &[&str])] = &[
    (
        ObjectionKind::SendEmail,
        &[
            "no need to send",
            "no need to email",
            "no need for an email",
            "don t need to send",
            "don t need to email",
            "don t need an email",
            "pas besoin de m envoyer",
            "pas besoin d envoyer",
            "pas besoin de mail",
            "pas besoin d un mail",
            "pas besoin de plaquette",
            "pas la peine de m envoyer",
        ],
    ),
    (
        ObjectionKind::CallLater,
        &[
            "no need to call me back",
            "no need to call back",
            "don t need to call me back",
            "pas besoin de me rappeler",
            "pas besoin de rappeler",
        ],
    ),
    (
        ObjectionKind::NeedToThink,
        &[
            "don t need to think",
            "no need to think",
            "nothing to think about",
            "don t need time to think",
            "pas besoin d y reflechir",
            "pas besoin de reflechir",
            "rien a reflechir",
            "pas besoin de temps pour reflechir",
        ],
    ),
    (
        ObjectionKind::NotDecisionMaker,
        &[
            "i m the decision maker",
            "i am the decision maker",
            "don t need anyone s approval",
            "don t need anybody s approval",
            "besoin de l accord de personne",
            "besoin de l avis de personne",
            "c est moi le decideur",
            "c est moi qui decide",
        ],
    ),
    (
        ObjectionKind::TooExpensive,
        &[
            "not that we can t afford",
            "price isn t an issue",
            "price isn t the issue",
            "price is not an issue",
            "money isn t the issue",
            "money isn t an issue",
            "le prix n est pas le probleme",
            "le prix n est pas un probleme",
            "c est pas qu on n a pas les moyens",
            "ce n est pas trop cher",
            "c est pas trop cher",
        ],
    ),
    (
        ObjectionKind::NotInterested,
        &[
            "not that i m not interested",
            "not saying we re not interested",
            "not saying i m not interested",
            "c est pas que ca m interesse pas",
            "ce n est pas que ca ne m interesse pas",
            "je dis pas qu on n est pas interesses",
            "je ne dis pas qu on n est pas interesses",
        ],
    ),
    (
        ObjectionKind::AlreadyHaveSupplier,
        &[
            "don t have a supplier",
            "don t have a provider",
            "no supplier for",
            "n a pas de prestataire",
            "n a pas encore de prestataire",
            "n avons pas de prestataire",
            "pas de fournisseur pour",
        ],
    ),
    (
        ObjectionKind::OptOut,
        &[
            "don t take me off",
            "do not take me off",
            "keep me on your list",
            "ne me retirez pas",
            "ne me rayez pas",
            "gardez moi dans",
            // The request itself negated: "I'm not going to ask you to stop".
            "not going to ask you to stop",
            "not asking you to stop",
            "won t ask you to stop",
            "not telling you to stop",
            "vais pas vous demander d arreter",
            "vous demande pas d arreter",
            "vous demande pas de ne plus",
            // Someone else's request, reported: "they asked them to stop
            // calling him" (a prospect's own is "me" or "us").
            "stop calling him",
            "stop calling her",
            "stop calling them",
            "arreter de l appeler",
            "arreter de les appeler",
            "plus l appeler",
            "plus les appeler",
            // Saying they are on no such list.
            "not on any do not call",
            "not on the do not call",
            "not on a do not call",
            "pas inscrit sur bloctel",
            "pas inscrite sur bloctel",
            "pas inscrits sur bloctel",
            "pas sur bloctel",
        ],
    ),
];

/// Words that negate, normalised ("isn't" → `isn t`: the `t` negates).
const NEGATIONS: &[&str] = &["not", "t", "no", "never", "nothing", "pas", "plus", "jamais", "rien"];

/// A double negative that affirms: "it's not that we're not interested",
/// "it's not that we don't need it", "I'm not saying no", "c'est pas qu'on
/// n'en a pas besoin", "je dis pas non". The second negation is the
/// objection's own words; the first takes it back. Negations within five
/// words of "not that" / "pas que" count, so "not that it's too expensive"
/// (one negation) is left to the classifier.
fn litotes(words: &[String]) -> bool {
    let w = |i: usize| words.get(i).map_or("", String::as_str);
    (0..words.len()).any(|i| {
        let opener = matches!((w(i), w(i + 1)), ("not" | "t", "that") | ("pas", "que" | "qu"));
        let denied_no = matches!((w(i), w(i + 1), w(i + 2)), ("not" | "t", "saying" | "say", "no"))
            || matches!((w(i), w(i + 1), w(i + 2)), ("dis" | "dit" | "dirais", "pas", "non"));
        denied_no || (opener && (i + 2..(i + 7).min(words.len())).any(|j| NEGATIONS.contains(&w(j))))
    })
}

/// Whether `utterance` denies an objection of `kind` ([`DENIALS`]).
pub fn denies(kind: ObjectionKind, utterance: &str) -> bool {
    let words = normalize(utterance);
    if kind == ObjectionKind::NotInterested && litotes(&words) {
        return true;
    }
    DENIALS.iter().filter(|(k, _)| *k == kind).flat_map(|(_, phrases)| phrases.iter()).any(|p| {
        let phrase: Vec<&str> = p.split(' ').collect();
        words.windows(phrase.len()).any(|w| w.iter().zip(&phrase).all(|(a, b)| a == b))
    })
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
    fn denials_name_the_objection_they_deny() {
        assert!(denies(SendEmail, "no need to send me anything, I'm listening now"));
        assert!(denies(SendEmail, "Pas besoin de m'envoyer un mail, je vous écoute"));
        assert!(denies(NotDecisionMaker, "Je n'ai besoin de l'accord de personne, c'est ma boîte"));
        assert!(denies(NeedToThink, "I don't need to think about it, let's go"));
        assert!(denies(OptOut, "ah non ne me retirez pas de la liste"));
        assert!(denies(TooExpensive, "it's not that we can't afford it, we'd prefer yearly"));
        assert!(denies(OptOut, "I'm not going to ask you to stop calling, go on"));
        assert!(denies(OptOut, "my neighbour asked them to stop calling him"));
        assert!(denies(OptOut, "we're not on any do-not-call list, you're fine"));
        assert!(denies(OptOut, "ma voisine leur a demandé de plus l'appeler"));
        // Only the kind named, and never the objection itself.
        assert!(!denies(CallLater, "no need to send me anything"));
        assert!(!denies(SendEmail, "just send me an email"));
        assert!(!denies(OptOut, "take me off your list"));
        assert!(!denies(TooExpensive, "we can't afford it"));
        assert!(!denies(OptOut, "I asked you to stop calling me"));
        assert!(!denies(OptOut, "arrêtez de m'appeler"));
    }

    #[test]
    fn a_double_negative_affirms() {
        for text in [
            "it's not that we're not interested, tell me more",
            "it isn't that we don't need it",
            "I'm not saying no",
            "c'est pas qu'on n'en a pas besoin",
            "ce n'est pas que ça ne nous intéresse pas",
            "je dis pas non",
            "je ne dis pas non, envoyez le devis",
        ] {
            assert!(denies(NotInterested, text), "{text}");
        }
        for text in [
            "not interested, thanks",
            "it's not that it's bad, we just don't need it",
            "ça ne nous intéresse pas",
            "non, je dis non",
            "I said no",
        ] {
            assert!(!denies(NotInterested, text), "{text}");
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
