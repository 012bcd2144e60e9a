//! The `auth_audit_log` table: who did what to which account or session, from where.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::service::ClientInfo;

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
    pub fn new(event: &'a str, client: &'a ClientInfo) -> Self {
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
