//! The Salesforce steps: the re-check that the CRM still asks for provisioning, the write-back (one
//! composite of updates, safe to repeat), and the support case opened when provisioning fails (an upsert by
//! a key made from the order id, so it is opened once however often it is sent).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::steps::{ProvisionError, internal, links_of, record, step_error};
use super::whmcs::AddedOrder;
use crate::integrations::salesforce::{composite_failure, soql};
use crate::orders::Orders;
use crate::orders::domain::{OrderStatus, StoredItem};
use crate::orders::repo::{self, OrderRow};
use crate::orders::salesforce::{ACTIVATED, ACTIVATING};

pub(super) const STEP_WRITE_BACK: &str = "salesforce_write_back";
const STEP_CASE: &str = "salesforce_case";
const CASE_EXTERNAL_ID: &str = "Portal_Case_Key__c";

#[derive(Debug, Deserialize)]
struct RawOrderStatus {
    #[serde(rename = "Activation_Status__c", default)]
    activation_status: Option<String>,
}

/// The CRM still says `Activating` (not approved after all: the order goes back to review and the run
/// stops).
pub(super) async fn check_activating(
    orders: &Orders,
    order: &OrderRow,
) -> Result<(), ProvisionError> {
    let crm: RawOrderStatus = orders
        .salesforce
        .get(
            "Order",
            &order.salesforce_order_id,
            Some(&["Activation_Status__c"]),
        )
        .await
        .map_err(step_error("salesforce_check"))?;
    if crm.activation_status.as_deref() != Some(ACTIVATING) {
        // Not approved after all: back to review, and a later approval's event may enqueue again.
        let mut tx = orders
            .db
            .begin()
            .await
            .map_err(internal("salesforce_check"))?;
        repo::clear_provision_request(&mut tx, order.id)
            .await
            .map_err(internal("salesforce_check"))?;
        repo::set_status(&mut tx, order.id, OrderStatus::PendingReview, None)
            .await
            .map_err(internal("salesforce_check"))?;
        tx.commit().await.map_err(internal("salesforce_check"))?;
        return Err(ProvisionError::Skip(format!(
            "the CRM order is {:?}, not {ACTIVATING}",
            crm.activation_status
        )));
    }
    Ok(())
}

pub(super) async fn write_back(
    orders: &Orders,
    order: &OrderRow,
    added: &AddedOrder,
    items: &[StoredItem],
) -> Result<(), ProvisionError> {
    const STEP: &str = STEP_WRITE_BACK;
    if repo::step::<serde_json::Value>(&orders.db, order.id, STEP)
        .await
        .map_err(internal(STEP))?
        .is_some()
    {
        return Ok(());
    }
    let builder = orders.salesforce.subrequests();
    let mut subrequests = vec![
        builder
            .update(
                "order",
                "Order",
                &order.salesforce_order_id,
                json!({
                    "Activation_Status__c": ACTIVATED,
                    "WHMCS_Order_ID__c": added.whmcs_order_id.to_string(),
                }),
            )
            .map_err(step_error(STEP))?,
    ];
    for (index, item) in items.iter().enumerate() {
        let Some(salesforce_id) = &item.salesforce_item_id else {
            continue;
        };
        let ids: Vec<String> = item.service_ids.iter().map(i64::to_string).collect();
        subrequests.push(
            builder
                .update(
                    &format!("item{index}"),
                    "OrderItem",
                    salesforce_id,
                    json!({ "WHMCS_Service_ID__c": ids.join(",") }),
                )
                .map_err(step_error(STEP))?,
        );
    }
    let responses = orders
        .salesforce
        .composite(true, subrequests)
        .await
        .map_err(step_error(STEP))?;
    if let Some(error) = composite_failure(&responses) {
        return Err(step_error(STEP)(error));
    }
    record(orders, order.id, STEP, &json!({ "written": true })).await
}

pub(super) async fn open_case(
    orders: &Orders,
    order: &OrderRow,
    step: &'static str,
    source: &anyhow::Error,
) -> anyhow::Result<String> {
    #[derive(Serialize, Deserialize)]
    struct OpenedCase {
        id: String,
    }
    if let Some(opened) = repo::step::<OpenedCase>(&orders.db, order.id, STEP_CASE).await? {
        return Ok(opened.id);
    }
    let links = links_of(orders, order.user_id)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    // An upsert by the order's own key: a repeat (a lost answer, a crash before the record below) updates
    // the one case instead of opening another.
    let key = format!("provisioning-failure-{}", order.id);
    let upserted = orders
        .salesforce
        .upsert(
            "Case",
            CASE_EXTERNAL_ID,
            &key,
            &json!({
                "AccountId": links.account_id,
                "ContactId": links.contact_id,
                "Subject": "Order provisioning failed",
                "Description": format!(
                    "Portal order {} (Salesforce order {}) could not be provisioned at step {step}: {}",
                    order.id,
                    order.salesforce_order_id,
                    crate::telemetry::redact::scrub(&format!("{source:#}"))
                ),
                "Status": "New",
                "Priority": "High",
                "Origin": "Concierge",
                "Type": "Provisioning",
            }),
        )
        .await?;
    let id = match upserted.id {
        Some(id) => id,
        // An older API version answers an update with 204 and no body: read the id by the key.
        None => case_id_by_key(orders, &key).await?,
    };
    let mut conn = orders.db.acquire().await?;
    repo::record_step(
        &mut conn,
        order.id,
        STEP_CASE,
        &OpenedCase { id: id.clone() },
    )
    .await?;
    Ok(id)
}

async fn case_id_by_key(orders: &Orders, key: &str) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    struct RawCaseId {
        #[serde(rename = "Id")]
        id: String,
    }
    let found: Vec<RawCaseId> = orders
        .salesforce
        .query(&format!(
            "SELECT Id FROM Case WHERE {CASE_EXTERNAL_ID} = {} LIMIT 1",
            soql::quote(key)
        ))
        .await?;
    found
        .into_iter()
        .map(|case| case.id)
        .find(|id| soql::is_id(id))
        .ok_or_else(|| anyhow::anyhow!("the upserted support case is not found by its key"))
}
