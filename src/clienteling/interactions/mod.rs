//! Interactions, event-sourced: each is a stream of events (`created`, `updated`, `enriched`,
//! `enrichment_failed`, `mirrored`, `deleted`) in an append-only table, with the current state in a
//! projection written in the same transaction. A processor per context (per brand) validates the metadata
//! and names what to enrich.

pub mod fields;
pub mod model;
pub mod processors;
pub mod routes;
mod store;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::errors::ApiError;
use crate::outbox::{self, NewEvent};
use crate::state::AppState;
use model::State;
use processors::Wants;

/// What follows every write, in its transaction: the outbox event the CRM activity feed, the enrichment
/// job and the Salesforce mirror start from. Its aggregate id and version make each one unique.
async fn after_write(
    _state: &AppState,
    conn: &mut PgConnection,
    brand: &str,
    brand_id: Uuid,
    interaction: &State,
    wants: &Wants,
) -> Result<(), ApiError> {
    let topic = match (interaction.version, interaction.deleted_at) {
        (_, Some(_)) => "clienteling.interaction.deleted",
        (1, None) => "clienteling.interaction.created",
        _ => "clienteling.interaction.updated",
    };
    outbox::record(
        conn,
        NewEvent {
            topic,
            aggregate_type: "clienteling_interaction",
            aggregate_id: interaction.id.to_string(),
            payload: serde_json::json!({
                "brand": brand,
                "brand_id": brand_id,
                "interaction_id": interaction.id,
                "client_id": interaction.client_id,
                "version": interaction.version,
                "channel": interaction.channel,
                "context": interaction.context,
                "occurred_at": interaction.occurred_at,
                "enrich": wants,
            }),
        },
    )
    .await?;
    Ok(())
}
