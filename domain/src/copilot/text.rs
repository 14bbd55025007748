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
        let mut failed = FailedGaps::new(self, words.len());
        (0..words.len()).find_map(|start| {
            let end = self.match_at(words, start, 0, &mut failed)?;
            (!negated(words, start)).then_some(Span { start, end })
        })
    }

    /// Matches slots[slot..] starting at word `at`; returns the end (exclusive).
    fn match_at(&self, words: &[String], at: usize, slot: usize, failed: &mut FailedGaps) -> Option<usize> {
        let Some(current) = self.slots.get(slot) else {
            return Some(at);
        };
        match current {
            Slot::Word(alts) => {
                let token = words.get(at)?;
                if alts.iter().any(|a| a.matches(token)) {
                    self.match_at(words, at + 1, slot + 1, failed)
                } else {
                    None
                }
            }
            Slot::Gap => {
                if failed.contains(at, slot) {
                    return None;
                }
                let end = (0..=GAP_MAX).find_map(|skip| {
                    if at + skip > words.len() {
                        return None;
                    }
                    self.match_at(words, at + skip, slot + 1, failed)
                });
                if end.is_none() {
                    failed.insert(at, slot);
                }
                end
            }
        }
    }
}

/// The (word, gap) positions from which the rest of a pattern is known not
/// to match. That depends only on the position, not on the path that led
/// there, so each is explored once: without this, `a * a * a * … zebra` over
/// "a a a a …" tries every combination of skips, 4^gaps of them.
struct FailedGaps {
    bits: Vec<u64>,
    slots: usize,
}

impl FailedGaps {
    fn new(pattern: &Pattern, words: usize) -> FailedGaps {
        let slots = pattern.slots.len();
        // Without a gap there is one path per start: nothing to remember.
        let bits = if pattern.slots.contains(&Slot::Gap) { ((words + 1) * slots).div_ceil(64) } else { 0 };
        FailedGaps { bits: vec![0; bits], slots }
    }

    fn contains(&self, at: usize, slot: usize) -> bool {
        let i = at * self.slots + slot;
        self.bits.get(i / 64).is_some_and(|w| *w & (1u64 << (i % 64)) != 0)
    }

