//! Segments as stored (`crm_segments`, `crm_segment_versions`), the rule catalogue of a brand and the
//! dependency graph between segments (cycle checks, dependency order).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::rule::{Catalogue, Dependencies, Node};
use crate::crm::custom;

/// The most segments a brand may keep.
pub const MAX_SEGMENTS: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CrmSegmentKind)]
pub enum Kind {
    /// Members are the profiles the rule matches.
    Dynamic,
    /// Members are added and removed by hand (API, CSV).
    Static,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Dynamic => "dynamic",
            Kind::Static => "static",
        }
    }

    fn parse(text: &str) -> Kind {
        if text == "static" {
            Kind::Static
        } else {
            Kind::Dynamic
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmSegment)]
pub struct Segment {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: Kind,
    /// Every change of name, description or rule is a new version.
    pub version: i32,
    /// The rule as written (dynamic segments).
    #[schema(value_type = Option<Object>)]
    pub rule: Option<Value>,
    pub member_count: i64,
    /// Whether time alone changes the rule's answer (then the schedule re-evaluates it).
    pub time_based: bool,
    pub refreshed_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmSegmentVersion)]
pub struct Version {
    pub version: i32,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub rule: Option<Value>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// What evaluation needs of a segment.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: Uuid,
    pub version: i32,
    pub kind: Kind,
    pub rule: Option<Node>,
    pub depends_on: Vec<Uuid>,
    pub triggers: Vec<String>,
    pub time_based: bool,
}

fn node(compiled: Option<Value>) -> Option<Node> {
    compiled.and_then(|value| serde_json::from_value(value).ok())
}

/// The brand's custom attributes and its live segments by slug.
pub async fn catalogue(conn: &mut PgConnection, brand_id: Uuid) -> sqlx::Result<Catalogue> {
    let definitions = custom::definitions(&mut *conn, brand_id).await?;
    let segments = sqlx::query!(
        "SELECT slug, id FROM crm_segments WHERE brand_id = $1 AND deleted_at IS NULL",
        brand_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Catalogue {
        custom: definitions
            .into_iter()
            .map(|definition| (definition.name, definition.kind))
            .collect(),
        segments: segments.into_iter().map(|row| (row.slug, row.id)).collect(),
    })
}

pub async fn load(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<Segment>> {
    let row = sqlx::query!(
        "SELECT id, slug, name, description, kind, version, rule, time_based, refreshed_at,
                (SELECT count(*) FROM crm_segment_members m WHERE m.segment_id = s.id) AS \"member_count!\",
                created_by, created_at, updated_at
         FROM crm_segments s WHERE brand_id = $1 AND id = $2 AND deleted_at IS NULL",
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| Segment {
        id: row.id,
        slug: row.slug,
        name: row.name,
        description: row.description,
        kind: Kind::parse(&row.kind),
        version: row.version,
        rule: row.rule,
        member_count: row.member_count,
        time_based: row.time_based,
        refreshed_at: row.refreshed_at,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }))
}

pub async fn list(conn: &mut PgConnection, brand_id: Uuid) -> sqlx::Result<Vec<Segment>> {
    let rows = sqlx::query!(
        "SELECT id, slug, name, description, kind, version, rule, time_based, refreshed_at,
                (SELECT count(*) FROM crm_segment_members m WHERE m.segment_id = s.id) AS \"member_count!\",
                created_by, created_at, updated_at
         FROM crm_segments s WHERE brand_id = $1 AND deleted_at IS NULL ORDER BY created_at, id",
        brand_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Segment {
            id: row.id,
            slug: row.slug,
            name: row.name,
            description: row.description,
            kind: Kind::parse(&row.kind),
            version: row.version,
            rule: row.rule,
            member_count: row.member_count,
            time_based: row.time_based,
            refreshed_at: row.refreshed_at,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
        .collect())
}

pub async fn versions(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Vec<Version>> {
    let rows = sqlx::query!(
        "SELECT version, name, description, rule, created_by, created_at
         FROM crm_segment_versions WHERE segment_id = $1 ORDER BY version DESC",
        id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Version {
            version: row.version,
            name: row.name,
            description: row.description,
            rule: row.rule,
            created_by: row.created_by,
            created_at: row.created_at,
        })
        .collect())
}

/// One segment for evaluation; `lock` takes its row for update (a refresh, an edit).
pub async fn stored(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<Stored>> {
    let row = sqlx::query!(
        "SELECT id, version, kind, compiled, depends_on, triggers, time_based FROM crm_segments
         WHERE brand_id = $1 AND id = $2 AND deleted_at IS NULL",
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| Stored {
        id: row.id,
        version: row.version,
        kind: Kind::parse(&row.kind),
        rule: node(row.compiled),
        depends_on: row.depends_on,
        triggers: row.triggers,
        time_based: row.time_based,
    }))
}

/// Every live segment of the brand (dynamic and static), for the hook and the schedule.
pub async fn all_stored(conn: &mut PgConnection, brand_id: Uuid) -> sqlx::Result<Vec<Stored>> {
    let rows = sqlx::query!(
        "SELECT id, version, kind, compiled, depends_on, triggers, time_based FROM crm_segments
         WHERE brand_id = $1 AND deleted_at IS NULL",
        brand_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Stored {
            id: row.id,
            version: row.version,
            kind: Kind::parse(&row.kind),
            rule: node(row.compiled),
            depends_on: row.depends_on,
            triggers: row.triggers,
            time_based: row.time_based,
        })
        .collect())
}

