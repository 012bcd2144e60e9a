//! The steps of one run, in order, each recorded in `order_steps` before the next starts.

use serde::Serialize;
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

use super::{freebit, salesforce, whmcs};
use crate::db;
use crate::integrations::ProviderError;
use crate::orders::Orders;
use crate::orders::domain::{OrderStatus, StoredItem};
use crate::orders::repo;
use crate::outbox::{self, NewEvent};

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub(super) enum ProvisionError {
    /// Nothing to do (already final, or not approved in the CRM): not an error.
    #[error("{0}")]
    Skip(String),
    /// A step failed; retried until the last attempt.
    #[error("{step}: {source}")]
    Step {
        step: &'static str,
        #[source]
        source: anyhow::Error,
    },
    /// A step the external system refused for good (retrying cannot help): the order fails now, with this
    /// reason for the customer.
    #[error("{step}: {reason}")]
    Refused {
        step: &'static str,
        reason: &'static str,
    },
}

pub(super) fn step_error(step: &'static str) -> impl FnOnce(ProviderError) -> ProvisionError {
    move |error| ProvisionError::Step {
        step,
        source: error.into(),
    }
}

pub(super) fn internal(step: &'static str) -> impl FnOnce(sqlx::Error) -> ProvisionError {
    move |error| ProvisionError::Step {
        step,
        source: error.into(),
    }
}

pub(super) struct Links {
    pub whmcs_client_id: u64,
    pub account_id: String,
    pub contact_id: String,
}

/// The customer's links, from the customers context.
pub(super) async fn links_of(orders: &Orders, user_id: Uuid) -> Result<Links, ProvisionError> {
    let links = crate::customers::links_for(&orders.db, user_id)
        .await
        .map_err(|error| ProvisionError::Step {
            step: "links",
            source: error.into(),
        })?;
    Ok(Links {
        whmcs_client_id: u64::try_from(links.whmcs_client_id).unwrap_or_default(),
        account_id: links.salesforce_account_id,
        contact_id: links.salesforce_contact_id,
    })
}

pub(super) async fn provision(orders: &Orders, order_id: Uuid) -> Result<(), ProvisionError> {
    let mut conn = orders.db.acquire().await.map_err(internal("load"))?;
    let order = repo::find(&mut conn, order_id)
        .await
        .map_err(internal("load"))?
        .ok_or_else(|| ProvisionError::Skip("no such order".into()))?;
    drop(conn);
    if order.status().is_final() {
        return Err(ProvisionError::Skip(format!(
            "the order is already {}",
            order.status().as_str()
        )));
    }
    let written_back =
        repo::step::<serde_json::Value>(&orders.db, order_id, salesforce::STEP_WRITE_BACK)
            .await
            .map_err(internal("load"))?
            .is_some();
    if !written_back {
        salesforce::check_activating(orders, &order).await?;
    }
    transition(orders, order_id, OrderStatus::Provisioning).await?;
    let links = links_of(orders, order.user_id).await?;

    let added = whmcs::add_order(orders, &order, &links).await?;
    whmcs::accept_order(orders, order_id, added.whmcs_order_id).await?;
    freebit::activate_esim(orders, &order).await?;
    let items = items_with_services(&order.items.0, &added.service_ids);
    salesforce::write_back(orders, &order, &added, &items).await?;

    // The order's outcome and its event commit together; the event's delivery continues this trace.
    async {
        let mut tx = orders.db.begin().await.map_err(internal("finish"))?;
        let service_ids: Vec<i64> = added
            .service_ids
            .iter()
            .filter_map(|id| i64::try_from(*id).ok())
            .collect();
        repo::record_provisioned(
            &mut tx,
            order_id,
            i64::try_from(added.whmcs_order_id).unwrap_or_default(),
            &service_ids,
            &items,
        )
        .await
        .map_err(internal("finish"))?;
        let changed = repo::set_status(&mut tx, order_id, OrderStatus::Active, None)
            .await
            .map_err(internal("finish"))?;
        if changed {
            outbox::record(
                &mut tx,
                NewEvent {
                    topic: "order.provisioned",
                    aggregate_type: "order",
                    aggregate_id: order_id.to_string(),
                    payload: json!({
                        "order_id": order_id,
                        "user_id": order.user_id,
                        "service_ids": service_ids,
                    }),
                },
            )
            .await
            .map_err(|source| ProvisionError::Step {
                step: "finish",
                source,
            })?;
        }
        tx.commit().await.map_err(internal("finish"))?;
        Ok::<(), ProvisionError>(())
    }
    .instrument(db::transaction_span(
        &orders.db,
        "orders finish provisioning",
    ))
    .await?;
    tracing::info!(%order_id, whmcs_order_id = added.whmcs_order_id, "order provisioned");
    Ok(())
}

async fn transition(
    orders: &Orders,
    order_id: Uuid,
    status: OrderStatus,
) -> Result<(), ProvisionError> {
    let mut tx = orders.db.begin().await.map_err(internal("status"))?;
    repo::set_status(&mut tx, order_id, status, None)
        .await
        .map_err(internal("status"))?;
    tx.commit().await.map_err(internal("status"))
}

pub(super) async fn record<T: Serialize>(
    orders: &Orders,
    order_id: Uuid,
    step: &'static str,
    result: &T,
) -> Result<(), ProvisionError> {
    let mut conn = orders.db.acquire().await.map_err(internal(step))?;
    repo::record_step(&mut conn, order_id, step, result)
        .await
        .map_err(internal(step))
}

/// Services in AddOrder's order: each line's quantity takes the next ids.
fn items_with_services(items: &[StoredItem], service_ids: &[u64]) -> Vec<StoredItem> {
    let mut ids = service_ids.iter();
    items
        .iter()
        .map(|item| {
            let mut item = item.clone();
            item.service_ids = ids
                .by_ref()
                .take(item.quantity as usize)
                .filter_map(|id| i64::try_from(*id).ok())
                .collect();
            item
        })
        .collect()
}
