//! The audit trail of SIM changes (`sim_actions`): one row per attempted change, whatever its outcome.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::domain::SimAction;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// A 4xx answer: the change was refused (the line's state, a closed service, not found).
    Rejected,
    /// A 5xx answer: a provider failed; the change did not happen (as far as could be told).
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        }
    }
}

pub struct Entry<'a> {
    pub user_id: Uuid,
    pub service_id: u64,
    pub action: SimAction,
    /// The request's parameters: never secrets.
    pub parameters: &'a serde_json::Value,
    pub outcome: Outcome,
    pub provider_reference: Option<&'a str>,
    /// Our readable text, scrubbed of personal data.
    pub error: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

pub struct Recorded {
    pub id: i64,
    pub created_at: DateTime<Utc>,
}

#[tracing::instrument(name = "subscriptions.audit", skip_all, fields(action = entry.action.as_str(), outcome = entry.outcome.as_str()), err)]
pub async fn record(pool: &PgPool, entry: &Entry<'_>) -> Result<Recorded, sqlx::Error> {
    let service_id = i64::try_from(entry.service_id).unwrap_or(i64::MAX);
    let row = sqlx::query!(
        "INSERT INTO sim_actions
             (user_id, service_id, action, parameters, outcome, provider_reference, error, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING id, created_at",
        entry.user_id,
        service_id,
        entry.action.as_str(),
        entry.parameters,
        entry.outcome.as_str(),
        entry.provider_reference,
        entry.error,
        entry.request_id,
    )
    .fetch_one(pool)
    .await?;
    Ok(Recorded {
        id: row.id,
        created_at: row.created_at,
    })
}

/// Whether the line of `service_id` is suspended by `user_id`'s own request: the trail's latest successful
/// suspend or resume of the service is a suspend that user made. A suspension by support, billing or the
/// network has no such row, and a resume closes the customer's.
pub async fn suspended_by(
    pool: &PgPool,
    user_id: Uuid,
    service_id: u64,
) -> Result<bool, sqlx::Error> {
    let service_id = i64::try_from(service_id).unwrap_or(i64::MAX);
    let latest = sqlx::query!(
        "SELECT user_id, action FROM sim_actions
         WHERE service_id = $1 AND outcome = 'succeeded' AND action IN ('suspend', 'resume')
         ORDER BY id DESC LIMIT 1",
        service_id,
    )
    .fetch_optional(pool)
    .await?;
    Ok(latest.is_some_and(|row| row.action == "suspend" && row.user_id == user_id))
}
