//! Erasing a client from clienteling (a data subject's right to erasure), for the profiles the CRM's
//! erasure names (`crm::erasure::Targets::profiles`: the person's live profile and those merged into it).
//!
//! - The client layer: preferences, important dates and notes emptied, and the copy of the profile's
//!   searchable attributes (names, email, phone, tags, the search text) cleared. The row stays (assignments,
//!   interactions, tasks and appointments point at it), with its store and `last_contacted_at`, marked
//!   `erased_at`: every write about the client answers 409 `client-erased` from then on.
//! - Interactions: each stream gets a `redacted` event **appended** (see `interactions::model`), then the
//!   payloads before it are replaced by their redacted form, the projection rewritten from the fold and a
//!   mirror job queued, so the Salesforce Task is overwritten with the redacted content (the mirror sends
//!   the current state: nothing personal is left to re-send).
//! - Tasks and appointments: their own contexts' `erase_for_clients`.
//!
//! One transaction; running it again finds every stream redacted already and answers `already_done`.
//! [`salesforce_tasks_redacted`] then tells the erasure when Salesforce's Tasks hold the redacted content.

use anyhow::Context;
use uuid::Uuid;

use super::Clienteling;
use super::interactions::mirror::Mirror;
use super::interactions::model::{self, State};
use super::interactions::store::{self, NewEvent};
use crate::config::JobSettings;
use crate::integrations::ProviderError;
use crate::jobs::JobContext;
use crate::types::{Receipt, ReceiptStatus};

/// What one run changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub clients: u64,
    pub interactions: u64,
    pub tasks: u64,
    pub appointments: u64,
}

pub async fn erase_clients(
    clienteling: &Clienteling,
    jobs: &JobSettings,
    brand_id: Uuid,
    profile_ids: &[Uuid],
) -> anyhow::Result<(Receipt, Counts)> {
    let mut tx = clienteling.db().begin().await?;
    let mut counts = Counts {
        clients: sqlx::query!(
            "UPDATE clienteling_clients SET preferences = '{}', important_dates = '[]', notes = '',
                    first_name = NULL, last_name = NULL, email = NULL, phone = NULL, tags = '{}',
                    search_text = '', erased_at = coalesce(erased_at, now()), updated_at = now()
             WHERE brand_id = $1 AND profile_id = ANY($2)
               AND (preferences <> '{}' OR important_dates <> '[]' OR notes <> '' OR first_name IS NOT NULL
                    OR last_name IS NOT NULL OR email IS NOT NULL OR phone IS NOT NULL OR tags <> '{}'
                    OR search_text <> '' OR erased_at IS NULL)",
            brand_id,
            profile_ids
        )
        .execute(&mut *tx)
        .await?
        .rows_affected(),
        ..Counts::default()
    };
    for id in store::of_clients(&mut tx, brand_id, profile_ids).await? {
        if redact_interaction(&mut tx, jobs, brand_id, id).await? {
            counts.interactions += 1;
        }
    }
    counts.tasks = super::tasks::erase_for_clients(&mut tx, brand_id, profile_ids).await?;
    counts.appointments =
        super::appointments::erase_for_clients(&mut tx, brand_id, profile_ids).await?;
    tx.commit().await?;
    let status = if counts == Counts::default() {
        ReceiptStatus::AlreadyDone
    } else {
        ReceiptStatus::Done
    };
    let reference = profile_ids
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let receipt = Receipt::new("clienteling", reference, status).with_detail(format!(
        "{} clients, {} interactions redacted, {} tasks, {} appointments",
        counts.clients, counts.interactions, counts.tasks, counts.appointments
    ));
    Ok((receipt, counts))
}

/// Where Salesforce's copies of the clients' interactions stand after the redaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TasksRedacted {
    /// Every Task holds the redacted content (or the client never had an interaction): the receipt.
    Done(Receipt),
    /// Salesforce refused this many redacted Tasks (it holds a newer version, or refused the write): a
    /// person must look.
    Refused(usize),
}

