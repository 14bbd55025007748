//! Transcript text as the copilot's rules see it, and the small phrase
//! language those rules (and users' script triggers) are written in.
//!
//! Speech-to-text output is noisy: case, punctuation, accents and apostrophes
//! vary between providers and languages, so both the utterance and every
//! pattern go through the same [`normalize`] and are compared token by token.
//!
//! Pattern syntax (one phrase):
//! - words separated by spaces must appear in that order, adjacent;
//! - `a|b` in one slot accepts either word (`price|cost`);
//! - a word ending in `~` matches any word it begins (`expens~` matches
//!   "expensive", "expensif");
//! - `*` accepts up to [`GAP_MAX`] arbitrary words (`too * expensive`).
//!
//! A match preceded (within two words) by a negation (`not`, `n't`, `pas`,
//! `jamais`…) is ignored, so "it is not too expensive" raises nothing.

use crate::error::{ErrorCode, FieldError};
use crate::validation::fold_accent;

/// The most words one `*` may skip: wide enough for "too *much* for us",
/// narrow enough that unrelated clauses do not join.
pub const GAP_MAX: usize = 3;
/// Longest accepted pattern, in characters.
pub const PATTERN_MAX_CHARS: usize = 200;

/// Lower-case, accent-folded words: "C'est TROP cher !" → `c est trop cher`.
pub fn normalize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            for lower in ch.to_lowercase() {
                match lower {
                    'œ' => current.push_str("oe"),
                    'æ' => current.push_str("ae"),
                    c => current.push(fold_accent(c)),
                }
            }
        } else {
            // Apostrophes (straight and typographic), hyphens and punctuation
            // all split words: "don't" → `don t`, "j'ai" → `j ai`.
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Words that never carry meaning on their own: a pattern made only of these
/// (or of gaps) would fire on nearly every utterance.
const FILLER: &[&str] = &[
    "a", "an", "the", "and", "or", "to", "of", "is", "it", "i", "you", "we", "yes", "no", "ok", "okay", "so",
    "well", "um", "uh", "yeah", "le", "la", "les", "l", "un", "une", "des", "de", "du", "et", "ou", "je",
    "j", "tu", "vous", "nous", "il", "elle", "c", "est", "oui", "non", "ben", "euh", "bon", "d", "s", "t",
    "n",
];

/// Words that negate the phrase right after them. French `ne`/`n'` and
/// `plus` are left out on purpose: in "je n'ai pas le temps" the `ne` belongs
/// to the objection itself, and "plus cher" means "more expensive".
const NEGATIONS: &[&str] = &["not", "t", "never", "pas", "jamais", "aucun", "aucune"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    /// Any of these words; a trailing `~` in the source makes it a prefix.
    Word(Vec<Alt>),
    Gap,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Alt {
    word: String,
    prefix: bool,
}

impl Alt {
    fn matches(&self, token: &str) -> bool {
        if self.prefix {
            token.starts_with(self.word.as_str())
        } else {
            token == self.word
        }
    }
}

/// A compiled phrase pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    slots: Vec<Slot>,
}

/// Where a pattern matched, in word positions of the normalised utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Pattern {
    /// Compiles a pattern, refusing one that would match (nearly) everything:
    /// empty, only gaps, only filler words, or prefixes shorter than 3 letters.
    pub fn parse(source: &str) -> Result<Pattern, FieldError> {
        let err =
            |code| FieldError::new("trigger", code).with_detail(source.chars().take(60).collect::<String>());
        if source.chars().count() > PATTERN_MAX_CHARS {
            return Err(err(ErrorCode::TextTooLong));
        }
        let mut slots = Vec::new();
        for raw in source.split_whitespace() {
            if raw == "*" {
                if !matches!(slots.last(), Some(Slot::Gap) | None) {
                    slots.push(Slot::Gap);
                }
                continue;
            }
            let mut alts = Vec::new();
            for alt in raw.split('|') {
                let prefix = alt.ends_with('~');
                let words = normalize(alt.trim_end_matches('~'));
                match words.as_slice() {
                    [] => {}
                    [one] => alts.push(Alt { word: one.clone(), prefix }),
                    // "don't" inside an alternative normalises to two words;
                    // alternatives are single words, so this is a malformed slot.
                    _ if raw.contains('|') => return Err(err(ErrorCode::TriggerInvalid)),
                    many => {
                        // A plain word with an apostrophe: expand to its words.
                        let last = many.len() - 1;
                        for (i, w) in many.iter().enumerate() {
                            slots
                                .push(Slot::Word(vec![Alt { word: w.clone(), prefix: prefix && i == last }]));
                        }
                    }
                }
            }
            // Pure punctuation normalises to nothing and is ignored, as in utterances.
            if !alts.is_empty() {
                slots.push(Slot::Word(alts));
            }
        }
        while matches!(slots.last(), Some(Slot::Gap)) {
            slots.pop();
        }
        while matches!(slots.first(), Some(Slot::Gap)) {
            slots.remove(0);
        }
        let meaningful = slots.iter().any(|s| match s {
            Slot::Word(alts) => alts.iter().all(|a| {
                if a.prefix {
                    a.word.chars().count() >= 3
                } else {
                    !FILLER.contains(&a.word.as_str())
                }
            }),
            Slot::Gap => false,
        });
        let short_prefix = slots.iter().any(|s| match s {
            Slot::Word(alts) => alts.iter().any(|a| a.prefix && a.word.chars().count() < 3),
            Slot::Gap => false,
        });
        if slots.is_empty() || !meaningful || short_prefix {
            return Err(err(ErrorCode::TriggerTooBroad));
        }
        Ok(Pattern { source: source.trim().to_string(), slots })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first non-negated match in `words` (already [`normalize`]d).
    pub fn find(&self, words: &[String]) -> Option<Span> {
        (0..words.len()).find_map(|start| {
            let end = self.match_at(words, start, 0)?;
            (!negated(words, start)).then_some(Span { start, end })
        })
    }

    /// Matches slots[slot..] starting at word `at`; returns the end (exclusive).
    fn match_at(&self, words: &[String], at: usize, slot: usize) -> Option<usize> {
        let Some(current) = self.slots.get(slot) else {
            return Some(at);
        };
        match current {
            Slot::Word(alts) => {
                let token = words.get(at)?;
                if alts.iter().any(|a| a.matches(token)) {
                    self.match_at(words, at + 1, slot + 1)
                } else {
                    None
                }
            }
            Slot::Gap => (0..=GAP_MAX).find_map(|skip| {
                if at + skip > words.len() {
                    return None;
                }
                self.match_at(words, at + skip, slot + 1)
            }),
        }
    }
}

/// True when one of the two words before `start` negates what follows.
fn negated(words: &[String], start: usize) -> bool {
    let from = start.saturating_sub(2);
    words[from..start].iter().any(|w| NEGATIONS.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(pattern: &str, text: &str) -> bool {
        Pattern::parse(pattern).unwrap().find(&normalize(text)).is_some()
    }

    #[test]
    fn normalisation_folds_case_accents_punctuation_and_apostrophes() {
        assert_eq!(normalize("C'est TROP cher !"), ["c", "est", "trop", "cher"]);
        assert_eq!(normalize("I don’t   think so..."), ["i", "don", "t", "think", "so"]);
        assert_eq!(normalize("Déjà équipés, ça coûte"), ["deja", "equipes", "ca", "coute"]);
        assert!(normalize("  ?!  ").is_empty());
        assert_eq!(normalize("Le CŒUR du sujet"), ["le", "coeur", "du", "sujet"]);
    }

    #[test]
    fn phrases_alternatives_prefixes_and_gaps() {
        assert!(find("too expensive", "Honestly that's too expensive for us"));
        assert!(!find("too expensive", "too very expensive"));
        assert!(find("too * expensive", "too very expensive"));
        assert!(!find("too * expensive", "too a b c d expensive"));
        assert!(find("price|cost too high", "the cost too high"));
        assert!(find("expens~", "c'est trop expensif"));
        assert!(find("c'est trop cher", "Ah non, c’est trop cher."));
        assert!(find("déjà équipé~", "nous sommes deja equipes"));
    }

    #[test]
    fn a_negated_match_does_not_count() {
        assert!(!find("too expensive", "it's not too expensive"));
        assert!(!find("expensive", "this isn't expensive at all"));
        assert!(!find("trop cher", "ce n'est pas trop cher"));
        // A negation far before the phrase does not cancel it.
        assert!(find("too expensive", "no, I think this whole thing is too expensive"));
    }

    #[test]
    fn patterns_that_would_match_everything_are_refused() {
        for broad in ["", "   ", "*", "* *", "the", "yes", "oui", "le * la", "a|the", "ex~", "?!"] {
            let err = Pattern::parse(broad).unwrap_err();
            assert_eq!(err.code, ErrorCode::TriggerTooBroad, "{broad:?}");
        }
        assert_eq!(Pattern::parse(&"word ".repeat(60)).unwrap_err().code, ErrorCode::TextTooLong);
        assert_eq!(Pattern::parse("don't|never").unwrap_err().code, ErrorCode::TriggerInvalid);
        // Filler words are fine next to a meaningful one.
        assert!(Pattern::parse("yes let's do it").is_ok());
    }

    #[test]
    fn matching_is_bounded_on_huge_input() {
        let pattern = Pattern::parse("a * b * c * d * zebra").unwrap();
        let words = normalize(&"a b c d ".repeat(5_000));
        assert!(pattern.find(&words).is_none());
    }
}
