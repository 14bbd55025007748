//! Which of the copilot's languages an utterance is in, from its commonest
//! words — enough to pick the per-language thresholds for a sentence that
//! could come from either side of a bilingual call.

use super::text::normalize;
use crate::Locale;

/// Frequent words of each language that the other rarely uses (normalised:
/// lower case, no accents, split at apostrophes).
const ENGLISH: &[&str] = &[
    "the", "i", "you", "we", "it", "is", "are", "not", "don", "t", "s", "that", "this", "to", "and", "of",
    "for", "my", "your", "our", "have", "with", "me", "just", "what", "can", "will", "be", "do", "no", "yes",
    "yeah", "m", "re", "ll", "call", "us", "they", "at", "about", "right", "now", "get", "send", "too",
];
const FRENCH: &[&str] = &[
    "le", "la", "les", "de", "des", "du", "un", "une", "je", "j", "vous", "nous", "on", "c", "est", "pas",
    "ne", "n", "ce", "ca", "que", "qu", "et", "pour", "mon", "ma", "mes", "votre", "vos", "notre", "avec",
    "moi", "oui", "non", "d", "l", "m", "en", "sur", "tout", "bien", "plus", "faut", "suis", "avez", "merci",
    "rappelez",
];

/// The more likely language of `text`; French when the words say so,
/// English otherwise.
pub fn guess(text: &str) -> Locale {
    let words = normalize(text);
    let score = |list: &[&str]| words.iter().filter(|w| list.contains(&w.as_str())).count();
    if score(FRENCH) > score(ENGLISH) {
        Locale::Fr
    } else {
        Locale::En
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_two_languages_apart() {
        for en in ["that's way too expensive for us", "call me back next week", "no", "we use Salesforce"] {
            assert_eq!(guess(en), Locale::En, "{en}");
        }
        for fr in [
            "c'est trop cher pour nous",
            "rappelez-moi la semaine prochaine",
            "j'ai pas le temps",
            "ça ne m'intéresse pas",
            "non merci",
        ] {
            assert_eq!(guess(fr), Locale::Fr, "{fr}");
        }
    }
}
