//! Cuts streamed model text into sentences, so speech can start on the first
//! one while the model is still writing the rest.

/// Abbreviations whose full stop ends no sentence (English and French).
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "m", "mme", "mlle", "me", "p.ex", "cf", "no",
    "n°",
];

/// Past this many characters without an end, a clause break (comma,
/// semicolon, colon, dash) will do, so a long sentence does not hold the voice back.
const LONG: usize = 160;

#[derive(Debug, Default)]
pub struct SentenceSplitter {
    buf: String,
}

impl SentenceSplitter {
    /// Adds streamed text; returns the sentences it completed.
    pub fn push(&mut self, delta: &str) -> Vec<String> {
        self.buf.push_str(delta);
        let mut out = Vec::new();
        while let Some(end) = boundary(&self.buf) {
            let sentence: String = self.buf.drain(..end).collect();
            let sentence = sentence.trim();
            if !sentence.is_empty() {
                out.push(sentence.to_string());
            }
        }
        out
    }

    /// What is left when the stream ends.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buf);
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }
}

/// Splits a whole text (a first message, a fixed phrase).
pub fn split(text: &str) -> Vec<String> {
    let mut s = SentenceSplitter::default();
    let mut out = s.push(text);
    out.extend(s.finish());
    out
}

/// The byte index just after the first sentence end in `buf`, if one is
/// certain (the next character is already there and is a space).
fn boundary(buf: &str) -> Option<usize> {
    let chars: Vec<(usize, char)> = buf.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        if c == '\n' && buf[..i].trim().len() > 1 {
            return Some(i + 1);
        }
        if !matches!(c, '.' | '!' | '?' | '…') {
            continue;
        }
        // Closing quotes and brackets belong to the sentence.
        let mut j = k + 1;
        // French sets its closing guillemet after a space: « D'accord. »
        if chars.get(j).is_some_and(|c| c.1 == ' ' || c.1 == '\u{a0}')
            && chars.get(j + 1).is_some_and(|c| c.1 == '»')
        {
            j += 1;
        }
        while j < chars.len() && matches!(chars[j].1, '"' | '\'' | '»' | '”' | ')' | '’') {
            j += 1;
        }
        let &(next_i, next) = chars.get(j)?;
        if !next.is_whitespace() {
            continue;
        }
        if c == '.' && is_abbreviation(&buf[..i]) {
            continue;
        }
        if buf[..i].trim().chars().count() < 2 {
            continue;
        }
        return Some(next_i);
    }
    if buf.chars().count() > LONG {
        return buf
            .char_indices()
            .rev()
            .find(|(_, c)| matches!(c, ',' | ';' | ':' | '—'))
            .filter(|&(i, _)| i > 20)
            .map(|(i, c)| i + c.len_utf8());
    }
    None
}

fn is_abbreviation(before: &str) -> bool {
    let word = before.rsplit(|c: char| c.is_whitespace() || c == '(').next().unwrap_or("").to_lowercase();
    ABBREVIATIONS.contains(&word.as_str())
        || (word.chars().count() == 1 && word.chars().all(|c| c.is_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(parts: &[&str]) -> Vec<String> {
        let mut s = SentenceSplitter::default();
        let mut out: Vec<String> = parts.iter().flat_map(|p| s.push(p)).collect();
        out.extend(s.finish());
        out
    }

    #[test]
    fn sentences_come_out_as_soon_as_they_are_certain() {
        let mut s = SentenceSplitter::default();
        assert!(s.push("Hello there").is_empty());
        assert!(s.push(".").is_empty(), "the full stop is certain only once a space follows");
        assert_eq!(s.push(" How are"), vec!["Hello there."]);
        assert_eq!(s.push(" you? I'm"), vec!["How are you?"]);
        assert_eq!(s.finish().as_deref(), Some("I'm"));
    }

    #[test]
    fn abbreviations_numbers_and_french_punctuation() {
        assert_eq!(
            stream(&["Dr. Smith paid 3.5 million. ", "M. Dupont est là ? Oui !", " « D'accord. » Bien."]),
            vec!["Dr. Smith paid 3.5 million.", "M. Dupont est là ?", "Oui !", "« D'accord. »", "Bien."]
        );
        assert_eq!(split("Wait... what?! Fine"), vec!["Wait...", "what?!", "Fine"]);
    }

    #[test]
    fn a_long_sentence_breaks_after_a_dash_whatever_its_width() {
        let long = format!("{} — and then, well, {}", "mot ".repeat(30), "encore ".repeat(20));
        let parts = stream(&[&long]);
        assert!(
            parts.len() >= 2
                && parts.concat().chars().filter(|c| !c.is_whitespace()).count()
                    == long.chars().filter(|c| !c.is_whitespace()).count(),
            "{parts:?}"
        );
        let dash_only = format!("{}—{}", "é".repeat(100), "è".repeat(100));
        assert_eq!(stream(&[&dash_only]).concat(), dash_only);
    }

    #[test]
    fn a_long_sentence_breaks_at_a_clause() {
        let long = format!("{}, and then some more words follow", "word ".repeat(40));
        let parts = stream(&[&long]);
        assert!(parts.len() >= 2, "{parts:?}");
        assert!(parts.iter().all(|p| !p.is_empty()));
        assert_eq!(parts.join(" ").split_whitespace().count(), long.split_whitespace().count());
    }
}
