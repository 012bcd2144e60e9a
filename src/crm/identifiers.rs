//! Identifiers: how a profile is recognised. Each kind has one normal form (a trimmed, lower-cased email, an
//! E.164 phone, …), so the same person sent twice in different spellings is one profile.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::types::{Email, normalize_e164};

/// An identifier as it arrives: `{"kind": "email", "value": "Jane@Example.com"}`. The kind is one of the
/// built-in kinds (`email`, `phone`, `portal_user`, `whmcs_client`, `salesforce_contact`) or an external
/// source (`scl_member`: lower-case letters, digits and `_`, 2–32 characters).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifierInput {
    #[schema(example = "email")]
    pub kind: String,
    #[schema(example = "jane@example.com")]
    pub value: String,
}

/// A normalised identifier, as stored and answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
pub struct Identifier {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error(
        "Use a known identifier kind (email, phone, portal_user, whmcs_client, salesforce_contact) or an external source: 2–32 lower-case letters, digits and underscores."
    )]
    UnknownKind,
    #[error("{0}")]
    InvalidValue(&'static str),
}

impl IdentifierError {
    pub fn code(&self) -> &'static str {
        match self {
            IdentifierError::UnknownKind => "invalid_identifier_kind",
            IdentifierError::InvalidValue(_) => "invalid_identifier",
        }
    }
}

pub const EMAIL: &str = "email";
pub const PHONE: &str = "phone";
pub const PORTAL_USER: &str = "portal_user";
pub const WHMCS_CLIENT: &str = "whmcs_client";
pub const SALESFORCE_CONTACT: &str = "salesforce_contact";

/// The longest value any kind accepts.
pub const VALUE_MAX: usize = 254;

fn is_external_kind(kind: &str) -> bool {
    (2..=32).contains(&kind.len())
        && kind.as_bytes()[0].is_ascii_lowercase()
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Identifier {
    /// Checks and normalises `value` for `kind`.
    pub fn parse(kind: &str, value: &str) -> Result<Identifier, IdentifierError> {
        let kind = kind.trim();
        let value = value.trim();
        let normal = match kind {
            EMAIL => Email::parse(value)
                .map_err(|_| IdentifierError::InvalidValue("Not a valid email address."))?
                .as_str()
                .to_owned(),
            PHONE => normalize_e164(value).ok_or(IdentifierError::InvalidValue(
                "Use the international format: + then 8 to 15 digits, e.g. +33612345678.",
            ))?,
            PORTAL_USER => value
                .parse::<Uuid>()
                .map_err(|_| IdentifierError::InvalidValue("A portal user id is a UUID."))?
                .to_string(),
            WHMCS_CLIENT => match value.parse::<u64>() {
                Ok(id) if id > 0 => id.to_string(),
                _ => {
                    return Err(IdentifierError::InvalidValue(
                        "A WHMCS client id is a positive integer.",
                    ));
                }
            },
            SALESFORCE_CONTACT => {
                let ok = matches!(value.len(), 15 | 18)
                    && value.starts_with("003")
                    && value.bytes().all(|b| b.is_ascii_alphanumeric());
                if !ok {
                    return Err(IdentifierError::InvalidValue(
                        "A Salesforce contact id is 15 or 18 letters and digits starting with 003.",
                    ));
                }
                value.to_owned()
            }
            other if is_external_kind(other) => {
                if value.is_empty()
                    || value.len() > VALUE_MAX
                    || value.chars().any(char::is_control)
                {
                    return Err(IdentifierError::InvalidValue(
                        "An external id is 1–254 characters without control characters.",
                    ));
                }
                value.to_owned()
            }
            _ => return Err(IdentifierError::UnknownKind),
        };
        Ok(Identifier {
            kind: kind.to_owned(),
            value: normal,
        })
    }

    /// `kind:value` (`email:jane@example.com`, `scl_member:1042`), as in `?identifier=`.
    pub fn parse_pair(pair: &str) -> Result<Identifier, IdentifierError> {
        let (kind, value) = pair.split_once(':').ok_or(IdentifierError::UnknownKind)?;
        Identifier::parse(kind, value)
    }
}

/// Why an identifier was not used to identify anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The value is on the blocked list or matches a blocked pattern (`null`, `anonymous`, …).
    BlockedValue,
    /// The profile already holds the most identifiers of this kind it may.
    LimitExceeded,
    /// A weak identifier (a phone number) of an erased person: left out, as it may now be someone else's.
    Erased,
}

/// The identity rules from `[crm.identity]`: which kinds merge, how many of a kind a profile may hold, and
/// which values never identify anyone.
#[derive(Debug, Clone)]
pub struct Policy {
    weak_kinds: Vec<String>,
    default_max_per_kind: u16,
    max_per_kind: std::collections::BTreeMap<String, u16>,
    blocked_values: std::collections::HashSet<String>,
    blocked_patterns: Vec<regex::Regex>,
    /// Digests of the identifiers of erased people (`super::suppression`).
    suppression: super::suppression::Hasher,
}

