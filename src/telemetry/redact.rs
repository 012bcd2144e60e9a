//! Keeps personal data and secrets out of logs. Use the typed helpers when the kind of value is known and
//! [`scrub`] for free text that may contain anything (provider error messages, user input echoed back).
//! Personal fields of provider payloads are [`Pii`], so a derived `Debug` of the payload never shows them.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

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
        } else if let Some(stripped) = strip_url_query(trimmed) {
            stripped
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

/// `https://host/path?q=…` → `https://host/path?[redacted]`: a query string may carry anything (a SOQL
/// query with an e-mail in it, percent-encoded).
fn strip_url_query(word: &str) -> Option<String> {
    let start = word.find("://")?;
    let query = start + word[start..].find('?')?;
    let closing = if word.ends_with(')') { ")" } else { "" };
    Some(format!("{}?[redacted]{closing}", &word[..query]))
}

fn looks_like_email(word: &str) -> bool {
    // Percent-encoded (`jane%40example.com`), as in a query string or a form body.
    let lower = word.to_ascii_lowercase();
    let word = if lower.contains("%40") {
        lower.replace("%40", "@")
    } else {
        lower
    };
    word.split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

/// Masks every single-quoted literal of SOQL (or of a provider message echoing it): `Email = 'jane@x.jp'` →
/// `Email = '***'`. Field and object names stay, so the text still tells what the query did.
pub fn soql_literals(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_literal = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_literal {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '\'' {
                in_literal = false;
                out.push_str("***'");
            }
            continue;
        }
        out.push(c);
        if c == '\'' {
            in_literal = true;
        }
    }
    if in_literal {
        out.push_str("***");
    }
    out
}

fn looks_like_phone(word: &str) -> bool {
    let digits = word.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')' | '.'))
}

/// Wraps a value so that `Debug` and `Display` never print it, for struct fields that end up in spans. Unlike
/// [`Pii`] it also prints as `[redacted]` through `Display`, so it suits values that are never written out.
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

/// Personal data in a provider payload or request: a name, an e-mail address, a phone number, a postal
/// address, card details, text a customer wrote. On the wire it is exactly the value (`serde(transparent)`),
/// and code reads it through `Deref` (`raw.email.trim()`, `present(&raw.email)`), but `Debug` prints
/// `Pii(***)`, so `#[derive(Debug)]` on the payload stays safe to log. There is deliberately no `Display`:
/// writing the value into text (a message, a request built with `format!`) takes an explicit
/// [`expose`](Pii::expose) or [`into_inner`](Pii::into_inner).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pii<T>(T);

impl<T> Pii<T> {
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The value, for a mapper or a request that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pii(***)")
    }
}

impl<T> Deref for Pii<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// So helpers taking `impl AsRef<str>` accept a `&Pii<String>` as they accept a `&String`.
impl<T: AsRef<U>, U: ?Sized> AsRef<U> for Pii<T> {
    fn as_ref(&self) -> &U {
        self.0.as_ref()
    }
}

impl<T> From<T> for Pii<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl From<&str> for Pii<String> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl PartialEq<str> for Pii<String> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Pii<String> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Pii<String> {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
#[path = "redact_proptests.rs"]
mod proptests;

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
    fn scrub_hides_query_strings_and_percent_encoded_emails() {
        let text = "error sending request for url (https://sf.example/services/data/v60.0/query?q=SELECT+Id+FROM+Contact+WHERE+Email+%3D+%27jane%40example.com%27) and jane%40example.com";
        let scrubbed = scrub(text);
        assert!(!scrubbed.contains("jane"), "{scrubbed}");
        assert!(!scrubbed.contains("%40"), "{scrubbed}");
        assert!(
            scrubbed.contains("https://sf.example/services/data/v60.0/query?[redacted])"),
            "{scrubbed}"
        );
    }

    #[test]
    fn soql_literals_are_masked_and_names_kept() {
        assert_eq!(
            soql_literals(
                "SELECT Id FROM Contact WHERE Email = 'jane@example.com' AND LastName = 'O\\'Neil'"
            ),
            "SELECT Id FROM Contact WHERE Email = '***' AND LastName = '***'"
        );
        assert_eq!(
            soql_literals("unexpected token: 'jane"),
            "unexpected token: '***"
        );
    }

    #[test]
    fn redacted_values_never_print() {
        let token = Redacted("secret-token".to_owned());
        assert_eq!(format!("{token:?} {token}"), "[redacted] [redacted]");
    }

    #[test]
    fn personal_values_never_show_in_debug() {
        let email: Pii<String> = "jane.doe@example.com".into();
        let phone: Option<Pii<String>> = Some("+819012345678".into());
        assert_eq!(format!("{email:?} {phone:?}"), "Pii(***) Some(Pii(***))");
        assert_eq!(format!("{email:#?}"), "Pii(***)");
    }

    #[test]
    fn personal_values_read_like_the_value() {
        let email: Pii<String> = "  jane@example.com ".into();
        assert_eq!(email.trim(), "jane@example.com");
        assert_eq!(email, "  jane@example.com ");
        assert_eq!(*email.expose(), "  jane@example.com ".to_owned());
        let as_str: &str = email.as_ref();
        assert_eq!(as_str, "  jane@example.com ");
        assert_eq!(email.clone().into_inner(), "  jane@example.com ");
        assert_eq!(Pii::<String>::default(), "");
    }

    #[test]
    fn personal_values_are_transparent_on_the_wire() {
        #[derive(Debug, PartialEq, Deserialize, Serialize)]
        struct Contact {
            #[serde(rename = "Email", default)]
            email: Option<Pii<String>>,
            #[serde(rename = "Phone", default)]
            phone: Pii<String>,
        }
        let wire = serde_json::json!({ "Email": "jane@example.com", "Phone": "+819012345678" });
        let contact: Contact =
            serde_json::from_value(wire.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            contact.email.as_deref().map(String::as_str),
            Some("jane@example.com")
        );
        assert_eq!(serde_json::to_value(&contact).ok(), Some(wire));
        let empty: Contact = serde_json::from_value(serde_json::json!({ "Email": null }))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            empty,
            Contact {
                email: None,
                phone: Pii::default()
            }
        );
    }
}
