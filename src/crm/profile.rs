//! A profile as the API shows it, the built-in attributes it carries, and loading it. Only the CRM's modules
//! touch `crm_profiles` and `crm_identifiers`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::identifiers::Identifier;
use crate::brands::is_locale;
use crate::errors::FieldError;
use crate::types::{Email, is_country, is_e164};

/// The built-in attributes. On input every field is optional; an absent or `null` field changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmAttributes)]
pub struct Attributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Contact address (lower-cased); also an identifier when sent as one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// E.164.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthday: Option<NaiveDate>,
    /// BCP 47, e.g. `fr-FR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

impl Attributes {
    /// Every field error, each named `{prefix}{field}` (`attributes.email`, `/0/traits/email`).
    pub fn check(&self, prefix: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, code: &str, message: &str| {
            errors.push(FieldError::new(format!("{prefix}{field}"), code, message));
        };
        let text = |value: &Option<String>, max: usize| {
            value
                .as_deref()
                .is_some_and(|v| v.chars().count() > max || v.chars().any(char::is_control))
        };
        for (field, value, max) in [
            ("first_name", &self.first_name, 100),
            ("last_name", &self.last_name, 100),
            ("city", &self.city, 100),
            ("tier", &self.tier, 40),
        ] {
            if text(value, max) {
                fail(
                    field,
                    "invalid",
                    &format!("At most {max} characters, without control characters."),
                );
            }
        }
        if let Some(email) = self.email.as_deref().filter(|v| !v.trim().is_empty())
            && Email::parse(email).is_err()
        {
            fail("email", "invalid_email", "Not a valid email address.");
        }
        if let Some(phone) = self.phone.as_deref().filter(|v| !v.trim().is_empty())
            && !is_e164(phone.trim())
        {
            fail(
                "phone",
                "invalid_phone",
                "Use E.164: + then 8 to 15 digits, e.g. +33612345678.",
            );
        }
        if let Some(locale) = self.locale.as_deref().filter(|v| !v.trim().is_empty())
            && !is_locale(locale.trim())
        {
            fail(
                "locale",
                "invalid_locale",
                "Use a BCP 47 language tag, e.g. fr-FR.",
            );
        }
        if let Some(country) = self.country.as_deref().filter(|v| !v.trim().is_empty())
            && !is_country(&country.trim().to_ascii_uppercase())
        {
            fail(
                "country",
                "invalid_country",
                "Use an ISO 3166-1 alpha-2 code, e.g. FR.",
            );
        }
        if let Some(birthday) = self.birthday {
            let today = Utc::now().date_naive();
            if birthday > today || birthday.year() < 1900 {
                fail(
                    "birthday",
                    "invalid_date",
                    "A birthday between 1900-01-01 and today.",
                );
            }
        }
        if let Some(tags) = &self.tags {
            let bad = tags.iter().any(|tag| {
                let tag = tag.trim();
                tag.is_empty() || tag.chars().count() > 40 || tag.chars().any(char::is_control)
            });
            if tags.len() > 50 || bad {
                fail(
                    "tags",
                    "invalid_tags",
                    "At most 50 tags of 1–40 characters.",
                );
            }
        }
        errors
    }
}

/// Kept up to date with every activity.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmCounters)]
pub struct Counters {
    /// Activities by type.
    #[schema(value_type = Object)]
    pub activity_counts: Value,
    pub first_activity_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
    /// In the brand's currency, as a decimal string.
    #[schema(example = "1250.00")]
    pub lifetime_value: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmProfile)]
pub struct Profile {
    pub id: Uuid,
    /// The brand's slug.
    pub brand: String,
    pub attributes: Attributes,
    /// The brand's declared custom attributes, by name.
    #[schema(value_type = Object)]
    pub custom: Value,
    pub identifiers: Vec<Identifier>,
    pub counters: Counters,
    pub first_seen_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The profile `id` resolves to within the brand: itself, or the survivor of the merges that absorbed it.
/// `None` when no profile of the brand has this id.
pub async fn current_id(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH RECURSIVE chain (id, merged_into, depth) AS (
               SELECT id, merged_into, 0 FROM crm_profiles WHERE id = $2 AND brand_id = $1
               UNION ALL
               SELECT p.id, p.merged_into, c.depth + 1
               FROM crm_profiles p JOIN chain c ON p.id = c.merged_into
               WHERE p.brand_id = $1 AND c.depth < 100
           )
           SELECT id AS "id!" FROM chain WHERE merged_into IS NULL"#,
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await
}

/// [`current_id`] of many ids at once: `(id, live profile)` for each of `ids` that is a profile of the brand,
/// so another context can tell which of the profiles it holds are now one person.
pub async fn current_ids(
    conn: &mut PgConnection,
    brand_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"WITH RECURSIVE chain (origin, id, merged_into, depth) AS (
               SELECT id, id, merged_into, 0 FROM crm_profiles WHERE brand_id = $1 AND id = ANY($2)
               UNION ALL
               SELECT c.origin, p.id, p.merged_into, c.depth + 1
               FROM crm_profiles p JOIN chain c ON p.id = c.merged_into
               WHERE p.brand_id = $1 AND c.depth < 100
           )
           SELECT origin AS "origin!", id AS "id!" FROM chain WHERE merged_into IS NULL"#,
        brand_id,
        ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.origin, row.id)).collect())
}