impl Policy {
    pub fn from_settings(settings: &crate::config::IdentitySettings) -> Result<Policy, String> {
        let blocked_patterns = settings
            .blocked_patterns
            .iter()
            .map(|pattern| {
                regex::RegexBuilder::new(pattern)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|error| format!("blocked pattern {pattern:?}: {error}"))
            })
            .collect::<Result<_, _>>()?;
        if settings.default_max_per_kind == 0 || settings.max_per_kind.values().any(|max| *max == 0)
        {
            return Err("a kind's maximum must be at least 1".into());
        }
        Ok(Policy {
            weak_kinds: settings.weak_kinds.clone(),
            default_max_per_kind: settings.default_max_per_kind,
            max_per_kind: settings.max_per_kind.clone(),
            blocked_values: settings
                .blocked_values
                .iter()
                .map(|value| value.trim().to_lowercase())
                .collect(),
            blocked_patterns,
            suppression: super::suppression::Hasher::new(&settings.suppression_key)?,
        })
    }

    /// The suppression list's digests (erased people's identifiers).
    pub fn suppression(&self) -> &super::suppression::Hasher {
        &self.suppression
    }

    /// Whether a match on this kind merges profiles (every kind but the weak ones).
    pub fn merges(&self, kind: &str) -> bool {
        !self.weak_kinds.iter().any(|weak| weak == kind)
    }

    /// How many identifiers of this kind one profile may hold.
    pub fn max_per_kind(&self, kind: &str) -> u16 {
        self.max_per_kind
            .get(kind)
            .copied()
            .unwrap_or(self.default_max_per_kind)
    }

    /// Whether the (normalised) value never identifies anyone: a blocked value, a blocked pattern, or one
    /// character repeated (`0000`, `xxxx`: what forms get when a field is required but unknown).
    pub fn is_blocked(&self, identifier: &Identifier) -> bool {
        let value = identifier.value.as_str();
        let mut chars = value.chars();
        let repeated = chars
            .next()
            .is_some_and(|first| value.chars().count() >= 3 && chars.all(|c| c == first));
        repeated
            || self
                .blocked_values
                .contains(&identifier.value.to_lowercase())
            || self
                .blocked_patterns
                .iter()
                .any(|pattern| pattern.is_match(&identifier.value))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_one_normal_form() {
        let email = Identifier::parse("email", "  Jane@Example.COM ").map(|i| i.value);
        assert_eq!(email.as_deref(), Ok("jane@example.com"));
        let phone = Identifier::parse("phone", "+33 6 12 34 56 78").map(|i| i.value);
        assert_eq!(phone.as_deref(), Ok("+33612345678"));
        let whmcs = Identifier::parse("whmcs_client", "0042").map(|i| i.value);
        assert_eq!(whmcs.as_deref(), Ok("42"));
        let pair = Identifier::parse_pair("scl_member:1042");
        assert_eq!(
            pair.map(|i| (i.kind, i.value)),
            Ok(("scl_member".into(), "1042".into()))
        );
    }

    fn policy() -> Policy {
        let settings = crate::config::IdentitySettings {
            weak_kinds: vec!["phone".into()],
            default_max_per_kind: 5,
            max_per_kind: [("portal_user".to_owned(), 1)].into_iter().collect(),
            blocked_values: vec!["Anonymous".into(), "test@test.com".into()],
            blocked_patterns: vec![r"^no-?reply@".into()],
            suppression_key: "0123456789abcdef0123456789abcdef".to_owned().into(),
        };
        Policy::from_settings(&settings).unwrap()
    }

    #[test]
    fn the_policy_blocks_placeholder_values_and_knows_weak_kinds_and_limits() {
        let policy = policy();
        let id = |kind: &str, value: &str| Identifier::parse(kind, value).unwrap();
        assert!(policy.is_blocked(&id("scl_member", "ANONYMOUS")));
        assert!(policy.is_blocked(&id("email", "Test@Test.com")));
        assert!(policy.is_blocked(&id("scl_member", "0000")));
        assert!(policy.is_blocked(&id("email", "NoReply@shop.example")));
        assert!(!policy.is_blocked(&id("email", "jane@example.com")));
        assert!(!policy.is_blocked(&id("scl_member", "11")));
        assert!(!policy.merges("phone") && policy.merges("email") && policy.merges("scl_member"));
        assert_eq!(
            (
                policy.max_per_kind("portal_user"),
                policy.max_per_kind("email")
            ),
            (1, 5)
        );
    }

    #[test]
    fn bad_kinds_and_values_are_refused() {
        assert_eq!(
            Identifier::parse("Email", "a@b.co"),
            Err(IdentifierError::UnknownKind)
        );
        assert_eq!(
            Identifier::parse("x", "1"),
            Err(IdentifierError::UnknownKind)
        );
        assert!(Identifier::parse("phone", "0612345678").is_err());
        assert!(Identifier::parse("whmcs_client", "0").is_err());
        assert!(Identifier::parse("salesforce_contact", "001ABC").is_err());
        assert!(Identifier::parse("scl_member", "").is_err());
        assert!(Identifier::parse_pair("no-colon").is_err());
    }
}
