//! How well the copilot understands prospects: a labelled evaluation set of
//! utterances in English and French (`evaluation.tsv`, written for
//! evaluation only — never used as matcher examples, which a test checks),
//! and the figures a detector earns on it: per class precision and recall,
//! accuracy and the false-card rate (utterances with no objection that
//! raised a card), per language.
//!
//! The test suite holds the detectors to a floor on it; `cargo bench -p
//! services --bench objections` prints the full figures.

use std::collections::BTreeMap;
use std::fmt;

use domain::copilot::objection::ObjectionKind;
use domain::Locale;

/// The evaluation set: `language<TAB>label<TAB>text` lines; `#` comments.
pub const SET: &str = include_str!("evaluation.tsv");

/// The blind test sets, in the same format: each written by someone who
/// saw neither the examples nor [`SET`] (which has served for error
/// analysis while the classifier was built, so its figures flatter a
/// little). Each is one writer's hand, and a classifier's figures move by
/// several points from one hand to the next: they are scored one by one and
/// pooled. `(name, file, text)`.
const BLIND: [(&str, &str, &str); 6] = [
    // 310 utterances; scored at every change since stop 38.
    ("held-out", "holdout.tsv", include_str!("holdout.tsv")),
    // 386; its first scoring showed the overfit that led to more diverse
    // examples, and it has been a development set since.
    ("second held-out", "holdout2.tsv", include_str!("holdout2.tsv")),
    // 385; scored once after the first new batches, development since.
    ("third held-out", "holdout3.tsv", include_str!("holdout3.tsv")),
    // 362; scored once, after the last batch.
    ("fourth held-out", "holdout4.tsv", include_str!("holdout4.tsv")),
    // 544; written 2026-12-06, first scored before the batch of examples
    // written the same day (by another hand) was added.
    ("fifth held-out", "holdout5.tsv", include_str!("holdout5.tsv")),
    // 573; written 2026-12-06, first scored after the double-negative and
    // reported-opt-out denials written from the other sets' errors.
    ("sixth held-out", "holdout6.tsv", include_str!("holdout6.tsv")),
];

/// The label of an utterance that raises no card.
pub const NONE: &str = "none";

/// One labelled utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub language: Locale,
    /// An objection kind's wire name (`opt_out` included) or [`NONE`].
    pub label: String,
    pub text: String,
    /// Line in the file, for messages.
    pub line: usize,
}

/// Every class a card can carry, by wire name.
pub fn classes() -> Vec<&'static str> {
    ObjectionKind::ALL.iter().map(|k| k.as_str()).collect()
}

/// The cases of `text` (the format of [`SET`]); an unreadable line is an
/// error naming it.
pub fn parse(text: &str) -> Result<Vec<Case>, String> {
    let classes = classes();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || (line == 1 && trimmed.starts_with("language\t"))
        {
            continue;
        }
        let fields: Vec<&str> = raw.split('\t').collect();
        let [language, label, utterance] = fields[..] else {
            return Err(format!("line {line}: expected 3 tab-separated fields, found {}", fields.len()));
        };
        let language = match language.trim() {
            "en" => Locale::En,
            "fr" => Locale::Fr,
            other => return Err(format!("line {line}: unknown language {other:?}")),
        };
        let label = label.trim();
        if label != NONE && !classes.contains(&label) {
            return Err(format!("line {line}: unknown label {label:?}"));
        }
        let utterance = utterance.trim();
        if utterance.is_empty() {
            return Err(format!("line {line}: empty utterance"));
        }
        out.push(Case { language, label: label.to_string(), text: utterance.to_string(), line });
    }
    Ok(out)
}

/// The built-in evaluation set.
pub fn cases() -> Vec<Case> {
    parse(SET).unwrap_or_else(|e| panic!("evaluation.tsv: {e}"))
}

/// The blind sets ([`BLIND`]), each with its name.
pub fn blind_sets() -> Vec<(&'static str, Vec<Case>)> {
    BLIND
        .iter()
        .map(|(name, file, text)| (*name, parse(text).unwrap_or_else(|e| panic!("{file}: {e}"))))
        .collect()
}

