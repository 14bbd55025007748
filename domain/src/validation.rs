//! Input validation shared by the browser (instant inline errors) and the
//! server (the authority). Every function returns the normalised value.

use crate::error::{ErrorCode, FieldError};

pub const PASSWORD_MIN_CHARS: usize = 10;
/// Argon2 work grows with input; a generous cap stops hash-flooding.
pub const PASSWORD_MAX_BYTES: usize = 256;
pub const NAME_MAX_CHARS: usize = 100;
pub const EMAIL_MAX_BYTES: usize = 254;

/// Passwords that pass a length rule but appear at the top of every breach list.
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "12345678910",
    "0123456789",
    "qwertyuiop",
    "password123",
    "password1234",
    "passwordpassword",
    "iloveyou123",
    "qwerty12345",
    "qwerty123456",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "abcdefghij",
    "abc1234567",
    "letmein123",
    "welcome123",
    "administrator",
    "motdepasse",
    "motdepasse123",
    "azertyuiop",
    "azerty12345",
    "changeme123",
    "football123",
    "0000000000",
    "1111111111",
    "aaaaaaaaaa",
    "trustno1234",
    "sunshine123",
    "princess123",
    "dragon12345",
];

/// Trims, lowercases and checks an email address. Deliberately conservative:
/// one `@`, a non-empty local part without spaces, a dotted domain of LDH labels.
pub fn normalize_email(input: &str) -> Result<String, FieldError> {
    let err = || FieldError::new("email", ErrorCode::InvalidEmail);
    let email = input.trim().to_lowercase();
    if email.is_empty() || email.len() > EMAIL_MAX_BYTES {
        return Err(err());
    }
    let (local, domain) = email.split_once('@').ok_or_else(err)?;
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
        || local.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c))
    {
        return Err(err());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        || labels.last().is_some_and(|tld| tld.len() < 2 || tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(err());
    }
    Ok(email)
}

/// Password rules in the spirit of NIST SP 800-63B: length over composition,
/// reject well-known and trivially guessable values. `email` lets us refuse a
/// password that merely repeats the account name.
pub fn check_password(password: &str, email: Option<&str>) -> Result<(), FieldError> {
    let weak = || FieldError::new("password", ErrorCode::WeakPassword);
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(FieldError::new("password", ErrorCode::PasswordTooLong));
    }
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(weak());
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.contains(&lower.as_str()) {
        return Err(weak());
    }
    let mut distinct: Vec<char> = lower.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 5 {
        return Err(weak());
    }
    if let Some(local) = email.and_then(|e| e.split('@').next()) {
        if local.len() >= 4 && lower.contains(&local.to_lowercase()) {
            return Err(weak());
        }
    }
    Ok(())
}

/// A human or organisation name: trimmed, inner whitespace collapsed, 1..=100 chars,
/// no control characters.
pub fn normalize_name(field: &str, input: &str) -> Result<String, FieldError> {
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(FieldError::new(field, ErrorCode::NameRequired));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(FieldError::new(field, ErrorCode::NameTooLong));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(field, ErrorCode::Validation));
    }
    Ok(name)
}

/// URL-safe identifier derived from a name ("Acme Sàrl" → "acme-sarl").
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = fold_accent(c).to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    let mut s: String = trimmed.chars().take(48).collect();
    if s.is_empty() {
        s.push_str("org");
    }
    s
}

/// The page to return to after signing in (`?next=`), if it is safe to
/// follow: a path on this site. Anything that a browser could resolve to
/// another origin (`//evil`, `/\evil`, `https:…`, control characters that
/// browsers strip) is refused, so the parameter cannot become an open redirect.
pub fn local_return_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && next.len() <= 2048
        && !next.starts_with("//")
        && !next.chars().any(|c| c.is_control() || c == '\\' || c.is_whitespace());
    ok.then_some(next)
}

pub fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'Ò' | 'Ó' | 'Ô' | 'Ö' | 'Õ' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ÿ' | 'ý' | 'Ý' => 'y',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_this_site() {
        for ok in ["/app", "/invite/abc123", "/app/prospects?q=ada&page=2", "/app#x"] {
            assert_eq!(local_return_path(ok), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "app",
            "//evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/\t/evil.example",
            "/ /evil",
            "/app\r\nSet-Cookie: x=1",
        ] {
            assert_eq!(local_return_path(bad), None, "{bad:?}");
        }
        assert_eq!(local_return_path(&format!("/{}", "a".repeat(3000))), None);
    }

    #[test]
    fn emails() {
        assert_eq!(normalize_email("  Ada@Example.COM ").unwrap(), "ada@example.com");
        assert_eq!(normalize_email("a.b+tag@sub.example.fr").unwrap(), "a.b+tag@sub.example.fr");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ad a@example.com",
            "ada@exa mple.com",
            "ada@-example.com",
            "ada@example.c",
            "ada@example.123",
            ".ada@example.com",
            "ada..b@example.com",
            "ada@example..com",
            "<ada>@example.com",
        ] {
            assert_eq!(
                normalize_email(bad).unwrap_err().code,
                ErrorCode::InvalidEmail,
                "{bad:?} should be rejected"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(normalize_email(&long).is_err());
    }

    #[test]
    fn passwords() {
        assert!(check_password("correct horse battery", Some("ada@example.com")).is_ok());
        assert!(check_password("Tr0ub4dor&3x", None).is_ok());
        let weak = |p: &str, e: Option<&str>| check_password(p, e).unwrap_err().code;
        assert_eq!(weak("short1!", None), ErrorCode::WeakPassword);
        assert_eq!(weak("Password123", None), ErrorCode::WeakPassword);
        assert_eq!(weak("aaaaaaaaaaaaaa", None), ErrorCode::WeakPassword);
        assert_eq!(weak("abababababab", None), ErrorCode::WeakPassword);
        assert_eq!(weak("xx-adalovelace-xx", Some("adalovelace@example.com")), ErrorCode::WeakPassword);
        assert_eq!(weak(&"x1y2z3w4v5".repeat(30), None), ErrorCode::PasswordTooLong);
        // Length is counted in characters, not bytes.
        assert!(check_password("éèàùçôîêâû", None).is_ok());
    }

    #[test]
    fn names() {
        assert_eq!(normalize_name("name", "  Acme \t  Corp ").unwrap(), "Acme Corp");
        assert_eq!(normalize_name("name", "   ").unwrap_err().code, ErrorCode::NameRequired);
        assert_eq!(normalize_name("name", &"x".repeat(101)).unwrap_err().code, ErrorCode::NameTooLong);
        assert!(normalize_name("name", &"é".repeat(100)).is_ok());
        assert_eq!(normalize_name("name", "a\u{0007}b").unwrap_err().code, ErrorCode::Validation);
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Acme Sàrl"), "acme-sarl");
        assert_eq!(slugify("  --Hello,  World!! "), "hello-world");
        assert_eq!(slugify("日本"), "org");
    }
}
