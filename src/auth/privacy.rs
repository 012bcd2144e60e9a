//! What auth gives privacy requests: re-authentication before a customer's own request (their password
//! again, checked and rate-limited like a password change), and the account's part of an export.

use actix_web::HttpRequest;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::extractors::client_info;
use super::limiter::Action;
use super::repo::{self, AuditEvent};
use super::{AuthError, AuthService, AuthUser};
use crate::errors::ApiError;
use crate::privacy::ExportFile;

/// Checks that the signed-in `user` knows their password now (a stolen access token alone cannot ask for
/// their data). Counted per account and per client address; a wrong password is audited and answers 401
/// `invalid-credentials`.
pub async fn reauthenticate(
    auth: &AuthService,
    req: &HttpRequest,
    user: &AuthUser,
    password: &SecretString,
) -> Result<(), ApiError> {
    let client = client_info(req);
    auth.throttle(
        Action::Reauthenticate,
        Some(&user.user_id.to_string()),
        client.limit_key.as_deref(),
    )
    .await?;
    let mut conn = auth.db.acquire().await?;
    let row = repo::user_by_id(&mut conn, user.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    drop(conn);
    if auth
        .passwords
        .verify_current(password, &row.password_hash)
        .await
    {
        return Ok(());
    }
    let mut conn = auth.db.acquire().await?;
    repo::audit(
        &mut conn,
        AuditEvent::new("reauthentication_failed", &client)
            .user(user.user_id)
            .actor(user.user_id)
            .session(user.session_id)
            .details(json!({ "purpose": "privacy_export" })),
    )
    .await?;
    Err(AuthError::WrongCurrentPassword.into())
}

/// The account (never its password hash), its sessions and its audit trail.
pub async fn export(db: PgPool, user_id: Uuid) -> anyhow::Result<Vec<ExportFile>> {
    let mut conn = db.acquire().await?;
    let account: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(u) AS "row!" FROM (
               SELECT id, email, first_name, last_name, kind, created_at, updated_at, email_verified_at,
                      password_changed_at, disabled_at
               FROM users WHERE id = $1) u"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let sessions: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(s) AS "row!" FROM (
               SELECT id, ip, user_agent, created_at, last_used_at, expires_at, revoked_at, revoked_reason
               FROM sessions WHERE user_id = $1 ORDER BY created_at) s"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let audit: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(a) AS "row!" FROM (
               SELECT event,
                      -- Staff acting on the account: that they did is the customer's, who and from
                      -- where is the staff member's own personal data.
                      CASE WHEN actor_id IS NULL OR actor_id = user_id THEN actor_id END AS actor_id,
                      CASE WHEN actor_id IS NOT NULL AND actor_id <> user_id THEN 'staff' END AS actor,
                      CASE WHEN actor_id IS NULL OR actor_id = user_id THEN session_id END AS session_id,
                      CASE WHEN actor_id IS NULL OR actor_id = user_id THEN ip END AS ip,
                      CASE WHEN actor_id IS NULL OR actor_id = user_id THEN user_agent END AS user_agent,
                      details, created_at
               FROM auth_audit_log WHERE user_id = $1 ORDER BY id) a"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(vec![
        ExportFile::new("account", account),
        ExportFile::new("sessions", sessions),
        ExportFile::new("audit", audit),
    ])
}
