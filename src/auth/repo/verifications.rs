//! Email verification: `users.email_verified_at`, the `email_verification_tokens` table (one row per link,
//! used once, hashes only) and `registration_notices` (someone tried to register with a taken address).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub async fn insert_verification(
    conn: &mut PgConnection,
    id: Uuid,
    user_id: Uuid,
    email: &str,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO email_verification_tokens (id, user_id, email, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        id,
        user_id,
        email,
        token_hash,
        expires_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the token used and the account verified, if the token exists, is unused, has not expired, belongs
/// to `user_id` and was sent to the address the account still has. One statement, so two concurrent uses of
/// one token verify once. Returns the verified email.
pub async fn consume_verification(
    conn: &mut PgConnection,
    token_hash: &[u8],
    user_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH used AS (
               UPDATE email_verification_tokens t SET used_at = now()
               FROM users u
               WHERE t.token_hash = $1 AND t.user_id = $2 AND t.used_at IS NULL AND t.expires_at > now()
                 AND u.id = t.user_id AND u.email = t.email AND u.email_verified_at IS NULL
               RETURNING t.user_id, t.email
           )
           UPDATE users SET email_verified_at = now()
           FROM used WHERE users.id = used.user_id
           RETURNING used.email AS "email!""#,
        token_hash,
        user_id,
    )
    .fetch_optional(conn)
    .await
}

/// Voids every unused verification link of the user (after a verification, or before a resend: only the
/// newest link works).
pub async fn void_verifications(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<u64, sqlx::Error> {
    let voided = sqlx::query!(
        "UPDATE email_verification_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
        user_id,
    )
    .execute(conn)
    .await?;
    Ok(voided.rows_affected())
}

/// Where verification link `id` goes: the address it was made for, while the link is usable and the account
/// unverified.
pub async fn verification_recipient(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT t.email FROM email_verification_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.id = $1 AND t.used_at IS NULL AND t.expires_at > now()
           AND u.email = t.email AND u.email_verified_at IS NULL",
        id,
    )
    .fetch_optional(conn)
    .await
}

/// The account's email if it is verified; `None` when it is not, or the account is gone.
pub async fn verified_email(pool: &PgPool, user_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT email FROM users WHERE id = $1 AND email_verified_at IS NOT NULL",
        user_id,
    )
    .fetch_optional(pool)
    .await
}

/// Whether the account's email is verified; `None` when the account is gone.
pub async fn is_verified(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT email_verified_at IS NOT NULL AS "verified!" FROM users WHERE id = $1"#,
        user_id,
    )
    .fetch_optional(conn)
    .await
}

/// [`is_verified`], locking the user's row until the transaction ends, so concurrent resends take turns and
/// only the last one's link stays usable.
pub async fn is_verified_locked(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT email_verified_at IS NOT NULL AS "verified!" FROM users WHERE id = $1 FOR UPDATE"#,
        user_id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn mark_verified(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()) WHERE id = $1",
        user_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the account verified if it still has `email` and is not verified yet; false otherwise.
pub async fn verify_unverified(
    conn: &mut PgConnection,
    user_id: Uuid,
    email: &str,
) -> Result<bool, sqlx::Error> {
    let verified = sqlx::query!(
        "UPDATE users SET email_verified_at = now()
         WHERE id = $1 AND email = $2 AND email_verified_at IS NULL",
        user_id,
        email,
    )
    .execute(conn)
    .await?;
    Ok(verified.rows_affected() == 1)
}

/// The id of the account with this (normalised) email, inside the caller's transaction.
pub async fn user_id_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM users WHERE email = $1", email)
        .fetch_optional(conn)
        .await
}

pub async fn insert_notice(
    conn: &mut PgConnection,
    id: Uuid,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO registration_notices (id, user_id) VALUES ($1, $2)",
        id,
        user_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims notice `id` for sending and returns where it goes, unless it was claimed already or another notice
/// reached the account within the last `interval_secs` (one message per interval, however often someone
/// tries). The owner's row is locked first, so two notices for one account are decided one after the other.
pub async fn claim_notice(
    conn: &mut PgConnection,
    id: Uuid,
    interval_secs: f64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let Some(owner) = sqlx::query!(
        "SELECT u.id, u.email, u.first_name FROM registration_notices n JOIN users u ON u.id = n.user_id
         WHERE n.id = $1 AND n.sent_at IS NULL AND u.disabled_at IS NULL
         FOR UPDATE OF u",
        id,
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let claimed = sqlx::query!(
        "UPDATE registration_notices SET sent_at = now()
         WHERE id = $1 AND sent_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM registration_notices o
                           WHERE o.user_id = $2 AND o.id <> $1
                             AND o.sent_at > now() - make_interval(secs => $3))",
        id,
        owner.id,
        interval_secs,
    )
    .execute(conn)
    .await?;
    Ok((claimed.rows_affected() == 1).then_some((owner.email, owner.first_name)))
}

/// Gives a claimed notice back after its message failed to go out, so the job's retry sends it.
pub async fn release_notice(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE registration_notices SET sent_at = NULL WHERE id = $1",
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}
