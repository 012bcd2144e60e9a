//! An interaction's state and how each event changes it. The projection is written from [`State::apply`]
//! and `as_of` folds the same events with it, so the two cannot disagree.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// The schema version of the payloads this code writes.
pub const SCHEMA_VERSION: i16 = 1;

/// An interaction as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ClientelingInteraction)]
pub struct State {
    pub id: Uuid,
    pub client_id: Uuid,
    /// The store of the client's book when it was logged.
    pub store: String,
    pub advisor_id: Uuid,
    pub channel: String,
    pub context: String,
    pub subject: Option<String>,
    pub note: Option<String>,
    /// The context's fields, as its processor normalised them.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// `pending` (the job will look things up), `enriched` or `failed` (retried); `not_needed` on
    /// interactions logged before every write was enriched.
    pub enrichment_status: String,
    /// What the enrichment job found for the version `for_version`: the advisor's and the store's names,
    /// the client's name and tier then, the order's status, the products (names, images, prices) and the
    /// SKUs the catalogue did not resolve; after a failure, the `reason`.
    #[schema(value_type = Option<Object>)]
    pub enrichment: Option<Value>,
    /// The Salesforce Task mirroring it: `{status: "mirrored", task_id, content_version}`, or
    /// `{status: "failed", error}` once the mirror used up its attempts.
    #[schema(value_type = Option<Object>)]
    pub mirror: Option<Value>,
    /// The version the ETag names. `If-Match` on a write must name it, or an older version that no
    /// person's write (`created`, `updated`) followed: the jobs' own events do not make an ETag stale.
    pub version: i32,
    pub occurred_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One event of a stream as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ClientelingInteractionEvent)]
pub struct Event {
    pub version: i32,
    /// `created`, `updated`, `enriched`, `enrichment_failed`, `mirrored`, `deleted` or `redacted` (the
    /// client was erased: the payloads before it were replaced by their redacted form).
    #[serde(rename = "type")]
    pub kind: String,
    pub schema_version: i16,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub actor: String,
    pub request_id: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// The payload of `created`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Created {
    pub client_id: Uuid,
    pub store: String,
    pub advisor_id: Uuid,
    pub channel: String,
    pub context: String,
    pub subject: Option<String>,
    pub note: Option<String>,
    pub metadata: Value,
    pub enrichment_status: String,
    pub occurred_at: DateTime<Utc>,
}

/// The payload of `updated`: the fields that changed. A `null` subject or note clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Updated {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "cleared"
    )]
    pub subject: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "cleared"
    )]
    pub note: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<DateTime<Utc>>,
    /// Set when the metadata changed what there is to enrich.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrichment_status: Option<String>,
}

/// The payload of `redacted`: the client was erased. It names what was removed and carries nothing else.
pub fn redacted_payload() -> Value {
    serde_json::json!({ "reason": "erasure", "removed": ["subject", "note", "metadata", "enrichment"] })
}

/// What a redaction leaves of a state: channel, context, store, advisor, times and the mirror's status.
fn redact_state(state: &mut State) {
    state.subject = None;
    state.note = None;
    state.metadata = Value::Object(Default::default());
    state.enrichment = None;
}

/// The redacted form of an event's payload that a `redacted` event follows: what `created` and `updated`
/// wrote of the subject, the note and the metadata, and whatever the enrichment found (names of the client
/// then), are gone; the rest stays, so replaying the stream yields the redacted state. `None`: unchanged.
pub fn redact_payload(kind: &str, payload: &Value) -> Option<Value> {
    let mut redacted = payload.clone();
    match kind {
        "created" | "updated" => {
            if let Some(map) = redacted.as_object_mut() {
                for key in ["subject", "note"] {
                    if map.contains_key(key) {
                        map.insert(key.into(), Value::Null);
                    }
                }
                if map.contains_key("metadata") {
                    map.insert("metadata".into(), Value::Object(Default::default()));
                }
            }
        }
        "enriched" | "enrichment_failed" => {
            redacted = serde_json::json!({ "redacted": true });
        }
        _ => {}
    }
    (redacted != *payload).then_some(redacted)
}

/// `null` is `Some(None)` (cleared), not `None` (unchanged).
fn cleared<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

impl State {
    /// The state after `event` (recorded at `at`); `None` when `event` cannot follow `state`.
    pub fn apply(state: Option<State>, id: Uuid, event: &Event) -> Option<State> {
        let at = event.recorded_at;
        match (state, event.kind.as_str()) {
            (None, "created") => {
                let created: Created = serde_json::from_value(event.payload.clone()).ok()?;
                Some(State {
                    id,
                    client_id: created.client_id,
                    store: created.store,
                    advisor_id: created.advisor_id,
                    channel: created.channel,
                    context: created.context,
                    subject: created.subject,
                    note: created.note,
                    metadata: created.metadata,
                    enrichment_status: created.enrichment_status,
                    enrichment: None,
                    mirror: None,
                    version: event.version,
                    occurred_at: created.occurred_at,
                    deleted_at: None,
                    created_at: at,
                    updated_at: at,
                })
            }
            (Some(mut state), kind)
                if state.deleted_at.is_none() || kind == "mirrored" || kind == "redacted" =>
            {
                match kind {
                    "updated" => {
                        let updated: Updated =
                            serde_json::from_value(event.payload.clone()).ok()?;
                        if let Some(channel) = updated.channel {
                            state.channel = channel;
                        }
                        if let Some(subject) = updated.subject {
                            state.subject = subject;
                        }
                        if let Some(note) = updated.note {
                            state.note = note;
                        }
                        if let Some(metadata) = updated.metadata {
                            state.metadata = metadata;
                            state.enrichment = None;
                        }
                        if let Some(occurred_at) = updated.occurred_at {
                            state.occurred_at = occurred_at;
                        }
                        if let Some(status) = updated.enrichment_status {
                            state.enrichment_status = status;
                        }
                    }
                    "enriched" => {
                        state.enrichment_status = "enriched".into();
                        state.enrichment = Some(event.payload.clone());
                    }
                    "enrichment_failed" => {
                        state.enrichment_status = "failed".into();
                        state.enrichment = Some(event.payload.clone());
                    }
                    "mirrored" => state.mirror = Some(event.payload.clone()),
                    "redacted" => redact_state(&mut state),
                    "deleted" => state.deleted_at = Some(at),
                    _ => return None,
                }
                state.version = event.version;
                state.updated_at = at;
                Some(state)
            }
            _ => None,
        }
    }