    fn insert(&mut self, at: usize, slot: usize) {
        let i = at * self.slots + slot;
        if let Some(w) = self.bits.get_mut(i / 64) {
            *w |= 1u64 << (i % 64);
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

/// Property tests: any pattern text compiles or is refused (never panics),
/// and matching stays fast and agrees with the plain backtracking definition.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    /// Words and operators of the phrase language, so generated patterns
    /// reach alternatives, prefixes, gaps, apostrophes and filler checks.
    fn pattern_source() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "*",
            "*",
            "|",
            "~",
            "too",
            "expensive",
            "expens~",
            "price|cost",
            "cost|",
            "|price",
            "the",
            "a",
            "not",
            "don't",
            "don't|never",
            "c'est",
            "déjà",
            "équipé~",
            "œuvre",
            "?!",
            "-",
            "'",
            "ex~",
            "ab~",
            "budget",
            "zebra",
            "a|the",
            "le",
            "pas",
            "CAPS",
            "İstanbul",
            "~~",
            "x|y|z",
        ]);
        let sep = prop::sample::select(vec![" ", " ", "  ", "\t", "\n"]);
        prop_oneof![
            3 => prop::collection::vec((token, sep), 0..24)
                .prop_map(|t| t.into_iter().flat_map(|(a, b)| [a, b]).collect::<String>()),
            1 => "\\PC{0,256}",
        ]
    }

    fn utterance() -> impl Strategy<Value = Vec<String>> {
        let word = prop::sample::select(vec![
            "too",
            "expensive",
            "expensif",
            "price",
            "cost",
            "the",
            "a",
            "not",
            "t",
            "pas",
            "budget",
            "zebra",
            "c",
            "est",
            "deja",
            "equipe",
            "equipes",
            "oeuvre",
            "x",
            "y",
            "z",
            "ex",
        ]);
        prop_oneof![
            3 => prop::collection::vec(word.prop_map(str::to_string), 0..24),
            1 => "\\PC{0,128}".prop_map(|s| normalize(&s)),
        ]
    }

    /// The matcher as first written: plain backtracking, exponential in the
    /// number of gaps, so only run on small patterns.
    fn naive_match_at(p: &Pattern, words: &[String], at: usize, slot: usize) -> Option<usize> {
        let Some(current) = p.slots.get(slot) else { return Some(at) };
        match current {
            Slot::Word(alts) => {
                let token = words.get(at)?;
                alts.iter().any(|a| a.matches(token)).then_some(())?;
                naive_match_at(p, words, at + 1, slot + 1)
            }
            Slot::Gap => (0..=GAP_MAX)
                .filter(|skip| at + skip <= words.len())
                .find_map(|skip| naive_match_at(p, words, at + skip, slot + 1)),
        }
    }

    fn naive_find(p: &Pattern, words: &[String]) -> Option<Span> {
        (0..words.len()).find_map(|start| {
            let end = naive_match_at(p, words, start, 0)?;
            (!negated(words, start)).then_some(Span { start, end })
        })
    }

    fn gaps(p: &Pattern) -> usize {
        p.slots.iter().filter(|s| **s == Slot::Gap).count()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, max_shrink_iters: 64, ..ProptestConfig::default() })]

        #[test]
        fn patterns_compile_to_well_formed_slots_or_are_refused(src in pattern_source()) {
            match Pattern::parse(&src) {
                Ok(p) => {
                    prop_assert!(src.chars().count() <= PATTERN_MAX_CHARS);
                    prop_assert_eq!(p.source(), src.trim());
                    prop_assert!(matches!(p.slots.first(), Some(Slot::Word(_))));
                    prop_assert!(matches!(p.slots.last(), Some(Slot::Word(_))));
                    prop_assert!(p.slots.windows(2).all(|w| !(w[0] == Slot::Gap && w[1] == Slot::Gap)));
                    for s in &p.slots {
                        if let Slot::Word(alts) = s {
                            prop_assert!(!alts.is_empty());
                            prop_assert!(alts.iter().all(|a| !a.word.is_empty() && !a.word.contains(char::is_whitespace)));
                            prop_assert!(alts.iter().all(|a| !a.prefix || a.word.chars().count() >= 3));
                        }
                    }
                    // Every word yields at most a few slots: the pattern stays small.
                    prop_assert!(p.slots.len() <= 2 * src.chars().count());
                }
                Err(e) => {
                    prop_assert_eq!(&e.field, "trigger");
                    if src.chars().count() > PATTERN_MAX_CHARS {
                        prop_assert_eq!(e.code, ErrorCode::TextTooLong);
                    } else {
                        prop_assert!(matches!(e.code, ErrorCode::TriggerInvalid | ErrorCode::TriggerTooBroad), "{:?}", e.code);
                    }
                    prop_assert!(e.detail.as_deref().unwrap_or_default().chars().count() <= 60);
                }
            }
        }

        #[test]
        fn find_agrees_with_plain_backtracking(src in pattern_source(), words in utterance()) {
            let Ok(p) = Pattern::parse(&src) else { return Ok(()) };
            let found = p.find(&words);
            if let Some(span) = found {
                prop_assert!(span.start < span.end && span.end <= words.len());
                prop_assert!(!negated(&words, span.start));
            }
            if gaps(&p) <= 4 {
                prop_assert_eq!(found, naive_find(&p, &words));
            }
        }

        #[test]
        fn a_pattern_matches_the_utterance_it_describes(
            src in pattern_source(),
            picks in prop::collection::vec(0usize..4, 1..8),
            skips in prop::collection::vec(0..=GAP_MAX, 1..8),
            lead in prop::collection::vec(prop::sample::select(vec!["x", "budget", "zebra"]), 0..4),
        ) {
            let Ok(p) = Pattern::parse(&src) else { return Ok(()) };
            let mut words: Vec<String> = lead.iter().map(|w| w.to_string()).collect();
            let start = words.len();
            for (i, s) in p.slots.iter().enumerate() {
                match s {
                    Slot::Word(alts) => {
                        let a = &alts[picks[i % picks.len()] % alts.len()];
                        words.push(if a.prefix { format!("{}zz", a.word) } else { a.word.clone() });
                    }
                    Slot::Gap => words.extend(std::iter::repeat_n("filler".to_string(), skips[i % skips.len()])),
                }
            }
            let span = p.find(&words);
            prop_assert!(span.is_some(), "{:?} in {:?}", src, words);
            // The leading words hold no negation, so the match starts at or before ours.
            prop_assert!(span.unwrap().start <= start);
        }

        #[test]
        fn normalized_words_are_bounded_and_clean(text in "\\PC{0,512}") {
            let words = normalize(&text);
            prop_assert!(words.iter().all(|w| !w.is_empty() && !w.contains(char::is_whitespace)));
            prop_assert!(words.iter().map(String::len).sum::<usize>() <= 3 * text.len());
            prop_assert!(words.len() <= text.chars().count());
        }

        #[test]
        fn ascii_normalization_is_lowercase_alphanumeric_runs(text in "[ -~]{0,256}") {
            let want: Vec<String> = text
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(|w| w.to_ascii_lowercase())
                .collect();
            prop_assert_eq!(normalize(&text), want);
        }
    }

    /// Forty gaps over four hundred matching words (the engine's cap) used to
    /// backtrack through 4^40 paths.
    #[test]
    fn many_gaps_over_many_matching_words_finish_quickly() {
        let source = format!("{}zebra", "ab * ".repeat(39));
        assert!(source.chars().count() <= PATTERN_MAX_CHARS);
        let pattern = Pattern::parse(&source).unwrap();
        assert_eq!(gaps(&pattern), 39);
        let words = vec!["ab".to_string(); 400];
        let started = std::time::Instant::now();
        assert!(pattern.find(&words).is_none());
        let mut hit = words.clone();
        hit.push("zebra".into());
        assert!(pattern.find(&hit).is_some());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