/// Makes the Salesforce Tasks mirroring the clients' interactions hold the redacted content, and says so.
/// A stream logged while the clienteling step ran (it missed it) is redacted now; every stream whose mirror
/// is not at its last content version is mirrored here and now, through the same upsert the mirror job
/// sends (idempotent: the job finding it done makes no call), so the erasure neither waits on the job
/// queue nor piles up jobs. An unreachable Salesforce is an `Err` (the erasure step retries).
pub async fn salesforce_tasks_redacted(
    clienteling: &Clienteling,
    jobs: &JobSettings,
    brand_id: Uuid,
    profile_ids: &[Uuid],
) -> anyhow::Result<TasksRedacted> {
    let streams = {
        let mut conn = clienteling.db().acquire().await?;
        store::of_clients(&mut conn, brand_id, profile_ids).await?
    };
    let mut tasks = Vec::new();
    let mut refused = 0;
    for id in streams {
        {
            let mut tx = clienteling.db().begin().await?;
            redact_interaction(&mut tx, jobs, brand_id, id).await?;
            tx.commit().await?;
        }
        if mirrored_task(clienteling, brand_id, id).await?.is_none() {
            let now = JobContext {
                task_id: format!("erasure:{id}"),
                attempt: 1,
                max_attempts: u32::MAX,
            };
            let job = Mirror {
                brand_id,
                interaction_id: id,
                version: 0,
            };
            match super::interactions::mirror::run(clienteling.clone(), job, now).await {
                Ok(()) => {}
                // Salesforce refused the write itself (access, a validation rule, a locked record): a
                // person must look, retrying would only ask again.
                Err(error)
                    if matches!(
                        error.downcast_ref::<ProviderError>(),
                        Some(ProviderError::Rejected { .. })
                    ) =>
                {
                    tracing::warn!(interaction = %id, error = %format!("{error:#}"), "Salesforce refused the redacted Task");
                    refused += 1;
                    continue;
                }
                Err(error) => return Err(error),
            }
        }
        match mirrored_task(clienteling, brand_id, id).await? {
            Some(task) => tasks.extend(task),
            // Sent, and not recorded: Salesforce answered that it holds a newer version.
            None => refused += 1,
        }
    }
    if refused > 0 {
        return Ok(TasksRedacted::Refused(refused));
    }
    let status = if tasks.is_empty() {
        ReceiptStatus::AlreadyDone
    } else {
        ReceiptStatus::Done
    };
    // Task ids name no one; past a handful the count says enough.
    let reference = if tasks.len() <= 10 {
        tasks.join(",")
    } else {
        format!("{} Tasks", tasks.len())
    };
    Ok(TasksRedacted::Done(
        Receipt::new("salesforce", reference, status).with_detail(format!(
            "{} Tasks hold the redacted interactions",
            tasks.len()
        )),
    ))
}

/// `Some(task id)` when the stream's mirror is at its last content version (`Some(None)`: mirrored with no
/// Task id recorded); `None` when Salesforce still holds an earlier version.
async fn mirrored_task(
    clienteling: &Clienteling,
    brand_id: Uuid,
    id: Uuid,
) -> anyhow::Result<Option<Option<String>>> {
    let mut conn = clienteling.db().acquire().await?;
    let Some(state) = store::by_id(&mut conn, brand_id, id, false).await? else {
        return Ok(Some(None));
    };
    let wanted = store::content_version(&mut conn, brand_id, id)
        .await?
        .map_or(state.version, |(version, _)| version);
    let mirror = state
        .mirror
        .as_ref()
        .filter(|mirror| mirror["status"] == "mirrored");
    let at = mirror.and_then(|mirror| mirror["content_version"].as_i64());
    if at < Some(i64::from(wanted)) {
        return Ok(None);
    }
    Ok(Some(mirror.and_then(|mirror| {
        mirror["task_id"].as_str().map(str::to_owned)
    })))
}

/// Appends `redacted` to the stream unless it has one, then redacts the payloads before it; `true` when
/// this run appended it.
async fn redact_interaction(
    conn: &mut sqlx::PgConnection,
    jobs: &JobSettings,
    brand_id: Uuid,
    id: Uuid,
) -> anyhow::Result<bool> {
    let Some(state) = store::by_id(conn, brand_id, id, true).await? else {
        return Ok(false);
    };
    let events = store::events(conn, brand_id, id, None).await?;
    if events.iter().any(|event| event.kind == "redacted") {
        return Ok(false);
    }
    let event = store::append(
        conn,
        NewEvent {
            brand_id,
            stream_id: id,
            version: state.version + 1,
            kind: "redacted",
            payload: model::redacted_payload(),
            actor: "system:erasure",
        },
    )
    .await?;
    for earlier in &events {
        if let Some(payload) = model::redact_payload(&earlier.kind, &earlier.payload) {
            store::replace_redacted_payload(conn, brand_id, id, earlier.version, &payload).await?;
        }
    }
    let next = State::apply(Some(state), id, &event)
        .with_context(|| format!("interaction {id}: redacted cannot follow"))?;
    store::project(conn, brand_id, &next).await?;
    crate::jobs::enqueue(
        conn,
        jobs,
        &Mirror {
            brand_id,
            interaction_id: id,
            version: next.version,
        },
        None,
    )
    .await?;
    Ok(true)
}
