//! Interactions, event-sourced: each is a stream of events (`created`, `updated`, `enriched`,
//! `enrichment_failed`, `mirrored`, `deleted`) in an append-only table, with the current state in a
//! projection written in the same transaction. A processor per context (per brand) validates the metadata
//! and names what to enrich.

pub mod activity;
pub mod enrich;
pub mod fields;
pub mod log;
pub mod mirror;
pub mod model;
pub mod processors;
pub mod routes;
pub(crate) mod store;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::clienteling::Clienteling;
use crate::errors::ApiError;
use crate::jobs::{self, Runner};
use crate::outbox::{self, NewEvent};
use crate::state::AppState;
use model::State;
use processors::Wants;

/// The enrichment and mirror workers.
pub fn jobs(runner: Runner, clienteling: &Clienteling) -> Runner {
    let enriching = clienteling.clone();
    let mirroring = clienteling.clone();
    runner
        .register(move |job: enrich::Enrich, ctx| enrich::run(enriching.clone(), job, ctx))
        .register(move |job: mirror::Mirror, ctx| mirror::run(mirroring.clone(), job, ctx))
}

/// What follows every write, in its transaction: the outbox event the CRM activity feed reads, and the jobs
/// of the enrichment (after a person's write) and of the Salesforce mirror (after every write of theirs),
/// each naming the version it follows.
async fn after_write(
    state: &AppState,
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
                "advisor_id": interaction.advisor_id,
                "store": interaction.store,
                "enrich": wants,
            }),
        },
    )
    .await?;
    let settings = &state.settings.jobs;
    if interaction.deleted_at.is_none() {
        let job = enrich::Enrich {
            brand_id,
            brand: brand.to_owned(),
            interaction_id: interaction.id,
            version: interaction.version,
        };
        jobs::enqueue(conn, settings, &job, None)
            .await
            .map_err(ApiError::internal)?;
    }
    let job = mirror::Mirror {
        brand_id,
        interaction_id: interaction.id,
        version: interaction.version,
    };
    jobs::enqueue(conn, settings, &job, None)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}
