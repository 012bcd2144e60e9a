//! Keeps personal data and secrets out of logs. Use the typed helpers when the kind of value is known and
//! [`scrub`] for free text that may contain anything (provider error messages, user input echoed back).

use std::fmt;

/// `jane.doe@example.com` → `j***@example.com`.
pub fn email(value: &str) -> String {
    match value.split_once('@') {
        Some((local, domain)) if !local.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        _ => "***".to_owned(),
    }
}

/// `+819012345678` → `+81******5678`: enough to tell numbers apart in a support case, not enough to call.
pub fn phone(value: &str) -> String {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return "***".to_owned();
    }
    let prefix: String = digits[..2].iter().collect();
    let suffix: String = digits[digits.len() - 4..].iter().collect();
    let plus = if value.trim_start().starts_with('+') {
        "+"
    } else {
        ""
    };
    format!("{plus}{prefix}{}{suffix}", "*".repeat(digits.len() - 6))
}

/// Tokens and passwords are never shown, not even in part.
pub fn secret(_value: &str) -> &'static str {
    "[redacted]"
}

/// Masks e-mail addresses, phone-like digit runs and bearer tokens / `key=value` secrets in free text.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut hide_next = false;
    for word in text.split_inclusive(char::is_whitespace) {
        let trimmed = word.trim_end();
        let trailing = &word[trimmed.len()..];
        let lower = trimmed.to_ascii_lowercase();
        let masked = if hide_next && !trimmed.is_empty() {
            hide_next = false;
            "[redacted]".to_owned()
        } else if lower == "bearer" || lower == "basic" {
            // The credential follows the scheme.
            hide_next = true;
            trimmed.to_owned()
        } else if let Some(masked) = mask_assignment(trimmed) {
            masked
        } else if looks_like_email(trimmed) {
            email(trimmed)
        } else if looks_like_phone(trimmed) {
            phone(trimmed)
        } else {
            trimmed.to_owned()
        };
        out.push_str(&masked);
        out.push_str(trailing);
    }
    out
}

const SECRET_KEYS: [&str; 8] = [
    "password",
    "passwd",
    "secret",
    "token",
    "access_token",
    "refresh_token",
    "api_key",
    "authorization",
];

fn mask_assignment(word: &str) -> Option<String> {
    let (key, _) = word.split_once(['=', ':'])?;
    let bare = key
        .trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .to_ascii_lowercase();
    SECRET_KEYS
        .iter()
        .any(|secret| bare.ends_with(secret))
        .then(|| format!("{}=[redacted]", key))
}

fn looks_like_email(word: &str) -> bool {
    word.split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

fn looks_like_phone(word: &str) -> bool {
    let digits = word.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')' | '.'))
}

/// Wraps a value so that `Debug` and `Display` never print it, for struct fields that end up in spans.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted<T>(pub T);

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_keep_only_their_first_letter_and_domain() {
        assert_eq!(email("jane.doe@example.com"), "j***@example.com");
        assert_eq!(email("not-an-email"), "***");
    }

    #[test]
    fn phones_keep_country_prefix_and_last_four_digits() {
        assert_eq!(phone("+819012345678"), "+81******5678");
        assert_eq!(phone("123"), "***");
    }

    #[test]
    fn scrub_masks_every_kind_of_personal_data_in_free_text() {
        let text = "user jane@example.com phone +819012345678 sent Bearer abc.def.ghi with password=hunter2";
        let scrubbed = scrub(text);
        assert!(!scrubbed.contains("jane@"), "{scrubbed}");
        assert!(!scrubbed.contains("9012345"), "{scrubbed}");
        assert!(!scrubbed.contains("abc.def.ghi"), "{scrubbed}");
        assert!(!scrubbed.contains("hunter2"), "{scrubbed}");
        assert!(scrubbed.contains("example.com"), "{scrubbed}");
    }

    #[test]
    fn redacted_values_never_print() {
        let token = Redacted("secret-token".to_owned());
        assert_eq!(format!("{token:?} {token}"), "[redacted] [redacted]");
    }
}
