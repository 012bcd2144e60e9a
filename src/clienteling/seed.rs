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
pub type DemoClient = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

pub const DEMO_CLIENTS: [DemoClient; 5] = [
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

/// The provider sandbox's Salesforce contacts of the demo clients (`sandbox/src/salesforce/luxury_clients.rs`),
/// so the 360's live Salesforce part has an account and a case to show.
pub const DEMO_SALESFORCE_CONTACTS: [(&str, &str); 5] = [
    ("elodie.dupont@example.com", "003SBLUX0000001AAA"),
    ("marc.lefevre@example.com", "003SBLUX0000002AAA"),
    ("aiko.tanaka@example.com", "003SBLUX0000003AAA"),
    ("marco.bianchi@example.com", "003SBLUX0000004AAA"),
    ("sofia.ricci@example.com", "003SBLUX0000005AAA"),
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
        let mut identifiers = vec![Identifier::parse("email", email)?];
        if let Some((_, contact_id)) = DEMO_SALESFORCE_CONTACTS.iter().find(|c| c.0 == email) {
            identifiers.push(Identifier::parse("salesforce_contact", contact_id)?);
        }
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

/// Client's e-mail, order id, days ago, store, (SKU, quantity, unit price in euros): the demo clients'
/// purchases, so the 360's KPI cards, the timeline and the dashboard's "keep in touch" have figures.
type DemoPurchase = (
    &'static str,
    &'static str,
    i64,
    &'static str,
    &'static [(&'static str, u32, u32)],
);

const DEMO_PURCHASES: [DemoPurchase; 6] = [
    (
        "elodie.dupont@example.com",
        "PAR-2026-0412",
        210,
        "paris-1",
        &[("MA-CAP-MM-NOIR", 1, 6900)],
    ),
    (
        "elodie.dupont@example.com",
        "PAR-2026-0977",
        38,
        "paris-1",
        &[("MA-BRAC-IDYLLE-OR", 1, 7400), ("MA-CART-NOIR", 1, 320)],
    ),
    (
        "marc.lefevre@example.com",
        "PAR-2025-1630",
        420,
        "paris-1",
        &[("MA-MONT-TAMB-BLEU", 1, 5900)],
    ),
    (
        "aiko.tanaka@example.com",
        "TYO-2026-0208",
        95,
        "tokyo-1",
        &[
            ("MA-COLL-STAR-DIAM", 1, 4800),
            ("MA-FOUL-SOIE-2019", 2, 430),
        ],
    ),
    (
        "marco.bianchi@example.com",
        "MIL-2026-0051",
        150,
        "milan-1",
        &[("AT-MTO-GIACCA-SU-MISURA", 1, 4800)],
    ),
    (
        "sofia.ricci@example.com",
        "MIL-2026-0733",
        12,
        "milan-1",
        &[("AT-ANELLO-FIORE-OR", 1, 2400)],
    ),
];

/// The demo purchases, through the CRM's event path like any store system's (source `seed`); each event id
/// is the order's, so seeding again applies nothing twice.
pub async fn demo_purchases(pool: &PgPool, settings: &Settings) -> anyhow::Result<Vec<String>> {
    let crm = crate::crm::Crm::new(pool.clone(), settings)?;
    let mut lines = Vec::new();
    let now = Utc::now();
    for (brand, stores) in [
        ("maison", ["paris-1", "tokyo-1"]),
        ("atelier", ["milan-1", "london-1"]),
    ] {
        let Some(brand_row) = crate::brands::find(pool, brand).await? else {
            continue;
        };
        let events: Vec<serde_json::Value> = DEMO_PURCHASES
            .iter()
            .filter(|purchase| stores.contains(&purchase.3))
            .map(|(email, order, days_ago, store, items)| {
                let total: u32 = items
                    .iter()
                    .map(|(_, quantity, price)| quantity * price)
                    .sum();
                json!({
                    "id": format!("demo-purchase-{order}"),
                    "type": "purchase",
                    "occurred_at": (now - chrono::Duration::days(*days_ago)).to_rfc3339(),
                    "identifiers": [{ "kind": "email", "value": email }],
                    "properties": {
                        "order_id": order,
                        "amount": format!("{total}.00"),
                        "currency": "EUR",
                        "store": store,
                        "items": items.iter().map(|(sku, quantity, price)| json!({
                            "sku": sku, "quantity": quantity, "price": format!("{price}.00"),
                        })).collect::<Vec<_>>(),
                    },
                })
            })
            .collect();
        let results = crate::crm::events::apply_internal(&crm, &brand_row, &events, "seed").await?;
        use crate::crm::events::EventStatus;
        if let Some(refused) = results.iter().find(|result| {
            !matches!(
                result.status,
                EventStatus::Accepted | EventStatus::Duplicate
            )
        }) {
            anyhow::bail!("a demo purchase of {brand} was not applied: {refused:?}");
        }
        let applied = results
            .iter()
            .filter(|result| matches!(result.status, EventStatus::Accepted))
            .count();
        lines.push(format!(
            "{applied} demo purchases of {brand} recorded ({} already there)",
            results.len() - applied
        ));
    }
    Ok(lines)
}
