//! The lookup other contexts use for a customer's links to WHMCS and Salesforce: [`links_for`] (its own
//! error, for jobs) or [`require_links`] (a [`CustomerError`], for handlers). The table is `repo`'s.

use sqlx::PgPool;
use uuid::Uuid;

use super::CustomerError;
use super::domain::CustomerLinks;
use super::repo::{self, LinkRow, RowStatus};

/// Why [`links_for`] found no usable links. A domain error: each caller decides what it means to them (the
/// HTTP API answers through [`CustomerError`], a job retries or gives up).
#[derive(Debug, thiserror::Error)]
pub enum LinkLookupError {
    /// The customer has not proved control of their email yet: nothing is linked, nothing may be shown.
    #[error("the customer's email is not verified")]
    Unverified,
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
            LinkLookupError::Unverified => CustomerError::EmailUnverified,
            LinkLookupError::Linking => CustomerError::Linking,
            LinkLookupError::NotACustomer => CustomerError::NotACustomer,
            LinkLookupError::Incomplete(user_id) => CustomerError::Unexpected(anyhow::anyhow!(
                "customer_links row {user_id} is linked but incomplete"
            )),
            LinkLookupError::Database(error) => CustomerError::Database(error),
        }
    }
}

/// The customer's links to their WHMCS client and Salesforce Account/Contact. The one place every portal
/// endpoint that needs them passes through: an unverified customer gets [`LinkLookupError::Unverified`].
pub async fn links_for(pool: &PgPool, user_id: Uuid) -> Result<CustomerLinks, LinkLookupError> {
    match repo::find_links(pool, user_id).await? {
        Some(
            row @ LinkRow {
                status: RowStatus::Linked,
                ..
            },
        ) => match (
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
        Some(LinkRow {
            status: RowStatus::Unverified,
            ..
        }) => Err(LinkLookupError::Unverified),
        Some(_) => Err(LinkLookupError::Linking),
        None => Err(LinkLookupError::NotACustomer),
    }
}

/// The customer's links, or [`CustomerError::EmailUnverified`] before their email is verified (the
/// `email-unverified` problem) and [`CustomerError::Linking`] while they are still being set up (a system was
/// down at verification; the `account-linking` problem): what handlers ask for.
pub async fn require_links(pool: &PgPool, user_id: Uuid) -> Result<CustomerLinks, CustomerError> {
    Ok(links_for(pool, user_id).await?)
}
