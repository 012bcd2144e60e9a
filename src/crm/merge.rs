//! Merging profiles: the absorbed profiles' identifiers and activities move to the survivor, the survivor
//! takes the surviving attributes (see `survivorship`) and the most restrictive consent, the absorbed profiles
//! point at it (`merged_into`), and a ledger row records everything needed to undo it exactly (`unmerge`).
//!
//! The profiles are locked in id order, the order resolution uses too, so two merges touching the same
//! profiles run one after the other; the second finds a profile already merged away and is refused
//! (`merge-conflict`) instead of merging a dead profile. The lock is `FOR NO KEY UPDATE` (it queues behind
//! resolution's, the same, and other writers): the segments' re-evaluation that follows waits for
//! a segment's lock, and a refresh holding that lock inserts members whose foreign key share-locks their
//! profile's key — under `FOR UPDATE` the two deadlocked.
//!
//! A merge keeps every identifier of every side even beyond `max_per_kind` (dropping one would lose data);
//! the limit applies to identifiers attached afterwards.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::resolve::outbox_error;
use super::survivorship::{self, Effective, Row};

/// The most profiles one merge may absorb: each is locked, snapshotted and re-pointed in one transaction,
/// and its ledger row holds all their snapshots; 100 keeps that transaction short and the ledger row small,
/// far above any real person's duplicates. Bigger clean-ups are several merges, each undoable on its own.
pub const MAX_ABSORBED: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Manual,
    Resolution,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Cause::Manual => "manual",
            Cause::Resolution => "resolution",
        }
    }
}

pub struct MergeRequest<'a> {
    pub survivor: Uuid,
    pub absorbed: &'a [Uuid],
    pub cause: Cause,
    /// Who merged: `user:<id>` or the resolving source.
    pub actor: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no such profiles in the brand: {0:?}")]
    NotFound(Vec<Uuid>),
    #[error("profile {profile_id} was merged into {into}")]
    AlreadyMerged { profile_id: Uuid, into: Uuid },
    /// An erased person's profile takes nobody's data (and gives none back).
    #[error("profile {0} was erased")]
    Erased(Uuid),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl MergeError {
    /// For resolution, which locked live profiles first: anything but a database error is a bug there.
    pub fn into_sqlx(self) -> sqlx::Error {
        match self {
            MergeError::Db(error) => error,
            other => sqlx::Error::Protocol(format!("merge during resolution: {other}")),
        }
    }
}

#[derive(Serialize)]
struct ConsentDecision {
    channel: String,
    purpose: String,
    values: Vec<Value>,
    chosen: Effective,
    changed: bool,
    before: Option<Value>,
    after: Option<Value>,
}

struct Consent {
    profile_id: Uuid,
    channel: String,
    purpose: String,
    status: String,
    captured_at: chrono::DateTime<Utc>,
    expires_at: Option<chrono::DateTime<Utc>>,
    row: Value,
}

