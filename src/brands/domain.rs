//! Brands and stores as the API shows them, and the rules their fields follow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::errors::rule;
use crate::types::{Currency, is_country};

/// A brand: the portal's operator brand or a Maison. Its slug is its name in every path
/// (`/api/v1/brands/{slug}/…`) and never changes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Brand {
    pub id: Uuid,
    #[schema(example = "maison")]
    pub slug: String,
    pub name: String,
    /// IANA time zone, e.g. `Europe/Paris`.
    pub timezone: String,
    /// BCP 47 language tag, e.g. `fr-FR`.
    pub default_locale: String,
    /// ISO 4217: the currency lifetime values are kept in.
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Store {
    pub id: Uuid,
    /// The brand's slug.
    pub brand: String,
    #[schema(example = "paris-1")]
    pub code: String,
    pub name: String,
    pub timezone: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateBrandRequest {
    /// Lower-case letters, digits and inner hyphens, 1–40 characters.
    #[schema(
        pattern = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$",
        example = "maison"
    )]
    #[validate(custom(function = "slug"))]
    pub slug: String,
    #[schema(min_length = 1, max_length = 100)]
    #[validate(custom(function = "display_name"))]
    pub name: String,
    /// IANA time zone, e.g. `Europe/Paris` (checked against the database's zone list).
    #[schema(example = "Europe/Paris")]
    #[validate(custom(function = "timezone_text"))]
    pub timezone: String,
    #[schema(example = "fr-FR")]
    #[validate(custom(function = "locale"))]
    pub default_locale: String,
    #[schema(example = "EUR")]
    #[validate(custom(function = "Currency::check"))]
    pub currency: String,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateStoreRequest {
    /// Lower-case letters, digits and inner hyphens, 1–40 characters; unique within the brand.
    #[schema(
        pattern = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$",
        example = "paris-1"
    )]
    #[validate(custom(function = "slug"))]
    pub code: String,
    #[schema(min_length = 1, max_length = 100)]
    #[validate(custom(function = "display_name"))]
    pub name: String,
    /// IANA time zone; the brand's when absent.
    #[validate(custom(function = "timezone_text"))]
    pub timezone: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `FR`.
    #[validate(custom(function = "country"))]
    pub country: String,
}

/// A slug or store code: what [`crate::brands`] accepts in paths, so a path that could never exist is a 404
/// without a query.
pub fn is_slug(value: &str) -> bool {
    let bytes = value.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (1..=40).contains(&bytes.len())
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(|b| edge(b) || *b == b'-')
}

fn slug(value: &str) -> Result<(), ValidationError> {
    if is_slug(value) {
        Ok(())
    } else {
        Err(rule(
            "invalid_slug",
            "Use 1–40 lower-case letters, digits and inner hyphens, e.g. paris-1.",
        ))
    }
}

fn display_name(value: &str) -> Result<(), ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        Err(rule("required", "Give a name."))
    } else if trimmed.chars().count() > 100 || trimmed.chars().any(char::is_control) {
        Err(rule(
            "invalid",
            "A name is at most 100 characters, without control characters.",
        ))
    } else {
        Ok(())
    }
}

/// The shape of an IANA zone name; whether the zone exists is asked of the database, which has the list.
fn timezone_text(value: &str) -> Result<(), ValidationError> {
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'));
    if ok { Ok(()) } else { Err(unknown_timezone()) }
}

fn unknown_timezone() -> ValidationError {
    rule(
        "invalid_timezone",
        "Use an IANA time zone name, e.g. Europe/Paris.",
    )
}

/// A BCP 47 tag of the common shape: language, optional script, optional region (`fr`, `fr-FR`,
/// `zh-Hant-TW`).
pub fn is_locale(value: &str) -> bool {
    let mut parts = value.split('-');
    let Some(language) = parts.next() else {
        return false;
    };
    if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_lowercase()) {
        return false;
    }
    let mut rest: Vec<&str> = parts.collect();
    if rest
        .first()
        .is_some_and(|script| script.len() == 4 && script.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        rest.remove(0);
    }
    match rest.as_slice() {
        [] => true,
        [region] => {
            (region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase()))
                || (region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit()))
        }
        _ => false,
    }
}

fn locale(value: &str) -> Result<(), ValidationError> {
    if is_locale(value) {
        Ok(())
    } else {
        Err(rule(
            "invalid_locale",
            "Use a BCP 47 language tag, e.g. fr-FR.",
        ))
    }
}

fn country(value: &str) -> Result<(), ValidationError> {
    if is_country(value) {
        Ok(())
    } else {
        Err(rule(
            "invalid_country",
            "Use an ISO 3166-1 alpha-2 country code in capitals, e.g. FR.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words_joined_by_hyphens() {
        for good in ["maison", "paris-1", "a", "x1-y2"] {
            assert!(is_slug(good), "{good}");
        }
        for bad in ["", "-a", "a-", "Maison", "ma_ison", "é", &"a".repeat(41)] {
            assert!(!is_slug(bad), "{bad}");
        }
    }

    #[test]
    fn locales_have_language_script_and_region() {
        for good in ["fr", "fr-FR", "zh-Hant-TW", "es-419", "ja-JP"] {
            assert!(is_locale(good), "{good}");
        }
        for bad in [
            "",
            "FR",
            "fr_FR",
            "fr-fr",
            "french",
            "fr-FR-x",
            "zh-Hant-tw",
        ] {
            assert!(!is_locale(bad), "{bad}");
        }
    }
}
