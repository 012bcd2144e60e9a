//! The demo journey for `concierge seed`: maison's welcome SMS after a `signup` event and a reminder two
//! days later (`[crm.journeys] time_scale` shortens the wait in development). Created and published once:
//! an existing journey of the same name is left alone.

use serde_json::json;
use uuid::Uuid;

use super::definition::{self, Definition};
use super::{refs, repo};
use crate::crm::consent::Purpose;
use crate::crm::messages::templates::{self, MessageChannel, TemplateRequest, Variant};

pub const NAME: &str = "Welcome and reminder";

async fn sms_template(
    conn: &mut sqlx::PgConnection,
    brand_id: Uuid,
    name: &str,
    body: &str,
) -> anyhow::Result<Uuid> {
    if let Some(existing) = templates::list(&mut *conn, brand_id)
        .await?
        .into_iter()
        .find(|t| t.name == name)
    {
        return Ok(existing.id);
    }
    let request = TemplateRequest {
        name: name.into(),
        channel: MessageChannel::Sms,
        purpose: Purpose::Marketing,
        fallback_language: "en".into(),
        variants: vec![Variant {
            language: "en".into(),
            subject: None,
            body: body.into(),
        }],
    };
    let errors = templates::check(&request);
    anyhow::ensure!(
        errors.is_empty(),
        "demo template {name} is invalid: {errors:?}"
    );
    let id = Uuid::now_v7();
    templates::save(&mut *conn, brand_id, id, &request, "seed", true).await?;
    Ok(id)
}

/// Creates and publishes the demo journey when the brand has none of that name; its id when created.
pub async fn ensure_demo_journey(
    db: &sqlx::PgPool,
    brand_id: Uuid,
) -> anyhow::Result<Option<Uuid>> {
    let mut tx = db.begin().await?;
    repo::lock_brand(&mut tx, brand_id).await?;
    if repo::list(&mut tx, brand_id)
        .await?
        .iter()
        .any(|j| j.name == NAME)
    {
        return Ok(None);
    }
    let welcome = sms_template(
        &mut tx,
        brand_id,
        "Welcome",
        "{{ brand.name }}: welcome, {{ profile.first_name }}.",
    )
    .await?;
    let reminder = sms_template(
        &mut tx,
        brand_id,
        "Welcome reminder",
        "{{ brand.name }}: {{ profile.first_name }}, your first visit is waiting for you.",
    )
    .await?;
    let mut definition: Definition = serde_json::from_value(json!({
        "trigger": { "type": "event", "event": "signup" },
        "start": "welcome",
        "steps": [
            { "type": "send", "id": "welcome", "template_id": welcome, "channel": "sms", "purpose": "marketing", "next": "two-days" },
            { "type": "wait", "id": "two-days", "duration_secs": 2 * 86_400, "next": "reminder" },
            { "type": "send", "id": "reminder", "template_id": reminder, "channel": "sms", "purpose": "marketing", "next": null }
        ],
        "exit": { "events": ["purchase"] },
        "reentry": { "policy": "once" }
    }))?;
    let mut errors = definition::check(&definition);
    errors.extend(refs::check(&mut tx, brand_id, &mut definition, true).await?);
    anyhow::ensure!(errors.is_empty(), "the demo journey is invalid: {errors:?}");
    let id = Uuid::now_v7();
    repo::insert(&mut tx, brand_id, id, NAME, &definition, "seed").await?;
    repo::publish(&mut tx, brand_id, id, 1, &definition, "seed").await?;
    tx.commit().await?;
    Ok(Some(id))
}
