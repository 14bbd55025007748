//! BERT's uncased WordPiece tokenizer, as Hugging Face's `BertTokenizer`
//! (and the fast `tokenizers` pipeline: BertNormalizer → BertPreTokenizer →
//! WordPiece) applies it for MiniLM: clean the text, space out CJK
//! characters, strip accents and lowercase, split on whitespace and on every
//! punctuation character, then cut each word into the longest pieces the
//! vocabulary knows. Ids must match the reference exactly — a different id
//! is a different input to the model — so the conformance fixture checks
//! them token for token.

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

use crate::EmbedError;

/// Words longer than this (in characters) become `[UNK]`, as in BERT.
const MAX_WORD_CHARS: usize = 100;

#[derive(Debug, Clone)]
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    pub(crate) cls: u32,
    pub(crate) sep: u32,
    unk: u32,
}

impl WordPiece {
    /// Reads a `vocab.txt`: one token per line, the id is the line number.
    pub fn from_vocab(text: &str) -> Result<Self, EmbedError> {
        let vocab: HashMap<String, u32> =
            text.lines().enumerate().map(|(i, t)| (t.trim_end_matches('\r').to_string(), i as u32)).collect();
        let id = |t: &str| vocab.get(t).copied().ok_or_else(|| EmbedError::Vocab(format!("no {t} token")));
        Ok(WordPiece { cls: id("[CLS]")?, sep: id("[SEP]")?, unk: id("[UNK]")?, vocab })
    }

    pub fn vocab_len(&self) -> usize {
        self.vocab.len()
    }

    /// `[CLS] pieces… [SEP]`, at most `max_len` ids in all.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let mut ids = vec![self.cls];
        let budget = max_len.saturating_sub(1);
        'words: for word in pre_tokenize(&normalize(text)) {
            for id in self.pieces(&word) {
                if ids.len() >= budget {
                    break 'words;
                }
                ids.push(id);
            }
        }
        ids.push(self.sep);
        ids
    }

    /// Greedy longest-match-first, continuation pieces prefixed `##`; a word
    /// with any part the vocabulary lacks is one `[UNK]`.
    fn pieces(&self, word: &str) -> Vec<u32> {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() > MAX_WORD_CHARS {
            return vec![self.unk];
        }
        let mut out = Vec::new();
        let mut start = 0;
        let mut candidate = String::new();
        while start < chars.len() {
            let from = chars[start].0;
            let mut found = None;
            for end in (start + 1..=chars.len()).rev() {
                let to = chars.get(end).map_or(word.len(), |c| c.0);
                candidate.clear();
                if start > 0 {
                    candidate.push_str("##");
                }
                candidate.push_str(&word[from..to]);
                if let Some(id) = self.vocab.get(candidate.as_str()) {
                    found = Some((*id, end));
                    break;
                }
            }
            let Some((id, end)) = found else { return vec![self.unk] };
            out.push(id);
            start = end;
        }
        out
    }
}

/// Clean-up, CJK spacing, accent stripping and lowercasing (BertNormalizer
/// with `clean_text`, `handle_chinese_chars`, `lowercase`, and accents
/// stripped because lowercasing is on).
pub fn normalize(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            cleaned.push(' ');
        } else if is_cjk(c) {
            cleaned.push(' ');
            cleaned.push(c);
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    cleaned
        .nfd()
        .filter(|c| c.general_category() != GeneralCategory::NonspacingMark)
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits on whitespace, and isolates every punctuation character.
pub fn pre_tokenize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for chunk in text.split(is_whitespace).filter(|w| !w.is_empty()) {
        let mut current = String::new();
        for c in chunk.chars() {
            if is_punctuation(c) {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                words.push(c.to_string());
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    words
}

fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r') || c.general_category() == GeneralCategory::SpaceSeparator
}

fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Unassigned
            | GeneralCategory::PrivateUse
    )
}

/// BERT counts every non-alphanumeric ASCII character as punctuation ("$",
/// "^", "`"…), plus Unicode's punctuation categories.
fn is_punctuation(c: char) -> bool {
    matches!(c as u32, 33..=47 | 58..=64 | 91..=96 | 123..=126)
        || c.general_category_group() == GeneralCategoryGroup::Punctuation
}

/// The CJK Unified Ideographs blocks BERT spaces out (not Hangul or kana).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B820..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> WordPiece {
        let vocab = [
            "[PAD]",
            "[UNK]",
            "[CLS]",
            "[SEP]",
            "too",
            "expensive",
            "it",
            "'",
            "s",
            "un",
            "##aff",
            "##able",
            "!",
            "cafe",
            "##ord",
            "中",
            "。",
        ];
        WordPiece::from_vocab(&vocab.join("\n")).unwrap()
    }

    #[test]
    fn normalizes_like_bert() {
        assert_eq!(normalize("Café  CRÈME\tNaïve"), "cafe  creme naive");
        assert_eq!(normalize("a\u{200b}b\u{0}c\u{fffd}"), "abc", "format and control characters dropped");
        assert_eq!(normalize("中文"), " 中  文 ");
    }

    #[test]
    fn splits_punctuation_and_whitespace() {
        assert_eq!(
            pre_tokenize("it's $5,000… really?!"),
            ["it", "'", "s", "$", "5", ",", "000", "…", "really", "?", "!"]
        );
        assert!(pre_tokenize(" \n\t ").is_empty());
    }

    #[test]
    fn greedy_longest_match_with_continuations() {
        let wp = tiny();
        assert_eq!(wp.encode("It's TOO expensive!", 64), [2, 6, 7, 8, 4, 5, 12, 3]);
        assert_eq!(wp.encode("unaffable", 64), [2, 9, 10, 11, 3]);
        // One unknown piece makes the whole word unknown.
        assert_eq!(wp.encode("unaffordx", 64), [2, 1, 3]);
        assert_eq!(wp.encode("Café", 64), [2, 13, 3]);
        assert_eq!(wp.encode("中。", 64), [2, 15, 16, 3]);
        assert_eq!(wp.encode(&"a".repeat(101), 64), [2, 1, 3], "over-long words are unknown");
    }

    #[test]
    fn truncates_to_the_budget_and_handles_empty_text() {
        let wp = tiny();
        assert_eq!(wp.encode("", 64), [2, 3]);
        let long = "too ".repeat(1000);
        let ids = wp.encode(&long, 8);
        assert_eq!(ids.len(), 8);
        assert_eq!((ids[0], ids[7]), (2, 3));
    }

    #[test]
    fn a_vocabulary_without_special_tokens_is_refused() {
        assert!(WordPiece::from_vocab("a\nb\n").is_err());
    }
}
