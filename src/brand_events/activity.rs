//! Every step of a guest as a CRM activity. The change and its outbox event are written in one transaction
//! ([`record`]); [`EventsFeed`], an outbox sink, applies one CRM event per outbox event through the CRM's
//! event path — `event_invited`, `event_rsvp` (with the response and where it left the guest) and
//! `event_attended` — so segments and journeys can use them ("attended an event in the last year").
//!
//! - The CRM event id is `brand-events:invitation:<id>:v<version>`: the invitation's version moves on with
//!   every change, so a redelivery is a duplicate and two changes are two activities.
//! - Identity: like clienteling's interactions, the sink links the identifier `event_guest:<profile id>` to
//!   the invited profile once (`crm::links::link`) and names only that, so the activity lands on exactly that
//!   profile (or the survivor it was merged into).
//! - A failure fails the delivery, which the outbox retries with back-off.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::repo::EventRow;
use crate::crm::Crm;
use crate::crm::events::{EventStatus, apply_internal};
use crate::crm::identifiers::Identifier;
use crate::outbox::{self, EventSink, NewEvent, OutboxEvent};

pub const INVITED: &str = "brand_events.guest.invited";
pub const RSVP: &str = "brand_events.guest.rsvp";
pub const ATTENDED: &str = "brand_events.guest.attended";
pub const TOPICS: [&str; 3] = [INVITED, RSVP, ATTENDED];

/// The identifier kind linking an invited profile to the activities of its invitations.
pub const GUEST_IDENTIFIER: &str = "event_guest";

/// What an outbox event of a guest carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub brand: String,
    pub brand_id: Uuid,
    pub event_id: Uuid,
    pub event_name: String,
    #[serde(default)]
    pub store: Option<String>,
    pub invitation_id: Uuid,
    pub profile_id: Uuid,
    pub version: i32,
    pub occurred_at: DateTime<Utc>,
    /// `event_invited`: `segment` or `advisor`.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub segment_id: Option<Uuid>,
    /// `event_rsvp`: `accepted`, `declined` or `promoted`.
    #[serde(default)]
    pub response: Option<String>,
    /// `event_rsvp`: `confirmed`, `waitlisted` or `declined`.
    #[serde(default)]
    pub status: Option<String>,
    /// `event_rsvp`: `link`, `staff` or `waitlist`.
    #[serde(default)]
    pub via: Option<String>,
}

impl Step {
    pub fn new(
        brand: &str,
        event: &EventRow,
        invitation_id: Uuid,
        profile_id: Uuid,
        version: i32,
        occurred_at: DateTime<Utc>,
    ) -> Step {
        Step {
            brand: brand.to_owned(),
            brand_id: event.brand_id,
            event_id: event.id,
            event_name: event.name.clone(),
            store: event.store_code.clone(),
            invitation_id,
            profile_id,
            version,
            occurred_at,
            source: None,
            segment_id: None,
            response: None,
            status: None,
            via: None,
        }
    }
}

/// Writes the step's outbox event on the caller's transaction (the one of the change it describes).
pub async fn record(
    conn: &mut PgConnection,
    topic: &'static str,
    step: &Step,
) -> anyhow::Result<()> {
    outbox::record(
        conn,
        NewEvent {
            topic,
            aggregate_type: "brand_event_invitation",
            aggregate_id: step.invitation_id.to_string(),
            payload: step,
        },
    )
    .await?;
    Ok(())
}

