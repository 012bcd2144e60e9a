//! `customer_links`: a portal user's ids in WHMCS and Salesforce: `unverified` until the user proves control of
//! their email, then `linking` until both are found or created, then `linked`.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::customers::domain::{CustomerLinks, LinkStatus};

/// A `customer_links` row as stored: the ids stay empty while the customer is `linking`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub status: RowStatus,
    pub whmcs_client_id: Option<i64>,
    pub salesforce_account_id: Option<String>,
    pub salesforce_contact_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    Unverified,
    Linking,
    Linked,
}

impl RowStatus {
    fn parse(status: &str) -> RowStatus {
        match status {
            "linked" => RowStatus::Linked,
            "linking" => RowStatus::Linking,
            // Anything else is treated as the most restrictive state.
            _ => RowStatus::Unverified,
        }
    }
}

/// The user's row; `None` when the user has no customer records (staff).
pub async fn find_links(pool: &PgPool, user_id: Uuid) -> Result<Option<LinkRow>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT status, whmcs_client_id, salesforce_account_id, salesforce_contact_id FROM customer_links WHERE user_id = $1",
        user_id,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| LinkRow {
        status: RowStatus::parse(&row.status),
        whmcs_client_id: row.whmcs_client_id,
        salesforce_account_id: row.salesforce_account_id,
        salesforce_contact_id: row.salesforce_contact_id,
    }))
}

pub async fn link_status(pool: &PgPool, user_id: Uuid) -> Result<Option<LinkStatus>, sqlx::Error> {
    let status = sqlx::query_scalar!(
        "SELECT status FROM customer_links WHERE user_id = $1",
        user_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(status.map(|status| {
        if status == "linked" {
            LinkStatus::Linked
        } else {
            LinkStatus::Linking
        }
    }))
}

/// A new customer, not to be linked before their email is verified (inside the registration transaction).
pub async fn create_unverified(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO customer_links (user_id, status) VALUES ($1, 'unverified') ON CONFLICT (user_id) DO NOTHING",
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// `unverified` → `linking`; false when the row was past `unverified` already (or is absent).
pub async fn start_linking(conn: &mut PgConnection, user_id: Uuid) -> Result<bool, sqlx::Error> {
    let started = sqlx::query!(
        "UPDATE customer_links SET status = 'linking' WHERE user_id = $1 AND status = 'unverified'",
        user_id
    )
    .execute(conn)
    .await?;
    Ok(started.rows_affected() == 1)
}

/// Records the ids found or created in each system; a link already complete is left as it is. True when
/// this call completed the link.
pub async fn record_links(
    conn: &mut PgConnection,
    links: &CustomerLinks,
) -> Result<bool, sqlx::Error> {
    let recorded = sqlx::query!(
        "INSERT INTO customer_links (user_id, status, whmcs_client_id, salesforce_account_id, salesforce_contact_id)
         VALUES ($1, 'linked', $2, $3, $4)
         ON CONFLICT (user_id) DO UPDATE SET status = 'linked', whmcs_client_id = EXCLUDED.whmcs_client_id,
             salesforce_account_id = EXCLUDED.salesforce_account_id,
             salesforce_contact_id = EXCLUDED.salesforce_contact_id, last_error = NULL
         WHERE customer_links.status = 'linking'",
        links.user_id,
        links.whmcs_client_id,
        links.salesforce_account_id,
        links.salesforce_contact_id,
    )
    .execute(conn)
    .await?;
    Ok(recorded.rows_affected() == 1)
}

pub async fn record_failure(pool: &PgPool, user_id: Uuid, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE customer_links SET last_error = $2 WHERE user_id = $1 AND status = 'linking'",
        user_id,
        error
    )
    .execute(pool)
    .await?;
    Ok(())
}
