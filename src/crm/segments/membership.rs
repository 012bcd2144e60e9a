//! Writing membership: a full refresh (one statement computes the members and writes only the entries and
//! exits, in one transaction), one profile's re-evaluation (the hook), manual changes (static segments), the
//! history of each change and `crm.segment.membership.changed` in the outbox.
//!
//! A refresh takes the segment's advisory lock exclusively and every other writer takes it shared, so a
//! refresh computes over every committed change and no change lands between its read and its write.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::ToSchema;
use uuid::Uuid;

use super::compile::{self, Ctx, Scope};
use super::repo::Stored;
use crate::outbox::{self, NewEvent};

/// Profile ids per `crm.segment.membership.changed` event.
pub const CHUNK: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CrmSegmentChangeReason)]
pub enum Reason {
    Refresh,
    Event,
    Schedule,
    Manual,
    /// The profile's consent changed (the consent API).
    Consent,
    /// A merge: the absorbed profiles left, the survivor was re-evaluated (and took their static
    /// memberships).
    Merge,
    /// An unmerge: the survivor and the profiles given back were re-evaluated (static memberships the merge
    /// moved went back).
    Unmerge,
    /// The profile's attributes changed outside events (PATCH, clienteling, resolution).
    Attributes,
    /// The person was erased (`crm::erasure`): they leave every segment.
    Erasure,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Refresh => "refresh",
            Reason::Event => "event",
            Reason::Schedule => "schedule",
            Reason::Manual => "manual",
            Reason::Consent => "consent",
            Reason::Merge => "merge",
            Reason::Unmerge => "unmerge",
            Reason::Attributes => "attributes",
            Reason::Erasure => "erasure",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub entered: Vec<Uuid>,
    pub exited: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmSegmentRefresh)]
pub struct RefreshReport {
    pub segment_id: Uuid,
    pub version: i32,
    pub entered: usize,
    pub exited: usize,
    /// From the first query to the diff written (before the commit).
    pub took_ms: u64,
}

pub async fn lock(conn: &mut PgConnection, segment: Uuid, exclusive: bool) -> sqlx::Result<()> {
    let sql = if exclusive {
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 12))"
    } else {
        "SELECT pg_advisory_xact_lock_shared(hashtextextended($1::text, 12))"
    };
    sqlx::query(sql).bind(segment).execute(conn).await?;
    Ok(())
}

/// The shared locks of `segments`, taken in the order given (dependency order), in one statement: the
/// subquery's `ORDER BY … OFFSET 0` keeps the order the locks are taken in.
pub async fn lock_shared_all(conn: &mut PgConnection, segments: &[Uuid]) -> sqlx::Result<()> {
    if segments.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT pg_advisory_xact_lock_shared(hashtextextended(s.id::text, 12))::text
         FROM (SELECT id FROM unnest($1::uuid[]) WITH ORDINALITY AS t (id, n) ORDER BY n OFFSET 0) AS s",
    )
    .bind(segments)
    .fetch_all(conn)
    .await?;
    Ok(())
}

