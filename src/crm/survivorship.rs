//! Survivorship: which value a merged profile keeps, attribute by attribute, and which consent per channel
//! and purpose. Pure functions over the `to_jsonb` rows of the profiles, so each decision is recorded in the
//! ledger exactly as it was made.
//!
//! - built-in attributes and custom attributes: the most recent non-empty value (`attribute_times`, or the
//!   profile's `updated_at` when it has no time for it); on a tie the survivor's value;
//! - `first_seen_at`: the oldest; `tags`: the union; `activity_counts`: summed per type;
//!   `first_activity_at`/`last_activity_at`: min/max (`lifetime_value` is summed in SQL, exactly);
//! - consent: the most restrictive per channel and purpose: denied > unknown (no row, or expired) > granted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

pub const ATTRIBUTES: [&str; 9] = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "birthday",
    "locale",
    "country",
    "city",
    "tier",
];

/// One side of a decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    pub profile_id: Uuid,
    pub value: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributeDecision {
    /// `first_name`, …, `custom.<name>`, `tags`, `first_seen_at`, counters.
    pub attribute: String,
    /// `most_recent`, `oldest`, `union`, `sum`, `earliest`, `latest`.
    pub rule: String,
    pub values: Vec<Candidate>,
    pub chosen: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen_from: Option<Uuid>,
}

pub type Row = Map<String, Value>;

fn text(row: &Row, key: &str) -> Option<DateTime<Utc>> {
    row.get(key)
        .and_then(Value::as_str)
        .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
        .map(|v| v.with_timezone(&Utc))
}

fn time_of(value: &Value) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
        .map(|v| v.with_timezone(&Utc))
}

fn id_of(row: &Row) -> Uuid {
    row.get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.parse().ok())
        .unwrap_or_default()
}

fn empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

