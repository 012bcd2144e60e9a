//! Placing an order: the catalog and the customer are checked, the CRM order is created in one composite
//! call, and the order is recorded locally.

use chrono::Utc;
use tracing::Instrument;

use super::OrderError;
use super::domain::{CreateOrderRequest, Order, StoredItem};
use super::repo::{self, NewOrderRow};
use super::salesforce::{self, NewSalesforceOrder};
use crate::customers::CustomerLinks;
use crate::errors::FieldError;
use crate::idempotency::Attempt;
use crate::orders::Orders;

/// Places the order under its idempotency claim: the claim's effect id is the order id (the CRM order's
/// external id), so a retry after a failure finds what an earlier attempt created instead of ordering twice.
pub async fn create_order(
    orders: &Orders,
    links: &CustomerLinks,
    request: &CreateOrderRequest,
    attempt: &Attempt,
) -> Result<Order, OrderError> {
    let local_id = attempt.claim().effect_id();
    // A resumed attempt settles first what an earlier one did: an order it created (here, or only in
    // Salesforce) is the answer, whatever the pay methods or the price book say now.
    let placed = if attempt.claim().resumed() {
        let mut conn = orders.db.acquire().await?;
        if let Some(row) = repo::find(&mut conn, local_id).await? {
            return Ok(row.to_order());
        }
        drop(conn);
        salesforce::find_order(&orders.salesforce, local_id, request.items.len()).await?
    } else {
        None
    };
    // The catalog: every sku must be an orderable product; SIM products need a SIM choice.
    let mut items = Vec::with_capacity(request.items.len());
    let mut errors = Vec::new();
    for (index, requested) in request.items.iter().enumerate() {
        match crate::catalog::find_by_sku(&orders.catalog, &requested.sku).await? {
            Some(product) => {
                let sim_plan_code = product
                    .sim
                    .as_ref()
                    .map(|sim| sim.plan_type.clone().unwrap_or_default());
                if product.sim.is_some() && request.sim.is_none() {
                    errors.push(FieldError::new(
                        "sim",
                        "required",
                        format!(
                            "{} is a SIM product: choose a physical SIM or an eSIM.",
                            product.sku
                        ),
                    ));
                }
                items.push(StoredItem {
                    sku: product.sku,
                    name: product.name,
                    quantity: u32::try_from(requested.quantity).unwrap_or(1),
                    unit_price_hundredths: product.price.hundredths(),
                    currency: product.price.currency,
                    billing_cycle: product.billing_cycle,
                    whmcs_product_id: product.whmcs_product_id,
                    sim_plan_code,
                    salesforce_item_id: None,
                    service_ids: Vec::new(),
                });
            }
            None => errors.push(FieldError::new(
                format!("items/{index}/sku"),
                "unknown",
                "No orderable product has this sku.",
            )),
        }
    }
    let esim = request
        .sim
        .as_ref()
        .is_some_and(|sim| sim.kind == super::domain::SimType::Esim);
    let sim_lines: u32 = items
        .iter()
        .filter(|item| item.sim_plan_code.is_some())
        .map(|item| item.quantity)
        .sum();
    if esim && sim_lines > 1 {
        errors.push(FieldError::new(
            "sim",
            "one_esim",
            "One eSIM (one EID) serves one SIM line: order a single SIM product with quantity 1.",
        ));
    }
    if !errors.is_empty() {
        errors.dedup_by(|a, b| a.field == b.field);
        return Err(OrderError::Invalid(errors));
    }

    let created = match placed {
        Some(created) => created,
        None => send(orders, links, request, &items, local_id, attempt).await?,
    };
    for (item, salesforce_id) in items.iter_mut().zip(created.item_ids) {
        item.salesforce_item_id = Some(salesforce_id);
    }

    let row = async {
        let mut tx = orders.db.begin().await?;
        let row = repo::insert(
            &mut tx,
            &NewOrderRow {
                id: local_id,
                user_id: links.user_id,
                salesforce_order_id: &created.order_id,
                items: &items,
                activation: request.activation.as_ref(),
                sim: request.sim.as_ref(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok::<_, OrderError>(row)
    }
    .instrument(crate::db::transaction_span(&orders.db, "orders insert"))
    .await?;
    tracing::info!(order_id = %local_id, salesforce_order_id = %created.order_id, "order created");
    Ok(row.to_order())
}

/// The checks before the CRM order is created (the customer can be charged, every product is in the price
/// book), then the one create.
async fn send(
    orders: &Orders,
    links: &CustomerLinks,
    request: &CreateOrderRequest,
    items: &[StoredItem],
    local_id: uuid::Uuid,
    attempt: &Attempt,
) -> Result<salesforce::CreatedOrder, OrderError> {
    // The customer: the billing system must be able to charge them.
    let client_id = u64::try_from(links.whmcs_client_id)
        .map_err(|_| anyhow::anyhow!("negative WHMCS client id"))?;
    let pay_methods = orders.whmcs.get_pay_methods(client_id).await?;
    if pay_methods.paymethods.is_empty() {
        return Err(OrderError::NoPaymentMethod);
    }

    // The CRM: price book entries, then the Order with its items in one all-or-none call.
    let pricebook_name = orders.catalog.pricebook_name();
    let pricebook_id = salesforce::pricebook_id(&orders.salesforce, pricebook_name)
        .await?
        .ok_or_else(|| anyhow::anyhow!("price book {pricebook_name:?} not found"))?;
    let skus: Vec<&str> = items.iter().map(|item| item.sku.as_str()).collect();
    let entries = salesforce::price_entries(&orders.salesforce, &pricebook_id, &skus).await?;
    let mut errors = Vec::new();
    let mut lines = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match entries.iter().find(|entry| entry.sku == item.sku) {
            Some(entry) => lines.push((item, entry.id.clone())),
            None => errors.push(FieldError::new(
                format!("items/{index}/sku"),
                "unavailable",
                "This product cannot be ordered at the moment.",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(OrderError::Invalid(errors));
    }
    attempt.external_effect().await.map_err(OrderError::Claim)?;
    Ok(salesforce::place_order(
        &orders.salesforce,
        &NewSalesforceOrder {
            local_id,
            account_id: &links.salesforce_account_id,
            contact_id: &links.salesforce_contact_id,
            pricebook_id: &pricebook_id,
            effective_date: Utc::now().date_naive(),
            request,
            lines,
        },
    )
    .await?)
}
