//! Incremental membership: after a batch's events, for each profile they touched, the segments whose rules
//! can depend on what happened to it (its events' types, a trait change, any event for counters and
//! scores, everything after a merge, `consent` after a consent change) and the segments naming those are
//! re-evaluated, in dependency order, inside the batch's transaction. The brand's segments are read once
//! per batch, and each affected segment is evaluated in one statement over all the profiles it concerns.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::PgConnection;
use uuid::Uuid;

use super::membership::{self, Reason};
use super::repo::{self, Kind, Stored};
use crate::crm::events::{AfterEvent, AppliedEvent, Touched};

pub struct SegmentsHook;

impl AfterEvent for SegmentsHook {
    fn name(&self) -> &'static str {
        "segments"
    }

    fn after_profiles<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        touched: &'a [Touched<'a>],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut brands: Vec<Uuid> = touched.iter().map(|t| t.brand_id).collect();
            brands.sort_unstable();
            brands.dedup();
            let now = Utc::now();
            for brand_id in brands {
                let profiles: Vec<&Touched> =
                    touched.iter().filter(|t| t.brand_id == brand_id).collect();
                on_profiles(conn, brand_id, &profiles, now).await?;
            }
            Ok(())
        })
    }
}

/// Whether a segment's own rule can change its answer for a profile so touched.
fn triggered(segment: &Stored, touched: &Touched) -> bool {
    if touched.events.iter().any(|event| event.merge_id.is_some()) {
        return true;
    }
    let traits = touched.events.iter().any(|event| event.traits_changed);
    segment
        .triggers
        .iter()
        .any(|trigger| match trigger.as_str() {
            // Counters and scores: any event; a consent change rescored the profile (an opt-out counts).
            "*" => true,
            "traits" => traits,
            "consent" => touched.consent_changed,
            other => other
                .strip_prefix("event:")
                .is_some_and(|kind| touched.events.iter().any(|event| event.kind == kind)),
        })
}

async fn on_profiles(
    conn: &mut PgConnection,
    brand_id: Uuid,
    touched: &[&Touched<'_>],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let segments = repo::all_stored(&mut *conn, brand_id).await?;
    if segments.is_empty() {
        return Ok(());
    }
    for profile in touched {
        for event in &profile.events {
            if let Some(merge_id) = event.merge_id {
                absorb(conn, event, merge_id, &segments).await?;
            }
        }
    }
    let graph: HashMap<Uuid, Vec<Uuid>> = segments
        .iter()
        .map(|segment| (segment.id, segment.depends_on.clone()))
        .collect();
    // Segment → the profiles it is re-evaluated for.
    let mut concerned: HashMap<Uuid, BTreeSet<Uuid>> = HashMap::new();
    for profile in touched {
        let direct: Vec<Uuid> = segments
            .iter()
            .filter(|segment| segment.kind == Kind::Dynamic && triggered(segment, profile))
            .map(|segment| segment.id)
            .collect();
        if direct.is_empty() {
            continue;
        }
        for id in repo::with_dependents(&graph, &direct) {
            concerned.entry(id).or_default().insert(profile.profile_id);
        }
    }
    if concerned.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = concerned
        .values()
        .flatten()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let include: HashSet<Uuid> = concerned.keys().copied().collect();
    let order = repo::dependency_order(&graph, &include);
    // The memberships are read under the segments' (shared) locks: read before, a refresh holding one
    // exclusively could commit an entry or exit of these profiles meanwhile, and the comparison below would
    // judge by the stale answer (an exit committed, then "still a member: nothing to do", lost the entry).
    for id in &order {
        membership::lock(&mut *conn, *id, false).await?;
    }
    // A segment deleted while this batch waited for its lock is gone: nothing is written into it.
    let live: HashSet<Uuid> = sqlx::query_scalar(
        "SELECT id FROM crm_segments WHERE brand_id = $1 AND id = ANY($2) AND deleted_at IS NULL",
    )
    .bind(brand_id)
    .bind(&order)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let current: HashSet<(Uuid, Uuid)> = sqlx::query!(
        "SELECT segment_id, profile_id FROM crm_segment_members
         WHERE brand_id = $1 AND profile_id = ANY($2)",
        brand_id,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|row| (row.segment_id, row.profile_id))
    .collect();
    // A profile moved by a consent change alone says so in the history; by events, `event`.
    let reasons: HashMap<Uuid, Reason> = touched
        .iter()
        .map(|t| {
            let reason = if t.events.is_empty() {
                Reason::Consent
            } else {
                Reason::Event
            };
            (t.profile_id, reason)
        })
        .collect();
    let by_id: HashMap<Uuid, &Stored> = segments.iter().map(|s| (s.id, s)).collect();
    for id in order {
        let (Some(segment), Some(profiles)) = (
            by_id.get(&id).filter(|_| live.contains(&id)),
            concerned.get(&id),
        ) else {
            continue;
        };
        let Some(rule) = &segment.rule else {
            continue;
        };
        let profiles: Vec<Uuid> = profiles.iter().copied().collect();
        let matching: HashSet<Uuid> =
            membership::matching(&mut *conn, brand_id, rule, &profiles, now)
                .await?
                .into_iter()
                .collect();
        for reason in [Reason::Event, Reason::Consent] {
            for member in [true, false] {
                let changed: Vec<Uuid> = profiles
                    .iter()
                    .filter(|p| {
                        matching.contains(p) == member
                            && current.contains(&(id, **p)) != member
                            && reasons.get(p) == Some(&reason)
                    })
                    .copied()
                    .collect();
                if !changed.is_empty() {
                    membership::set_members(
                        &mut *conn, brand_id, segment, &changed, member, reason, now,
                    )
                    .await?;
                }
            }
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