/// The blind sets pooled.
pub fn blind_cases() -> Vec<Case> {
    blind_sets().into_iter().flat_map(|(_, set)| set).collect()
}

/// What the phrase rules alone answer for `text`: the first objection they
/// find, or [`NONE`].
pub fn rules_label(text: &str) -> String {
    domain::copilot::objection::detect(text).first().map(|d| d.kind.as_str()).unwrap_or(NONE).to_string()
}

/// What a live session answers for a final line: [`super::semantic::judge`]'s
/// first objection, or [`NONE`].
pub fn live_label(matcher: &super::semantic::SemanticMatcher, case: &Case) -> String {
    super::semantic::judge(Some(matcher), &case.text, Some(case.language))
        .first()
        .map_or(NONE, |d| d.kind.as_str())
        .to_string()
}

/// Counts for one class: true positives, false positives, false negatives.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ClassCounts {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
}

impl ClassCounts {
    /// `None` when the detector never predicted the class.
    pub fn precision(&self) -> Option<f64> {
        let d = self.tp + self.fp;
        (d > 0).then(|| self.tp as f64 / d as f64)
    }
    /// `None` when the set has no case of the class.
    pub fn recall(&self) -> Option<f64> {
        let d = self.tp + self.fn_;
        (d > 0).then(|| self.tp as f64 / d as f64)
    }
}

/// One language's figures.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LanguageScore {
    pub cases: u32,
    pub correct: u32,
    /// Cases labelled [`NONE`], and how many of them raised a card.
    pub quiet: u32,
    pub false_cards: u32,
    pub per_class: BTreeMap<String, ClassCounts>,
    /// The misses, `(line, expected, predicted, text)`, for reading.
    pub errors: Vec<(usize, String, String, String)>,
}

impl LanguageScore {
    pub fn accuracy(&self) -> f64 {
        if self.cases == 0 {
            return 0.0;
        }
        self.correct as f64 / self.cases as f64
    }
    pub fn false_card_rate(&self) -> f64 {
        if self.quiet == 0 {
            return 0.0;
        }
        self.false_cards as f64 / self.quiet as f64
    }
}

/// Figures per language.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Score {
    pub by_language: BTreeMap<&'static str, LanguageScore>,
}

