//! Incremental membership: after each applied event, the segments whose rules can depend on it (its type, a
//! trait change, any event for counters and scores, everything after a merge) and the segments naming those
//! are re-evaluated for the event's profile, in dependency order, inside the event's transaction.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use futures::future::BoxFuture;
use sqlx::PgConnection;
use uuid::Uuid;

use super::membership::{self, Reason};
use super::repo::{self, Kind, Stored};
use crate::crm::events::{AfterEvent, AppliedEvent};

pub struct SegmentsHook;

impl AfterEvent for SegmentsHook {
    fn name(&self) -> &'static str {
        "segments"
    }

    fn after_event<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a AppliedEvent,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(on_event(conn, event))
    }
}

/// Whether a segment's own rule can change its answer on this event.
fn triggered(segment: &Stored, event: &AppliedEvent) -> bool {
    let kind = format!("event:{}", event.kind);
    event.merge_id.is_some()
        || segment.triggers.iter().any(|trigger| {
            trigger == "*" || *trigger == kind || (trigger == "traits" && event.traits_changed)
        })
}

async fn on_event(conn: &mut PgConnection, event: &AppliedEvent) -> anyhow::Result<()> {
    let segments = repo::all_stored(&mut *conn, event.brand_id).await?;
    if segments.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    if let Some(merge_id) = event.merge_id {
        absorb(conn, event, merge_id, &segments).await?;
    }
    let graph: HashMap<Uuid, Vec<Uuid>> = segments
        .iter()
        .map(|segment| (segment.id, segment.depends_on.clone()))
        .collect();
    let direct: Vec<Uuid> = segments
        .iter()
        .filter(|segment| segment.kind == Kind::Dynamic && triggered(segment, event))
        .map(|segment| segment.id)
        .collect();
    if direct.is_empty() {
        return Ok(());
    }
    let affected = repo::with_dependents(&graph, &direct);
    let by_id: HashMap<Uuid, &Stored> = segments.iter().map(|s| (s.id, s)).collect();
    let order = repo::dependency_order(&graph, &affected);
    // The membership is read under the segments' (shared) locks: read before, a refresh holding one
    // exclusively could commit an entry or exit of this profile meanwhile, and the comparison below would
    // judge by the stale answer (an exit committed, then "still a member: nothing to do", lost the entry).
    for id in &order {
        membership::lock(&mut *conn, *id, false).await?;
    }
    // A segment deleted while this event waited for its lock is gone: nothing is written into it.
    let live: HashSet<Uuid> = sqlx::query_scalar(
        "SELECT id FROM crm_segments WHERE brand_id = $1 AND id = ANY($2) AND deleted_at IS NULL",
    )
    .bind(event.brand_id)
    .bind(&order)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let current: HashSet<Uuid> = sqlx::query_scalar!(
        "SELECT segment_id FROM crm_segment_members WHERE brand_id = $1 AND profile_id = $2",
        event.brand_id,
        event.profile_id
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    for id in order {
        let Some(segment) = by_id.get(&id).filter(|_| live.contains(&id)) else {
            continue;
        };
        let Some(rule) = &segment.rule else {
            continue;
        };
        let member =
            membership::matches(&mut *conn, event.brand_id, rule, event.profile_id, now).await?;
        if member != current.contains(&id) {
            membership::set_members(
                &mut *conn,
                event.brand_id,
                segment,
                &[event.profile_id],
                member,
                Reason::Event,
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// A merge: the absorbed profiles leave every segment; the survivor joins the static segments they were in
/// (the dynamic ones follow from its re-evaluation).
async fn absorb(
    conn: &mut PgConnection,
    event: &AppliedEvent,
    merge_id: Uuid,
    segments: &[Stored],
) -> anyhow::Result<()> {
    let absorbed = sqlx::query_scalar!(
        "SELECT absorbed_ids FROM crm_merges WHERE brand_id = $1 AND id = $2",
        event.brand_id,
        merge_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or_default();
    if absorbed.is_empty() {
        return Ok(());
    }
    let memberships = sqlx::query!(
        "SELECT segment_id, profile_id FROM crm_segment_members WHERE brand_id = $1 AND profile_id = ANY($2)",
        event.brand_id,
        &absorbed
    )
    .fetch_all(&mut *conn)
    .await?;
    let now = Utc::now();
    for segment in segments {
        let members: Vec<Uuid> = memberships
            .iter()
            .filter(|row| row.segment_id == segment.id)
            .map(|row| row.profile_id)
            .collect();
        if members.is_empty() {
            continue;
        }
        if segment.kind == Kind::Static {
            membership::set_members(
                conn,
                event.brand_id,
                segment,
                &[event.profile_id],
                true,
                Reason::Event,
                now,
            )
            .await?;
        }
        membership::set_members(
            conn,
            event.brand_id,
            segment,
            &members,
            false,
            Reason::Event,
            now,
        )
        .await?;
    }
    Ok(())
}
