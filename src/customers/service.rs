//! The customers context's use cases: changing the profile (`PATCH /me`).

use uuid::Uuid;

use super::domain::{ProfileChange, ProfileUpdate};
use super::links::require_links;
use super::{CustomerError, Customers, sync};

/// Records a validated `change` with its retry job, then tries it in WHMCS and Salesforce at once: the
/// outcome says which systems have it, which are being retried and which refused it.
pub async fn update_profile(
    customers: &Customers,
    user_id: Uuid,
    change: ProfileChange,
) -> Result<ProfileUpdate, CustomerError> {
    let links = require_links(&customers.db, user_id).await?;
    let mut tx = customers.db.begin().await?;
    let update = sync::record(&mut tx, &customers.jobs, &links, change).await?;
    tx.commit().await?;
    Ok(sync::attempt(customers, update).await?.outcome())
}
