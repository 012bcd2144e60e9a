//! What the auth tables stop needing: ended sessions (their refresh tokens go with them), expired reset links
//! and old audit rows.

use sqlx::PgPool;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub reset_tokens: u64,
    pub verification_tokens: u64,
    pub registration_notices: u64,
    pub audit_rows: u64,
}

pub struct Retention {
    /// A session counts as ended at its absolute expiry, `idle_secs` after its last use, or when revoked.
    pub idle_secs: u64,
    /// Ended sessions stay this long (the sessions page, investigations), then go.
    pub ended_session_days: i32,
    pub audit_days: i32,
    /// A "someone tried to register" notice is the record that throttles the next one for this long.
    pub notice_interval_secs: u64,
}

pub async fn prune(pool: &PgPool, retention: &Retention) -> Result<Pruned, sqlx::Error> {
    // A rotated refresh token is the record that detects its theft when it is replayed, so it lives exactly
    // as long as its session (ON DELETE CASCADE), not less.
    let sessions = sqlx::query!(
        r#"DELETE FROM sessions
           WHERE LEAST(expires_at,
                       last_used_at + make_interval(secs => $1::float8),
                       COALESCE(revoked_at, 'infinity'::timestamptz))
                 < now() - make_interval(days => $2::int)"#,
        retention.idle_secs as f64,
        retention.ended_session_days,
    )
    .execute(pool)
    .await?
    .rows_affected();
    // Only expired links go, used or not: a used link's row is what says it was used, and the job that
    // issued it (its token is derived from the row's id) refuses to write it again only once its lifetime,
    // counted from the request, is over. Deleting a used link earlier would let a re-run of that job bring
    // it back.
    let reset_tokens = sqlx::query!("DELETE FROM password_reset_tokens WHERE expires_at < now()")
        .execute(pool)
        .await?
        .rows_affected();
    // The same holds for verification links: an expired one can never be used, a live one may still be.
    let verification_tokens =
        sqlx::query!("DELETE FROM email_verification_tokens WHERE expires_at < now()")
            .execute(pool)
            .await?
            .rows_affected();
    let registration_notices = sqlx::query!(
        "DELETE FROM registration_notices
         WHERE created_at < now() - GREATEST(make_interval(secs => $1::float8), interval '1 day')",
        retention.notice_interval_secs as f64,
    )
    .execute(pool)
    .await?
    .rows_affected();
    let audit_rows = sqlx::query!(
        "DELETE FROM auth_audit_log WHERE created_at < now() - make_interval(days => $1::int)",
        retention.audit_days,
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(Pruned {
        sessions,
        reset_tokens,
        verification_tokens,
        registration_notices,
        audit_rows,
    })
}
