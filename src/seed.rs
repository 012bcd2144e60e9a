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
    use sandbox_demo_customer as demo;
    if let Some(user) = auth::account_by_email(pool, DEMO_CUSTOMER.0).await? {
        let mut conn = pool.acquire().await?;
        crate::customers::record_links(
            &mut conn,
            &crate::customers::CustomerLinks {
                user_id: user.id,
                whmcs_client_id: demo::WHMCS_CLIENT_ID,
                salesforce_account_id: demo::SALESFORCE_ACCOUNT_ID.to_owned(),
                salesforce_contact_id: demo::SALESFORCE_CONTACT_ID.to_owned(),
            },
        )
        .await?;
        lines.push(format!(
            "linked {} to WHMCS client {} and Salesforce contact {}",
            DEMO_CUSTOMER.0,
            demo::WHMCS_CLIENT_ID,
            demo::SALESFORCE_CONTACT_ID
        ));
    }
    Ok(lines.join("\n"))
}
