//! Demo data for `concierge seed` and `scripts/run`. Each context adds its own idempotent step here, so
//! seeding twice changes nothing.

use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::{self, NewUser, Passwords, UserKind};
use crate::config::Settings;

/// The portal's demo customer (its email matches the sandbox's demo WHMCS client and Salesforce contact).
pub const DEMO_CUSTOMER: (&str, &str) = ("demo@concierge.test", "concierge-demo");
/// The demo admin, who can create staff accounts.
pub const DEMO_ADMIN: (&str, &str) = ("admin@concierge.test", "concierge-admin");
/// A demo client advisor of the brand `maison` in its Paris store.
pub const DEMO_ADVISOR: (&str, &str) = ("advisor@concierge.test", "concierge-advisor");

pub async fn run(pool: &PgPool, settings: &Settings) -> anyhow::Result<String> {
    let passwords = Passwords::new(&settings.auth)?;
    let mut lines = Vec::new();
    let users = [
        (
            DEMO_CUSTOMER,
            "Hanako",
            "Yamada",
            UserKind::Customer,
            "customer",
            None,
            vec![],
        ),
        (
            DEMO_ADMIN,
            "Ada",
            "Admin",
            UserKind::Staff,
            "admin",
            None,
            vec![],
        ),
        (
            DEMO_ADVISOR,
            "Claire",
            "Martin",
            UserKind::Staff,
            "client_advisor",
            Some("maison"),
            vec!["paris-1".to_owned()],
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
                roles: &[role.to_owned()],
                brand_id: brand,
                store_ids: &stores,
            },
        )
        .await?;
        lines.push(match created {
            Some(_) => format!("seeded {role} {email}"),
            None => format!("kept existing {email}"),
        });
    }
    // The demo customer is the sandbox's first demo customer in WHMCS and Salesforce.
    let demo = &crate::sandbox::demo::CUSTOMERS[0];
    if let Some(user) = auth::account_by_email(pool, DEMO_CUSTOMER.0).await? {
        let mut conn = pool.acquire().await?;
        crate::customers::record_links(
            &mut conn,
            &crate::customers::CustomerLinks {
                user_id: user.id,
                whmcs_client_id: i64::from(demo.whmcs_client_id),
                salesforce_account_id: demo.account_id.to_owned(),
                salesforce_contact_id: demo.contact_id.to_owned(),
            },
        )
        .await?;
        lines.push(format!(
            "linked {} to WHMCS client {} and Salesforce contact {}",
            DEMO_CUSTOMER.0, demo.whmcs_client_id, demo.contact_id
        ));
    }
    Ok(lines.join("\n"))
}