/// Merges `request.absorbed` into `request.survivor` in the caller's transaction; returns the merge id.
pub async fn merge(
    conn: &mut PgConnection,
    brand_id: Uuid,
    request: &MergeRequest<'_>,
) -> Result<Uuid, MergeError> {
    let survivor = request.survivor;
    let absorbed = request.absorbed;
    let mut all: Vec<Uuid> = absorbed.to_vec();
    all.push(survivor);
    all.sort();
    all.dedup();
    let locked = sqlx::query!(
        "SELECT id, merged_into, erased_at FROM crm_profiles WHERE brand_id = $1 AND id = ANY($2)
         ORDER BY id FOR NO KEY UPDATE",
        brand_id,
        &all
    )
    .fetch_all(&mut *conn)
    .await?;
    if locked.len() != all.len() {
        let found: Vec<Uuid> = locked.iter().map(|row| row.id).collect();
        return Err(MergeError::NotFound(
            all.into_iter().filter(|id| !found.contains(id)).collect(),
        ));
    }
    if let Some(row) = locked.iter().find(|row| row.erased_at.is_some()) {
        return Err(MergeError::Erased(row.id));
    }
    if let Some(row) = locked.iter().find(|row| row.merged_into.is_some()) {
        return Err(MergeError::AlreadyMerged {
            profile_id: row.id,
            into: row.merged_into.unwrap_or_default(),
        });
    }

    let rows: HashMap<Uuid, Value> = sqlx::query!(
        r#"SELECT id, to_jsonb(p) AS "row!" FROM crm_profiles p WHERE brand_id = $1 AND id = ANY($2)"#,
        brand_id,
        &all
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|row| (row.id, row.row))
    .collect();
    let object = |id: &Uuid| rows.get(id).and_then(Value::as_object);
    let survivor_row = object(&survivor).cloned().unwrap_or_default();
    let mut sides: Vec<&Row> = vec![&survivor_row];
    sides.extend(absorbed.iter().filter_map(object));
    let (mut set, mut decisions) = survivorship::merge_rows(&sides);

    let identifiers = sqlx::query!(
        r#"SELECT profile_id, kind, value, to_jsonb(i) AS "row!" FROM crm_identifiers i
           WHERE brand_id = $1 AND profile_id = ANY($2) ORDER BY profile_id, kind, value"#,
        brand_id,
        absorbed
    )
    .fetch_all(&mut *conn)
    .await?;
    let consents: Vec<Consent> = sqlx::query_as!(
        Consent,
        r#"SELECT profile_id, channel, purpose, status, captured_at, expires_at, to_jsonb(c) AS "row!"
           FROM crm_consents c WHERE brand_id = $1 AND profile_id = ANY($2)
           ORDER BY channel, purpose, profile_id"#,
        brand_id,
        &all
    )
    .fetch_all(&mut *conn)
    .await?;

    let mut absorbed_before = Vec::with_capacity(absorbed.len());
    for id in absorbed {
        absorbed_before.push(json!({
            "profile": rows.get(id),
            "identifiers": identifiers.iter().filter(|i| i.profile_id == *id).map(|i| &i.row).collect::<Vec<_>>(),
            "consents": consents.iter().filter(|c| c.profile_id == *id).map(|c| &c.row).collect::<Vec<_>>(),
        }));
    }
    let survivor_consents: Vec<&Value> = consents
        .iter()
        .filter(|c| c.profile_id == survivor)
        .map(|c| &c.row)
        .collect();

    // The survivor's attributes, then the exact sum of lifetime values.
    set.insert("id".into(), Value::from(survivor.to_string()));
    set.insert(
        "brand_id".into(),
        survivor_row.get("brand_id").cloned().unwrap_or_default(),
    );
    sqlx::query!(
        "SELECT crm_restore_profile($1)::text AS restored",
        Value::Object(set)
    )
    .fetch_one(&mut *conn)
    .await?;
    let lifetime_value = sqlx::query_scalar!(
        r#"UPDATE crm_profiles SET
               lifetime_value = (SELECT sum(lifetime_value) FROM crm_profiles
                                 WHERE brand_id = $1 AND id = ANY($3)),
               updated_at = now()
           WHERE brand_id = $1 AND id = $2
           RETURNING lifetime_value::text AS "lifetime_value!""#,
        brand_id,
        survivor,
        &all
    )
    .fetch_one(&mut *conn)
    .await?;
    decisions.push(survivorship::AttributeDecision {
        attribute: "lifetime_value".into(),
        rule: "sum".into(),
        values: sides
            .iter()
            .map(|row| survivorship::Candidate {
                profile_id: row
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|id| id.parse().ok())
                    .unwrap_or_default(),
                value: row.get("lifetime_value").cloned().unwrap_or_default(),
                at: None,
            })
            .collect(),
        chosen: Value::from(lifetime_value),
        chosen_from: None,
    });
    sqlx::query!(
        "UPDATE crm_profiles SET merged_into = $2, updated_at = now()
         WHERE brand_id = $1 AND id = ANY($3)",
        brand_id,
        survivor,
        absorbed
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE crm_identifiers SET profile_id = $2 WHERE brand_id = $1 AND profile_id = ANY($3)",
        brand_id,
        survivor,
        absorbed
    )
    .execute(&mut *conn)
    .await?;
    let identifiers_moved: Vec<Value> = identifiers
        .iter()
        .map(|i| json!({ "kind": i.kind, "value": i.value, "from_profile_id": i.profile_id }))
        .collect();

    let consent_decisions =
        merge_consents(conn, brand_id, survivor, &all, &consents, request.actor).await?;

    let merge_id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO crm_merges (id, brand_id, survivor_id, absorbed_ids, cause, actor, survivor_before,
                                 survivor_after, survivor_consents, absorbed_before, identifiers_moved,
                                 attribute_decisions, consent_decisions)
         SELECT $1, $2, $3, $4, $5, $6, $7, to_jsonb(p), $8, $9, $10, $11, $12
         FROM crm_profiles p WHERE p.brand_id = $2 AND p.id = $3",
        merge_id,
        brand_id,
        survivor,
        absorbed,
        request.cause.as_str(),
        request.actor,
        Value::Object(survivor_row.clone()),
        json!(survivor_consents),
        Value::from(absorbed_before),
        Value::from(identifiers_moved),
        serde_json::to_value(&decisions).unwrap_or_default(),
        serde_json::to_value(&consent_decisions).unwrap_or_default(),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "WITH moved AS (
             UPDATE crm_activities a SET profile_id = $3
             FROM (SELECT id, profile_id FROM crm_activities
                   WHERE brand_id = $1 AND profile_id = ANY($4)) AS old
             WHERE a.id = old.id
             RETURNING a.id, old.profile_id AS from_profile_id
         ), logged AS (
             INSERT INTO crm_merge_activities (merge_id, activity_id, from_profile_id)
             SELECT $2, id, from_profile_id FROM moved
             RETURNING 1
         )
         UPDATE crm_merges SET activities_moved = (SELECT count(*) FROM logged)
         WHERE brand_id = $1 AND id = $2",
        brand_id,
        merge_id,
        survivor,
        absorbed
    )
    .execute(&mut *conn)
    .await?;
    record(
        conn,
        "crm.profile.merged",
        brand_id,
        merge_id,
        survivor,
        absorbed,
    )
    .await?;
    Ok(merge_id)
}

