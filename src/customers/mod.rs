//! The portal account: a customer's links to their WHMCS client and Salesforce Account/Contact, and their
//! profile (`/me`) merged from both systems.

pub mod api;
pub mod domain;
mod error;
pub mod linking;
pub mod links;
mod salesforce;
pub mod updates;
pub mod validation;
mod whmcs;

use sqlx::PgConnection;
use uuid::Uuid;

pub use error::CustomerError;
pub use links::{CustomerLinks, LinkStatus, require_links};

use crate::config::JobSettings;

/// Called in the registration transaction: the account exists with its linking job, or neither does.
pub async fn on_registered(
    conn: &mut PgConnection,
    jobs: &JobSettings,
    user_id: Uuid,
) -> anyhow::Result<()> {
    links::create_pending(conn, user_id).await?;
    crate::jobs::enqueue(conn, jobs, &linking::LinkCustomer { user_id }, None).await
}