/// The CRM event of one step.
fn crm_event(topic: &str, step: &Step) -> Option<Value> {
    let kind = match topic {
        INVITED => "event_invited",
        RSVP => "event_rsvp",
        ATTENDED => "event_attended",
        _ => return None,
    };
    let mut properties = json!({
        "event_id": step.event_id.to_string(),
        "invitation_id": step.invitation_id.to_string(),
        "name": step.event_name.chars().take(200).collect::<String>(),
    });
    let optional = [
        ("store", step.store.clone()),
        (
            "source",
            step.source.clone().filter(|_| kind == "event_invited"),
        ),
        (
            "segment_id",
            step.segment_id
                .map(|id| id.to_string())
                .filter(|_| kind == "event_invited"),
        ),
        (
            "response",
            step.response.clone().filter(|_| kind == "event_rsvp"),
        ),
        (
            "status",
            step.status.clone().filter(|_| kind == "event_rsvp"),
        ),
        ("via", step.via.clone().filter(|_| kind == "event_rsvp")),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            properties[name] = json!(value);
        }
    }
    Some(json!({
        "id": format!("brand-events:invitation:{}:v{}", step.invitation_id, step.version),
        "type": kind,
        "occurred_at": step.occurred_at.to_rfc3339(),
        "identifiers": [{ "kind": GUEST_IDENTIFIER, "value": step.profile_id.to_string() }],
        "properties": properties,
    }))
}

/// The outbox sink feeding guests' steps to the CRM.
#[derive(Clone)]
pub struct EventsFeed {
    crm: Crm,
}

impl EventsFeed {
    pub fn new(crm: Crm) -> Self {
        Self { crm }
    }
}

impl EventSink for EventsFeed {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        if !TOPICS.contains(&event.topic.as_str()) {
            return Ok(());
        }
        let step: Step = serde_json::from_value(event.payload.clone())
            .with_context(|| format!("reading {} {}", event.topic, event.id))?;
        let brand = crate::brands::find(self.crm.db(), &step.brand)
            .await?
            .filter(|brand| brand.id == step.brand_id)
            .with_context(|| format!("the brand of {} {} is gone", event.topic, event.id))?;
        let identifier = Identifier::parse(GUEST_IDENTIFIER, &step.profile_id.to_string())
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        let linked = crate::crm::links::link(
            self.crm.db(),
            brand.id,
            step.profile_id,
            &identifier,
            "brand_events",
        )
        .await?;
        if linked.is_none() {
            // The profile is gone (erased): nothing to attach the step to, and nothing to retry.
            tracing::warn!(invitation_id = %step.invitation_id, "an invited profile is gone; no activity");
            return Ok(());
        }
        let raw = crm_event(&event.topic, &step).context("no CRM event")?;
        let result = apply_internal(
            &self.crm,
            &brand,
            std::slice::from_ref(&raw),
            "brand_events",
        )
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

    fn step() -> Step {
        Step {
            brand: "maison".into(),
            brand_id: Uuid::now_v7(),
            event_id: Uuid::now_v7(),
            event_name: "Winter soirée".into(),
            store: Some("paris-1".into()),
            invitation_id: Uuid::now_v7(),
            profile_id: Uuid::now_v7(),
            version: 2,
            occurred_at: Utc::now(),
            source: Some("segment".into()),
            segment_id: Some(Uuid::now_v7()),
            response: Some("accepted".into()),
            status: Some("waitlisted".into()),
            via: Some("link".into()),
        }
    }

    #[test]
    fn each_step_is_a_crm_event_that_passes_the_schema_with_a_stable_id() {
        let step = step();
        for (topic, kind) in [
            (INVITED, "event_invited"),
            (RSVP, "event_rsvp"),
            (ATTENDED, "event_attended"),
        ] {
            let raw = crm_event(topic, &step).unwrap();
            assert_eq!(raw, crm_event(topic, &step).unwrap());
            assert_eq!(raw["type"], kind);
            assert_eq!(
                raw["id"],
                format!("brand-events:invitation:{}:v2", step.invitation_id)
            );
            let valid = crate::crm::events::check_internal(&raw).unwrap();
            assert_eq!(valid.identifiers[0].kind, GUEST_IDENTIFIER);
            assert_eq!(valid.properties["event_id"], step.event_id.to_string());
        }
        let rsvp = crm_event(RSVP, &step).unwrap();
        assert_eq!(rsvp["properties"]["response"], "accepted");
        assert_eq!(rsvp["properties"]["status"], "waitlisted");
        assert!(
            crm_event(ATTENDED, &step).unwrap()["properties"]
                .get("response")
                .is_none()
        );
        assert!(crm_event("clienteling.interaction.created", &step).is_none());
    }
}