/// The survivor's new values (only the keys the merge sets) and the decisions behind them. `rows[0]` is the
/// survivor.
pub fn merge_rows(rows: &[&Row]) -> (Row, Vec<AttributeDecision>) {
    let mut set = Row::new();
    let mut decisions = Vec::new();
    let mut times = rows
        .first()
        .and_then(|row| row.get("attribute_times"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();

    let most_recent = |attribute: String, value_of: &dyn Fn(&Row) -> Value, time_key: &str| {
        let mut values = Vec::new();
        let mut best: Option<(Option<DateTime<Utc>>, usize)> = None;
        for (index, row) in rows.iter().enumerate() {
            let value = value_of(row);
            if empty(&value) {
                continue;
            }
            let at = row
                .get("attribute_times")
                .and_then(|t| t.get(time_key))
                .cloned()
                .or_else(|| row.get("updated_at").cloned());
            let when = at.as_ref().and_then(time_of);
            // Strictly more recent wins, so on a tie the earlier side (the survivor first) keeps it.
            if best.is_none_or(|(best_when, _)| when > best_when) {
                best = Some((when, index));
            }
            values.push(Candidate {
                profile_id: id_of(row),
                value,
                at,
            });
        }
        let (_, index) = best?;
        let row = rows[index];
        let chosen = value_of(row);
        let decision = AttributeDecision {
            attribute,
            rule: "most_recent".into(),
            values,
            chosen: chosen.clone(),
            chosen_from: Some(id_of(row)),
        };
        let time = row
            .get("attribute_times")
            .and_then(|t| t.get(time_key))
            .cloned();
        Some((decision, chosen, time))
    };

    for attribute in ATTRIBUTES {
        let value_of = |row: &Row| row.get(attribute).cloned().unwrap_or(Value::Null);
        if let Some((decision, chosen, time)) =
            most_recent(attribute.to_owned(), &value_of, attribute)
        {
            set.insert(attribute.to_owned(), chosen);
            if let Some(time) = time {
                times.insert(attribute.to_owned(), time);
            }
            decisions.push(decision);
        }
    }

    let custom_keys: BTreeSet<String> = rows
        .iter()
        .filter_map(|row| row.get("custom").and_then(Value::as_object))
        .flat_map(|custom| custom.keys().cloned())
        .collect();
    let mut custom = Row::new();
    for key in custom_keys {
        let value_of = |row: &Row| {
            row.get("custom")
                .and_then(|c| c.get(&key))
                .cloned()
                .unwrap_or(Value::Null)
        };
        if let Some((decision, chosen, time)) =
            most_recent(format!("custom.{key}"), &value_of, &key)
        {
            custom.insert(key.clone(), chosen);
            if let Some(time) = time {
                times.insert(key.clone(), time);
            }
            decisions.push(decision);
        }
    }
    set.insert("custom".into(), Value::Object(custom));
    set.insert("attribute_times".into(), Value::Object(times));

    let tags: BTreeSet<String> = rows
        .iter()
        .filter_map(|row| row.get("tags").and_then(Value::as_array))
        .flatten()
        .filter_map(|tag| tag.as_str().map(str::to_owned))
        .collect();
    let tags = Value::from(tags.into_iter().collect::<Vec<_>>());
    decisions.push(decision(rows, "tags", "union", tags.clone(), None));
    set.insert("tags".into(), tags);

    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows {
        if let Some(object) = row.get("activity_counts").and_then(Value::as_object) {
            for (kind, count) in object {
                *counts.entry(kind.clone()).or_insert(0) += count.as_i64().unwrap_or(0);
            }
        }
    }
    let counts = Value::Object(
        counts
            .into_iter()
            .map(|(kind, count)| (kind, Value::from(count)))
            .collect(),
    );
    decisions.push(decision(
        rows,
        "activity_counts",
        "sum",
        counts.clone(),
        None,
    ));
    set.insert("activity_counts".into(), counts);

    for (key, rule, pick_min) in [
        ("first_seen_at", "oldest", true),
        ("first_activity_at", "earliest", true),
        ("last_activity_at", "latest", false),
    ] {
        let chosen = rows
            .iter()
            .filter_map(|row| text(row, key).map(|at| (at, *row)))
            .reduce(|a, b| {
                let b_better = if pick_min { b.0 < a.0 } else { b.0 > a.0 };
                if b_better { b } else { a }
            });
        let (value, from) = match chosen {
            Some((_, row)) => (
                row.get(key).cloned().unwrap_or(Value::Null),
                Some(id_of(row)),
            ),
            None => (Value::Null, None),
        };
        decisions.push(decision(rows, key, rule, value.clone(), from));
        set.insert(key.into(), value);
    }
    (set, decisions)
}

fn decision(
    rows: &[&Row],
    key: &str,
    rule: &str,
    chosen: Value,
    chosen_from: Option<Uuid>,
) -> AttributeDecision {
    AttributeDecision {
        attribute: key.into(),
        rule: rule.into(),
        values: rows
            .iter()
            .map(|row| Candidate {
                profile_id: id_of(row),
                value: row.get(key).cloned().unwrap_or(Value::Null),
                at: None,
            })
            .collect(),
        chosen,
        chosen_from,
    }
}

/// A consent as the merge sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effective {
    Granted,
    Unknown,
    Denied,
}

/// The effective status of a stored consent (`None`: no row) at `now`: expired means unknown.
pub fn effective(
    status: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Effective {
    match status {
        Some("denied") => Effective::Denied,
        Some("granted") if expires_at.is_none_or(|at| at > now) => Effective::Granted,
        _ => Effective::Unknown,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(value: Value) -> Row {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_most_recent_value_wins_tags_unite_counters_add_and_the_oldest_first_seen_stays() {
        let survivor = row(json!({
            "id": "00000000-0000-0000-0000-000000000001", "first_name": "Jane", "city": null,
            "tier": "gold", "tags": ["vip"], "custom": {"size": "M"},
            "attribute_times": {"first_name": "2026-01-01T00:00:00+00:00", "tier": "2026-06-01T00:00:00+00:00",
                                "size": "2026-01-01T00:00:00+00:00"},
            "activity_counts": {"purchase": 2}, "first_seen_at": "2026-01-01T00:00:00+00:00",
            "first_activity_at": "2026-02-01T00:00:00+00:00", "last_activity_at": "2026-03-01T00:00:00+00:00",
            "updated_at": "2026-06-01T00:00:00+00:00"
        }));
        let absorbed = row(json!({
            "id": "00000000-0000-0000-0000-000000000002", "first_name": "Janet", "city": "Paris",
            "tier": "", "tags": ["new", "vip"], "custom": {"size": "L", "color": "red"},
            "attribute_times": {"first_name": "2026-05-01T00:00:00+00:00", "size": "2025-01-01T00:00:00+00:00"},
            "activity_counts": {"purchase": 1, "page_view": 4}, "first_seen_at": "2025-01-01T00:00:00+00:00",
            "first_activity_at": "2026-01-15T00:00:00+00:00", "last_activity_at": "2026-02-15T00:00:00+00:00",
            "updated_at": "2026-05-01T00:00:00+00:00"
        }));
        let (set, decisions) = merge_rows(&[&survivor, &absorbed]);
        assert_eq!(set["first_name"], "Janet");
        assert_eq!(set["city"], "Paris");
        assert_eq!(set["tier"], "gold", "an empty value never wins");
        assert_eq!(set["tags"], json!(["new", "vip"]));
        assert_eq!(set["custom"], json!({"color": "red", "size": "M"}));
        assert_eq!(
            set["activity_counts"],
            json!({"page_view": 4, "purchase": 3})
        );
        assert_eq!(set["first_seen_at"], "2025-01-01T00:00:00+00:00");
        assert_eq!(set["first_activity_at"], "2026-01-15T00:00:00+00:00");
        assert_eq!(set["last_activity_at"], "2026-03-01T00:00:00+00:00");
        assert_eq!(
            set["attribute_times"]["first_name"],
            "2026-05-01T00:00:00+00:00"
        );
        let first_name = decisions
            .iter()
            .find(|d| d.attribute == "first_name")
            .unwrap();
        assert_eq!(first_name.values.len(), 2);
        assert_eq!(first_name.rule, "most_recent");
    }

    #[test]
    fn consent_is_the_most_restrictive() {
        let now = Utc::now();
        let past = now - chrono::Duration::days(1);
        assert_eq!(effective(Some("granted"), None, now), Effective::Granted);
        assert_eq!(
            effective(Some("granted"), Some(past), now),
            Effective::Unknown
        );
        assert_eq!(effective(None, None, now), Effective::Unknown);
        assert!(Effective::Denied > Effective::Unknown && Effective::Unknown > Effective::Granted);
    }
}
