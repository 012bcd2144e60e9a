//! Undoing a merge from its ledger.
//!
//! The rule for what happened after the merge:
//! - the absorbed profiles come back exactly as the ledger's snapshots hold them: their row (every column,
//!   `updated_at` included, `merged_into` cleared), identifiers (with their `source` and `added_at`),
//!   consents, and every activity the merge moved;
//! - the survivor: when it is untouched since the merge (its row equals the ledger's after-merge row), it
//!   gets its pre-merge row back exactly. Otherwise field by field: a field whose value is still the one
//!   the merge wrote goes back to its pre-merge value; a field changed after the merge keeps its current
//!   value. Tags lose only those the merge added; activity counts and the lifetime value lose the absorbed
//!   profiles' contribution; the first/last activity times are the pre-merge ones widened by the activities
//!   received since the merge. Identifiers and activities added after the merge stay on the survivor;
//! - a consent the merge changed on the survivor goes back to its pre-merge value unless it was set again
//!   after the merge (then the newer consent stays); each restored one is recorded with cause `unmerge`;
//! - refused with `unmerge-blocked` while a later merge involving any of these profiles still stands (undo
//!   that one first), or when an identifier of an absorbed profile now belongs to a third profile;
//!   `already-unmerged` the second time.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::identifiers::Identifier;
use super::merge::{history, record};
use super::resolve::lock_identifiers;
use super::survivorship::ATTRIBUTES;

