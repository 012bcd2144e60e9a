//! Demo data for `concierge seed` and `scripts/run`. Each context adds its own idempotent step here, so
//! seeding twice changes nothing.

use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::{self, NewUser, Passwords, UserKind};
use crate::config::Settings;

/// The portal's demo customer (its email matches the sandbox's demo WHMCS client and Salesforce contact).
pub const DEMO_CUSTOMER: (&str, &str) = ("demo@concierge.test", "concierge-demo");

/// The records of the sandbox's first demo customer, which the demo login is linked to. The sandbox is not
/// part of the product, so its ids are repeated here; a test checks they match `concierge_sandbox::demo`.
pub mod sandbox_demo_customer {
    pub const WHMCS_CLIENT_ID: i64 = 1;
    pub const SALESFORCE_ACCOUNT_ID: &str = "001SBDEMO000001AAA";
    pub const SALESFORCE_CONTACT_ID: &str = "003SBDEMO000001AAA";
}
/// The demo admin, who can create staff accounts.
pub const DEMO_ADMIN: (&str, &str) = ("admin@concierge.test", "concierge-admin");
/// A demo client advisor of the brand `maison` in its Paris store.
pub const DEMO_ADVISOR: (&str, &str) = ("advisor@concierge.test", "concierge-advisor");

/// A demo client advisor of `maison` in its Tokyo store.
pub const DEMO_ADVISOR_TOKYO: (&str, &str) = ("advisor.tokyo@concierge.test", "concierge-advisor");
/// A demo manager of `maison`'s two stores.
pub const DEMO_MANAGER: (&str, &str) = ("manager@concierge.test", "concierge-manager");
/// A demo marketer of `maison`.
pub const DEMO_MARKETER: (&str, &str) = ("marketer@concierge.test", "concierge-marketer");
/// A demo client advisor of `atelier` in Milan.
pub const DEMO_ATELIER_ADVISOR: (&str, &str) =
    ("atelier.advisor@concierge.test", "concierge-advisor");
/// A demo marketer of `atelier`.
pub const DEMO_ATELIER_MARKETER: (&str, &str) =
    ("atelier.marketer@concierge.test", "concierge-marketer");

type DemoStore = (&'static str, &'static str, &'static str, &'static str);
type DemoBrand = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [DemoStore],
);

/// The portal's brand and the two Maisons (SPEC §7): slug, name, time zone, locale, currency, stores
/// (code, name, time zone, country).
pub const DEMO_BRANDS: [DemoBrand; 3] = [
    (
        "mobile",
        "Concierge Mobile",
        "Asia/Tokyo",
        "ja-JP",
        "JPY",
        &[],
    ),
    (
        "maison",
        "Maison",
        "Europe/Paris",
        "fr-FR",
        "EUR",
        &[
            ("paris-1", "Maison Paris Faubourg", "Europe/Paris", "FR"),
            ("tokyo-1", "Maison Tokyo Ginza", "Asia/Tokyo", "JP"),
        ],
    ),
    (
        "atelier",
        "Atelier",
        "Europe/Rome",
        "it-IT",
        "EUR",
        &[
            (
                "milan-1",
                "Atelier Milano Montenapoleone",
                "Europe/Rome",
                "IT",
            ),
            (
                "london-1",
                "Atelier London Bond Street",
                "Europe/London",
                "GB",
            ),
        ],
    ),
];

/// The demo brands and their stores (SPEC §7), created when absent. Tests call it too: staff accounts
/// need their brand and stores to exist.
pub async fn demo_brands(pool: &PgPool) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for (slug, name, timezone, locale, currency, stores) in DEMO_BRANDS {
        crate::brands::ensure_brand(pool, slug, name, timezone, locale, currency).await?;
        for (code, store_name, store_timezone, country) in stores.iter() {
            crate::brands::ensure_store(pool, slug, code, store_name, store_timezone, country)
                .await?;
        }
        lines.push(format!("brand {slug} with {} store(s)", stores.len()));
    }
    Ok(lines)
}

