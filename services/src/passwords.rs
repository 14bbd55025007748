//! Password strength, estimated the way an attacker would guess: zxcvbn
//! (dictionaries of common passwords, names and words, keyboard patterns,
//! sequences, repeats, dates, l33t substitutions) with the account's own
//! e-mail and name as extra dictionary words. Runs on the server only: the
//! dictionaries would add most of a megabyte to the browser bundle, where
//! the quick length and variety rules of `domain::validation` answer as
//! the user types.

use domain::ErrorCode;
use zxcvbn::feedback::Warning;
use zxcvbn::Score;

use crate::{ServiceError, ServiceResult};

/// zxcvbn's "safely unguessable: moderate protection from offline
/// slow-hash scenario" (about 10^10 guesses).
const MIN_SCORE: Score = Score::Three;

/// Refuses a password zxcvbn scores below [`MIN_SCORE`]. The error's detail
/// is a hint key (`keyboard`, `repeats`, `sequence`, `dates`, `common`,
/// `guessable`) that the form translates.
pub fn check_strength(password: &str, user_inputs: &[&str]) -> ServiceResult<()> {
    // zxcvbn's work grows with length; past this, length alone is strength
    // (and the length cap of `domain::validation` applies anyway).
    let probe: String = password.chars().take(64).collect();
    let inputs: Vec<&str> = user_inputs
        .iter()
        .flat_map(|s| s.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().count() >= 3)
        .collect();
    let estimate = zxcvbn::zxcvbn(&probe, &inputs);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let hint = estimate.feedback().and_then(|f| f.warning()).map(hint_key).unwrap_or("guessable");
    Err(ServiceError::field(ErrorCode::WeakPassword, "password").with_detail(hint))
}

fn hint_key(w: Warning) -> &'static str {
    match w {
        Warning::StraightRowsOfKeysAreEasyToGuess | Warning::ShortKeyboardPatternsAreEasyToGuess => {
            "keyboard"
        }
        Warning::RepeatsLikeAaaAreEasyToGuess | Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => {
            "repeats"
        }
        Warning::SequencesLikeAbcAreEasyToGuess => "sequence",
        Warning::RecentYearsAreEasyToGuess | Warning::DatesAreOftenEasyToGuess => "dates",
        Warning::ThisIsATop10Password
        | Warning::ThisIsATop100Password
        | Warning::ThisIsACommonPassword
        | Warning::ThisIsSimilarToACommonlyUsedPassword
        | Warning::AWordByItselfIsEasyToGuess
        | Warning::NamesAndSurnamesByThemselvesAreEasyToGuess
        | Warning::CommonNamesAndSurnamesAreEasyToGuess => "common",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(p: &str, inputs: &[&str]) -> Option<String> {
        check_strength(p, inputs).err().map(|e| e.detail.unwrap_or_default())
    }

    #[test]
    fn guessable_passwords_are_refused_with_a_hint() {
        assert_eq!(hint("asdfghjkl;", &[]).as_deref(), Some("keyboard"));
        assert_eq!(hint("qwertyuiop123", &[]).as_deref(), Some("common"));
        assert_eq!(hint("abcdefghijk", &[]).as_deref(), Some("sequence"));
        assert_eq!(hint("aaaaaaaaaaaa", &[]).as_deref(), Some("repeats"));
        assert_eq!(hint("19851985abc", &[]).as_deref(), Some("repeats"));
        assert_eq!(hint("P@ssw0rd2024", &[]).as_deref(), Some("common"), "l33t of a common password");
        assert_eq!(hint("iloveyou12345", &[]).as_deref(), Some("common"));
    }

    #[test]
    fn strong_passwords_pass() {
        assert_eq!(hint("correct horse battery staple", &["ada@example.com"]), None);
        assert_eq!(hint("vT9#qL2!mZ8@wR4", &[]), None);
        assert_eq!(hint(&"long passphrase with many words ".repeat(20), &[]), None);
    }
}
