//! The client book's types: what an advisor sends when creating or updating a client and what the book
//! shows. The person's attributes are the CRM profile's ([`Attributes`]); preferences, important dates,
//! notes and the store are clienteling's own.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crm::profile::{Attributes, Profile};
use crate::errors::FieldError;

/// What the client likes, as the advisor learned it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingPreferences)]
pub struct Preferences {
    /// Sizes by kind of item (`{"shoes": "38", "ring": "52"}`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub sizes: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub colours: Vec<String>,
    #[serde(default)]
    pub materials: Vec<String>,
}

/// A date to remember (an anniversary, a child's birthday).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingImportantDate)]
pub struct ImportantDate {
    /// 1–60 characters.
    pub label: String,
    pub date: NaiveDate,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingCreateClient)]
pub struct CreateClient {
    /// The CRM attributes. `email` and `phone` also identify the person: an existing profile of the brand
    /// holding them becomes the client (one person, one record). A first or last name is required.
    pub attributes: Attributes,
    /// The store whose book holds the client (their preferred store); one the caller works in.
    pub store: String,
    #[serde(default)]
    pub preferences: Option<Preferences>,
    #[serde(default)]
    pub important_dates: Option<Vec<ImportantDate>>,
    /// Up to 4,000 characters.
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingUpdateClient)]
pub struct UpdateClient {
    /// CRM attributes to set (an absent field changes nothing; tags are added).
    #[serde(default)]
    pub attributes: Option<Attributes>,
    /// Moves the client to another store's book (both stores must be within the caller's reach).
    #[serde(default)]
    pub store: Option<String>,
    /// Replaces the preferences.
    #[serde(default)]
    pub preferences: Option<Preferences>,
    /// Replaces the important dates.
    #[serde(default)]
    pub important_dates: Option<Vec<ImportantDate>>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A client as the book lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ClientelingClientCard)]
pub struct ClientCard {
    /// The CRM profile's id.
    pub id: Uuid,
    pub store: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub tier: Option<String>,
    pub tags: Vec<String>,
    pub primary_advisor_id: Option<Uuid>,
    pub last_contacted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// One advisor looking after the client (or who did: `ended_at`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ClientelingAssignment)]
pub struct Assignment {
    pub advisor_id: Uuid,
    /// `primary` or `secondary`.
    pub role: String,
    pub assigned_by: Uuid,
    pub assigned_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// A client in full: the CRM profile and the clienteling layer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ClientelingClient)]
pub struct Client {
    pub id: Uuid,
    pub store: String,
    pub profile: Profile,
    pub preferences: Preferences,
    pub important_dates: Vec<ImportantDate>,
    pub notes: String,
    /// The current advisors (primary first).
    pub advisors: Vec<Assignment>,
    pub last_contacted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn bad_text(value: &str, max: usize) -> bool {
    let value = value.trim();
    value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
}

impl Preferences {
    pub fn check(&self, errors: &mut Vec<FieldError>) {
        if self.sizes.len() > 20
            || self
                .sizes
                .iter()
                .any(|(kind, size)| bad_text(kind, 40) || bad_text(size, 20))
        {
            errors.push(FieldError::new(
                "preferences.sizes",
                "invalid",
                "At most 20 sizes; kinds of 1–40 characters, sizes of 1–20.",
            ));
        }
        for (field, values) in [
            ("categories", &self.categories),
            ("colours", &self.colours),
            ("materials", &self.materials),
        ] {
            if values.len() > 30 || values.iter().any(|value| bad_text(value, 40)) {
                errors.push(FieldError::new(
                    format!("preferences.{field}"),
                    "invalid",
                    "At most 30 values of 1–40 characters.",
                ));
            }
        }
    }
}

pub fn check_dates(dates: &[ImportantDate], errors: &mut Vec<FieldError>) {
    if dates.len() > 20 {
        errors.push(FieldError::new(
            "important_dates",
            "too_many",
            "At most 20 important dates.",
        ));
    }
    for (index, date) in dates.iter().enumerate() {
        if bad_text(&date.label, 60) {
            errors.push(FieldError::new(
                format!("important_dates[{index}].label"),
                "invalid",
                "1–60 characters, without control characters.",
            ));
        }
    }
}

pub fn check_notes(notes: Option<&str>, errors: &mut Vec<FieldError>) {
    if let Some(notes) = notes
        && (notes.chars().count() > 4000
            || notes
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'))
    {
        errors.push(FieldError::new(
            "notes",
            "invalid",
            "At most 4,000 characters, without control characters other than new lines.",
        ));
    }
}

/// What `q` is matched against: lower-cased names, email, phone and tags.
pub fn search_text(attributes: &Attributes) -> String {
    let mut parts: Vec<&str> = [
        &attributes.first_name,
        &attributes.last_name,
        &attributes.email,
        &attributes.phone,
    ]
    .into_iter()
    .filter_map(|value| value.as_deref())
    .collect();
    if let Some(tags) = &attributes.tags {
        parts.extend(tags.iter().map(String::as_str));
    }
    parts.join(" ").to_lowercase()
}
