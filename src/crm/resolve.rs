//! Identity resolution: which profile a set of identifiers belongs to — an existing one (matched), a new
//! one (created), or several that the identifiers prove are one person (merged).
//!
//! Callers (the profiles API, event ingest, internal sources) run it inside their transaction, so the
//! profile, its identifiers and whatever the caller writes next land together or not at all.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::identifiers::Identifier;
use super::profile::{self, Attributes};

/// What to resolve: normalised identifiers, and the attributes (traits) to apply to the result.
pub struct ResolveInput<'a> {
    pub identifiers: &'a [Identifier],
    pub attributes: &'a Attributes,
    /// When the information was true (an event's `occurred_at`, or now).
    pub at: DateTime<Utc>,
    /// What is resolving: `api`, `event`, `portal` … (recorded on new identifiers).
    pub source: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Created,
    Matched,
    Merged,
}

#[derive(Debug, Clone)]
pub struct Resolution {
    pub profile_id: Uuid,
    pub outcome: OutcomeKind,
}

/// Resolves `input` in the brand, creating or matching the profile, attaching the identifiers it did not
/// have and applying the attributes.
pub async fn resolve(
    conn: &mut PgConnection,
    brand_id: Uuid,
    input: &ResolveInput<'_>,
) -> Result<Resolution, sqlx::Error> {
    let kinds: Vec<String> = input.identifiers.iter().map(|i| i.kind.clone()).collect();
    let values: Vec<String> = input.identifiers.iter().map(|i| i.value.clone()).collect();
    let owners = sqlx::query_scalar!(
        r#"SELECT DISTINCT i.profile_id AS "profile_id!"
           FROM crm_identifiers i
           JOIN unnest($2::text[], $3::text[]) AS wanted (kind, value)
             ON i.kind = wanted.kind AND i.value = wanted.value
           WHERE i.brand_id = $1
           ORDER BY 1"#,
        brand_id,
        &kinds,
        &values
    )
    .fetch_all(&mut *conn)
    .await?;
    let (profile_id, outcome) = match owners.first() {
        None => (
            profile::insert(conn, brand_id, input.at).await?,
            OutcomeKind::Created,
        ),
        Some(first) => (*first, OutcomeKind::Matched),
    };
    sqlx::query!(
        "INSERT INTO crm_identifiers (brand_id, kind, value, profile_id, source)
         SELECT $1, kind, value, $4, $5 FROM unnest($2::text[], $3::text[]) AS new (kind, value)
         ON CONFLICT (brand_id, kind, value) DO NOTHING",
        brand_id,
        &kinds,
        &values,
        profile_id,
        input.source
    )
    .execute(&mut *conn)
    .await?;
    profile::apply_attributes(conn, brand_id, profile_id, input.attributes, input.at).await?;
    Ok(Resolution {
        profile_id,
        outcome,
    })
}
