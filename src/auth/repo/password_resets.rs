//! The `password_reset_tokens` table: one row per reset link, used once.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// `false` when a row with this id exists already (a retried job).
pub async fn insert_reset(
    conn: &mut PgConnection,
    id: Uuid,
    user_id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO NOTHING",
        id,
        user_id,
        token_hash,
        expires_at,
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The user a usable (unused, unexpired) reset token belongs to, without using it.
pub async fn reset_owner(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT user_id FROM password_reset_tokens
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()",
        token_hash,
    )
    .fetch_optional(conn)
    .await
}

/// Marks the reset token used and returns its user, if it exists, is unused and has not expired.
pub async fn consume_reset(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE password_reset_tokens SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING user_id",
        token_hash,
    )
    .fetch_optional(conn)
    .await
}

/// Voids every unused reset link of the user: after a password change or reset, an older link (perhaps in a
/// mailbox someone else reads) must not set the password again.
pub async fn void_resets(conn: &mut PgConnection, user_id: Uuid) -> Result<u64, sqlx::Error> {
    let voided = sqlx::query!(
        "UPDATE password_reset_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
        user_id,
    )
    .execute(conn)
    .await?;
    Ok(voided.rows_affected())
}

pub async fn reset_recipient(
    conn: &mut PgConnection,
    reset_id: Uuid,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT u.email, u.first_name FROM password_reset_tokens r JOIN users u ON u.id = r.user_id
         WHERE r.id = $1 AND r.used_at IS NULL AND r.expires_at > now()",
        reset_id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.email, row.first_name)))
}
