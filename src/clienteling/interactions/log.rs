//! Interactions written by clienteling itself rather than typed by an advisor (a completed appointment):
//! the same event, projection, `last_contacted_at` and follow-up jobs as `POST …/interactions`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Created, State};
use super::store::{self, NewEvent};
use crate::errors::ApiError;
use crate::state::AppState;

pub struct NewInteraction<'a> {
    pub brand: &'a str,
    pub brand_id: Uuid,
    pub client_id: Uuid,
    pub store: String,
    pub advisor_id: Uuid,
    pub channel: &'a str,
    pub context: &'a str,
    pub subject: Option<String>,
    pub note: Option<String>,
    pub metadata: Value,
    pub occurred_at: DateTime<Utc>,
    pub actor: &'a str,
}

/// Logs the interaction in the caller's transaction; the metadata goes through the context's processor like
/// an advisor's, so what the caller builds is held to the same schema.
pub async fn log(
    state: &AppState,
    conn: &mut PgConnection,
    new: NewInteraction<'_>,
) -> Result<State, ApiError> {
    // Held to the end of the caller's transaction: an erasure of the client waits for this interaction,
    // and then redacts it with the rest.
    if !crate::clienteling::repo::lock_writable(conn, new.brand_id, new.client_id).await? {
        return Err(crate::clienteling::repo::client_erased());
    }
    let processor = state
        .clienteling
        .processors()
        .processor(new.brand, new.context)
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("no processor for context {}", new.context))
        })?;
    let metadata = processor.check(&new.metadata).map_err(|errors| {
        ApiError::internal(anyhow::anyhow!(
            "{} metadata refused by its processor: {errors:?}",
            new.context
        ))
    })?;
    let wants = processor.wants(&metadata);
    let id = Uuid::now_v7();
    let created = Created {
        client_id: new.client_id,
        store: new.store,
        advisor_id: new.advisor_id,
        channel: new.channel.to_owned(),
        context: new.context.to_owned(),
        subject: new.subject,
        note: new.note,
        metadata,
        enrichment_status: "pending".to_owned(),
        occurred_at: new.occurred_at,
    };
    let payload = serde_json::to_value(&created).map_err(ApiError::internal)?;
    let event = store::append(
        conn,
        NewEvent {
            brand_id: new.brand_id,
            stream_id: id,
            version: 1,
            kind: "created",
            payload,
            actor: new.actor,
        },
    )
    .await?;
    let interaction = State::apply(None, id, &event).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("interaction {id}: created did not fold"))
    })?;
    store::project(conn, new.brand_id, &interaction).await?;
    store::contacted(conn, new.brand_id, new.client_id).await?;
    super::after_write(state, conn, new.brand, new.brand_id, &interaction, &wants).await?;
    Ok(interaction)
}