/// Refuses to run in production: the demo users have published passwords, and the demo customer would be
/// linked to whatever WHMCS client and Salesforce contact carry the sandbox's ids.
pub async fn run(pool: &PgPool, settings: &Settings) -> anyhow::Result<String> {
    if settings.environment == crate::config::Environment::Production {
        anyhow::bail!(
            "seed loads demo users with published passwords; it refuses to run in production (CONCIERGE_ENV=production)"
        );
    }
    let passwords = Passwords::new(&settings.auth)?;
    let mut lines = Vec::new();
    lines.extend(demo_brands(pool).await?);
    let stores: Vec<(&str, &str)> = (DEMO_BRANDS.iter())
        .flat_map(|brand| brand.5.iter().map(move |store| (brand.0, store.0)))
        .collect();
    lines.extend(crate::clienteling::appointments::hours::seed_demo(pool, &stores).await?);
    if let Some(maison) = crate::brands::find(pool, "maison").await? {
        for name in crate::crm::messages::ensure_demo_templates(pool, maison.id).await? {
            lines.push(format!("message template {name:?} of maison"));
        }
        if crate::crm::journeys::ensure_demo_journey(pool, maison.id)
            .await?
            .is_some()
        {
            lines.push(format!(
                "journey {:?} of maison",
                crate::crm::journeys::DEMO_JOURNEY
            ));
        }
    }
    let staff = |login, first, last, role: &str, brand: Option<&str>, stores: &[&str]| {
        (
            login,
            first,
            last,
            UserKind::Staff,
            role.to_owned(),
            brand.map(str::to_owned),
            stores
                .iter()
                .map(|store| (*store).to_owned())
                .collect::<Vec<_>>(),
        )
    };
    let users = [
        (
            DEMO_CUSTOMER,
            "Hanako",
            "Yamada",
            UserKind::Customer,
            "customer".to_owned(),
            None,
            vec![],
        ),
        staff(DEMO_ADMIN, "Ada", "Admin", "admin", None, &[]),
        staff(
            DEMO_ADVISOR,
            "Claire",
            "Martin",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        ),
        staff(
            DEMO_ADVISOR_TOKYO,
            "Yuki",
            "Sato",
            "client_advisor",
            Some("maison"),
            &["tokyo-1"],
        ),
        staff(
            DEMO_MANAGER,
            "Louis",
            "Bernard",
            "manager",
            Some("maison"),
            &["paris-1", "tokyo-1"],
        ),
        staff(
            DEMO_MARKETER,
            "Camille",
            "Dubois",
            "marketer",
            Some("maison"),
            &[],
        ),
        staff(
            DEMO_ATELIER_ADVISOR,
            "Giulia",
            "Rossi",
            "client_advisor",
            Some("atelier"),
            &["milan-1"],
        ),
        staff(
            DEMO_ATELIER_MARKETER,
            "Oliver",
            "Smith",
            "marketer",
            Some("atelier"),
            &[],
        ),
    ];
    for ((email, password), first, last, kind, role, brand, stores) in users {
        let hash = passwords
            .hash(&SecretString::from(password.to_owned()))
            .await?;
        let mut conn = pool.acquire().await?;
        let created = auth::create_user(
            &mut conn,
            NewUser {
                id: Uuid::now_v7(),
                email,
                password_hash: &hash,
                first_name: first,
                last_name: last,
                kind,
                roles: std::slice::from_ref(&role),
                brand_id: brand.as_deref(),
                store_ids: &stores,
            },
        )
        .await?;
        lines.push(match created {
            Some(_) => format!("seeded {role} {email}"),
            None => format!("kept existing {email}"),
        });
    }
    use sandbox_demo_customer as demo;
    if let Some(user) = auth::account_by_email(pool, DEMO_CUSTOMER.0).await? {
        let mut tx = pool.begin().await?;
        crate::customers::record_links(
            &mut tx,
            &crate::customers::CustomerLinks {
                user_id: user.id,
                whmcs_client_id: demo::WHMCS_CLIENT_ID,
                salesforce_account_id: demo::SALESFORCE_ACCOUNT_ID.to_owned(),
                salesforce_contact_id: demo::SALESFORCE_CONTACT_ID.to_owned(),
            },
        )
        .await?;
        tx.commit().await?;
        lines.push(format!(
            "linked {} to WHMCS client {} and Salesforce contact {}",
            DEMO_CUSTOMER.0,
            demo::WHMCS_CLIENT_ID,
            demo::SALESFORCE_CONTACT_ID
        ));
    }
    lines.extend(crate::social::demo_accounts(pool, settings).await?);
    lines.extend(crate::clienteling::seed::demo_clients(pool, settings).await?);
    lines.extend(crate::clienteling::seed::demo_purchases(pool, settings).await?);
    lines.extend(crate::clienteling::catalogue::seed_demo(pool, settings).await?);
    lines.extend(demo_marketing(pool, settings).await?);
    Ok(lines.join("\n"))
}

/// What a marketer of `maison` needs to walk through issue 13 at once (`scripts/demo/13-campaign.sh`): the
/// `timezone` attribute the send path's quiet hours read (every Maison), a segment of the demo clients and a
/// draft campaign of the winter e-mail to it. Runs after the clients, so the segment's refresh finds them.
async fn demo_marketing(pool: &PgPool, settings: &Settings) -> anyhow::Result<Vec<String>> {
    use crate::crm::custom::{self, AttributeType, DefinitionRequest};
    let mut lines = Vec::new();
    for slug in ["maison", "atelier"] {
        let Some(brand) = crate::brands::find(pool, slug).await? else {
            continue;
        };
        let timezone = DefinitionRequest {
            name: "timezone".into(),
            kind: AttributeType::String,
            enum_values: None,
            description: Some(
                "The client's IANA time zone: quiet hours for marketing messages are kept in it."
                    .into(),
            ),
        };
        let mut conn = pool.acquire().await?;
        if custom::declare(&mut conn, brand.id, &timezone, "seed")
            .await?
            .is_ok()
        {
            lines.push(format!("custom attribute timezone of {slug}"));
        }
    }
    let Some(maison) = crate::brands::find(pool, "maison").await? else {
        return Ok(lines);
    };
    let timeout_ms = settings.crm.segments.refresh_timeout_ms;
    let (segment, created) =
        crate::crm::segments::ensure_demo_segment(pool, maison.id, timeout_ms).await?;
    if created {
        lines.push(format!(
            "segment {:?} of maison",
            crate::crm::segments::DEMO_SEGMENT
        ));
    }
    let mut conn = pool.acquire().await?;
    let template = crate::crm::messages::templates::list(&mut conn, maison.id)
        .await?
        .into_iter()
        .find(|template| template.name == "Winter collection");
    drop(conn);
    if let Some(template) = template
        && crate::crm::campaigns::ensure_demo_campaign(pool, maison.id, segment, template.id)
            .await?
            .is_some()
    {
        lines.push(format!(
            "draft campaign {:?} of maison",
            crate::crm::campaigns::DEMO_CAMPAIGN
        ));
    }
    Ok(lines)
}
