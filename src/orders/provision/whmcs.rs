//! The WHMCS steps: AddOrder (once: a `sent` marker first, and a repeat searches GetOrders for the
//! Salesforce order id in the notes before placing it again), then AcceptOrder.

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::steps::{Links, ProvisionError, internal, record, step_error};
use crate::integrations::ProviderError;
use crate::integrations::whmcs::{NewOrder, OrderItem, OrdersQuery};
use crate::orders::Orders;
use crate::orders::domain::StoredItem;
use crate::orders::repo::{self, OrderRow};
use crate::orders::salesforce::cycle_name;

const STEP_ADD_ORDER_SENT: &str = "whmcs_add_order_sent";
const STEP_ADD_ORDER: &str = "whmcs_add_order";
const STEP_ACCEPT: &str = "whmcs_accept_order";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct AddedOrder {
    pub whmcs_order_id: u64,
    pub service_ids: Vec<u64>,
}

fn whmcs_cycle(item: &StoredItem) -> String {
    cycle_name(item.billing_cycle).to_ascii_lowercase()
}

/// The WHMCS order: recorded, found by its notes after an ambiguous attempt, or placed now (once).
pub(super) async fn add_order(
    orders: &Orders,
    order: &OrderRow,
    links: &Links,
) -> Result<AddedOrder, ProvisionError> {
    const STEP: &str = STEP_ADD_ORDER;
    if let Some(added) = repo::step::<AddedOrder>(&orders.db, order.id, STEP)
        .await
        .map_err(internal(STEP))?
    {
        return Ok(added);
    }
    let attempted = repo::step::<serde_json::Value>(&orders.db, order.id, STEP_ADD_ORDER_SENT)
        .await
        .map_err(internal(STEP))?
        .is_some();
    if attempted && let Some(found) = find_whmcs_order(orders, order, links).await? {
        record(orders, order.id, STEP, &found).await?;
        return Ok(found);
    }
    let pay_methods = orders
        .whmcs
        .get_pay_methods(links.whmcs_client_id)
        .await
        .map_err(step_error(STEP))?;
    let gateway = pay_methods
        .paymethods
        .iter()
        .map(|method| method.gateway_name.trim())
        .find(|name| !name.is_empty())
        .unwrap_or("stripe")
        .to_owned();
    let new_order = NewOrder {
        clientid: links.whmcs_client_id,
        paymentmethod: gateway,
        items: order
            .items
            .0
            .iter()
            .map(|item| OrderItem {
                pid: u64::try_from(item.whmcs_product_id).unwrap_or_default(),
                billingcycle: Some(whmcs_cycle(item)),
                qty: Some(item.quantity),
            })
            .collect(),
        promocode: None,
        noinvoice: false,
        noemail: true,
    };
    // Recorded before the request goes out: from now on a repeat looks for the order first.
    record(orders, order.id, STEP_ADD_ORDER_SENT, &json!({})).await?;
    let added = orders
        .whmcs
        .add_order_noted(&new_order, Some(&notes_of(order)))
        .await
        .map_err(step_error(STEP))?;
    let added = AddedOrder {
        whmcs_order_id: added.orderid,
        service_ids: added.serviceids,
    };
    record(orders, order.id, STEP, &added).await?;
    Ok(added)
}

fn notes_of(order: &OrderRow) -> String {
    format!("Salesforce order {}", order.salesforce_order_id)
}

/// The client's WHMCS order whose notes name this Salesforce order, if an earlier attempt placed one.
async fn find_whmcs_order(
    orders: &Orders,
    order: &OrderRow,
    links: &Links,
) -> Result<Option<AddedOrder>, ProvisionError> {
    let notes = notes_of(order);
    let mut start = 0;
    loop {
        let page = orders
            .whmcs
            .get_orders(&OrdersQuery {
                userid: Some(links.whmcs_client_id),
                limitstart: Some(start),
                limitnum: Some(100),
                ..Default::default()
            })
            .await
            .map_err(step_error(STEP_ADD_ORDER))?;
        if let Some(found) = page.orders.iter().find(|o| o.notes.contains(&notes)) {
            return Ok(Some(AddedOrder {
                whmcs_order_id: found.id,
                service_ids: found
                    .lineitems
                    .iter()
                    .filter_map(|line| line.relid)
                    .collect(),
            }));
        }
        start += page.numreturned;
        if page.numreturned == 0 || start >= page.totalresults {
            return Ok(None);
        }
    }
}

pub(super) async fn accept_order(
    orders: &Orders,
    order_id: Uuid,
    whmcs_order_id: u64,
) -> Result<(), ProvisionError> {
    const STEP: &str = STEP_ACCEPT;
    if repo::step::<serde_json::Value>(&orders.db, order_id, STEP)
        .await
        .map_err(internal(STEP))?
        .is_some()
    {
        return Ok(());
    }
    if let Err(error) = orders.whmcs.accept_order(whmcs_order_id, true, false).await {
        // Refused because it is no longer Pending: an earlier attempt may have accepted it.
        let accepted = matches!(error, ProviderError::Rejected { .. })
            && orders
                .whmcs
                .get_orders(&OrdersQuery {
                    id: Some(whmcs_order_id),
                    ..Default::default()
                })
                .await
                .map_err(step_error(STEP))?
                .orders
                .iter()
                .any(|order| order.id == whmcs_order_id && order.status == "Active");
        if !accepted {
            return Err(step_error(STEP)(error));
        }
    }
    record(orders, order_id, STEP, &json!({ "accepted": true })).await
}
