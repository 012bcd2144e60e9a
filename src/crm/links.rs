//! Identifiers other contexts give the profiles they already hold, so that their facts reach exactly that
//! profile through the ordinary event path (`clienteling_client:<client id>` for the clienteling book).
//!
//! The CRM's event path resolves by identifiers, never by profile id: a context that knows the profile it
//! means links a stable identifier of its own to it once, then names that identifier in its events. The
//! identifier then behaves like any other: a merge carries it to the survivor.

use sqlx::PgPool;
use uuid::Uuid;

use super::identifiers::Identifier;
use super::profile;
use super::resolve::lock_identifiers;

/// Gives `identifier` to the profile `profile_id` (or the survivor of the merges that absorbed it) unless a
/// profile holds it already; answers the profile holding it afterwards. `None` when the profile does not
/// exist in the brand, was erased, or the identifier is an erased person's (on the suppression list).
pub async fn link(
    db: &PgPool,
    brand_id: Uuid,
    profile_id: Uuid,
    identifier: &Identifier,
    source: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    let mut tx = db.begin().await?;
    // The identifier's lock first, as resolve and `POST …/identifiers` take it.
    lock_identifiers(&mut tx, brand_id, std::slice::from_ref(identifier)).await?;
    // An erased person's identifier links nobody, as resolution refuses it.
    let hasher = super::resolve::installed_policy()?;
    if !super::suppression::suppressed(
        &mut tx,
        hasher.suppression(),
        brand_id,
        std::slice::from_ref(identifier),
    )
    .await?
    .is_empty()
    {
        return Ok(None);
    }
    if let Some(holder) = sqlx::query_scalar!(
        "SELECT profile_id FROM crm_identifiers WHERE brand_id = $1 AND kind = $2 AND value = $3",
        brand_id,
        identifier.kind,
        identifier.value
    )
    .fetch_optional(&mut *tx)
    .await?
    {
        tx.commit().await?;
        return Ok(Some(holder));
    }
    let Some(current) = profile::current_id(&mut tx, brand_id, profile_id).await? else {
        return Ok(None);
    };
    // The live profile row locked, so a merge cannot take it away before the identifier is on it (the lock
    // every writer of profiles takes, see `resolve`).
    let live = sqlx::query_scalar!(
        "SELECT id FROM crm_profiles WHERE brand_id = $1 AND id = $2 AND merged_into IS NULL AND erased_at IS NULL
         FOR NO KEY UPDATE",
        brand_id,
        current
    )
    .fetch_optional(&mut *tx)
    .await?;
    if live.is_none() {
        return Ok(None);
    }
    sqlx::query!(
        "INSERT INTO crm_identifiers (brand_id, kind, value, profile_id, source)
         VALUES ($1, $2, $3, $4, $5)",
        brand_id,
        identifier.kind,
        identifier.value,
        current,
        source
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(current))
}