/// The most restrictive consent per channel and purpose goes to the survivor; each change is recorded in
/// the consent history with cause `merge`. The absorbed profiles' own consent rows stay as they were.
async fn merge_consents(
    conn: &mut PgConnection,
    brand_id: Uuid,
    survivor: Uuid,
    all: &[Uuid],
    consents: &[Consent],
    actor: &str,
) -> Result<Vec<ConsentDecision>, sqlx::Error> {
    let now = Utc::now();
    let mut groups: BTreeMap<(&str, &str), Vec<&Consent>> = BTreeMap::new();
    for consent in consents {
        groups
            .entry((&consent.channel, &consent.purpose))
            .or_default()
            .push(consent);
    }
    let mut decisions = Vec::with_capacity(groups.len());
    for ((channel, purpose), rows) in groups {
        let status_of = |id: Uuid| {
            let row = rows.iter().find(|c| c.profile_id == id);
            survivorship::effective(
                row.map(|c| c.status.as_str()),
                row.and_then(|c| c.expires_at),
                now,
            )
        };
        let chosen = all
            .iter()
            .map(|id| status_of(*id))
            .max()
            .unwrap_or(Effective::Unknown);
        let survivor_row = rows.iter().find(|c| c.profile_id == survivor);
        let current = status_of(survivor);
        let mut decision = ConsentDecision {
            channel: channel.to_owned(),
            purpose: purpose.to_owned(),
            values: all
                .iter()
                .map(|id| json!({ "profile_id": id, "status": status_of(*id) }))
                .collect(),
            chosen,
            changed: false,
            before: survivor_row.map(|c| c.row.clone()),
            after: survivor_row.map(|c| c.row.clone()),
        };
        if chosen == Effective::Denied && current != Effective::Denied {
            let Some(denied) = rows
                .iter()
                .filter(|c| c.status == "denied")
                .max_by_key(|c| c.captured_at)
            else {
                continue;
            };
            let after = sqlx::query_scalar!(
                r#"INSERT INTO crm_consents AS c (brand_id, profile_id, channel, purpose, status, source, actor,
                                                  captured_at, expires_at)
                   SELECT $1, $2, channel, purpose, status, source, actor, captured_at, expires_at
                   FROM crm_consents WHERE brand_id = $1 AND profile_id = $3 AND channel = $4 AND purpose = $5
                   ON CONFLICT (profile_id, channel, purpose) DO UPDATE SET
                       status = excluded.status, source = excluded.source, actor = excluded.actor,
                       captured_at = excluded.captured_at, expires_at = excluded.expires_at
                   RETURNING to_jsonb(c) AS "row!""#,
                brand_id,
                survivor,
                denied.profile_id,
                channel,
                purpose
            )
            .fetch_one(&mut *conn)
            .await?;
            history(
                conn,
                brand_id,
                survivor,
                (channel, purpose),
                "denied",
                denied.expires_at,
                actor,
                "merge",
            )
            .await?;
            decision.changed = true;
            decision.after = Some(after);
        } else if chosen == Effective::Unknown && current == Effective::Granted {
            sqlx::query!(
                "DELETE FROM crm_consents WHERE brand_id = $1 AND profile_id = $2 AND channel = $3
                 AND purpose = $4",
                brand_id,
                survivor,
                channel,
                purpose
            )
            .execute(&mut *conn)
            .await?;
            history(
                conn,
                brand_id,
                survivor,
                (channel, purpose),
                "unknown",
                None,
                actor,
                "merge",
            )
            .await?;
            decision.changed = true;
            decision.after = None;
        }
        decisions.push(decision);
    }
    Ok(decisions)
}

