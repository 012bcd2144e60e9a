//! Sessions and refresh-token rotation.
//!
//! One session per login is one refresh-token family. A refresh locks the session row, so concurrent
//! refreshes of one token run one after another: the first rotates, the rest find the token rotated moments
//! ago and get the family's current pair. A rotated token presented after the grace window is theft (or a
//! very late replay): the whole family is revoked and the event audited.

use std::sync::Arc;

use chrono::{Duration as ChronoDuration, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AuthError;
use super::keys::TokenKeys;
use super::limiter::{Action, ActionLimiter, LoginLimiter};
use super::model::User;
use super::passwords::Passwords;
use super::repo::{self, AuditEvent, NewSession};
use super::secrets::{self, Purpose, TokenSecrets};
use crate::cache::Cache;
use crate::config::AuthSettings;
use crate::integrations::messaging::MessagingClient;

/// Auth's handle: built once in `cli::build_state` and reached as `state.auth`. Handlers and extractors use
/// its keys, passwords, secrets and limiter; its jobs (the password-reset email) also use the pool and the
/// messaging client. Request-path methods take the caller's connection or transaction, so the caller decides
/// what commits together; [`AuthService::refresh`], a transaction of its own, runs on the handle's pool.
pub struct AuthService {
    pub settings: AuthSettings,
    pub keys: TokenKeys,
    pub passwords: Passwords,
    pub secrets: TokenSecrets,
    pub limiter: LoginLimiter,
    /// Per-address and per-account limits of the other account routes ([`super::limiter::Action`]).
    pub actions: ActionLimiter,
    pub(super) db: PgPool,
    pub(super) messaging: MessagingClient,
}

/// Where a request came from, for sessions and the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The client address (see [`crate::http::client_ip`]), as recorded.
    pub ip: Option<String>,
    /// What per-address limits count under: the address, or its /64 for IPv6.
    pub limit_key: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: User,
}

pub struct IssuedSession {
    pub session_id: Uuid,
    pub access_token: String,
    pub refresh_token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("the refresh token is not valid")]
    Invalid,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for RefreshError {
    fn from(error: sqlx::Error) -> Self {
        RefreshError::Unexpected(error.into())
    }
}

pub struct Refreshed {
    pub user: User,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub access_token: String,
    pub refresh_token: String,
}

