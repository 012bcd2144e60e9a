//! Closing a portal account for an erasure: every session ended, the account made unusable and emptied of
//! personal data, its e-mail freed.
//!
//! The address is replaced by a tombstone, `erased+{user id}@erased.invalid` (`.invalid` never delivers), so
//! the unique constraint stays and the real address is free: the person may register again, and the new
//! account starts empty — a new user id, and linking (`customers::linking`) finds no WHMCS client or
//! Salesforce Contact by that address (both were anonymised) and the CRM refuses the address (suppressed),
//! so nothing of the erased account is inherited.
//!
//! Kept: the user row (orders, and the audit trail point at it) with its id, kind, roles and times; the
//! audit log's events and times, without IP, user agent or details. Removed: names, e-mail, password
//! (a hash that verifies nothing), sessions' IP and user agent, refresh tokens, reset and verification
//! tokens (the latter held the address) and registration notices. Idempotent.

use sqlx::PgPool;
use uuid::Uuid;

use crate::types::{Receipt, ReceiptStatus};

/// What a closed account's e-mail becomes.
pub fn tombstone(user_id: Uuid) -> String {
    format!("erased+{user_id}@erased.invalid")
}

/// Closes the account `user_id`; `None` when there is no such user. The caller's step also erases what
/// other contexts hold for the user (`customers`, `orders`, `subscriptions`, `idempotency`).
pub async fn close_account(db: &PgPool, user_id: Uuid) -> Result<Option<Receipt>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let tombstone = tombstone(user_id);
    let Some(before) = sqlx::query!(
        "SELECT email, disabled_at FROM users WHERE id = $1 AND kind = 'customer' FOR UPDATE",
        user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let already = before.email == tombstone && before.disabled_at.is_some();
    // A reset asked for by address carried it in its job.
    crate::jobs::forget_payloads(
        &mut tx,
        <super::reset_request::RequestPasswordReset as crate::jobs::Job>::QUEUE,
        "email",
        &before.email,
    )
    .await?;
    let ended = sqlx::query!(
        "UPDATE sessions SET revoked_at = coalesce(revoked_at, now()),
                revoked_reason = coalesce(revoked_reason, 'account_erased'), ip = NULL, user_agent = NULL
         WHERE user_id = $1 AND (revoked_at IS NULL OR ip IS NOT NULL OR user_agent IS NOT NULL)",
        user_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!(
        "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
        user_id
    )
    .execute(&mut *tx)
    .await?;
    for statement in [
        sqlx::query!(
            "DELETE FROM password_reset_tokens WHERE user_id = $1",
            user_id
        ),
        sqlx::query!(
            "DELETE FROM email_verification_tokens WHERE user_id = $1",
            user_id
        ),
        sqlx::query!(
            "DELETE FROM registration_notices WHERE user_id = $1",
            user_id
        ),
        sqlx::query!(
            "UPDATE auth_audit_log SET ip = NULL, user_agent = NULL, details = '{}'
             WHERE user_id = $1 AND (ip IS NOT NULL OR user_agent IS NOT NULL OR details <> '{}')",
            user_id
        ),
    ] {
        statement.execute(&mut *tx).await?;
    }
    // Not a PHC string: no password verifies against it, and the login refuses a disabled account anyway.
    sqlx::query!(
        "UPDATE users SET email = $2, first_name = '', last_name = '', password_hash = '!erased',
                email_verified_at = NULL, disabled_at = coalesce(disabled_at, now())
         WHERE id = $1",
        user_id,
        tombstone
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let status = if already {
        ReceiptStatus::AlreadyDone
    } else {
        ReceiptStatus::Done
    };
    Ok(Some(
        Receipt::new("portal", user_id.to_string(), status)
            .with_detail(format!("account closed, {ended} sessions ended")),
    ))
}
