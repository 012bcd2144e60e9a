//! Applying a batch of checked events: one transaction for the batch, a savepoint per event (so one event
//! that fails leaves the others standing), the batch's already-known ids found with one query, the
//! identifier locks of all its events taken in one sorted statement and their holders read in one query
//! (`resolve::lock_batch`), and per event: resolution (`resolve::resolve_locked`, which also applies the
//! traits; none of its statements when the event matches a profile the batch already holds), then the
//! activities and the counters (`write.rs`); then the after-event hooks, once per profile the batch touched
//! (see `hooks.rs` for what fails when one of them does).
//!
//! A batch's first attempt puts the activities off and writes them together, one multi-row insert and one
//! counters update per profile, before the hooks — and earlier, before any event that could merge (a merge
//! moves the absorbed profiles' activities and sums their counters, so what precedes it must be written).
//! An event id taken meanwhile by a concurrent batch shows as fewer activities written than put off, which
//! sends the batch to its guarded run, as a duplicate found event by event did.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use serde_json::json;
use sqlx::{Connection, PgConnection};
use utoipa::ToSchema;
use uuid::Uuid;

use super::hooks::{AppliedEvent, Touched};
use super::schema::ValidEvent;
use super::write::{self, Row};
use crate::brands::Brand;
use crate::crm::Crm;
use crate::crm::identifiers::Identifier;
use crate::crm::resolve::{self, OutcomeKind, ResolveInput};
use crate::errors::FieldError;
use crate::outbox::{self, NewEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CrmEventStatus)]
pub enum EventStatus {
    /// Applied: the activity is on the profile's timeline.
    Accepted,
    /// An event with this id was applied before (in an earlier batch or earlier in this one); nothing changed.
    Duplicate,
    /// The event breaks a rule (see `errors`), or names an identifier of an erased person (code `erased`:
    /// it never identifies anyone again); nothing of it was applied. Fix it before sending it again.
    Rejected,
    /// The event could not be applied (an after-event hook refused it, or the database did; see `detail`);
    /// nothing of it was applied and its id is unused: send it again.
    Failed,
}

/// What became of one event of the batch, in the batch's order.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmEventResult)]
pub struct EventResult {
    /// The event's position in the batch.
    pub index: usize,
    /// The sender's id, when it was a string.
    pub id: Option<String>,
    pub status: EventStatus,
    /// The profile the event is on (accepted and duplicate events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<Uuid>,
    /// How the identifiers resolved (accepted events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<OutcomeKind>,
    /// The merge the event's identifiers caused (`merged`): `GET …/crm/merges/{merge_id}` shows it and
    /// `POST …/crm/merges/{merge_id}/unmerge` undoes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_id: Option<Uuid>,
    /// Rejected events: every rule broken, named by JSON pointer into the batch (`/3/properties/amount`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Failed events: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl EventResult {
    pub fn rejected(index: usize, id: Option<String>, errors: Vec<FieldError>) -> Self {
        Self::new(index, id, EventStatus::Rejected).with_errors(errors)
    }

    fn new(index: usize, id: Option<String>, status: EventStatus) -> Self {
        EventResult {
            index,
            id,
            status,
            profile_id: None,
            resolution: None,
            merge_id: None,
            errors: Vec::new(),
            detail: None,
        }
    }

    fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }
}

/// One event of a batch: checked, or refused with its errors.
#[derive(Clone)]
pub enum Checked {
    Valid(Box<ValidEvent>),
    Invalid {
        id: Option<String>,
        errors: Vec<FieldError>,
    },
}

enum Failure {
    /// Another batch applied the same id meanwhile.
    Duplicate,
    /// A hook refused the event: its name goes to the sender, its error (which may quote the database) to the log.
    Hook {
        hook: &'static str,
        error: String,
    },
    Database(anyhow::Error),
    /// The event names an erased person's identifiers (`resolve::ResolveError::Erased`): refused, so a
    /// replayed event cannot recreate them.
    Erased(Vec<Identifier>),
}