#[derive(Debug, thiserror::Error)]
pub enum UnmergeError {
    #[error("no such merge")]
    NotFound,
    #[error("the merge was already undone")]
    AlreadyUnmerged,
    /// The person was erased: the ledger's snapshots were scrubbed, there is nothing to restore.
    #[error("the merge is over an erased person")]
    Erased,
    #[error("merge {0} over these profiles came later; unmerge it first")]
    BlockedByMerge(Uuid),
    #[error("identifier {kind}:{value} now belongs to profile {profile_id}")]
    IdentifierTaken {
        kind: String,
        value: String,
        profile_id: Uuid,
    },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The survivor and the restored profiles.
pub struct Unmerged {
    pub survivor_id: Uuid,
    pub absorbed_ids: Vec<Uuid>,
}

pub async fn unmerge(
    conn: &mut PgConnection,
    brand_id: Uuid,
    merge_id: Uuid,
    actor: &str,
) -> Result<Unmerged, UnmergeError> {
    let merge = sqlx::query!(
        "SELECT survivor_id, absorbed_ids, merged_at, unmerged_at, erased_at, survivor_before, survivor_after,
                absorbed_before, consent_decisions
         FROM crm_merges WHERE brand_id = $1 AND id = $2 FOR UPDATE",
        brand_id,
        merge_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(UnmergeError::NotFound)?;
    if merge.unmerged_at.is_some() {
        return Err(UnmergeError::AlreadyUnmerged);
    }
    if merge.erased_at.is_some() {
        return Err(UnmergeError::Erased);
    }
    // The identifiers going back to the absorbed profiles, locked as resolve locks them (and before the
    // profiles, as resolve does): a resolve of one of them waits for this unmerge, then finds its owner.
    let returning: Vec<Identifier> = merge
        .absorbed_before
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("identifiers").and_then(Value::as_array))
        .flatten()
        .filter_map(|i| {
            Some(Identifier {
                kind: i.get("kind")?.as_str()?.to_owned(),
                value: i.get("value")?.as_str()?.to_owned(),
            })
        })
        .collect();
    lock_identifiers(conn, brand_id, &returning).await?;
    let survivor = merge.survivor_id;
    let mut all = merge.absorbed_ids.clone();
    all.push(survivor);
    all.sort();
    let locked = sqlx::query!(
        "SELECT id, merged_into FROM crm_profiles WHERE brand_id = $1 AND id = ANY($2) ORDER BY id
         FOR NO KEY UPDATE",
        brand_id,
        &all
    )
    .fetch_all(&mut *conn)
    .await?;
    // What the profiles are now, whatever the merge times say: `merged_at` is its transaction's start, so a
    // merge made later in a transaction that began earlier (an event batch) can look older than this one.
    // The survivor must still be live and every absorbed profile still merged into it.
    let moved_on = locked.iter().find(|row| {
        if row.id == survivor {
            row.merged_into.is_some()
        } else {
            row.merged_into != Some(survivor)
        }
    });
    if let Some(row) = moved_on {
        let standing = sqlx::query_scalar!(
            "SELECT id FROM crm_merges
             WHERE brand_id = $1 AND unmerged_at IS NULL AND id <> $2 AND $3 = ANY(absorbed_ids)
             ORDER BY merged_at DESC, id DESC LIMIT 1",
            brand_id,
            merge_id,
            row.id
        )
        .fetch_optional(&mut *conn)
        .await?;
        return Err(match standing {
            Some(later) => UnmergeError::BlockedByMerge(later),
            None => sqlx::Error::Protocol(format!(
                "merge {merge_id}: profile {} is not where the merge left it",
                row.id
            ))
            .into(),
        });
    }
    let later = sqlx::query_scalar!(
        "SELECT id FROM crm_merges
         WHERE brand_id = $1 AND unmerged_at IS NULL AND id <> $2 AND (merged_at, id) > ($3, $2)
           AND (absorbed_ids || survivor_id) && $4
         ORDER BY merged_at, id LIMIT 1",
        brand_id,
        merge_id,
        merge.merged_at,
        &all
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(later) = later {
        return Err(UnmergeError::BlockedByMerge(later));
    }

    let snapshots = merge
        .absorbed_before
        .as_array()
        .cloned()
        .unwrap_or_default();
    let identifiers: Vec<Value> = snapshots
        .iter()
        .filter_map(|s| s.get("identifiers").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect();
    let identifiers = Value::from(identifiers);
    let taken = sqlx::query!(
        "SELECT i.kind, i.value, i.profile_id
         FROM crm_identifiers i
         JOIN jsonb_populate_recordset(NULL::crm_identifiers, $3) AS s ON s.kind = i.kind AND s.value = i.value
         WHERE i.brand_id = $1 AND i.profile_id <> $2
         ORDER BY i.kind, i.value LIMIT 1",
        brand_id,
        survivor,
        identifiers
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(taken) = taken {
        return Err(UnmergeError::IdentifierTaken {
            kind: taken.kind,
            value: taken.value,
            profile_id: taken.profile_id,
        });
    }

    // The absorbed profiles, exactly.
    for snapshot in &snapshots {
        let profile = snapshot.get("profile").cloned().unwrap_or_default();
        sqlx::query!("SELECT crm_restore_profile($1)::text AS restored", profile)
            .fetch_one(&mut *conn)
            .await?;
    }
    sqlx::query!(
        "DELETE FROM crm_identifiers i USING jsonb_populate_recordset(NULL::crm_identifiers, $2) AS s
         WHERE i.brand_id = $1 AND i.kind = s.kind AND i.value = s.value",
        brand_id,
        identifiers
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO crm_identifiers SELECT * FROM jsonb_populate_recordset(NULL::crm_identifiers, $1)",
        identifiers
    )
    .execute(&mut *conn)
    .await?;
    let consents: Vec<Value> = snapshots
        .iter()
        .filter_map(|s| s.get("consents").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect();
    sqlx::query!(
        "DELETE FROM crm_consents WHERE brand_id = $1 AND profile_id = ANY($2)",
        brand_id,
        &merge.absorbed_ids
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO crm_consents SELECT * FROM jsonb_populate_recordset(NULL::crm_consents, $1)",
        Value::from(consents)
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE crm_activities a SET profile_id = m.from_profile_id
         FROM crm_merge_activities m
         WHERE m.merge_id = $2 AND a.id = m.activity_id AND a.brand_id = $1",
        brand_id,
        merge_id
    )
    .execute(&mut *conn)
    .await?;

    let ledger = Ledger {
        before: &merge.survivor_before,
        after: &merge.survivor_after,
        absorbed: &merge.absorbed_before,
    };
    restore_survivor(conn, brand_id, merge_id, survivor, ledger).await?;
    restore_consents(conn, brand_id, survivor, &merge.consent_decisions, actor).await?;

    sqlx::query!(
        "UPDATE crm_merges SET unmerged_at = now(), unmerged_by = $3 WHERE brand_id = $1 AND id = $2",
        brand_id,
        merge_id,
        actor
    )
    .execute(&mut *conn)
    .await?;
    record(
        conn,
        "crm.profile.unmerged",
        brand_id,
        merge_id,
        survivor,
        &merge.absorbed_ids,
    )
    .await?;
    Ok(Unmerged {
        survivor_id: survivor,
        absorbed_ids: merge.absorbed_ids,
    })
}

/// The pre-merge row, the row right after the merge, and the absorbed snapshots, from the ledger.
struct Ledger<'a> {
    before: &'a Value,
    after: &'a Value,
    absorbed: &'a Value,
}

async fn restore_survivor(
    conn: &mut PgConnection,
    brand_id: Uuid,
    merge_id: Uuid,
    survivor: Uuid,
    ledger: Ledger<'_>,
) -> Result<(), sqlx::Error> {
    let current = sqlx::query_scalar!(
        r#"SELECT to_jsonb(p) AS "row!" FROM crm_profiles p WHERE brand_id = $1 AND id = $2"#,
        brand_id,
        survivor
    )
    .fetch_one(&mut *conn)
    .await?;
    if &current == ledger.after {
        sqlx::query!(
            "SELECT crm_restore_profile(survivor_before)::text AS restored FROM crm_merges
             WHERE brand_id = $1 AND id = $2",
            brand_id,
            merge_id
        )
        .fetch_one(&mut *conn)
        .await?;
        return Ok(());
    }
    let restored = three_way(&current, ledger.before, ledger.after, ledger.absorbed);
    sqlx::query!(
        "SELECT crm_restore_profile($1)::text AS restored",
        Value::Object(restored)
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE crm_profiles p SET
             lifetime_value = CASE
                 WHEN p.lifetime_value = (m.survivor_after->>'lifetime_value')::numeric
                     THEN (m.survivor_before->>'lifetime_value')::numeric
                 ELSE p.lifetime_value - (SELECT coalesce(sum((s->'profile'->>'lifetime_value')::numeric), 0)
                                          FROM jsonb_array_elements(m.absorbed_before) AS s)
             END,
             first_activity_at = LEAST((m.survivor_before->>'first_activity_at')::timestamptz,
                 (SELECT min(occurred_at) FROM crm_activities
                  WHERE brand_id = $1 AND profile_id = p.id AND received_at >= m.merged_at)),
             last_activity_at = GREATEST((m.survivor_before->>'last_activity_at')::timestamptz,
                 (SELECT max(occurred_at) FROM crm_activities
                  WHERE brand_id = $1 AND profile_id = p.id AND received_at >= m.merged_at)),
             updated_at = now()
         FROM crm_merges m
         WHERE p.brand_id = $1 AND p.id = m.survivor_id AND m.brand_id = $1 AND m.id = $2",
        brand_id,
        merge_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The survivor's row after the rule above, for every key but the counters computed in SQL.
pub fn three_way(
    current: &Value,
    before: &Value,
    after: &Value,
    absorbed: &Value,
) -> Map<String, Value> {
    let get = |row: &Value, key: &str| row.get(key).cloned().unwrap_or(Value::Null);
    let mut restored = Map::new();
    for key in ["id", "brand_id"] {
        restored.insert(key.into(), get(current, key));
    }
    for key in ATTRIBUTES.iter().copied().chain(["first_seen_at"]) {
        let now = get(current, key);
        let value = if now == get(after, key) {
            get(before, key)
        } else {
            now
        };
        restored.insert(key.into(), value);
    }
    for key in ["custom", "attribute_times"] {
        let object = |row: &Value| {
            row.get(key)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let (now, was, merged) = (object(current), object(before), object(after));
        let keys: BTreeSet<&String> = now.keys().chain(was.keys()).chain(merged.keys()).collect();
        let mut out = Map::new();
        for name in keys {
            let value = if now.get(name) == merged.get(name) {
                was.get(name)
            } else {
                now.get(name)
            };
            if let Some(value) = value {
                out.insert(name.clone(), value.clone());
            }
        }
        restored.insert(key.into(), Value::Object(out));
    }
    let tags = |row: &Value| -> BTreeSet<String> {
        row.get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect()
    };
    let added: BTreeSet<String> = tags(after).difference(&tags(before)).cloned().collect();
    let kept: Vec<String> = tags(current).difference(&added).cloned().collect();
    restored.insert("tags".into(), Value::from(kept));

    let counts = if get(current, "activity_counts") == get(after, "activity_counts") {
        get(before, "activity_counts")
    } else {
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        let mut add = |row: &Value, sign: i64| {
            if let Some(object) = row.get("activity_counts").and_then(Value::as_object) {
                for (kind, count) in object {
                    *counts.entry(kind.clone()).or_insert(0) += sign * count.as_i64().unwrap_or(0);
                }
            }
        };
        add(current, 1);
        for snapshot in absorbed.as_array().into_iter().flatten() {
            add(snapshot.get("profile").unwrap_or(&Value::Null), -1);
        }
        Value::Object(
            counts
                .into_iter()
                .filter(|(_, count)| *count > 0)
                .map(|(kind, count)| (kind, Value::from(count)))
                .collect(),
        )
    };
    restored.insert("activity_counts".into(), counts);
    restored
}

/// Consents the merge changed on the survivor go back, unless set again since.
async fn restore_consents(
    conn: &mut PgConnection,
    brand_id: Uuid,
    survivor: Uuid,
    decisions: &Value,
    actor: &str,
) -> Result<(), sqlx::Error> {
    for decision in decisions.as_array().into_iter().flatten() {
        if decision.get("changed") != Some(&Value::Bool(true)) {
            continue;
        }
        let text = |key: &str| {
            decision
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let (channel, purpose) = (text("channel"), text("purpose"));
        let current = sqlx::query_scalar!(
            r#"SELECT to_jsonb(c) AS "row!" FROM crm_consents c
               WHERE brand_id = $1 AND profile_id = $2 AND channel = $3 AND purpose = $4"#,
            brand_id,
            survivor,
            channel,
            purpose
        )
        .fetch_optional(&mut *conn)
        .await?;
        let after = decision.get("after").filter(|v| !v.is_null());
        if current.as_ref() != after {
            continue;
        }
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
        let before = decision.get("before").filter(|v| !v.is_null()).cloned();
        let status = match &before {
            Some(row) => {
                sqlx::query!(
                    "INSERT INTO crm_consents SELECT * FROM jsonb_populate_record(NULL::crm_consents, $1)",
                    row
                )
                .execute(&mut *conn)
                .await?;
                row.get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_owned()
            }
            None => "unknown".to_owned(),
        };
        let expires_at = before
            .as_ref()
            .and_then(|row| row.get("expires_at"))
            .and_then(Value::as_str)
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.with_timezone(&chrono::Utc));
        history(
            conn,
            brand_id,
            survivor,
            (channel, purpose),
            &status,
            expires_at,
            actor,
            "unmerge",
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_changed_after_the_merge_stay_and_the_others_go_back() {
        let before = json!({"id": "s", "brand_id": "b", "first_name": "Ada", "city": "Nice", "tier": null,
            "tags": ["a"], "custom": {"size": "M"}, "attribute_times": {"city": "t0"},
            "activity_counts": {"purchase": 1}});
        let after = json!({"id": "s", "brand_id": "b", "first_name": "Ada", "city": "Lille", "tier": "gold",
            "tags": ["a", "b"], "custom": {"size": "L"}, "attribute_times": {"city": "t1"},
            "activity_counts": {"purchase": 3}});
        // After the merge: a new tier, a new tag, one more purchase.
        let current = json!({"id": "s", "brand_id": "b", "first_name": "Ada", "city": "Lille", "tier": "silver",
            "tags": ["a", "b", "c"], "custom": {"size": "L"}, "attribute_times": {"city": "t1"},
            "activity_counts": {"purchase": 4}});
        let absorbed = json!([{"profile": {"activity_counts": {"purchase": 2}}}]);
        let restored = three_way(&current, &before, &after, &absorbed);
        assert_eq!(restored["city"], "Nice");
        assert_eq!(restored["tier"], "silver");
        assert_eq!(restored["tags"], json!(["a", "c"]));
        assert_eq!(restored["custom"], json!({"size": "M"}));
        assert_eq!(restored["attribute_times"], json!({"city": "t0"}));
        assert_eq!(restored["activity_counts"], json!({"purchase": 2}));
    }
}