/// A profile row with its identifiers aggregated in SQL: what every query that shows profiles selects
/// (`load`, `search::by_identifier`, `search::profiles`), so the mapping to [`Profile`] is written once.
pub(super) struct ProfileRow {
    pub id: Uuid,
    pub brand: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub locale: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub tier: Option<String>,
    pub tags: Vec<String>,
    pub custom: Value,
    pub activity_counts: Value,
    pub first_activity_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub lifetime_value: String,
    pub first_seen_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Ordered by kind, then value; `identifier_values` is parallel to it.
    pub identifier_kinds: Vec<String>,
    pub identifier_values: Vec<String>,
}

impl From<ProfileRow> for Profile {
    fn from(row: ProfileRow) -> Self {
        let identifiers = row
            .identifier_kinds
            .into_iter()
            .zip(row.identifier_values)
            .map(|(kind, value)| Identifier { kind, value })
            .collect();
        Profile {
            id: row.id,
            brand: row.brand,
            attributes: Attributes {
                first_name: row.first_name,
                last_name: row.last_name,
                email: row.email,
                phone: row.phone,
                birthday: row.birthday,
                locale: row.locale,
                country: row.country,
                city: row.city,
                tier: row.tier,
                tags: Some(row.tags),
            },
            custom: row.custom,
            identifiers,
            counters: Counters {
                activity_counts: row.activity_counts,
                first_activity_at: row.first_activity_at,
                last_activity_at: row.last_activity_at,
                lifetime_value: row.lifetime_value,
            },
            first_seen_at: row.first_seen_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The profile with this id in the brand (following merges), as the API shows it: one statement (the merge
/// chain, the row and its identifiers), so a read is one round trip.
pub async fn load(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<Option<Profile>, sqlx::Error> {
    let row = sqlx::query_as!(
        ProfileRow,
        r#"WITH RECURSIVE chain (id, merged_into, depth) AS (
               SELECT id, merged_into, 0 FROM crm_profiles WHERE id = $2 AND brand_id = $1
               UNION ALL
               SELECT p.id, p.merged_into, c.depth + 1
               FROM crm_profiles p JOIN chain c ON p.id = c.merged_into
               WHERE p.brand_id = $1 AND c.depth < 100
           )
           SELECT p.id, b.slug AS brand, p.first_name, p.last_name, p.email, p.phone, p.birthday,
                  p.locale, p.country, p.city, p.tier, p.tags, p.custom, p.activity_counts,
                  p.first_activity_at, p.last_activity_at, p.lifetime_value::text AS "lifetime_value!",
                  p.first_seen_at, p.created_at, p.updated_at,
                  ids.kinds AS "identifier_kinds!", ids.vals AS "identifier_values!"
           FROM chain c
           JOIN crm_profiles p ON p.brand_id = $1 AND p.id = c.id
           JOIN brands b ON b.id = p.brand_id
           CROSS JOIN LATERAL (
               SELECT COALESCE(array_agg(i.kind ORDER BY i.kind, i.value), '{}') AS kinds,
                      COALESCE(array_agg(i.value ORDER BY i.kind, i.value), '{}') AS vals
               FROM crm_identifiers i WHERE i.brand_id = $1 AND i.profile_id = p.id
           ) ids
           WHERE c.merged_into IS NULL"#,
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Profile::from))
}

/// [`load`] with the profile's rows of `crm_scores` as a JSON array (`score`, `value`, `reasons`,
/// `rules_version`, `computed_at` each), in the same statement: the profile view (`GET …/crm/profiles/{id}`)
/// is then one round trip. The scores are the scores module's to read (`scores::ProfileWithScores`).
pub async fn load_with_scores(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<Option<(Profile, Value)>, sqlx::Error> {
    let found = sqlx::query!(
        r#"WITH RECURSIVE chain (id, merged_into, depth) AS (
               SELECT id, merged_into, 0 FROM crm_profiles WHERE id = $2 AND brand_id = $1
               UNION ALL
               SELECT p.id, p.merged_into, c.depth + 1
               FROM crm_profiles p JOIN chain c ON p.id = c.merged_into
               WHERE p.brand_id = $1 AND c.depth < 100
           )
           SELECT p.id, b.slug AS brand, p.first_name, p.last_name, p.email, p.phone, p.birthday,
                  p.locale, p.country, p.city, p.tier, p.tags, p.custom, p.activity_counts,
                  p.first_activity_at, p.last_activity_at, p.lifetime_value::text AS "lifetime_value!",
                  p.first_seen_at, p.created_at, p.updated_at,
                  ids.kinds AS "identifier_kinds!", ids.vals AS "identifier_values!",
                  scores.rows AS "scores!"
           FROM chain c
           JOIN crm_profiles p ON p.brand_id = $1 AND p.id = c.id
           JOIN brands b ON b.id = p.brand_id
           CROSS JOIN LATERAL (
               SELECT COALESCE(array_agg(i.kind ORDER BY i.kind, i.value), '{}') AS kinds,
                      COALESCE(array_agg(i.value ORDER BY i.kind, i.value), '{}') AS vals
               FROM crm_identifiers i WHERE i.brand_id = $1 AND i.profile_id = p.id
           ) ids
           CROSS JOIN LATERAL (
               SELECT COALESCE(jsonb_agg(jsonb_build_object('score', s.score, 'value', s.value,
                          'reasons', s.reasons, 'rules_version', s.rules_version,
                          'computed_at', s.computed_at) ORDER BY s.score), '[]') AS rows
               FROM crm_scores s WHERE s.brand_id = $1 AND s.profile_id = p.id
           ) scores
           WHERE c.merged_into IS NULL"#,
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(found.map(|r| {
        let row = ProfileRow {
            id: r.id,
            brand: r.brand,
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            phone: r.phone,
            birthday: r.birthday,
            locale: r.locale,
            country: r.country,
            city: r.city,
            tier: r.tier,
            tags: r.tags,
            custom: r.custom,
            activity_counts: r.activity_counts,
            first_activity_at: r.first_activity_at,
            last_activity_at: r.last_activity_at,
            lifetime_value: r.lifetime_value,
            first_seen_at: r.first_seen_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            identifier_kinds: r.identifier_kinds,
            identifier_values: r.identifier_values,
        };
        (Profile::from(row), r.scores)
    }))
}

/// A new, empty profile in the brand.
pub async fn insert(
    conn: &mut PgConnection,
    brand_id: Uuid,
    first_seen_at: DateTime<Utc>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO crm_profiles (id, brand_id, first_seen_at) VALUES ($1, $2, $3)",
        id,
        brand_id,
        first_seen_at
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Sets the non-empty attributes given (an absent field changes nothing; tags are added to the set), and
/// records when each was set, for survivorship at merge time.
pub async fn apply_attributes(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    attributes: &Attributes,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    fn set(value: &Option<String>) -> Option<&str> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let mut times = serde_json::Map::new();
    let mut mark = |name: &str, present: bool| {
        if present {
            times.insert(name.to_owned(), Value::String(at.to_rfc3339()));
        }
    };
    mark("first_name", set(&attributes.first_name).is_some());
    mark("last_name", set(&attributes.last_name).is_some());
    mark("email", set(&attributes.email).is_some());
    mark("phone", set(&attributes.phone).is_some());
    mark("birthday", attributes.birthday.is_some());
    mark("locale", set(&attributes.locale).is_some());
    mark("country", set(&attributes.country).is_some());
    mark("city", set(&attributes.city).is_some());
    mark("tier", set(&attributes.tier).is_some());
    let tags = attributes.tags.clone().unwrap_or_default();
    sqlx::query!(
        "UPDATE crm_profiles SET
             first_name = COALESCE($3, first_name),
             last_name = COALESCE($4, last_name),
             email = COALESCE(lower($5), email),
             phone = COALESCE($6, phone),
             birthday = COALESCE($7, birthday),
             locale = COALESCE($8, locale),
             country = COALESCE(upper($9), country),
             city = COALESCE($10, city),
             tier = COALESCE($11, tier),
             tags = ARRAY(SELECT DISTINCT t FROM unnest(tags || $12::text[]) AS t ORDER BY t),
             attribute_times = attribute_times || $13,
             updated_at = now()
         WHERE brand_id = $1 AND id = $2",
        brand_id,
        id,
        set(&attributes.first_name),
        set(&attributes.last_name),
        set(&attributes.email),
        set(&attributes.phone),
        attributes.birthday,
        set(&attributes.locale),
        set(&attributes.country),
        set(&attributes.city),
        set(&attributes.tier),
        &tags,
        Value::Object(times),
    )
    .execute(conn)
    .await?;
    Ok(())
}