/// A row of `crm_consent_history` for a change a merge or an unmerge made.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn history(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    (channel, purpose): (&str, &str),
    status: &str,
    expires_at: Option<chrono::DateTime<Utc>>,
    actor: &str,
    cause: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO crm_consent_history (brand_id, profile_id, channel, purpose, status, source, actor,
                                          captured_at, expires_at, cause)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8, $6)",
        brand_id,
        profile_id,
        channel,
        purpose,
        status,
        cause,
        actor,
        expires_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Merge `merge_id`'s survivor and absorbed profiles, from its ledger; `None` when the brand has no such merge.
pub async fn sides(
    conn: &mut PgConnection,
    brand_id: Uuid,
    merge_id: Uuid,
) -> Result<Option<(Uuid, Vec<Uuid>)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT survivor_id, absorbed_ids FROM crm_merges WHERE brand_id = $1 AND id = $2",
        brand_id,
        merge_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.survivor_id, row.absorbed_ids)))
}

#[derive(Serialize)]
struct MergeEvent<'a> {
    brand_id: Uuid,
    merge_id: Uuid,
    survivor_id: Uuid,
    absorbed_ids: &'a [Uuid],
}

pub(crate) async fn record(
    conn: &mut PgConnection,
    topic: &'static str,
    brand_id: Uuid,
    merge_id: Uuid,
    survivor_id: Uuid,
    absorbed_ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    crate::outbox::record(
        conn,
        crate::outbox::NewEvent {
            topic,
            aggregate_type: "crm_profile",
            aggregate_id: survivor_id.to_string(),
            payload: MergeEvent {
                brand_id,
                merge_id,
                survivor_id,
                absorbed_ids,
            },
        },
    )
    .await
    .map(drop)
    .map_err(outbox_error)
}
