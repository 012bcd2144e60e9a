//! The links between a portal user and their records in WHMCS and Salesforce. Other contexts ask for them
//! through [`links_for`] (its own error, for jobs) or [`require_links`] (a
//! [`CustomerError`], for handlers); only this module touches the table.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::CustomerError;

/// A fully linked customer: every portal call about their account goes to these records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerLinks {
    pub user_id: Uuid,
    pub whmcs_client_id: i64,
    pub salesforce_account_id: String,
    pub salesforce_contact_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// The accounts in WHMCS and Salesforce are being found or created; retried until they are.
    Linking,
    Linked,
}

/// Why [`links_for`] found no usable links. A domain error: each caller decides what it means to them (the
/// HTTP API answers through [`CustomerError`], a job retries or gives up).
#[derive(Debug, thiserror::Error)]
pub enum LinkLookupError {
    /// The accounts in WHMCS and Salesforce are still being found or created (a system was down at sign-up).
    #[error("the customer is still being linked")]
    Linking,
    /// The user has no customer records at all (a staff account).
    #[error("the user has no customer records")]
    NotACustomer,
    /// The row says linked but lacks an id: a bug or a manual edit.
    #[error("customer_links row {0} is linked but incomplete")]
    Incomplete(Uuid),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<LinkLookupError> for CustomerError {
    fn from(error: LinkLookupError) -> Self {
        match error {
            LinkLookupError::Linking => CustomerError::Linking,
            LinkLookupError::NotACustomer => CustomerError::NotACustomer,
            LinkLookupError::Incomplete(user_id) => CustomerError::Unexpected(anyhow::anyhow!(
                "customer_links row {user_id} is linked but incomplete"
            )),
            LinkLookupError::Database(error) => CustomerError::Database(error),
        }
    }
}

/// The customer's links to their WHMCS client and Salesforce Account/Contact.
pub async fn links_for(pool: &PgPool, user_id: Uuid) -> Result<CustomerLinks, LinkLookupError> {
    let row = sqlx::query!(
        "SELECT status, whmcs_client_id, salesforce_account_id, salesforce_contact_id FROM customer_links WHERE user_id = $1",
        user_id,
    )
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) if row.status == "linked" => match (
            row.whmcs_client_id,
            row.salesforce_account_id,
            row.salesforce_contact_id,
        ) {
            (Some(whmcs_client_id), Some(salesforce_account_id), Some(salesforce_contact_id)) => {
                Ok(CustomerLinks {
                    user_id,
                    whmcs_client_id,
                    salesforce_account_id,
                    salesforce_contact_id,
                })
            }
            _ => Err(LinkLookupError::Incomplete(user_id)),
        },
        Some(_) => Err(LinkLookupError::Linking),
        None => Err(LinkLookupError::NotACustomer),
    }
}

/// The customer's links, or [`CustomerError::Linking`] while they are still being set up (a system was down
/// at sign-up): what handlers ask for, since the error becomes the `account-linking` problem.
pub async fn require_links(pool: &PgPool, user_id: Uuid) -> Result<CustomerLinks, CustomerError> {
    Ok(links_for(pool, user_id).await?)
}

pub async fn status(pool: &PgPool, user_id: Uuid) -> Result<Option<LinkStatus>, sqlx::Error> {
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

/// Starts linking (inside the registration transaction).
pub async fn create_pending(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO customer_links (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING",
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the ids found or created in each system; a link already complete is left as it is.
pub async fn record(conn: &mut PgConnection, links: &CustomerLinks) -> Result<(), sqlx::Error> {
    sqlx::query!(
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
    Ok(())
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
