//! One message per person. The audience is frozen per profile, but a merge after the freeze can make two
//! recipients one person: the send path resolves both to the survivor, and each row's own idempotency key
//! would message that person twice. So before a recipient is handed to the send path, the campaign's rows
//! that are now the same person (the survivor and every profile merged into it) are looked at. Without
//! such rows (the usual case: one read) it goes on. Otherwise, under a lock per campaign and person, the
//! first row handed over records the person on itself; any row whose person already had a message of the
//! campaign (sent, handed over, or answered by the send path) is suppressed as `merged` instead.

use sqlx::PgPool;
use uuid::Uuid;

/// What the delivery does with a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Hand it to the send path.
    Send,
    /// The same person already had this campaign's message through another recipient row.
    Merged,
}

/// Whether `profile_id`'s row (held by `token`) may be handed to the send path now.
pub async fn turn(
    db: &PgPool,
    brand_id: Uuid,
    campaign_id: Uuid,
    profile_id: Uuid,
    token: Uuid,
) -> anyhow::Result<Turn> {
    let mut conn = db.acquire().await?;
    let Some(person) = siblings(&mut conn, brand_id, campaign_id, profile_id).await? else {
        return Ok(Turn::Send);
    };
    drop(conn);
    let mut tx = db.begin().await?;
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm-campaign-person:' || $1::uuid::text || $2::uuid::text, 0))",
        campaign_id,
        person
    )
    .execute(&mut *tx)
    .await?;
    let taken = sqlx::query_scalar!(
        r#"WITH RECURSIVE person (id, depth) AS (
               SELECT $3::uuid, 0
               UNION ALL
               SELECT p.id, person.depth + 1 FROM crm_profiles p JOIN person ON p.merged_into = person.id
               WHERE p.brand_id = $4 AND person.depth < 100
           )
           SELECT EXISTS (
               SELECT 1 FROM crm_campaign_recipients r
               WHERE r.campaign_id = $1 AND r.profile_id IN (SELECT id FROM person) AND r.profile_id <> $2
                 AND (r.status = 'sent' OR r.person_id IS NOT NULL OR r.message_id IS NOT NULL)
           ) AS "taken!""#,
        campaign_id,
        profile_id,
        person,
        brand_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if taken {
        return Ok(Turn::Merged);
    }
    sqlx::query!(
        "UPDATE crm_campaign_recipients SET person_id = $3
         WHERE campaign_id = $1 AND profile_id = $2 AND lease_token = $4",
        campaign_id,
        profile_id,
        person,
        token
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Turn::Send)
}

/// The person (current profile) of `profile_id` when another row of the campaign is the same person.
async fn siblings(
    conn: &mut sqlx::PgConnection,
    brand_id: Uuid,
    campaign_id: Uuid,
    profile_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH RECURSIVE up (id, merged_into, depth) AS (
               SELECT id, merged_into, 0 FROM crm_profiles WHERE id = $2 AND brand_id = $3
               UNION ALL
               SELECT p.id, p.merged_into, up.depth + 1 FROM crm_profiles p JOIN up ON p.id = up.merged_into
               WHERE p.brand_id = $3 AND up.depth < 100
           ), person (id, depth) AS (
               SELECT id, 0 FROM up WHERE merged_into IS NULL
               UNION ALL
               SELECT p.id, person.depth + 1 FROM crm_profiles p JOIN person ON p.merged_into = person.id
               WHERE p.brand_id = $3 AND person.depth < 100
           )
           SELECT (SELECT id FROM up WHERE merged_into IS NULL LIMIT 1) AS person,
                  EXISTS (SELECT 1 FROM crm_campaign_recipients r
                          WHERE r.campaign_id = $1 AND r.profile_id IN (SELECT id FROM person)
                            AND r.profile_id <> $2) AS "shared!""#,
        campaign_id,
        profile_id,
        brand_id
    )
    .fetch_one(conn)
    .await?;
    Ok(row.person.filter(|_| row.shared))
}
