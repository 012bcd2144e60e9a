//! Demo clients in the demo advisors' books (SPEC §7), made the way the API makes them: the CRM profile
//! resolved by email, then the clienteling layer. Seeding twice changes nothing.

use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;

use super::repo::{self, NewClient};
use crate::config::Settings;
use crate::crm::identifiers::{Identifier, Policy};
use crate::crm::profile::{self, Attributes};
use crate::crm::resolve::{ResolveInput, resolve_with};

/// Brand, store, advisor's login, first name, last name, email, tier, tags.
type DemoClient = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const DEMO_CLIENTS: [DemoClient; 5] = [
    (
        "maison",
        "paris-1",
        "advisor@concierge.test",
        "Élodie",
        "Dupont",
        "elodie.dupont@example.com",
        "platinum",
        &["vip", "leather"],
    ),
    (
        "maison",
        "paris-1",
        "advisor@concierge.test",
        "Marc",
        "Lefèvre",
        "marc.lefevre@example.com",
        "gold",
        &["watches"],
    ),
    (
        "maison",
        "tokyo-1",
        "advisor.tokyo@concierge.test",
        "Aiko",
        "Tanaka",
        "aiko.tanaka@example.com",
        "platinum",
        &["vip"],
    ),
    (
        "atelier",
        "milan-1",
        "atelier.advisor@concierge.test",
        "Marco",
        "Bianchi",
        "marco.bianchi@example.com",
        "gold",
        &["made-to-order"],
    ),
    (
        "atelier",
        "milan-1",
        "atelier.advisor@concierge.test",
        "Sofia",
        "Ricci",
        "sofia.ricci@example.com",
        "silver",
        &[],
    ),
];

/// Demo clients' phones and consents (SPEC §7: some may be reached on WhatsApp or by e-mail, some not), by
/// e-mail: phone, then (channel, purpose, status) pairs. Set only where the client has no record yet, so a
/// change made since is kept.
/// (channel, purpose, status) of one consent.
type DemoConsent = (&'static str, &'static str, &'static str);

const DEMO_CONTACTS: [(&str, &str, &[DemoConsent]); 4] = [
    (
        "elodie.dupont@example.com",
        "+33612345001",
        &[
            ("whatsapp", "outreach", "granted"),
            ("email", "outreach", "granted"),
            ("email", "marketing", "granted"),
        ],
    ),
    (
        "marc.lefevre@example.com",
        "+33612345002",
        &[("email", "marketing", "denied")],
    ),
    (
        "aiko.tanaka@example.com",
        "+81901234003",
        &[
            ("whatsapp", "outreach", "granted"),
            ("email", "marketing", "granted"),
        ],
    ),
    (
        "marco.bianchi@example.com",
        "+393471234004",
        &[("whatsapp", "outreach", "granted")],
    ),
];

async fn demo_consents(
    tx: &mut sqlx::PgConnection,
    brand_id: uuid::Uuid,
    profile_id: uuid::Uuid,
    consents: &[(&str, &str, &str)],
) -> anyhow::Result<()> {
    use crate::crm::consent::{self, Change, Channel, Purpose, Status};
    for (channel, purpose, status) in consents {
        let (Some(channel), Some(purpose), Some(status)) = (
            Channel::parse(channel),
            Purpose::parse(purpose),
            Status::parse(status),
        ) else {
            anyhow::bail!("demo consent {channel}/{purpose} {status} is not one the CRM knows");
        };
        if consent::current_record(tx, brand_id, profile_id, channel, purpose)
            .await?
            .is_none()
        {
            let change = Change {
                channel,
                purpose,
                status,
                source: "seed",
                actor: Some("seed"),
                captured_at: Utc::now(),
                expires_at: None,
                cause: "set",
            };
            consent::set(tx, brand_id, profile_id, &change).await?;
        }
    }
    Ok(())
}

pub async fn demo_clients(pool: &PgPool, settings: &Settings) -> anyhow::Result<Vec<String>> {
    let policy = Policy::from_settings(&settings.crm.identity).map_err(anyhow::Error::msg)?;
    let mut lines = Vec::new();
    for (brand, store, advisor, first, last, email, tier, tags) in DEMO_CLIENTS {
        let Some(brand_row) = crate::brands::find(pool, brand).await? else {
            continue;
        };
        let Some(advisor) = crate::auth::account_by_email(pool, advisor).await? else {
            continue;
        };
        let contact = DEMO_CONTACTS.iter().find(|contact| contact.0 == email);
        let attributes = Attributes {
            phone: contact.map(|contact| contact.1.to_owned()),
            first_name: Some(first.to_owned()),
            last_name: Some(last.to_owned()),
            email: Some(email.to_owned()),
            tier: Some(tier.to_owned()),
            tags: Some(tags.iter().map(|tag| (*tag).to_owned()).collect()),
            ..Attributes::default()
        };
        let identifiers = [Identifier::parse("email", email)?];
        let mut tx = pool.begin().await?;
        let resolution = resolve_with(
            &mut tx,
            brand_row.id,
            &ResolveInput {
                identifiers: &identifiers,
                attributes: &attributes,
                at: Utc::now(),
                source: "seed",
            },
            &policy,
        )
        .await?;
        let id = resolution.profile_id;
        if let Some((_, _, consents)) = contact {
            demo_consents(&mut tx, brand_row.id, id, consents).await?;
        }
        let inserted = repo::insert(
            &mut tx,
            NewClient {
                brand_id: brand_row.id,
                profile_id: id,
                store_code: store,
                preferences: json!({ "sizes": {}, "categories": [], "colours": [], "materials": [] }),
                important_dates: json!([]),
                notes: "",
                created_by: advisor.id,
            },
        )
        .await?;
        if inserted {
            repo::assign(&mut tx, brand_row.id, id, advisor.id, "primary", advisor.id).await?;
            if let Some(profile) = profile::load(&mut tx, brand_row.id, id).await? {
                repo::refresh_card(&mut tx, brand_row.id, id, &profile).await?;
            }
            lines.push(format!("seeded client {email} in {brand}/{store}"));
        } else {
            lines.push(format!("kept existing client {email}"));
        }
        tx.commit().await?;
    }
    Ok(lines)
}