/// Applies `events` in the brand, in order; `source` names where they came from (`api`, `portal`, …).
/// Fails as a whole only when the batch's transaction does (nothing is then applied).
///
/// The batch first runs without savepoints (four round trips fewer per event: the event's and the one
/// around its profile locks; a profile merged away under it fails that attempt) and with the hooks once at
/// its end, per profile; when any event or hook fails there, the whole attempt is rolled back and the batch
/// runs again with a savepoint per event and the hooks per event inside it, so a failure undoes that event
/// alone. A hook may therefore see an event of the first attempt whose writes were rolled back: only what it
/// writes in the transaction counts.
pub async fn apply(
    crm: &Crm,
    brand: &Brand,
    events: Vec<Checked>,
    source: &str,
) -> anyhow::Result<Vec<EventResult>> {
    if let Some(results) = run(crm, brand, &events, source, false).await? {
        return Ok(results);
    }
    run(crm, brand, &events, source, true)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a guarded batch gave up"))
}

/// One attempt at the batch. Unguarded (no savepoints), it gives up (`None`, nothing written) at the first
/// event that fails; guarded, every event has its savepoint and the attempt always finishes.
async fn run(
    crm: &Crm,
    brand: &Brand,
    events: &[Checked],
    source: &str,
    guarded: bool,
) -> anyhow::Result<Option<Vec<EventResult>>> {
    let mut tx = crm.db().begin().await?;
    let ids: Vec<String> = events
        .iter()
        .filter_map(|event| match event {
            Checked::Valid(event) => Some(event.id.clone()),
            Checked::Invalid { .. } => None,
        })
        .collect();
    // One index look-up per id (`LIMIT 1` keeps the subquery from being flattened into a join). The plain
    // `event_id = ANY($2)` was planned as a scan of the brand's whole part of the partial index, filtered
    // (its statistics, taken while it was nearly empty, call it tiny): 0.2–2.8 s once it held 80k ids.
    let mut seen: HashMap<String, Uuid> = sqlx::query!(
        r#"SELECT w.event_id AS "event_id!", s.profile_id
           FROM unnest($2::text[]) AS w (event_id)
           CROSS JOIN LATERAL (
               SELECT a.profile_id FROM crm_activities a
               WHERE a.brand_id = $1 AND a.event_id = w.event_id LIMIT 1
           ) s"#,
        brand.id,
        &ids
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|row| (row.event_id, row.profile_id))
    .collect();
    // Every lock the batch's events need, in one sorted order before any event runs: two batches naming
    // the same identifiers in opposite orders then queue instead of deadlocking.
    let mut known = resolve::lock_batch(
        &mut tx,
        brand.id,
        events.iter().filter_map(|event| match event {
            Checked::Valid(event) if !seen.contains_key(&event.id) => {
                Some((event.identifiers.as_slice(), &event.traits))
            }
            _ => None,
        }),
        !guarded,
    )
    .await?;
    let mut changed = BTreeSet::new();
    let mut results = Vec::with_capacity(events.len());
    // The first attempt's applied events, for its hooks at the end, and the activities it put off.
    let mut applied_all: Vec<AppliedEvent> = Vec::new();
    let mut pending: Vec<Row> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let event = match event {
            Checked::Invalid { id, errors } => {
                results.push(EventResult::rejected(index, id.clone(), errors.clone()));
                continue;
            }
            Checked::Valid(event) => event,
        };
        let mut result = EventResult::new(index, Some(event.id.clone()), EventStatus::Accepted);
        if let Some(profile_id) = seen.get(&event.id) {
            result.status = EventStatus::Duplicate;
            result.profile_id = Some(*profile_id);
            results.push(result);
            continue;
        }
        let outcome = if guarded {
            let mut savepoint = Connection::begin(&mut *tx).await?;
            let outcome = match apply_one(&mut savepoint, brand, event, source, &mut known).await {
                Ok((applied, row)) => {
                    match write_all(&mut savepoint, brand, source, &[row]).await {
                        Ok(()) => run_hooks(crm, &mut savepoint, std::slice::from_ref(&applied))
                            .await
                            .map(|()| applied),
                        Err(failure) => Err(failure),
                    }
                }
                Err(failure) => Err(failure),
            };
            match outcome {
                Ok(_) => savepoint.commit().await?,
                Err(_) => {
                    savepoint.rollback().await?;
                    known.forget();
                }
            }
            outcome
        } else {
            if !pending.is_empty()
                && known.may_merge(&event.identifiers)
                && write_all(&mut tx, brand, source, &std::mem::take(&mut pending))
                    .await
                    .is_err()
            {
                tx.rollback().await?;
                return Ok(None);
            }
            match apply_one(&mut tx, brand, event, source, &mut known).await {
                Ok((applied, row)) => {
                    pending.push(row);
                    applied_all.push(applied.clone());
                    Ok(applied)
                }
                Err(_) => {
                    tx.rollback().await?;
                    return Ok(None);
                }
            }
        };
        match outcome {
            Ok(applied) => {
                if applied.traits_changed {
                    changed.insert(applied.profile_id);
                }
                seen.insert(event.id.clone(), applied.profile_id);
                result.profile_id = Some(applied.profile_id);
                result.resolution = Some(applied.resolution);
                result.merge_id = applied.merge_id;
            }
            Err(failure) => match failure {
                Failure::Duplicate => {
                    result.status = EventStatus::Duplicate;
                    result.profile_id = sqlx::query_scalar!(
                            "SELECT profile_id FROM crm_activities WHERE brand_id = $1 AND event_id = $2",
                            brand.id,
                            event.id
                        )
                        .fetch_optional(&mut *tx)
                        .await?;
                }
                Failure::Hook { hook, error } => {
                    tracing::warn!(event_id = %event.id, %error, "an after-event hook refused an event");
                    result.status = EventStatus::Failed;
                    result.detail = Some(format!(
                        "The {hook} hook could not process the event; send it again."
                    ));
                }
                Failure::Erased(erased) => {
                    result.status = EventStatus::Rejected;
                    let given: Vec<(usize, Identifier)> =
                        event.identifiers.iter().cloned().enumerate().collect();
                    result.errors = crate::crm::erased_fields(
                        &erased,
                        &given,
                        &event.traits,
                        &format!("/{index}/"),
                        "traits",
                    );
                }
                Failure::Database(error) => {
                    tracing::warn!(event_id = %event.id, error = %format!("{error:#}"), "an event could not be applied");
                    result.status = EventStatus::Failed;
                    result.detail = Some("The event could not be applied; send it again.".into());
                }
            },
        }
        results.push(result);
    }
    if !guarded
        && (write_all(&mut tx, brand, source, &pending).await.is_err()
            || run_hooks(crm, &mut tx, &applied_all).await.is_err())
    {
        tx.rollback().await?;
        return Ok(None);
    }
    for profile_id in changed {
        outbox::record(
            &mut tx,
            NewEvent {
                topic: "crm.profile.updated",
                aggregate_type: "crm_profile",
                aggregate_id: profile_id.to_string(),
                payload: json!({ "brand": brand.slug, "profile_id": profile_id, "cause": "event" }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    for result in &results {
        let outcome = match result.status {
            EventStatus::Accepted => "accepted",
            EventStatus::Duplicate => "duplicate",
            EventStatus::Rejected => "rejected",
            EventStatus::Failed => "failed",
        };
        metrics::counter!("crm_events_total", "outcome" => outcome).increment(1);
    }
    Ok(Some(results))
}

/// Writes `rows`' activities and counters; a row whose event id was taken meanwhile makes it a duplicate.
async fn write_all(
    conn: &mut PgConnection,
    brand: &Brand,
    source: &str,
    rows: &[Row],
) -> Result<(), Failure> {
    let written = write::write(conn, brand.id, source, rows)
        .await
        .map_err(|error| Failure::Database(error.into()))?;
    if written < rows.len() {
        return Err(Failure::Duplicate);
    }
    Ok(())
}

/// The hooks over `applied`, grouped per profile.
async fn run_hooks(
    crm: &Crm,
    conn: &mut PgConnection,
    applied: &[AppliedEvent],
) -> Result<(), Failure> {
    crm.hooks()
        .run(conn, &Touched::group(applied))
        .await
        .map_err(|failed| Failure::Hook {
            hook: failed.hook,
            error: failed.to_string(),
        })
}

/// Resolves the event (with its traits) and answers it as applied, with the activity to write for it.
async fn apply_one(
    conn: &mut PgConnection,
    brand: &Brand,
    event: &ValidEvent,
    source: &str,
    known: &mut resolve::KnownOwners,
) -> Result<(AppliedEvent, Row), Failure> {
    let database = |error: sqlx::Error| Failure::Database(error.into());
    let has_traits = event.traits != Default::default();
    let before = if has_traits {
        digests(conn, brand.id, &event.identifiers)
            .await
            .map_err(database)?
    } else {
        HashMap::new()
    };
    let input = ResolveInput {
        identifiers: &event.identifiers,
        attributes: &event.traits,
        at: event.occurred_at,
        source,
    };
    let resolution = resolve::resolve_locked(conn, brand.id, &input, known)
        .await
        .map_err(|error| match error {
            resolve::ResolveError::Erased(erased) => Failure::Erased(erased),
            resolve::ResolveError::Db(error) => Failure::Database(error.into()),
        })?;
    let profile_id = resolution.profile_id;
    let traits_changed = match before.get(&profile_id) {
        Some(earlier) => {
            digest(conn, brand.id, profile_id)
                .await
                .map_err(database)?
                .as_ref()
                != Some(earlier)
        }
        None => false,
    };
    let lifetime = event
        .purchase
        .as_ref()
        .filter(|(_, currency)| currency.eq_ignore_ascii_case(&brand.currency))
        .map(|(amount, _)| amount.clone());
    let activity_id = Uuid::now_v7();
    let row = Row {
        activity_id,
        profile_id,
        kind: event.kind.clone(),
        occurred_at: event.occurred_at,
        properties: event.properties.clone(),
        event_id: event.id.clone(),
        lifetime,
    };
    let applied = AppliedEvent {
        brand_id: brand.id,
        profile_id,
        activity_id,
        event_id: event.id.clone(),
        kind: event.kind.clone(),
        occurred_at: event.occurred_at,
        properties: event.properties.clone(),
        resolution: resolution.outcome,
        merge_id: resolution.merge_id,
        traits_changed,
    };
    Ok((applied, row))
}

/// A fingerprint of a profile's attributes, to tell whether traits changed them.
async fn digest(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT md5(ROW(first_name, last_name, email, phone, birthday, locale, country, city, tier, tags,
                          custom)::text) AS "digest!"
           FROM crm_profiles WHERE brand_id = $1 AND id = $2"#,
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The fingerprints of the profiles holding any of `identifiers`, before the event is applied.
async fn digests(
    conn: &mut PgConnection,
    brand_id: Uuid,
    identifiers: &[Identifier],
) -> Result<HashMap<Uuid, String>, sqlx::Error> {
    let kinds: Vec<String> = identifiers.iter().map(|i| i.kind.clone()).collect();
    let values: Vec<String> = identifiers.iter().map(|i| i.value.clone()).collect();
    let rows = sqlx::query!(
        r#"SELECT p.id, md5(ROW(p.first_name, p.last_name, p.email, p.phone, p.birthday, p.locale, p.country,
                                p.city, p.tier, p.tags, p.custom)::text) AS "digest!"
           FROM crm_profiles p
           WHERE p.brand_id = $1 AND p.id IN (
               SELECT i.profile_id FROM crm_identifiers i
               JOIN unnest($2::text[], $3::text[]) AS wanted (kind, value)
                 ON i.kind = wanted.kind AND i.value = wanted.value
               WHERE i.brand_id = $1)"#,
        brand_id,
        &kinds,
        &values
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.id, row.digest)).collect())
}