    /// Folds a stream's events, in version order.
    pub fn fold<'a>(id: Uuid, events: impl IntoIterator<Item = &'a Event>) -> Option<State> {
        events
            .into_iter()
            .try_fold(None, |state, event| {
                State::apply(state, id, event).map(Some)
            })
            .flatten()
    }

    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// The version an `If-Match` value names (`"3"`, or `W/"3"`); `None` for anything else.
pub fn expected_version(if_match: &str) -> Option<i32> {
    let value = if_match.trim();
    let value = value.strip_prefix("W/").unwrap_or(value);
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|v| *v >= 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(version: i32, kind: &str, payload: Value) -> Event {
        Event {
            version,
            kind: kind.into(),
            schema_version: SCHEMA_VERSION,
            payload,
            actor: "user:test".into(),
            request_id: None,
            recorded_at: Utc::now(),
        }
    }

    #[test]
    fn a_stream_folds_to_its_latest_state_and_nothing_follows_a_deletion() {
        let id = Uuid::now_v7();
        let created = event(
            1,
            "created",
            json!({
                "client_id": Uuid::now_v7(), "store": "paris-1", "advisor_id": Uuid::now_v7(),
                "channel": "whatsapp", "context": "product_share", "subject": "Bags", "note": null,
                "metadata": { "skus": ["A"] }, "enrichment_status": "pending",
                "occurred_at": "2026-11-30T10:00:00Z"
            }),
        );
        let updated = event(2, "updated", json!({ "note": "Loved it", "subject": null }));
        let state = State::fold(id, [&created, &updated]).unwrap();
        assert_eq!(state.version, 2);
        assert_eq!(state.note.as_deref(), Some("Loved it"));
        assert_eq!(state.subject, None);
        let deleted = event(3, "deleted", json!({}));
        let state = State::fold(id, [&created, &updated, &deleted]).unwrap();
        assert!(state.deleted_at.is_some());
        let after = event(4, "updated", json!({ "note": "x" }));
        assert!(State::fold(id, [&created, &updated, &deleted, &after]).is_none());
        assert!(
            State::fold(id, [&updated]).is_none(),
            "a stream starts with created"
        );
    }

    #[test]
    fn a_redacted_stream_replays_to_the_redacted_state_with_or_without_its_old_payloads() {
        let id = Uuid::now_v7();
        let created = event(
            1,
            "created",
            json!({
                "client_id": Uuid::now_v7(), "store": "paris-1", "advisor_id": Uuid::now_v7(),
                "channel": "phone", "context": "follow_up", "subject": "Call Jane Doe", "note": "+33612345678",
                "metadata": { "occasion": "Jane's birthday" }, "enrichment_status": "pending",
                "occurred_at": "2026-11-30T10:00:00Z"
            }),
        );
        let enriched = event(2, "enriched", json!({ "client": { "first_name": "Jane" } }));
        let deleted = event(3, "deleted", json!({}));
        let redacted = event(4, "redacted", redacted_payload());
        let original = State::fold(id, [&created, &enriched, &deleted, &redacted]).unwrap();
        let rewritten: Vec<Event> = [&created, &enriched, &deleted]
            .into_iter()
            .map(|e| {
                let mut e = e.clone();
                if let Some(payload) = redact_payload(&e.kind, &e.payload) {
                    e.payload = payload;
                }
                e
            })
            .chain([redacted.clone()])
            .collect();
        let replayed = State::fold(id, &rewritten).unwrap();
        assert_eq!(replayed, original);
        assert_eq!(
            (replayed.subject, replayed.note, replayed.enrichment),
            (None, None, None)
        );
        assert_eq!(replayed.version, 4);
        assert!(replayed.deleted_at.is_some());
        let text = serde_json::to_string(&rewritten.iter().map(|e| &e.payload).collect::<Vec<_>>())
            .unwrap();
        assert!(!text.contains("Jane") && !text.contains("+336"), "{text}");
        assert_eq!(
            redact_payload("created", &rewritten[0].payload),
            None,
            "idempotent"
        );
    }

    #[test]
    fn if_match_names_a_version() {
        assert_eq!(expected_version("\"3\""), Some(3));
        assert_eq!(expected_version("W/\"12\""), Some(12));
        for bad in ["3", "*", "\"0\"", "\"x\"", ""] {
            assert_eq!(expected_version(bad), None, "{bad}");
        }
    }
}