/// Scores `predict` (a label per utterance, [`NONE`] for no card) on `cases`.
pub fn score(cases: &[Case], mut predict: impl FnMut(&Case) -> String) -> Score {
    let mut s = Score::default();
    for case in cases {
        let got = predict(case);
        let lang = s.by_language.entry(case.language.as_str()).or_default();
        lang.cases += 1;
        if case.label == NONE {
            lang.quiet += 1;
            if got != NONE {
                lang.false_cards += 1;
            }
        }
        if got == case.label {
            lang.correct += 1;
            if got != NONE {
                lang.per_class.entry(got).or_default().tp += 1;
            }
            continue;
        }
        if got != NONE {
            lang.per_class.entry(got.clone()).or_default().fp += 1;
        }
        if case.label != NONE {
            lang.per_class.entry(case.label.clone()).or_default().fn_ += 1;
        }
        lang.errors.push((case.line, case.label.clone(), got, case.text.clone()));
    }
    s
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct =
            |v: Option<f64>| v.map(|v| format!("{:5.1} %", v * 100.0)).unwrap_or_else(|| "    –  ".into());
        for (lang, s) in &self.by_language {
            writeln!(
                f,
                "  {lang}: {} utterances, accuracy {:.1} %, false cards {} of {} quiet ({:.1} %)",
                s.cases,
                s.accuracy() * 100.0,
                s.false_cards,
                s.quiet,
                s.false_card_rate() * 100.0
            )?;
            for class in classes() {
                let c = s.per_class.get(class).copied().unwrap_or_default();
                writeln!(f, "    {class:<22} precision {}  recall {}", pct(c.precision()), pct(c.recall()))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> String {
        domain::copilot::text::normalize(text).join(" ")
    }

    #[test]
    fn the_set_parses_and_covers_every_class_in_both_languages() {
        let cases = cases();
        for lang in [Locale::En, Locale::Fr] {
            let mine: Vec<&Case> = cases.iter().filter(|c| c.language == lang).collect();
            assert!(mine.len() >= 150, "{lang:?}: {} cases", mine.len());
            for class in classes() {
                let n = mine.iter().filter(|c| c.label == class).count();
                assert!(n >= 12, "{lang:?} {class}: {n} cases");
            }
            let quiet = mine.iter().filter(|c| c.label == NONE).count();
            assert!(quiet * 3 >= mine.len(), "{lang:?}: a large share says nothing to object to ({quiet})");
        }
        // No sentence twice, within a set or across the three.
        let mut seen = std::collections::HashSet::new();
        for c in cases.iter().chain(&blind_cases()) {
            assert!(seen.insert(key(&c.text)), "line {}: repeated: {}", c.line, c.text);
        }
    }

    /// Examples teach the matcher; the evaluation set measures it. A
    /// sentence in both would measure memory, not understanding.
    #[test]
    fn no_evaluation_utterance_is_a_matcher_example() {
        let examples: std::collections::HashSet<String> =
            domain::copilot::examples::examples().iter().map(|e| key(e.text)).collect();
        for c in cases().into_iter().chain(blind_cases()) {
            assert!(!examples.contains(&key(&c.text)), "line {} is a training example: {}", c.line, c.text);
        }
    }

    /// The floor the phrase rules hold on the set (measured 2026-12-05:
    /// accuracy 41.6 % English, 45.2 % French; opt-out recall 60 / 75 %).
    /// Raised as detection improves; a change that lowers it is a regression.
    #[test]
    fn the_rules_hold_their_floor() {
        let s = score(&cases(), |c| rules_label(&c.text));
        for (lang, accuracy, false_cards, opt_out_recall) in
            [("en", 0.40, 0.17, 0.55), ("fr", 0.43, 0.16, 0.70)]
        {
            let l = &s.by_language[lang];
            assert!(l.accuracy() >= accuracy, "{lang}: accuracy {:.3}\n{s}", l.accuracy());
            assert!(
                l.false_card_rate() <= false_cards,
                "{lang}: false cards {:.3}\n{s}",
                l.false_card_rate()
            );
            let recall = l.per_class["opt_out"].recall().unwrap_or(0.0);
            assert!(recall >= opt_out_recall, "{lang}: opt-out recall {recall:.3}\n{s}");
        }
    }

    #[test]
    fn every_class_is_a_kind_and_opt_out_is_one() {
        assert_eq!(classes().len(), ObjectionKind::ALL.len());
        assert!(classes().contains(&"opt_out"));
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(parse("en\tnone\n").unwrap_err().contains("line 1"));
        assert!(parse("de\tnone\thallo\n").unwrap_err().contains("language"));
        assert!(parse("en\tangry\thi\n").unwrap_err().contains("label"));
        assert_eq!(parse("# c\n\nen\tnone\thi there\n").unwrap().len(), 1);
    }

    #[test]
    fn scoring_counts_cards_misses_and_false_alarms() {
        let cases = parse("en\ttoo_expensive\ta\nen\tnone\tb\nen\tnone\tc\nen\tsend_email\td\n").unwrap();
        let s = score(&cases, |c| match c.text.as_str() {
            "a" => "too_expensive".into(),
            "b" => "too_expensive".into(),
            _ => NONE.into(),
        });
        let en = &s.by_language["en"];
        assert_eq!((en.cases, en.correct, en.quiet, en.false_cards), (4, 2, 2, 1));
        let te = en.per_class["too_expensive"];
        assert_eq!((te.tp, te.fp, te.fn_), (1, 1, 0));
        assert_eq!(en.per_class["send_email"].recall(), Some(0.0));
        assert_eq!(en.errors.len(), 2);
    }
}
