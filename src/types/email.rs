//! An email address as accounts are keyed by it: trimmed and lower-cased (so emails are unique
//! case-insensitively), at most 254 bytes, with a deliberately plain shape check; deliverability is the
//! mailer's job.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use validator::ValidationError;

use crate::errors::{FieldError, rule};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Enter a valid email address.")]
pub struct InvalidEmail;

impl InvalidEmail {
    /// The field error [`Email::check`] reports, for a caller that parses without validating first.
    pub fn at(self, field: &str) -> FieldError {
        FieldError::new(field, "invalid", self.to_string())
    }
}

impl Email {
    pub const MAX_LENGTH: usize = 254;

    /// Trimmed and lower-cased: the form accounts are stored and looked up by, valid or not.
    pub fn normalize(raw: &str) -> String {
        raw.trim().to_lowercase()
    }

    pub fn parse(raw: &str) -> Result<Email, InvalidEmail> {
        let email = Self::normalize(raw);
        if is_plausible(&email) {
            Ok(Email(email))
        } else {
            Err(InvalidEmail)
        }
    }

    /// The `validator` rule for an email field: `invalid`.
    pub fn check(raw: &str) -> Result<(), ValidationError> {
        Self::parse(raw)
            .map(drop)
            .map_err(|error| rule("invalid", error.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One `@`, a dot in the domain (not at its ends), no whitespace, at most 254 bytes.
fn is_plausible(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= Email::MAX_LENGTH
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
        && !domain.contains('@')
}

impl FromStr for Email {
    type Err = InvalidEmail;

    fn from_str(raw: &str) -> Result<Self, InvalidEmail> {
        Self::parse(raw)
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidEmail;

    fn try_from(raw: String) -> Result<Self, InvalidEmail> {
        Self::parse(&raw)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("  Jane.Doe@EXAMPLE.com ").map(|e| e.as_str().to_owned()),
            Ok("jane.doe@example.com".to_owned())
        );
        assert_eq!(
            Email::parse("ÉLODIE@exemple.fr").map(|e| e.to_string()),
            Ok("élodie@exemple.fr".to_owned())
        );
    }

    #[test]
    fn implausible_emails_are_refused() {
        let long = format!("{}@example.com", "a".repeat(243));
        assert!(Email::parse(&long).is_err());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(242))).is_ok());
        for bad in [
            "",
            "   ",
            "not-an-email",
            "@example.com",
            "a@example",
            "a@.example.com",
            "a@example.com.",
            "a b@example.com",
            "a@b@example.com",
            "a@exa\u{3000}mple.com",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad:?}");
            assert!(Email::check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_deserialised_email_is_checked() {
        let ok: Result<Email, _> = serde_json::from_str("\"A@Example.com\"");
        assert_eq!(ok.map(String::from).ok().as_deref(), Some("a@example.com"));
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }
}
