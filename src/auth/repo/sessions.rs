//! The `sessions` and `refresh_tokens` tables: one session per sign-in, its refresh tokens rotated on use.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::users::UserRow;
use crate::auth::model::User;

pub struct NewSession<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_id: Uuid,
    pub token_hash: &'a [u8],
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

pub async fn create_session(
    conn: &mut PgConnection,
    session: NewSession<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO sessions (id, user_id, current_token_id, ip, user_agent, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        session.id,
        session.user_id,
        session.token_id,
        session.ip,
        session.user_agent,
        session.expires_at,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO refresh_tokens (id, session_id, token_hash) VALUES ($1, $2, $3)",
        session.token_id,
        session.id,
        session.token_hash,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A refresh token with its session and user, token and session rows locked for the rest of the transaction.
/// Both are locked: when a concurrent refresh commits first, PostgreSQL re-reads only the locked rows, so
/// locking just the session would leave this query with the token's stale, not-yet-rotated version.
pub struct LockedRefresh {
    pub token_id: Uuid,
    pub rotated_at: Option<DateTime<Utc>>,
    pub session_id: Uuid,
    pub current_token_id: Uuid,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub user_id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub kind: String,
    pub roles: Vec<String>,
    pub brand_id: Option<String>,
    pub store_ids: Vec<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub user_created_at: DateTime<Utc>,
}

impl LockedRefresh {
    pub fn user(&self) -> User {
        UserRow {
            id: self.user_id,
            email: self.email.clone(),
            password_hash: String::new(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            kind: self.kind.clone(),
            roles: self.roles.clone(),
            brand_id: self.brand_id.clone(),
            store_ids: self.store_ids.clone(),
            disabled_at: self.disabled_at,
            created_at: self.user_created_at,
        }
        .to_user()
    }
}

pub async fn lock_refresh(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<LockedRefresh>, sqlx::Error> {
    sqlx::query_as!(
        LockedRefresh,
        r#"SELECT t.id AS token_id, t.rotated_at, s.id AS session_id, s.current_token_id, s.last_used_at,
                  s.expires_at, s.revoked_at, u.id AS user_id, u.email, u.first_name, u.last_name, u.kind,
                  u.roles, u.brand_id, u.store_ids, u.disabled_at, u.created_at AS user_created_at
           FROM refresh_tokens t
           JOIN sessions s ON s.id = t.session_id
           JOIN users u ON u.id = s.user_id
           WHERE t.token_hash = $1
           FOR UPDATE OF t, s"#,
        token_hash,
    )
    .fetch_optional(conn)
    .await
}

/// Rotates in one round trip: the old token is marked used, its child inserted, the session pointed at the
/// child, and the refresh audited.
pub async fn rotate(conn: &mut PgConnection, rotation: Rotation<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"WITH rotated AS (UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1 RETURNING id),
                child AS (INSERT INTO refresh_tokens (id, session_id, token_hash, parent_id)
                          VALUES ($2, $3, $4, $1) RETURNING id),
                moved AS (UPDATE sessions SET current_token_id = $2, last_used_at = now() WHERE id = $3 RETURNING id)
           INSERT INTO auth_audit_log (event, user_id, session_id, ip, user_agent, details)
           VALUES ('refresh', $5, $3, $6, $7, jsonb_build_object('token_id', $1::uuid, 'child_id', $2::uuid))"#,
        rotation.old_token_id,
        rotation.new_token_id,
        rotation.session_id,
        rotation.new_hash,
        rotation.user_id,
        rotation.ip,
        rotation.user_agent,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct Rotation<'a> {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub old_token_id: Uuid,
    pub new_token_id: Uuid,
    pub new_hash: &'a [u8],
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn touch_session(conn: &mut PgConnection, session_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE sessions SET last_used_at = now() WHERE id = $1",
        session_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends one session; `false` when it was not the user's or already ended.
pub async fn revoke_session(
    conn: &mut PgConnection,
    session_id: Uuid,
    user_id: Option<Uuid>,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $3
         WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2) AND revoked_at IS NULL",
        session_id,
        user_id,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Ends every session of the user but `keep`; returns how many ended.
pub async fn revoke_all(
    conn: &mut PgConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $3
         WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)",
        user_id,
        keep,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

pub struct SessionRow {
    pub id: Uuid,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn active_sessions(
    pool: &PgPool,
    user_id: Uuid,
    idle_secs: f64,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    sqlx::query_as!(
        SessionRow,
        "SELECT id, ip, user_agent, created_at, last_used_at, expires_at FROM sessions
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
           AND last_used_at > now() - $2 * interval '1 second'
         ORDER BY last_used_at DESC",
        user_id,
        idle_secs,
    )
    .fetch_all(pool)
    .await
}

/// When the session ends by itself (its expiry), while it still stands: not revoked or expired, its user not
/// disabled; `None` otherwise. For responses that outlive a request's session check.
pub async fn session_ends_at(
    pool: &PgPool,
    session_id: Uuid,
    user_id: Uuid,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
           AND u.disabled_at IS NULL",
        session_id,
        user_id,
    )
    .fetch_optional(pool)
    .await
}

/// What every authenticated request checks: the session still stands and its user is enabled; and who the
/// user is now (kind, roles, brand, stores), so a demotion or scope change applies on the next request.
pub struct SessionCheck {
    pub revoked: bool,
    pub disabled: bool,
    pub kind: String,
    pub roles: Vec<String>,
    pub brand_id: Option<String>,
    pub store_ids: Vec<String>,
}

pub async fn check_session(
    pool: &PgPool,
    session_id: Uuid,
    user_id: Uuid,
) -> Result<Option<SessionCheck>, sqlx::Error> {
    sqlx::query_as!(
        SessionCheck,
        r#"SELECT (s.revoked_at IS NOT NULL OR s.expires_at <= now()) AS "revoked!", (u.disabled_at IS NOT NULL) AS "disabled!",
                  u.kind, u.roles, u.brand_id, u.store_ids
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id = $1 AND s.user_id = $2"#,
        session_id,
        user_id,
    )
    .fetch_optional(pool)
    .await
}
