//! `crm_messages`: one row per logical message, keyed by the caller's idempotency key within the brand.
//! Written (reserved) before the provider is called and settled after, so a repeat never sends twice and a
//! crash in between is repaired by the next attempt re-sending the stored request under the same key.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// A ledger row as the send path reads it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: Uuid,
    pub profile_id: Uuid,
    pub request_digest: String,
    pub channel: String,
    pub purpose: String,
    pub template_id: Option<Uuid>,
    pub template_version: Option<i32>,
    pub language: Option<String>,
    pub address: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub deferred_until: Option<DateTime<Utc>>,
    pub provider_message_id: Option<String>,
    pub activity_recorded: bool,
}

/// The row of `key`, locked for this transaction; created (status `deferred`, nothing counted yet) when the
/// key is new, so two attempts with one key queue on the same row.
pub async fn claim(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    key: &str,
    digest: &str,
    channel: &str,
    purpose: &str,
) -> Result<(Entry, bool), sqlx::Error> {
    let created = sqlx::query_scalar!(
        r#"INSERT INTO crm_messages (id, brand_id, profile_id, idempotency_key, request_digest, channel,
                                     purpose, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'deferred')
           ON CONFLICT (brand_id, idempotency_key) DO NOTHING
           RETURNING id"#,
        Uuid::now_v7(),
        brand_id,
        profile_id,
        key,
        digest,
        channel,
        purpose
    )
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    let entry = sqlx::query_as!(
        Entry,
        r#"SELECT id, profile_id, request_digest, channel, purpose, template_id, template_version, language,
                  address, subject, body, status, reason, deferred_until, provider_message_id,
                  activity_recorded
           FROM crm_messages WHERE brand_id = $1 AND idempotency_key = $2 FOR UPDATE"#,
        brand_id,
        key
    )
    .fetch_one(conn)
    .await?;
    Ok((entry, created))
}

/// The row `id`, locked for this transaction.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Entry>, sqlx::Error> {
    sqlx::query_as!(
        Entry,
        r#"SELECT id, profile_id, request_digest, channel, purpose, template_id, template_version, language,
                  address, subject, body, status, reason, deferred_until, provider_message_id,
                  activity_recorded
           FROM crm_messages WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// How many messages the profile was sent (or is being sent) on `channel` for `purpose` since `since`,
/// `except` this one, counting those of every profile merged into it (one person: a merge does not reset
/// the cap). The caller holds the profile's cap lock ([`lock_cap`]).
pub async fn count_since(
    conn: &mut PgConnection,
    profile_id: Uuid,
    channel: &str,
    purpose: &str,
    since: DateTime<Utc>,
    except: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH RECURSIVE person (id, depth) AS (
               SELECT $1::uuid, 0
               UNION ALL
               SELECT p.id, person.depth + 1 FROM crm_profiles p JOIN person ON p.merged_into = person.id
               WHERE person.depth < 100
           )
           SELECT count(*) AS "count!" FROM crm_messages
           WHERE profile_id IN (SELECT id FROM person) AND channel = $2 AND purpose = $3 AND created_at > $4 AND id <> $5
             AND status NOT IN ('suppressed', 'deferred', 'failed')"#,
        profile_id,
        channel,
        purpose,
        since,
        except
    )
    .fetch_one(conn)
    .await
}

/// Serialises the frequency-cap decisions of one profile (count, then reserve) across every replica, until
/// the transaction ends.
pub async fn lock_cap(conn: &mut PgConnection, profile_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm-message-cap:' || $1::uuid::text, 0))",
        profile_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What is about to be handed to the provider.
pub struct Reservation<'a> {
    pub profile_id: Uuid,
    pub template_id: Option<Uuid>,
    pub template_version: Option<i32>,
    pub language: Option<&'a str>,
    pub address: &'a str,
    pub subject: Option<&'a str>,
    pub body: &'a str,
    pub created_at: DateTime<Utc>,
}

pub async fn reserve(
    conn: &mut PgConnection,
    id: Uuid,
    r: &Reservation<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE crm_messages SET status = 'reserved', profile_id = $2, template_id = $3,
               template_version = $4, language = $5, address = $6, subject = $7, body = $8, reason = NULL,
               retryable = false, deferred_until = NULL, created_at = $9, updated_at = now()
           WHERE id = $1"#,
        id,
        r.profile_id,
        r.template_id,
        r.template_version,
        r.language,
        r.address,
        r.subject,
        r.body,
        r.created_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A final or waiting outcome without a provider call (suppressed, deferred, failed).
pub async fn decide(
    conn: &mut PgConnection,
    id: Uuid,
    profile_id: Uuid,
    status: &str,
    reason: Option<&str>,
    deferred_until: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE crm_messages SET status = $2, reason = $3, deferred_until = $4, profile_id = $5,
               retryable = false, updated_at = now()
           WHERE id = $1"#,
        id,
        status,
        reason,
        deferred_until,
        profile_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One provider attempt was made (counted before the call: a crash still counts it).
pub async fn attempt(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE crm_messages SET attempts = attempts + 1, updated_at = now() WHERE id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The provider took the message.
pub async fn settle_sent(
    conn: &mut PgConnection,
    id: Uuid,
    provider_message_id: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE crm_messages SET status = 'sent', provider_message_id = $2, sent_at = $3, reason = NULL,
               retryable = false, updated_at = now()
           WHERE id = $1 AND status = 'reserved'"#,
        id,
        provider_message_id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The attempt failed: retryable keeps the reservation (and its place under the cap) for the next attempt,
/// which re-sends the same request; otherwise the message is `failed` for good.
pub async fn settle_failed(
    conn: &mut PgConnection,
    id: Uuid,
    retryable: bool,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE crm_messages SET status = CASE WHEN $2 THEN 'reserved' ELSE 'failed' END, reason = $3,
               retryable = $2, updated_at = now()
           WHERE id = $1 AND status = 'reserved'"#,
        id,
        retryable,
        reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn activity_recorded(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE crm_messages SET activity_recorded = true WHERE id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The brand's frequency cap for `purpose`, when it set one.
pub async fn brand_cap(
    conn: &mut PgConnection,
    brand_id: Uuid,
    purpose: &str,
) -> Result<Option<(i32, i32)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT max_messages, window_secs FROM crm_message_caps WHERE brand_id = $1 AND purpose = $2",
        brand_id,
        purpose
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.max_messages, row.window_secs)))
}

/// Sets (or with `None` removes) the brand's own cap for `purpose`.
pub async fn set_brand_cap(
    conn: &mut PgConnection,
    brand_id: Uuid,
    purpose: &str,
    cap: Option<(i32, i32)>,
) -> Result<(), sqlx::Error> {
    match cap {
        Some((max_messages, window_secs)) => {
            sqlx::query!(
                r#"INSERT INTO crm_message_caps (brand_id, purpose, max_messages, window_secs)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (brand_id, purpose) DO UPDATE
                   SET max_messages = EXCLUDED.max_messages, window_secs = EXCLUDED.window_secs,
                       updated_at = now()"#,
                brand_id,
                purpose,
                max_messages,
                window_secs
            )
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query!(
                "DELETE FROM crm_message_caps WHERE brand_id = $1 AND purpose = $2",
                brand_id,
                purpose
            )
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}