/// The brands that have time-based dynamic segments.
pub async fn brands_with_time_based(conn: &mut PgConnection) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        "SELECT DISTINCT brand_id FROM crm_segments
         WHERE deleted_at IS NULL AND kind = 'dynamic' AND time_based"
    )
    .fetch_all(conn)
    .await
}

pub struct New<'a> {
    pub brand_id: Uuid,
    pub slug: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub kind: Kind,
    pub rule: Option<(&'a Value, &'a Node, &'a Dependencies)>,
    pub actor: &'a str,
}

fn parts(
    rule: Option<(&Value, &Node, &Dependencies)>,
) -> (Option<Value>, Option<Value>, Vec<Uuid>, Vec<String>, bool) {
    match rule {
        Some((rule, node, deps)) => (
            Some(rule.clone()),
            serde_json::to_value(node).ok(),
            deps.segments.iter().copied().collect(),
            deps.triggers.iter().cloned().collect(),
            deps.time_based,
        ),
        None => (None, None, Vec::new(), Vec::new(), false),
    }
}

/// How many live segments the brand keeps (its brand row locked, so concurrent creations count in turn).
pub async fn count_locked(conn: &mut PgConnection, brand_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query!("SELECT id FROM brands WHERE id = $1 FOR UPDATE", brand_id)
        .fetch_optional(&mut *conn)
        .await?;
    let count = sqlx::query_scalar!(
        "SELECT count(*) FROM crm_segments WHERE brand_id = $1 AND deleted_at IS NULL",
        brand_id
    )
    .fetch_one(conn)
    .await?;
    Ok(count.unwrap_or(0))
}

