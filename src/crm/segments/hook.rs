//! Incremental membership: after a batch's events, for each profile they touched, the segments whose rules
//! can depend on what happened to it (its events' types, a trait change, any event for counters and
//! scores, everything after a merge or an unmerge, `consent` after a consent change, `traits` after an
//! attribute change) and the segments naming those are re-evaluated, in dependency order, inside the
//! batch's (or the change's) transaction. The brand's segments are read once per batch, and each affected
//! segment is evaluated in one statement over all the profiles it concerns.
//!
//! Static memberships follow merges: the survivor takes the absorbed profiles' (their history rows name the
//! merge), and the unmerge gives them back (and takes from the survivor those the merge gave it), unless a
//! later change of that membership stands.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::PgConnection;
use uuid::Uuid;

use super::membership::{self, Reason, set_members_by};
use super::repo::{self, Kind, Stored};
use crate::crm::events::{AfterEvent, Change, Touched};
use crate::crm::merge;

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
    let merged = touched.events.iter().any(|event| event.merge_id.is_some());
    if merged
        || matches!(
            touched.change,
            Some(Change::Merged { .. } | Change::Unmerged { .. })
        )
    {
        return true;
    }
    let traits = touched.events.iter().any(|event| event.traits_changed)
        || touched.change == Some(Change::Attributes);
    segment
        .triggers
        .iter()
        .any(|trigger| match trigger.as_str() {
            // Counters and scores: any event; a consent change rescored the profile (an opt-out counts). An
            // attribute change moves neither.
            "*" => !touched.events.is_empty() || touched.consent_changed,
            "traits" => traits,
            "consent" => touched.consent_changed,
            other => other
                .strip_prefix("event:")
                .is_some_and(|kind| touched.events.iter().any(|event| event.kind == kind)),
        })
}

/// What the history says moved a profile so touched.
fn reason(touched: &Touched) -> Reason {
    if !touched.events.is_empty() {
        return Reason::Event;
    }
    match touched.change {
        Some(Change::Consent) => Reason::Consent,
        Some(Change::Merged { .. }) => Reason::Merge,
        Some(Change::Unmerged { .. }) => Reason::Unmerge,
        Some(Change::Attributes) => Reason::Attributes,
        None => Reason::Event,
    }
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
    // Static memberships first: the dynamic segments naming a static one then see where they went.
    let mut unmerges: BTreeSet<Uuid> = BTreeSet::new();
    for profile in touched {
        let merges = profile
            .events
            .iter()
            .filter_map(|event| event.merge_id)
            .chain(match profile.change {
                Some(Change::Merged { merge_id }) => Some(merge_id),
                _ => None,
            });
        for merge_id in merges {
            absorb(conn, brand_id, profile.profile_id, merge_id, &segments, now).await?;
        }
        if let Some(Change::Unmerged { merge_id }) = profile.change {
            unmerges.insert(merge_id);
        }
    }
    for merge_id in unmerges {
        give_back(conn, brand_id, merge_id, &segments, now).await?;
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
    membership::lock_shared_all(&mut *conn, &order).await?;
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
    // A profile moved by events says `event` in the history; by a change without events, that change.
    let reasons: HashMap<Uuid, Reason> =
        touched.iter().map(|t| (t.profile_id, reason(t))).collect();
    let mut kinds: Vec<Reason> = Vec::new();
    for reason in reasons.values() {
        if !kinds.contains(reason) {
            kinds.push(*reason);
        }
    }
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
        for reason in &kinds {
            for member in [true, false] {
                let changed: Vec<Uuid> = profiles
                    .iter()
                    .filter(|p| {
                        matching.contains(p) == member
                            && current.contains(&(id, **p)) != member
                            && reasons.get(p) == Some(reason)
                    })
                    .copied()
                    .collect();
                if !changed.is_empty() {
                    membership::set_members(
                        &mut *conn, brand_id, segment, &changed, member, *reason, now,
                    )
                    .await?;
                }
            }
        }
    }
    Ok(())
}

/// A merge: the absorbed profiles leave every segment; the survivor joins the static segments they were in
/// (the dynamic ones follow from its re-evaluation). The history rows name the merge.
async fn absorb(
    conn: &mut PgConnection,
    brand_id: Uuid,
    survivor: Uuid,
    merge_id: Uuid,
    segments: &[Stored],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let absorbed = merge::sides(&mut *conn, brand_id, merge_id)
        .await?
        .map(|(_, absorbed)| absorbed)
        .unwrap_or_default();
    if absorbed.is_empty() {
        return Ok(());
    }
    let memberships = sqlx::query!(
        "SELECT segment_id, profile_id FROM crm_segment_members WHERE brand_id = $1 AND profile_id = ANY($2)",
        brand_id,
        &absorbed
    )
    .fetch_all(&mut *conn)
    .await?;
    let cause = (Reason::Merge, Some(merge_id));
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
            set_members_by(conn, brand_id, segment, &[survivor], true, cause, now).await?;
        }
        set_members_by(conn, brand_id, segment, &members, false, cause, now).await?;
    }
    Ok(())
}

/// An unmerge: each static membership the merge moved goes back — an absorbed profile re-enters the static
/// segment it left, the survivor leaves the one it entered — when the merge's history row is still the
/// latest of that profile in that segment (a membership changed by hand since stays as it was set). The
/// dynamic segments follow from the re-evaluation.
async fn give_back(
    conn: &mut PgConnection,
    brand_id: Uuid,
    merge_id: Uuid,
    segments: &[Stored],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let rows = sqlx::query!(
        r#"SELECT latest.segment_id AS "segment_id!", latest.profile_id AS "profile_id!",
                  latest.change AS "change!"
           FROM (SELECT DISTINCT segment_id, profile_id FROM crm_segment_history
                 WHERE brand_id = $1 AND merge_id = $2) AS moved
           CROSS JOIN LATERAL (
               SELECT h.segment_id, h.profile_id, h.change, h.merge_id FROM crm_segment_history h
               WHERE h.segment_id = moved.segment_id AND h.profile_id = moved.profile_id
               ORDER BY h.id DESC LIMIT 1
           ) AS latest
           WHERE latest.merge_id IS NOT DISTINCT FROM $2
           ORDER BY 1, 2"#,
        brand_id,
        merge_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let cause = (Reason::Unmerge, Some(merge_id));
    for segment in segments.iter().filter(|s| s.kind == Kind::Static) {
        for (change, member) in [("exited", true), ("entered", false)] {
            let profiles: Vec<Uuid> = rows
                .iter()
                .filter(|row| row.segment_id == segment.id && row.change == change)
                .map(|row| row.profile_id)
                .collect();
            if !profiles.is_empty() {
                set_members_by(conn, brand_id, segment, &profiles, member, cause, now).await?;
            }
        }
    }
    Ok(())
}
