//! Auth's storage. Functions take a connection (or transaction) so callers decide what commits together.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::model::{Role, User, UserKind};

pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub kind: String,
    pub roles: Vec<String>,
    pub brand_id: Option<String>,
    pub store_ids: Vec<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl UserRow {
    pub fn to_user(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            kind: if self.kind == "staff" {
                UserKind::Staff
            } else {
                UserKind::Customer
            },
            roles: self
                .roles
                .iter()
                .filter_map(|role| Role::parse(role))
                .collect(),
            brand_id: self.brand_id.clone(),
            store_ids: self.store_ids.clone(),
            disabled: self.disabled_at.is_some(),
            created_at: self.created_at,
        }
    }
}

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub kind: UserKind,
    pub roles: &'a [String],
    pub brand_id: Option<&'a str>,
    pub store_ids: &'a [String],
}

/// `None` when the email is taken.
pub async fn insert_user(
    conn: &mut PgConnection,
    user: NewUser<'_>,
) -> Result<Option<UserRow>, sqlx::Error> {
    let kind = match user.kind {
        UserKind::Customer => "customer",
        UserKind::Staff => "staff",
    };
    sqlx::query_as!(
        UserRow,
        r#"INSERT INTO users (id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT ON CONSTRAINT users_email_key DO NOTHING
           RETURNING id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids,
                     disabled_at, created_at"#,
        user.id,
        user.email,
        user.password_hash,
        user.first_name,
        user.last_name,
        kind,
        user.roles,
        user.brand_id,
        user.store_ids,
    )
    .fetch_optional(conn)
    .await
}

pub async fn user_by_email(pool: &PgPool, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        r#"SELECT id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids, disabled_at, created_at
           FROM users WHERE email = $1"#,
        email,
    )
    .fetch_optional(pool)
    .await
}

pub async fn user_by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        r#"SELECT id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids, disabled_at, created_at
           FROM users WHERE id = $1"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

/// Staff and customers, newest first, after the `(created_at, id)` cursor.
pub async fn list_users(
    pool: &PgPool,
    kind: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let (after_at, after_id) = after.map_or((None, None), |(at, id)| (Some(at), Some(id)));
    sqlx::query_as!(
        UserRow,
        r#"SELECT id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids, disabled_at, created_at
           FROM users
           WHERE ($1::text IS NULL OR kind = $1)
             AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
           ORDER BY created_at DESC, id DESC
           LIMIT $4"#,
        kind,
        after_at,
        after_id,
        limit,
    )
    .fetch_all(pool)
    .await
}

pub async fn update_staff(
    conn: &mut PgConnection,
    id: Uuid,
    roles: Option<&[String]>,
    disabled: Option<bool>,
    brand_id: Option<Option<&str>>,
    store_ids: Option<&[String]>,
) -> Result<Option<UserRow>, sqlx::Error> {
    let (set_brand, brand) = brand_id.map_or((false, None), |brand| (true, brand));
    sqlx::query_as!(
        UserRow,
        r#"UPDATE users SET
               roles = COALESCE($2, roles),
               disabled_at = CASE WHEN $3::bool IS NULL THEN disabled_at
                                  WHEN $3 THEN COALESCE(disabled_at, now())
                                  ELSE NULL END,
               brand_id = CASE WHEN $4 THEN $5 ELSE brand_id END,
               store_ids = COALESCE($6, store_ids)
           WHERE id = $1 AND kind = 'staff'
           RETURNING id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids,
                     disabled_at, created_at"#,
        id,
        roles,
        disabled,
        set_brand,
        brand,
        store_ids,
    )
    .fetch_optional(conn)
    .await
}

pub async fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1",
        id,
        hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

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

/// What every authenticated request checks: the session still stands and its user is enabled.
pub struct SessionCheck {
    pub revoked: bool,
    pub disabled: bool,
    pub kind: String,
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
                  u.kind, u.brand_id, u.store_ids
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id = $1 AND s.user_id = $2"#,
        session_id,
        user_id,
    )
    .fetch_optional(pool)
    .await
}

pub async fn insert_reset(
    conn: &mut PgConnection,
    id: Uuid,
    user_id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)",
        id,
        user_id,
        token_hash,
        expires_at,
    )
    .execute(conn)
    .await?;
    Ok(())
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

pub struct AuditEvent<'a> {
    pub event: &'a str,
    pub user_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub details: Value,
}

impl<'a> AuditEvent<'a> {
    /// An event seen from `client`; add who it concerns with the setters.
    pub fn new(event: &'a str, client: &'a super::service::ClientInfo) -> Self {
        Self {
            event,
            user_id: None,
            actor_id: None,
            session_id: None,
            ip: client.ip.as_deref(),
            user_agent: client.user_agent.as_deref(),
            details: Value::Object(serde_json::Map::new()),
        }
    }

    pub fn user(mut self, id: impl Into<Option<Uuid>>) -> Self {
        self.user_id = id.into();
        self
    }

    pub fn actor(mut self, id: impl Into<Option<Uuid>>) -> Self {
        self.actor_id = id.into();
        self
    }

    pub fn session(mut self, id: impl Into<Option<Uuid>>) -> Self {
        self.session_id = id.into();
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

pub async fn audit(conn: &mut PgConnection, event: AuditEvent<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO auth_audit_log (event, user_id, actor_id, session_id, ip, user_agent, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        event.event,
        event.user_id,
        event.actor_id,
        event.session_id,
        event.ip,
        event.user_agent,
        event.details,
    )
    .execute(conn)
    .await?;
    Ok(())
}
