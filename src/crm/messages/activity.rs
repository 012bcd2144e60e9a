//! Every outcome of the send path and every delivery receipt becomes an activity on the profile through the
//! CRM's event path (so segments and scores see it), with an event id derived from the ledger row, so a
//! repeat of the same outcome is a duplicate. A crash before the activity is written leaves
//! `activity_recorded` false and the next call for the message writes it.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::Messages;
use super::ledger;
use crate::brands::Brand;
use crate::crm::events::EventStatus;
use crate::crm::identifiers::{EMAIL, PHONE, PORTAL_USER};
use crate::crm::profile;

/// The identifier the activity is applied through: one the profile holds, strong kinds first.
async fn identifier(
    messages: &Messages,
    brand: &Brand,
    profile_id: Uuid,
) -> anyhow::Result<Option<Value>> {
    let mut conn = messages.crm.db().acquire().await?;
    let Some(profile) = profile::load(&mut conn, brand.id, profile_id).await? else {
        return Ok(None);
    };
    let rank = |kind: &str| match kind {
        PORTAL_USER => 0,
        EMAIL => 1,
        PHONE => 3,
        _ => 2,
    };
    let chosen = profile
        .identifiers
        .iter()
        .min_by_key(|identifier| (rank(&identifier.kind), identifier.kind.clone()));
    Ok(chosen.map(|i| json!({ "kind": i.kind, "value": i.value })))
}

/// One activity of a message.
pub struct Activity<'a> {
    pub profile_id: Uuid,
    /// The ledger row.
    pub message_id: Uuid,
    pub kind: &'a str,
    /// Makes the event id unique among the message's activities (`outcome`, the receipt's event id).
    pub key: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub properties: Map<String, Value>,
}

/// Applies `activity`; `false` when it could not be (the profile holds no identifier).
pub async fn record(
    messages: &Messages,
    brand: &Brand,
    activity: Activity<'_>,
) -> anyhow::Result<bool> {
    let Activity {
        profile_id,
        message_id,
        kind,
        key,
        occurred_at,
        properties,
    } = activity;
    let Some(identifier) = identifier(messages, brand, profile_id).await? else {
        tracing::warn!(%message_id, "the message's profile holds no identifier; no activity");
        return Ok(false);
    };
    let event = json!({
        "id": format!("crm-message:{message_id}:{key}"),
        "type": kind,
        "occurred_at": occurred_at.to_rfc3339(),
        "identifiers": [identifier],
        "properties": properties,
    });
    let results =
        crate::crm::events::apply_internal(&messages.crm, brand, &[event], "messages").await?;
    let result = results.first();
    let applied =
        result.is_some_and(|r| matches!(r.status, EventStatus::Accepted | EventStatus::Duplicate));
    if !applied {
        tracing::error!(%message_id, kind, result = ?result.map(|r| (&r.status, &r.detail, &r.errors)), "the CRM refused a message activity");
    }
    Ok(applied)
}

/// The activity of a ledger row's outcome (sent, suppressed, failed), then the row marked as recorded.
/// Failures are logged: the outcome stands, and the next call for the message tries again.
pub async fn record_outcome(messages: &Messages, brand: &Brand, entry: &ledger::Entry) {
    let (kind, reason) = match entry.status.as_str() {
        "sent" | "delivered" | "bounced" | "opened" | "clicked" => ("message_sent", None),
        "suppressed" => ("message_suppressed", entry.reason.clone()),
        "failed" => ("message_failed", entry.reason.clone()),
        _ => return,
    };
    let mut properties = Map::new();
    properties.insert("message_id".into(), json!(entry.id.to_string()));
    properties.insert("channel".into(), json!(entry.channel));
    properties.insert("purpose".into(), json!(entry.purpose));
    if let Some(template_id) = entry.template_id {
        properties.insert("template_id".into(), json!(template_id.to_string()));
    }
    if kind == "message_sent" {
        if let Some(version) = entry.template_version {
            properties.insert("template_version".into(), json!(version));
        }
        if let Some(language) = &entry.language {
            properties.insert("language".into(), json!(language));
        }
    }
    if let Some(reason) = reason {
        let reason: String = reason.chars().take(300).collect();
        properties.insert("reason".into(), json!(reason));
    }
    let activity = Activity {
        profile_id: entry.profile_id,
        message_id: entry.id,
        kind,
        key: "outcome",
        occurred_at: Utc::now(),
        properties,
    };
    let outcome = record(messages, brand, activity).await;
    match outcome {
        Ok(true) => {
            let marked = async {
                let mut conn = messages.crm.db().acquire().await?;
                ledger::activity_recorded(&mut conn, entry.id).await
            };
            if let Err(error) = marked.await {
                tracing::warn!(message_id = %entry.id, %error, "the message's activity is not marked");
            }
        }
        Ok(false) => {}
        Err(error) => {
            tracing::warn!(message_id = %entry.id, error = %format!("{error:#}"), "the message's activity could not be recorded");
        }
    }
}
