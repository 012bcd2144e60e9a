//! Demo templates for `concierge seed`: maison's winter invitation by e-mail (French and English, English
//! the fallback), an SMS reminder, the advisors' WhatsApp product share (outreach), and for brand events
//! (docs/brand_events.md) an e-mail invitation carrying the guest's RSVP link and the SMS telling a
//! waitlisted guest a place opened. Created once: an existing template of the same name is left alone.

use uuid::Uuid;

use super::templates::{self, MessageChannel, TemplateRequest, Variant};
use crate::crm::consent::Purpose;

fn demo() -> Vec<TemplateRequest> {
    let variant = |language: &str, subject: Option<&str>, body: &str| Variant {
        language: language.into(),
        subject: subject.map(str::to_owned),
        body: body.into(),
    };
    vec![
        TemplateRequest {
            name: "Winter collection".into(),
            channel: MessageChannel::Email,
            purpose: Purpose::Marketing,
            fallback_language: "en".into(),
            variants: vec![
                variant(
                    "en",
                    Some("{{ profile.first_name }}, the winter collection is here"),
                    "<p>Dear {{ profile.first_name }},</p><p>{{ brand.name }} invites you to discover the winter collection.</p>",
                ),
                variant(
                    "fr",
                    Some("{{ profile.first_name }}, la collection d'hiver est arrivée"),
                    "<p>Chère cliente, cher client {{ profile.last_name }},</p><p>{{ brand.name }} vous invite à découvrir la collection d'hiver.</p>",
                ),
            ],
        },
        TemplateRequest {
            name: "Private sale reminder".into(),
            channel: MessageChannel::Sms,
            purpose: Purpose::Marketing,
            fallback_language: "en".into(),
            variants: vec![
                variant(
                    "en",
                    None,
                    "{{ brand.name }}: {{ profile.first_name }}, our private sale opens tomorrow.",
                ),
                variant(
                    "fr",
                    None,
                    "{{ brand.name }} : {{ profile.first_name }}, notre vente privée ouvre demain.",
                ),
            ],
        },
        TemplateRequest {
            name: "Product share".into(),
            channel: MessageChannel::Whatsapp,
            purpose: Purpose::Outreach,
            fallback_language: "en".into(),
            variants: vec![
                variant(
                    "en",
                    None,
                    "Hello {{ profile.first_name }}, it is {{ advisor.first_name }} from {{ brand.name }}. A few pieces arrived that made me think of you; shall I set them aside for you?",
                ),
                variant(
                    "fr",
                    None,
                    "Bonjour {{ profile.first_name }}, c'est {{ advisor.first_name }} de {{ brand.name }}. Quelques pièces viennent d'arriver et j'ai pensé à vous ; souhaitez-vous que je vous les réserve ?",
                ),
            ],
        },
        TemplateRequest {
            name: "Event invitation".into(),
            channel: MessageChannel::Email,
            purpose: Purpose::Events,
            fallback_language: "en".into(),
            variants: vec![
                variant(
                    "en",
                    Some("{{ profile.first_name }}, you are invited: {{ event.name }}"),
                    "<p>Dear {{ profile.first_name }},</p><p>{{ brand.name }} would be delighted to welcome you to {{ event.name }} on {{ event.starts_at }}, {{ event.location }}.</p><p><a href=\"{{ event.rsvp_url }}\">Reply to the invitation</a></p>",
                ),
                variant(
                    "fr",
                    Some("{{ profile.first_name }}, vous êtes invité(e) : {{ event.name }}"),
                    "<p>Chère cliente, cher client {{ profile.last_name }},</p><p>{{ brand.name }} serait ravie de vous accueillir à {{ event.name }} le {{ event.starts_at }}, {{ event.location }}.</p><p><a href=\"{{ event.rsvp_url }}\">Répondre à l'invitation</a></p>",
                ),
            ],
        },
        TemplateRequest {
            name: "Event place confirmed".into(),
            channel: MessageChannel::Sms,
            purpose: Purpose::Events,
            fallback_language: "en".into(),
            variants: vec![
                variant(
                    "en",
                    None,
                    "{{ brand.name }}: {{ profile.first_name }}, a place opened at {{ event.name }} ({{ event.starts_at }}). You are confirmed.",
                ),
                variant(
                    "fr",
                    None,
                    "{{ brand.name }} : {{ profile.first_name }}, une place s'est libérée pour {{ event.name }} ({{ event.starts_at }}). Votre venue est confirmée.",
                ),
            ],
        },
    ]
}

/// Creates the demo templates of the brand that are missing; the names of those created.
pub async fn ensure_demo_templates(
    db: &sqlx::PgPool,
    brand_id: Uuid,
) -> anyhow::Result<Vec<String>> {
    let mut created = Vec::new();
    let mut tx = db.begin().await?;
    let existing = templates::list(&mut tx, brand_id).await?;
    for request in demo() {
        let errors = templates::check(&request);
        anyhow::ensure!(
            errors.is_empty(),
            "demo template {} is invalid: {errors:?}",
            request.name
        );
        if existing.iter().any(|t| t.name == request.name) {
            continue;
        }
        templates::save(&mut tx, brand_id, Uuid::now_v7(), &request, "seed", true).await?;
        created.push(request.name);
    }
    tx.commit().await?;
    Ok(created)
}
