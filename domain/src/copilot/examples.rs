//! Training examples for the objection classifier (`examples.tsv`): how
//! prospects say each objection in English and French — curt, polite,
//! rambling, as a speech-to-text engine writes it — and, labelled `none`, a
//! larger share of what they say that is not one: negations ("price isn't
//! the issue"), questions, hypotheticals, reported speech, positive answers,
//! discovery answers, small talk. The hard negatives are what teach the
//! classifier when *not* to raise a card.
//!
//! The evaluation set that measures the classifier lives apart
//! (`services/src/copilot/evaluation.tsv`) and shares no sentence with this
//! one; a test there checks.

use std::sync::LazyLock;

use super::objection::ObjectionKind;
use crate::Locale;

/// `language<TAB>label<TAB>text` lines; `#` comments; one header line.
pub const SOURCE: &str = include_str!("examples.tsv");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    pub language: Locale,
    /// `None`: not an objection.
    pub kind: Option<ObjectionKind>,
    pub text: &'static str,
}

/// Every example, in file order.
pub fn examples() -> &'static [Example] {
    static ALL: LazyLock<Vec<Example>> =
        LazyLock::new(|| parse(SOURCE).unwrap_or_else(|e| panic!("examples.tsv: {e}")));
    &ALL
}

/// The examples of `source` (the format of [`SOURCE`]); an unreadable line
/// is an error naming it.
pub fn parse(source: &'static str) -> Result<Vec<Example>, String> {
    let mut out = Vec::new();
    for (i, line) in source.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') || line == "language\tlabel\ttext" {
            continue;
        }
        let mut f = line.splitn(3, '\t');
        let (Some(lang), Some(label), Some(text)) = (f.next(), f.next(), f.next()) else {
            return Err(format!("line {}: expected three tab-separated fields", i + 1));
        };
        let language = Locale::parse(lang).ok_or_else(|| format!("line {}: language {lang:?}", i + 1))?;
        let kind = match label {
            "none" => None,
            l => Some(ObjectionKind::parse(l).ok_or_else(|| format!("line {}: label {l:?}", i + 1))?),
        };
        if text.trim().is_empty() {
            return Err(format!("line {}: empty text", i + 1));
        }
        out.push(Example { language, kind, text });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_examples_in_both_languages_and_most_are_not_objections() {
        let all = examples();
        for language in [Locale::En, Locale::Fr] {
            let of = |k: Option<ObjectionKind>| {
                all.iter().filter(|e| e.language == language && e.kind == k).count()
            };
            for kind in ObjectionKind::ALL {
                assert!(of(Some(kind)) >= 40, "{language:?} {kind:?}: {}", of(Some(kind)));
            }
            assert!(of(None) >= 250, "{language:?}: {} neutral examples", of(None));
        }
    }

    #[test]
    fn no_sentence_is_there_twice() {
        let mut seen = std::collections::HashSet::new();
        for e in examples() {
            let key: String = e.text.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(seen.insert(key), "repeated: {}", e.text);
        }
    }

    #[test]
    fn unreadable_lines_are_named() {
        assert!(parse("en\tnone").unwrap_err().contains("line 1"));
        assert!(parse("de\tnone\thallo").unwrap_err().contains("language"));
        assert!(parse("en\tangry\thello").unwrap_err().contains("label"));
        assert!(parse("# c\nen\tnone\t \n").unwrap_err().contains("line 2"));
        assert_eq!(parse("en\topt_out\tstop calling\n").unwrap()[0].kind, Some(ObjectionKind::OptOut));
    }
}