impl AuthService {
    pub fn new(
        settings: &AuthSettings,
        db: PgPool,
        cache: Cache,
        messaging: MessagingClient,
    ) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            keys: TokenKeys::from_settings(settings)?,
            passwords: Passwords::new(settings)?,
            secrets: TokenSecrets::new(&settings.refresh_token_key)?,
            limiter: LoginLimiter::new(cache.clone(), settings),
            actions: ActionLimiter::new(cache, &settings.limits),
            settings: settings.clone(),
            db,
            messaging,
        }))
    }

    pub(super) fn retention(&self) -> repo::Retention {
        repo::Retention {
            idle_secs: self.settings.refresh_idle_timeout_secs,
            ended_session_days: i32::try_from(self.settings.ended_session_retention_days)
                .unwrap_or(i32::MAX),
            audit_days: i32::try_from(self.settings.audit_retention_days).unwrap_or(i32::MAX),
            notice_interval_secs: self.settings.registration_notice_interval_secs,
        }
    }

    /// Counts one `action` for `account` from the client address `ip` (its limit key,
    /// [`ClientInfo::limit_key`]); a 429 problem with `Retry-After` once either is at its limit.
    pub async fn throttle(
        &self,
        action: Action,
        account: Option<&str>,
        ip: Option<&str>,
    ) -> Result<(), AuthError> {
        self.actions
            .hit(action, account, ip)
            .await
            .map_err(|retry_after| AuthError::TooManyRequests { retry_after })
    }

    fn idle(&self) -> ChronoDuration {
        ChronoDuration::seconds(
            i64::try_from(self.settings.refresh_idle_timeout_secs).unwrap_or(i64::MAX / 2),
        )
    }

    /// Starts a session (a new refresh-token family) for a user who just proved who they are.
    pub async fn start_session(
        &self,
        conn: &mut PgConnection,
        user_id: Uuid,
        roles: &[String],
        client: &ClientInfo,
    ) -> anyhow::Result<IssuedSession> {
        let session_id = Uuid::now_v7();
        let token_id = Uuid::new_v4();
        let refresh_token = self.secrets.token(Purpose::Refresh, token_id);
        let lifetime =
            i64::try_from(self.settings.refresh_absolute_lifetime_secs).unwrap_or(i64::MAX / 2);
        repo::create_session(
            conn,
            NewSession {
                id: session_id,
                user_id,
                token_id,
                token_hash: &secrets::hash(&refresh_token),
                ip: client.ip.as_deref(),
                user_agent: client.user_agent.as_deref(),
                expires_at: Utc::now() + ChronoDuration::seconds(lifetime),
            },
        )
        .await?;
        let access_token = self.keys.issue(user_id, session_id, roles)?;
        Ok(IssuedSession {
            session_id,
            access_token,
            refresh_token,
        })
    }

    pub async fn refresh(
        &self,
        presented: &str,
        client: &ClientInfo,
    ) -> Result<Refreshed, RefreshError> {
        let mut tx = self.db.begin().await?;
        let Some(row) = repo::lock_refresh(&mut tx, &secrets::hash(presented)).await? else {
            return Err(RefreshError::Invalid);
        };
        let audit = |event: &'static str, details: serde_json::Value| {
            AuditEvent::new(event, client)
                .user(row.user_id)
                .session(row.session_id)
                .details(details)
        };
        // A revoked family never comes back, grace window or not.
        if row.revoked_at.is_some() {
            repo::audit(
                &mut tx,
                audit(
                    "refresh_rejected_revoked",
                    json!({ "token_id": row.token_id }),
                ),
            )
            .await?;
            tx.commit().await?;
            return Err(RefreshError::Invalid);
        }
        let now = Utc::now();
        let expired = row.expires_at <= now
            || row.last_used_at + self.idle() <= now
            || row.disabled_at.is_some();
        if expired {
            let reason = if row.disabled_at.is_some() {
                "user_disabled"
            } else {
                "expired"
            };
            repo::revoke_session(&mut tx, row.session_id, None, reason).await?;
            repo::audit(
                &mut tx,
                audit("session_expired", json!({ "reason": reason })),
            )
            .await?;
            tx.commit().await?;
            return Err(RefreshError::Invalid);
        }

        let current_token_id = match row.rotated_at {
            None => {
                let child = Uuid::new_v4();
                let child_token = self.secrets.token(Purpose::Refresh, child);
                repo::rotate(
                    &mut tx,
                    repo::Rotation {
                        session_id: row.session_id,
                        user_id: row.user_id,
                        old_token_id: row.token_id,
                        new_token_id: child,
                        new_hash: &secrets::hash(&child_token),
                        ip: client.ip.as_deref(),
                        user_agent: client.user_agent.as_deref(),
                    },
                )
                .await?;
                child
            }
            Some(rotated_at) => {
                let grace = ChronoDuration::seconds(
                    i64::try_from(self.settings.reuse_grace_secs).unwrap_or(0),
                );
                if now - rotated_at > grace {
                    repo::revoke_session(&mut tx, row.session_id, None, "refresh_token_reuse")
                        .await?;
                    repo::audit(
                        &mut tx,
                        audit(
                            "refresh_token_reuse_detected",
                            json!({ "token_id": row.token_id, "rotated_at": rotated_at, "family_revoked": true }),
                        ),
                    )
                    .await?;
                    tx.commit().await?;
                    tracing::warn!(session_id = %row.session_id, "refresh token reuse detected; family revoked");
                    return Err(RefreshError::Invalid);
                }
                // Two tabs, or a response lost on the way: hand back the family's current pair.
                repo::touch_session(&mut tx, row.session_id).await?;
                repo::audit(
                    &mut tx,
                    audit("refresh_within_grace", json!({ "token_id": row.token_id })),
                )
                .await?;
                row.current_token_id
            }
        };
        tx.commit().await?;
        Ok(Refreshed {
            user: row.user(),
            user_id: row.user_id,
            session_id: row.session_id,
            access_token: self.keys.issue(row.user_id, row.session_id, &row.roles)?,
            refresh_token: self.secrets.token(Purpose::Refresh, current_token_id),
        })
    }
}
