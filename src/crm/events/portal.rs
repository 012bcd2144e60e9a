//! The internal sources: the portal's own facts, read from the outbox and applied through the same path as
//! the events API, in the portal brand (`[portal] brand`).
//!
//! - `customer.linked` (a verified customer linked to WHMCS and Salesforce): a `portal_linked` activity on
//!   the profile with identifiers `portal_user`, `email` (the verified one), `whmcs_client` and
//!   `salesforce_contact`, the account's name and email as traits;
//! - `order.provisioned`: an `order_provisioned` activity on the customer's profile (`portal_user`);
//! - `invoice.paid` (a stored-card capture that succeeded): an `invoice_paid` activity with the amount.
//!
//! [`PortalFeed`] is an outbox sink: the dispatcher hands it every event after the Redis stream, and a
//! failure here (the portal brand missing, the database down, a rejected event) is the delivery's failure,
//! retried with the outbox's back-off, so nothing is lost. The portal's contexts never call the CRM in their
//! transactions. Each event's id is derived from the fact (`portal:order.provisioned:<order id>`), so a
//! redelivery, or the same fact recorded twice, is a duplicate.

use anyhow::Context;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::apply::{self, Checked, EventStatus};
use super::schema;
use crate::crm::Crm;
use crate::crm::identifiers::{EMAIL, PORTAL_USER, SALESFORCE_CONTACT, WHMCS_CLIENT};
use crate::outbox::{EventSink, OutboxEvent};

/// The outbox topics the CRM reads.
pub const TOPICS: [&str; 3] = ["customer.linked", "order.provisioned", "invoice.paid"];

#[derive(Clone)]
pub struct PortalFeed {
    crm: Crm,
}

impl PortalFeed {
    pub fn new(crm: Crm) -> Self {
        Self { crm }
    }

    /// The CRM event an outbox event stands for; `None` for topics the CRM does not read.
    async fn event_for(&self, event: &OutboxEvent) -> anyhow::Result<Option<Value>> {
        let payload = &event.payload;
        let occurred_at = event.created_at.to_rfc3339();
        let json = match event.topic.as_str() {
            "customer.linked" => {
                #[derive(Deserialize)]
                struct Linked {
                    user_id: Uuid,
                    whmcs_client_id: i64,
                    salesforce_contact_id: String,
                }
                let linked: Linked = serde_json::from_value(payload.clone())?;
                let db = self.crm.db();
                let mut identifiers = vec![
                    json!({"kind": PORTAL_USER, "value": linked.user_id.to_string()}),
                    json!({"kind": WHMCS_CLIENT, "value": linked.whmcs_client_id.to_string()}),
                    json!({"kind": SALESFORCE_CONTACT, "value": linked.salesforce_contact_id}),
                ];
                let mut traits = serde_json::Map::new();
                if let Some(email) = crate::auth::verified_email(db, linked.user_id).await? {
                    identifiers.push(json!({"kind": EMAIL, "value": email}));
                    traits.insert("email".into(), json!(email));
                }
                if let Some(account) = crate::auth::account(db, linked.user_id).await? {
                    traits.insert("first_name".into(), json!(account.first_name));
                    traits.insert("last_name".into(), json!(account.last_name));
                }
                json!({
                    "id": format!("portal:customer.linked:{}", linked.user_id),
                    "type": "portal_linked",
                    "occurred_at": occurred_at,
                    "identifiers": identifiers,
                    "traits": traits,
                    "properties": {},
                })
            }
            "order.provisioned" => {
                #[derive(Deserialize)]
                struct Provisioned {
                    order_id: Uuid,
                    user_id: Uuid,
                    #[serde(default)]
                    service_ids: Vec<i64>,
                }
                let order: Provisioned = serde_json::from_value(payload.clone())?;
                json!({
                    "id": format!("portal:order.provisioned:{}", order.order_id),
                    "type": "order_provisioned",
                    "occurred_at": occurred_at,
                    "identifiers": [{"kind": PORTAL_USER, "value": order.user_id.to_string()}],
                    "properties": {"order_id": order.order_id.to_string(), "service_ids": order.service_ids},
                })
            }
            "invoice.paid" => {
                #[derive(Deserialize)]
                struct Paid {
                    invoice_id: u64,
                    user_id: Uuid,
                    whmcs_client_id: i64,
                    amount: Option<String>,
                    currency: Option<String>,
                }
                let paid: Paid = serde_json::from_value(payload.clone())?;
                json!({
                    "id": format!("portal:invoice.paid:{}", paid.invoice_id),
                    "type": "invoice_paid",
                    "occurred_at": occurred_at,
                    "identifiers": [
                        {"kind": PORTAL_USER, "value": paid.user_id.to_string()},
                        {"kind": WHMCS_CLIENT, "value": paid.whmcs_client_id.to_string()},
                    ],
                    "properties": {"invoice_id": paid.invoice_id, "amount": paid.amount, "currency": paid.currency},
                })
            }
            _ => return Ok(None),
        };
        Ok(Some(json))
    }
}

impl EventSink for PortalFeed {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        if !TOPICS.contains(&event.topic.as_str()) {
            return Ok(());
        }
        let slug = self.crm.portal_brand();
        let brand = crate::brands::find(self.crm.db(), slug)
            .await?
            .with_context(|| {
                format!(
                    "the portal brand {slug:?} does not exist; {} waits",
                    event.topic
                )
            })?;
        let raw = self
            .event_for(event)
            .await
            .with_context(|| format!("reading {} {}", event.topic, event.id))?
            .context("no CRM event")?;
        let checked = match schema::check(0, &raw, chrono::Utc::now()) {
            Ok(valid) => Checked::Valid(Box::new(valid)),
            Err(errors) => {
                let fields: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{} {}", e.field, e.code))
                    .collect();
                anyhow::bail!(
                    "{} {} makes an invalid CRM event: {}",
                    event.topic,
                    event.id,
                    fields.join(", ")
                );
            }
        };
        let results = apply::apply(&self.crm, &brand, vec![checked], "portal").await?;
        // The customer was erased: their facts are refused for good (`erased`), not to be retried.
        if let Some(result) = results.first()
            && result.status == EventStatus::Rejected
            && !result.errors.is_empty()
            && result.errors.iter().all(|error| error.code == "erased")
        {
            tracing::info!(topic = %event.topic, id = %event.id, "a portal fact of an erased customer was dropped");
            return Ok(());
        }
        match results
            .first()
            .map(|result| (result.status, result.detail.clone()))
        {
            Some((EventStatus::Accepted | EventStatus::Duplicate, _)) => Ok(()),
            Some((status, detail)) => {
                anyhow::bail!(
                    "{} {} was {status:?}: {}",
                    event.topic,
                    event.id,
                    detail.unwrap_or_default()
                )
            }
            None => anyhow::bail!("no result for {} {}", event.topic, event.id),
        }
    }
}