/// Inserts the segment and its version 1; `false` when the slug is taken.
pub async fn insert(conn: &mut PgConnection, id: Uuid, new: &New<'_>) -> sqlx::Result<bool> {
    let (rule, compiled, depends_on, triggers, time_based) = parts(new.rule);
    let inserted = sqlx::query!(
        "INSERT INTO crm_segments (id, brand_id, slug, name, description, kind, rule, compiled, depends_on,
                                   triggers, time_based, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (brand_id, slug) WHERE deleted_at IS NULL DO NOTHING",
        id,
        new.brand_id,
        new.slug,
        new.name,
        new.description,
        new.kind.as_str(),
        rule,
        compiled,
        &depends_on,
        &triggers,
        time_based,
        new.actor
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    sqlx::query!(
        "INSERT INTO crm_segment_versions (segment_id, version, name, description, rule, created_by)
         VALUES ($1, 1, $2, $3, $4, $5)",
        id,
        new.name,
        new.description,
        new.rule.map(|(rule, _, _)| rule.clone()),
        new.actor
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// Writes the new name, description and rule as the next version.
pub async fn update(conn: &mut PgConnection, id: Uuid, new: &New<'_>) -> sqlx::Result<i32> {
    let (rule, compiled, depends_on, triggers, time_based) = parts(new.rule);
    let version = sqlx::query_scalar!(
        "UPDATE crm_segments SET name = $3, description = $4, rule = $5, compiled = $6, depends_on = $7,
                triggers = $8, time_based = $9, version = version + 1, updated_at = now()
         WHERE brand_id = $1 AND id = $2 RETURNING version",
        new.brand_id,
        id,
        new.name,
        new.description,
        rule,
        compiled,
        &depends_on,
        &triggers,
        time_based
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO crm_segment_versions (segment_id, version, name, description, rule, created_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
        id,
        version,
        new.name,
        new.description,
        new.rule.map(|(rule, _, _)| rule.clone()),
        new.actor
    )
    .execute(conn)
    .await?;
    Ok(version)
}

/// Serialises the brand's changes to which segments name which: saving a rule, deleting a segment. Each
/// reads the graph and the catalogue only once it holds this lock (a transaction-scoped advisory lock), so two
/// edits cannot each miss the other's half of a cycle, and a rule cannot name a segment deleted meanwhile.
pub async fn lock_graph(conn: &mut PgConnection, brand_id: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm_segments_graph:' || $1::text, 0))",
    )
    .bind(brand_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks the live segment's row; `None` when there is none.
pub async fn lock(conn: &mut PgConnection, brand_id: Uuid, id: Uuid) -> sqlx::Result<Option<Kind>> {
    let kind = sqlx::query_scalar!(
        "SELECT kind FROM crm_segments WHERE brand_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(kind.as_deref().map(Kind::parse))
}

/// The live segments whose rules name `id`, by slug.
pub async fn dependents(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "SELECT slug FROM crm_segments WHERE brand_id = $1 AND deleted_at IS NULL AND $2 = ANY(depends_on)
         ORDER BY slug",
        brand_id,
        id
    )
    .fetch_all(conn)
    .await
}

/// Deletes the segment: its members go (their history stays), its slug is free again.
pub async fn delete(conn: &mut PgConnection, brand_id: Uuid, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "DELETE FROM crm_segment_members WHERE brand_id = $1 AND segment_id = $2",
        brand_id,
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE crm_segments SET deleted_at = now() WHERE brand_id = $1 AND id = $2",
        brand_id,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The brand's segment graph: each segment and the segments its rule names.
pub async fn graph(
    conn: &mut PgConnection,
    brand_id: Uuid,
) -> sqlx::Result<HashMap<Uuid, Vec<Uuid>>> {
    let rows = sqlx::query!(
        "SELECT id, depends_on FROM crm_segments WHERE brand_id = $1 AND deleted_at IS NULL",
        brand_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.id, row.depends_on))
        .collect())
}

/// Whether `id` depending on `deps` closes a cycle (`id` reachable from one of them, or one of them).
pub fn creates_cycle(graph: &HashMap<Uuid, Vec<Uuid>>, id: Uuid, deps: &[Uuid]) -> bool {
    let mut seen = HashSet::new();
    let mut stack: Vec<Uuid> = deps.to_vec();
    while let Some(next) = stack.pop() {
        if next == id {
            return true;
        }
        if seen.insert(next) {
            stack.extend(graph.get(&next).into_iter().flatten().copied());
        }
    }
    false
}

/// `roots` and every segment depending on them, directly or not.
pub fn with_dependents(graph: &HashMap<Uuid, Vec<Uuid>>, roots: &[Uuid]) -> HashSet<Uuid> {
    let mut found: HashSet<Uuid> = roots.iter().copied().collect();
    let mut stack: Vec<Uuid> = roots.to_vec();
    while let Some(next) = stack.pop() {
        for (segment, deps) in graph {
            if deps.contains(&next) && found.insert(*segment) {
                stack.push(*segment);
            }
        }
    }
    found
}

/// `include` in dependency order: a segment after every segment its rule names.
pub fn dependency_order(graph: &HashMap<Uuid, Vec<Uuid>>, include: &HashSet<Uuid>) -> Vec<Uuid> {
    fn visit(
        id: Uuid,
        graph: &HashMap<Uuid, Vec<Uuid>>,
        include: &HashSet<Uuid>,
        done: &mut HashSet<Uuid>,
        order: &mut Vec<Uuid>,
    ) {
        if !done.insert(id) {
            return;
        }
        for dep in graph.get(&id).into_iter().flatten() {
            if include.contains(dep) {
                visit(*dep, graph, include, done, order);
            }
        }
        order.push(id);
    }
    let mut sorted: Vec<Uuid> = include.iter().copied().collect();
    sorted.sort();
    let (mut done, mut order) = (HashSet::new(), Vec::new());
    for id in sorted {
        visit(id, graph, include, &mut done, &mut order);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_found_through_any_path() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let graph = HashMap::from([(a, vec![b]), (b, vec![c]), (c, vec![])]);
        assert!(creates_cycle(&graph, c, &[a]));
        assert!(creates_cycle(&graph, a, &[a]));
        assert!(!creates_cycle(&graph, a, &[c]));
    }

    #[test]
    fn dependencies_come_first() {
        let (a, b, c) = (Uuid::from_u128(9), Uuid::from_u128(2), Uuid::from_u128(3));
        // a names b, b names c.
        let graph = HashMap::from([(a, vec![b]), (b, vec![c]), (c, vec![])]);
        let all = with_dependents(&graph, &[c]);
        assert_eq!(all.len(), 3);
        assert_eq!(dependency_order(&graph, &all), vec![c, b, a]);
    }
}
