//! Interactions as CRM activities: [`InteractionFeed`] is an outbox sink reading
//! `clienteling.interaction.created|updated|deleted` and applying one CRM event per stream event through
//! the CRM's event path — `interaction` for a creation (what segments count: "≥ 2 `store_visit`
//! interactions in 30 days"), `interaction_updated` and `interaction_deleted` after it (the CRM's activities
//! are facts, never edited: the first stays, the later ones say what became of it).
//!
//! - The event id is `clienteling:interaction:<id>:v<version>`: a redelivery, or the same write read twice,
//!   is a duplicate on the CRM side.
//! - Identity: the CRM resolves by identifiers, and the client is a known profile. The sink first links the
//!   identifier `clienteling_client:<client id>` to it (`crm::links::link`, once, idempotent) and sends only
//!   that identifier, so the activity lands on exactly that profile (or the survivor it was merged into),
//!   never on a profile found by an email that changed hands.
//! - A failure (the database, a rejected event) fails the delivery, which the outbox retries with back-off.

use anyhow::Context;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::crm::Crm;
use crate::crm::events::{EventStatus, apply_internal};
use crate::crm::identifiers::Identifier;
use crate::outbox::{EventSink, OutboxEvent};

pub const TOPICS: [&str; 3] = [
    "clienteling.interaction.created",
    "clienteling.interaction.updated",
    "clienteling.interaction.deleted",
];

/// The identifier kind linking a clienteling client to its CRM profile.
pub const CLIENT_IDENTIFIER: &str = "clienteling_client";

#[derive(Clone)]
pub struct InteractionFeed {
    crm: Crm,
}

impl InteractionFeed {
    pub fn new(crm: Crm) -> Self {
        Self { crm }
    }
}

#[derive(Debug, Deserialize)]
struct Written {
    brand: String,
    brand_id: Uuid,
    interaction_id: Uuid,
    client_id: Uuid,
    version: i32,
    channel: String,
    context: String,
    occurred_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    advisor_id: Option<Uuid>,
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    enrich: Option<Value>,
}

/// The CRM event for one interaction event.
fn crm_event(
    topic: &str,
    written: &Written,
    recorded_at: chrono::DateTime<chrono::Utc>,
) -> Option<Value> {
    let kind = match topic {
        "clienteling.interaction.created" => "interaction",
        "clienteling.interaction.updated" => "interaction_updated",
        "clienteling.interaction.deleted" => "interaction_deleted",
        _ => return None,
    };
    // A creation happened when the advisor says; an edit or a deletion when it was written.
    let occurred_at = if kind == "interaction" {
        written.occurred_at
    } else {
        recorded_at
    };
    let mut properties = json!({
        "interaction_id": written.interaction_id.to_string(),
        "version": written.version,
        "channel": written.channel,
        "context": written.context,
        "advisor_id": written.advisor_id.map(|id| id.to_string()),
    });
    if let Some(store) = &written.store {
        properties["store"] = json!(store);
    }
    let skus = written
        .enrich
        .as_ref()
        .and_then(|enrich| enrich.get("skus"))
        .and_then(Value::as_array)
        .filter(|skus| !skus.is_empty());
    if let Some(skus) = skus {
        properties["skus"] = json!(skus);
    }
    Some(json!({
        "id": format!("clienteling:interaction:{}:v{}", written.interaction_id, written.version),
        "type": kind,
        "occurred_at": occurred_at.to_rfc3339(),
        "identifiers": [{ "kind": CLIENT_IDENTIFIER, "value": written.client_id.to_string() }],
        "properties": properties,
    }))
}

impl EventSink for InteractionFeed {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        if !TOPICS.contains(&event.topic.as_str()) {
            return Ok(());
        }
        let written: Written = serde_json::from_value(event.payload.clone())
            .with_context(|| format!("reading {} {}", event.topic, event.id))?;
        let brand = crate::brands::find(self.crm.db(), &written.brand)
            .await?
            .filter(|brand| brand.id == written.brand_id)
            .with_context(|| format!("the brand of {} {} is gone", event.topic, event.id))?;
        let identifier = Identifier::parse(CLIENT_IDENTIFIER, &written.client_id.to_string())
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        crate::crm::links::link(
            self.crm.db(),
            brand.id,
            written.client_id,
            &identifier,
            "clienteling",
        )
        .await?
        .with_context(|| format!("the client {} has no profile", written.client_id))?;
        let raw = crm_event(&event.topic, &written, event.created_at).context("no CRM event")?;
        let result = apply_internal(&self.crm, &brand, std::slice::from_ref(&raw), "clienteling")
            .await?
            .pop()
            .context("no result for the event")?;
        match result.status {
            EventStatus::Accepted | EventStatus::Duplicate => Ok(()),
            status => anyhow::bail!(
                "{} {} was {status:?}: {} {:?}",
                event.topic,
                event.id,
                result.detail.unwrap_or_default(),
                result.errors
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn written(version: i32) -> Written {
        Written {
            brand: "maison".into(),
            brand_id: Uuid::now_v7(),
            interaction_id: Uuid::now_v7(),
            client_id: Uuid::now_v7(),
            version,
            channel: "whatsapp".into(),
            context: "product_share".into(),
            occurred_at: chrono::Utc::now(),
            advisor_id: Some(Uuid::now_v7()),
            store: Some("paris-1".into()),
            enrich: Some(json!({ "skus": ["A-1", "B-2"], "order_number": null })),
        }
    }

    #[test]
    fn each_stream_event_is_one_crm_event_with_a_stable_id_that_passes_the_schema() {
        let now = chrono::Utc::now();
        for (topic, kind, version) in [
            ("clienteling.interaction.created", "interaction", 1),
            ("clienteling.interaction.updated", "interaction_updated", 2),
            ("clienteling.interaction.deleted", "interaction_deleted", 3),
        ] {
            let written = written(version);
            let raw = crm_event(topic, &written, now).unwrap();
            assert_eq!(raw, crm_event(topic, &written, now).unwrap());
            assert_eq!(raw["type"], kind);
            assert_eq!(
                raw["id"],
                format!(
                    "clienteling:interaction:{}:v{version}",
                    written.interaction_id
                )
            );
            let valid = crate::crm::events::check_internal(&raw).unwrap();
            assert_eq!(valid.properties["skus"], json!(["A-1", "B-2"]));
            assert_eq!(valid.identifiers[0].kind, CLIENT_IDENTIFIER);
        }
        assert!(crm_event("clienteling.client.reassigned", &written(1), now).is_none());
    }
}