/// Recomputes a dynamic segment's members and writes the difference, inside the caller's transaction (a
/// transaction of its own: its statements from here on run under `timeout_ms`).
pub async fn refresh(
    conn: &mut PgConnection,
    brand_id: Uuid,
    segment: &Stored,
    now: DateTime<Utc>,
    reason: Reason,
    timeout_ms: u64,
) -> anyhow::Result<(Diff, RefreshReport)> {
    let started = Instant::now();
    let Some(rule) = &segment.rule else {
        anyhow::bail!("segment {} has no rule to refresh", segment.id);
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SET LOCAL statement_timeout = {}",
        timeout_ms.max(1)
    )))
    .execute(&mut *conn)
    .await?;
    lock(conn, segment.id, true).await?;
    let ctx = Ctx {
        brand_id,
        now,
        scope: Scope::All,
    };
    let mut qb = QueryBuilder::<Postgres>::new("WITH target AS MATERIALIZED (");
    compile::members_query(&mut qb, rule, &ctx);
    qb.push("), entered AS (INSERT INTO crm_segment_members (segment_id, profile_id, brand_id, entered_at, version) SELECT ");
    qb.push_bind(segment.id)
        .push(", t.id, ")
        .push_bind(brand_id)
        .push(", ");
    qb.push_bind(now).push(", ").push_bind(segment.version);
    qb.push(" FROM target t WHERE NOT EXISTS (SELECT 1 FROM crm_segment_members m WHERE m.segment_id = ");
    qb.push_bind(segment.id);
    qb.push(" AND m.profile_id = t.id) RETURNING profile_id), exited AS (DELETE FROM crm_segment_members m WHERE m.segment_id = ");
    qb.push_bind(segment.id);
    qb.push(" AND NOT EXISTS (SELECT 1 FROM target t WHERE t.id = m.profile_id) RETURNING m.profile_id), history AS (INSERT INTO crm_segment_history (brand_id, segment_id, profile_id, change, version, reason, at) SELECT ");
    let tail = |qb: &mut QueryBuilder<Postgres>, change: &'static str| {
        qb.push_bind(brand_id)
            .push(", ")
            .push_bind(segment.id)
            .push(", profile_id, '");
        qb.push(change)
            .push("', ")
            .push_bind(segment.version)
            .push(", ");
        qb.push_bind(reason.as_str()).push(", ").push_bind(now);
    };
    tail(&mut qb, "entered");
    qb.push(" FROM entered UNION ALL SELECT ");
    tail(&mut qb, "exited");
    qb.push(" FROM exited) SELECT coalesce((SELECT array_agg(profile_id) FROM entered), '{}') AS entered, coalesce((SELECT array_agg(profile_id) FROM exited), '{}') AS exited");
    // The CTE's row count is unknown to the planner, and a members table analyzed while small is estimated
    // tiny: it then chose nested-loop anti-joins of members against the target (O(n²): a second refresh of
    // 70k members ran past 30 s). Hash or merge joins are right at every size this statement sees.
    sqlx::query("SET LOCAL enable_nestloop = off")
        .execute(&mut *conn)
        .await?;
    let (entered, exited): (Vec<Uuid>, Vec<Uuid>) =
        qb.build_query_as().fetch_one(&mut *conn).await?;
    sqlx::query("SET LOCAL enable_nestloop = on")
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE crm_segments SET refreshed_at = $3 WHERE brand_id = $1 AND id = $2")
        .bind(brand_id)
        .bind(segment.id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let diff = Diff { entered, exited };
    announce(conn, brand_id, segment, &diff, reason).await?;
    let report = RefreshReport {
        segment_id: segment.id,
        version: segment.version,
        entered: diff.entered.len(),
        exited: diff.exited.len(),
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    Ok((diff, report))
}

/// Which of the live profiles `profile_ids` match the rule now: one statement, the rule's subqueries
/// correlated with each profile (the hook's batch of touched profiles).
pub async fn matching(
    conn: &mut PgConnection,
    brand_id: Uuid,
    rule: &super::rule::Node,
    profile_ids: &[Uuid],
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Uuid>> {
    let ctx = Ctx {
        brand_id,
        now,
        scope: Scope::One,
    };
    let mut qb = QueryBuilder::<Postgres>::new("");
    compile::members_query(&mut qb, rule, &ctx);
    qb.push(" AND p.id = ANY(");
    qb.push_bind(profile_ids);
    qb.push(")");
    qb.build_query_scalar().fetch_all(conn).await
}

/// After a manual change of a static segment's members (`changed`), re-evaluates those profiles in the
/// dynamic segments naming it, directly or not, in dependency order, in the same transaction: no event or
/// schedule would (a static segment has no trigger, and naming one is not time-based).
pub async fn follow_dependents(
    conn: &mut PgConnection,
    brand_id: Uuid,
    segment: Uuid,
    changed: &[Uuid],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let graph = super::repo::graph(&mut *conn, brand_id).await?;
    let mut affected = super::repo::with_dependents(&graph, &[segment]);
    affected.remove(&segment);
    for id in super::repo::dependency_order(&graph, &affected) {
        lock(&mut *conn, id, false).await?;
        let Some(dependent) = super::repo::stored(&mut *conn, brand_id, id).await? else {
            continue;
        };
        let Some(rule) = &dependent.rule else {
            continue;
        };
        let ctx = Ctx {
            brand_id,
            now,
            scope: Scope::All,
        };
        let mut qb = QueryBuilder::<Postgres>::new("");
        compile::members_query(&mut qb, rule, &ctx);
        qb.push(" AND p.id = ANY(");
        qb.push_bind(changed.to_vec());
        qb.push(")");
        let matching: HashSet<Uuid> = qb
            .build_query_scalar()
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
        let current: HashSet<Uuid> = sqlx::query_scalar(
            "SELECT profile_id FROM crm_segment_members WHERE segment_id = $1 AND profile_id = ANY($2)",
        )
        .bind(id)
        .bind(changed)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        let mut enter: Vec<Uuid> = matching.difference(&current).copied().collect();
        let mut exit: Vec<Uuid> = current.difference(&matching).copied().collect();
        enter.sort();
        exit.sort();
        set_members(
            conn,
            brand_id,
            &dependent,
            &enter,
            true,
            Reason::Manual,
            now,
        )
        .await?;
        set_members(
            conn,
            brand_id,
            &dependent,
            &exit,
            false,
            Reason::Manual,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Makes `profile_ids` members (or not) of the segment; the change, if any, with its history and event.
pub async fn set_members(
    conn: &mut PgConnection,
    brand_id: Uuid,
    segment: &Stored,
    profile_ids: &[Uuid],
    member: bool,
    reason: Reason,
    now: DateTime<Utc>,
) -> anyhow::Result<Diff> {
    set_members_by(
        conn,
        brand_id,
        segment,
        profile_ids,
        member,
        (reason, None),
        now,
    )
    .await
}

/// [`set_members`], the history rows naming the merge that made the change (`cause.1`), so its unmerge
/// finds them.
pub async fn set_members_by(
    conn: &mut PgConnection,
    brand_id: Uuid,
    segment: &Stored,
    profile_ids: &[Uuid],
    member: bool,
    (reason, merge_id): (Reason, Option<Uuid>),
    now: DateTime<Utc>,
) -> anyhow::Result<Diff> {
    lock(conn, segment.id, false).await?;
    let changed: Vec<Uuid> = if member {
        sqlx::query_scalar!(
            "INSERT INTO crm_segment_members (segment_id, profile_id, brand_id, entered_at, version)
             SELECT $1, id, $2, $3, $4 FROM unnest($5::uuid[]) AS id
             ON CONFLICT DO NOTHING RETURNING profile_id",
            segment.id,
            brand_id,
            now,
            segment.version,
            profile_ids
        )
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query_scalar!(
            "DELETE FROM crm_segment_members WHERE segment_id = $1 AND brand_id = $2
             AND profile_id = ANY($3) RETURNING profile_id",
            segment.id,
            brand_id,
            profile_ids
        )
        .fetch_all(&mut *conn)
        .await?
    };
    if changed.is_empty() {
        return Ok(Diff::default());
    }
    sqlx::query!(
        "INSERT INTO crm_segment_history (brand_id, segment_id, profile_id, change, version, reason, at,
                                          merge_id)
         SELECT $1, $2, id, $3, $4, $5, $6, $8 FROM unnest($7::uuid[]) AS id",
        brand_id,
        segment.id,
        if member { "entered" } else { "exited" },
        segment.version,
        reason.as_str(),
        now,
        &changed,
        merge_id as Option<Uuid>
    )
    .execute(&mut *conn)
    .await?;
    let diff = if member {
        Diff {
            entered: changed,
            exited: Vec::new(),
        }
    } else {
        Diff {
            entered: Vec::new(),
            exited: changed,
        }
    };
    announce(conn, brand_id, segment, &diff, reason).await?;
    Ok(diff)
}

/// `crm.segment.membership.changed`, in chunks of at most [`CHUNK`] profile ids.
async fn announce(
    conn: &mut PgConnection,
    brand_id: Uuid,
    segment: &Stored,
    diff: &Diff,
    reason: Reason,
) -> anyhow::Result<()> {
    let changes: Vec<(Uuid, bool)> = diff
        .entered
        .iter()
        .map(|id| (*id, true))
        .chain(diff.exited.iter().map(|id| (*id, false)))
        .collect();
    let chunks = changes.len().div_ceil(CHUNK);
    for (index, chunk) in changes.chunks(CHUNK).enumerate() {
        let entered: Vec<Uuid> = chunk.iter().filter(|c| c.1).map(|c| c.0).collect();
        let exited: Vec<Uuid> = chunk.iter().filter(|c| !c.1).map(|c| c.0).collect();
        outbox::record(
            &mut *conn,
            NewEvent {
                topic: "crm.segment.membership.changed",
                aggregate_type: "crm_segment",
                aggregate_id: segment.id.to_string(),
                payload: json!({
                    "brand_id": brand_id,
                    "segment_id": segment.id,
                    "version": segment.version,
                    "reason": reason.as_str(),
                    "entered": entered,
                    "exited": exited,
                    "chunk": index + 1,
                    "chunks": chunks,
                }),
            },
        )
        .await?;
    }
    Ok(())
}
