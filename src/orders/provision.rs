//! Provisioning an approved order, exactly once however often the job runs: each external step's result is
//! recorded in `order_steps` before the next step starts, and a step whose outcome is unknown (a timeout
//! after the request went out) checks the external system before it is repeated.
//!
//! Steps: re-check the CRM (`Activation_Status__c` must be `Activating`), WHMCS AddOrder (the Salesforce
//! order id in its notes; before a repeat, GetOrders is searched for it), AcceptOrder, the eSIM at Freebit
//! (an EID already in use means an earlier attempt activated it), then the write-back to Salesforce. The last
//! attempt of a failing job marks the order `failed`, opens a support case and emits
//! `order.provisioning_failed`; success emits `order.provisioned`.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::domain::{OrderStatus, SimType, StoredItem};
use super::repo::{self, OrderRow};
use super::salesforce::{ACTIVATED, ACTIVATING, cycle_name};
use crate::integrations::ProviderError;
use crate::integrations::freebit::{AddKind, ContractLine, EsimOrder, SimKind};
use crate::integrations::salesforce::composite_failure;
use crate::integrations::whmcs::{NewOrder, OrderItem, OrdersQuery};
use crate::jobs::{Job, JobContext};
use crate::outbox::{self, NewEvent};
use crate::state::AppState;

/// Provisions one order (enqueued when Salesforce asks for it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvisionOrder {
    pub order_id: Uuid,
}

impl Job for ProvisionOrder {
    const QUEUE: &'static str = "concierge.orders.provision";
}

/// Freebit's answer when an EID already has a line.
const EID_IN_USE: &str = "400-501";
const STEP_ADD_ORDER_SENT: &str = "whmcs_add_order_sent";
const STEP_ADD_ORDER: &str = "whmcs_add_order";
const STEP_ACCEPT: &str = "whmcs_accept_order";
const STEP_ESIM: &str = "freebit_esim";
const STEP_WRITE_BACK: &str = "salesforce_write_back";
const STEP_CASE: &str = "salesforce_case";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AddedOrder {
    whmcs_order_id: u64,
    service_ids: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EsimLine {
    account: Option<String>,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
enum ProvisionError {
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
}

fn step_error(step: &'static str) -> impl FnOnce(ProviderError) -> ProvisionError {
    move |error| ProvisionError::Step {
        step,
        source: error.into(),
    }
}

fn internal(step: &'static str) -> impl FnOnce(sqlx::Error) -> ProvisionError {
    move |error| ProvisionError::Step {
        step,
        source: error.into(),
    }
}

/// Runs [`ProvisionOrder`].
pub async fn run(state: AppState, job: ProvisionOrder, ctx: JobContext) -> anyhow::Result<()> {
    // One run per order at a time, even if a duplicate job exists: the lock is held on its own connection
    // for the whole run. A run that finds it taken leaves the order to the holder (and its retries).
    let mut lock_conn = state.db.acquire().await?;
    let key = lock_key(job.order_id);
    let locked = sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1) AS "locked!""#, key)
        .fetch_one(&mut *lock_conn)
        .await?;
    if !locked {
        tracing::info!(order_id = %job.order_id, "provisioning already running elsewhere");
        return Ok(());
    }
    let outcome = run_locked(&state, &job, &ctx).await;
    let unlocked = sqlx::query_scalar!("SELECT pg_advisory_unlock($1)", key)
        .fetch_one(&mut *lock_conn)
        .await;
    if unlocked.is_err() {
        // Never hand a connection that may still hold the lock back to the pool.
        lock_conn.detach();
    }
    outcome
}

/// The advisory-lock key of an order: both halves of its UUID folded together (UUIDv7s of one millisecond
/// share their first half).
fn lock_key(order_id: Uuid) -> i64 {
    let (high, low) = order_id.as_u64_pair();
    i64::from_ne_bytes((high ^ low.rotate_left(17)).to_ne_bytes())
}

async fn run_locked(
    state: &AppState,
    job: &ProvisionOrder,
    ctx: &JobContext,
) -> anyhow::Result<()> {
    match provision(state, job.order_id).await {
        Ok(()) => Ok(()),
        Err(ProvisionError::Skip(reason)) => {
            tracing::info!(order_id = %job.order_id, %reason, "provisioning skipped");
            Ok(())
        }
        Err(ProvisionError::Step { step, source }) => {
            let last = ctx.attempt >= ctx.max_attempts as usize;
            tracing::warn!(order_id = %job.order_id, step, attempt = ctx.attempt, last,
                error = format!("{source:#}"), "provisioning step failed");
            if !last {
                return Err(source.context(format!("provisioning step {step}")));
            }
            fail(state, job.order_id, step, &source).await
        }
    }
}

struct Links {
    whmcs_client_id: u64,
    account_id: String,
    contact_id: String,
}

async fn links_of(state: &AppState, user_id: Uuid) -> Result<Links, ProvisionError> {
    let row = sqlx::query!(
        "SELECT whmcs_client_id, salesforce_account_id, salesforce_contact_id
         FROM customer_links WHERE user_id = $1",
        user_id,
    )
    .fetch_optional(&state.db)
    .await
    .map_err(internal("links"))?
    .map(|row| {
        (
            row.whmcs_client_id,
            row.salesforce_account_id,
            row.salesforce_contact_id,
        )
    });
    match row {
        Some((Some(client), Some(account_id), Some(contact_id))) => Ok(Links {
            whmcs_client_id: u64::try_from(client).unwrap_or_default(),
            account_id,
            contact_id,
        }),
        _ => Err(ProvisionError::Step {
            step: "links",
            source: anyhow::anyhow!("the customer is not linked"),
        }),
    }
}

#[derive(Debug, Deserialize)]
struct RawOrderStatus {
    #[serde(rename = "Activation_Status__c", default)]
    activation_status: Option<String>,
}

async fn provision(state: &AppState, order_id: Uuid) -> Result<(), ProvisionError> {
    let mut conn = state.db.acquire().await.map_err(internal("load"))?;
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
    let written_back = repo::step::<serde_json::Value>(&state.db, order_id, STEP_WRITE_BACK)
        .await
        .map_err(internal("load"))?
        .is_some();
    if !written_back {
        let crm: RawOrderStatus = state
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
            let mut tx = state
                .db
                .begin()
                .await
                .map_err(internal("salesforce_check"))?;
            sqlx::query!(
                "UPDATE orders SET provision_requested_at = NULL WHERE id = $1",
                order_id
            )
            .execute(&mut *tx)
            .await
            .map_err(internal("salesforce_check"))?;
            repo::set_status(&mut tx, order_id, OrderStatus::PendingReview, None)
                .await
                .map_err(internal("salesforce_check"))?;
            tx.commit().await.map_err(internal("salesforce_check"))?;
            return Err(ProvisionError::Skip(format!(
                "the CRM order is {:?}, not {ACTIVATING}",
                crm.activation_status
            )));
        }
    }
    transition(state, order_id, OrderStatus::Provisioning).await?;
    let links = links_of(state, order.user_id).await?;

    let added = add_order(state, &order, &links).await?;
    accept_order(state, order_id, added.whmcs_order_id).await?;
    activate_esim(state, &order).await?;
    let items = items_with_services(&order.items.0, &added.service_ids);
    write_back(state, &order, &added, &items).await?;

    let mut tx = state.db.begin().await.map_err(internal("finish"))?;
    let service_ids: Vec<i64> = added
        .service_ids
        .iter()
        .filter_map(|id| i64::try_from(*id).ok())
        .collect();
    sqlx::query!(
        "UPDATE orders SET whmcs_order_id = $2, service_ids = $3, items = $4 WHERE id = $1",
        order_id,
        i64::try_from(added.whmcs_order_id).unwrap_or_default(),
        &service_ids,
        sqlx::types::Json(&items) as _,
    )
    .execute(&mut *tx)
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
    tracing::info!(%order_id, whmcs_order_id = added.whmcs_order_id, "order provisioned");
    Ok(())
}

async fn transition(
    state: &AppState,
    order_id: Uuid,
    status: OrderStatus,
) -> Result<(), ProvisionError> {
    let mut tx = state.db.begin().await.map_err(internal("status"))?;
    repo::set_status(&mut tx, order_id, status, None)
        .await
        .map_err(internal("status"))?;
    tx.commit().await.map_err(internal("status"))
}

async fn record<T: Serialize>(
    state: &AppState,
    order_id: Uuid,
    step: &'static str,
    result: &T,
) -> Result<(), ProvisionError> {
    let mut conn = state.db.acquire().await.map_err(internal(step))?;
    repo::record_step(&mut conn, order_id, step, result)
        .await
        .map_err(internal(step))
}

fn whmcs_cycle(item: &StoredItem) -> String {
    cycle_name(item.billing_cycle).to_ascii_lowercase()
}

/// The WHMCS order: recorded, found by its notes after an ambiguous attempt, or placed now (once).
async fn add_order(
    state: &AppState,
    order: &OrderRow,
    links: &Links,
) -> Result<AddedOrder, ProvisionError> {
    const STEP: &str = STEP_ADD_ORDER;
    if let Some(added) = repo::step::<AddedOrder>(&state.db, order.id, STEP)
        .await
        .map_err(internal(STEP))?
    {
        return Ok(added);
    }
    let attempted = repo::step::<serde_json::Value>(&state.db, order.id, STEP_ADD_ORDER_SENT)
        .await
        .map_err(internal(STEP))?
        .is_some();
    if attempted && let Some(found) = find_whmcs_order(state, order, links).await? {
        record(state, order.id, STEP, &found).await?;
        return Ok(found);
    }
    let pay_methods = state
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
    record(state, order.id, STEP_ADD_ORDER_SENT, &json!({})).await?;
    let added = state
        .whmcs
        .add_order_noted(&new_order, Some(&notes_of(order)))
        .await
        .map_err(step_error(STEP))?;
    let added = AddedOrder {
        whmcs_order_id: added.orderid,
        service_ids: added.serviceids,
    };
    record(state, order.id, STEP, &added).await?;
    Ok(added)
}

fn notes_of(order: &OrderRow) -> String {
    format!("Salesforce order {}", order.salesforce_order_id)
}

/// The client's WHMCS order whose notes name this Salesforce order, if an earlier attempt placed one.
async fn find_whmcs_order(
    state: &AppState,
    order: &OrderRow,
    links: &Links,
) -> Result<Option<AddedOrder>, ProvisionError> {
    let notes = notes_of(order);
    let mut start = 0;
    loop {
        let page = state
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

async fn accept_order(
    state: &AppState,
    order_id: Uuid,
    whmcs_order_id: u64,
) -> Result<(), ProvisionError> {
    const STEP: &str = STEP_ACCEPT;
    if repo::step::<serde_json::Value>(&state.db, order_id, STEP)
        .await
        .map_err(internal(STEP))?
        .is_some()
    {
        return Ok(());
    }
    if let Err(error) = state.whmcs.accept_order(whmcs_order_id, true, false).await {
        // Refused because it is no longer Pending: an earlier attempt may have accepted it.
        let accepted = matches!(error, ProviderError::Rejected { .. })
            && state
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
    record(state, order_id, STEP, &json!({ "accepted": true })).await
}

/// One eSIM line for the order's EID (the first SIM line), when the customer chose an eSIM.
async fn activate_esim(state: &AppState, order: &OrderRow) -> Result<(), ProvisionError> {
    const STEP: &str = STEP_ESIM;
    let Some(sim) = order.sim.as_ref().map(|json| &json.0) else {
        return Ok(());
    };
    let (SimType::Esim, Some(eid)) = (sim.kind, sim.eid.as_deref()) else {
        return Ok(());
    };
    let Some(plan_code) = order
        .items
        .0
        .iter()
        .find_map(|item| item.sim_plan_code.clone().filter(|code| !code.is_empty()))
    else {
        return Ok(());
    };
    if repo::step::<EsimLine>(&state.db, order.id, STEP)
        .await
        .map_err(internal(STEP))?
        .is_some()
    {
        return Ok(());
    }
    let sim_kind = if plan_code.starts_with("VOICE") {
        SimKind::VoiceE0
    } else {
        SimKind::DataE2
    };
    let request = EsimOrder {
        eid: eid.to_owned(),
        account: None,
        sim_kind,
        contract_line: ContractLine::Lte,
        add_kind: AddKind::New,
        ship_date: chrono::Utc::now().date_naive(),
        plan_code,
    };
    let line = match state.freebit.activate_esim(&request).await {
        Ok(activation) => EsimLine {
            account: Some(activation.account),
        },
        // The EID already has a line: an earlier attempt activated it (EIDs are checked at order time).
        Err(ProviderError::Rejected { code, .. }) if code == EID_IN_USE => {
            EsimLine { account: None }
        }
        Err(error) => return Err(step_error(STEP)(error)),
    };
    record(state, order.id, STEP, &line).await
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

async fn write_back(
    state: &AppState,
    order: &OrderRow,
    added: &AddedOrder,
    items: &[StoredItem],
) -> Result<(), ProvisionError> {
    const STEP: &str = STEP_WRITE_BACK;
    if repo::step::<serde_json::Value>(&state.db, order.id, STEP)
        .await
        .map_err(internal(STEP))?
        .is_some()
    {
        return Ok(());
    }
    let builder = state.salesforce.subrequests();
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
    let responses = state
        .salesforce
        .composite(true, subrequests)
        .await
        .map_err(step_error(STEP))?;
    if let Some(error) = composite_failure(&responses) {
        return Err(step_error(STEP)(error));
    }
    record(state, order.id, STEP, &json!({ "written": true })).await
}

/// The last attempt failed: a case for support, then `failed` with the reason and the event, together.
async fn fail(
    state: &AppState,
    order_id: Uuid,
    step: &'static str,
    source: &anyhow::Error,
) -> anyhow::Result<()> {
    let mut conn = state.db.acquire().await?;
    let order = repo::find(&mut conn, order_id)
        .await?
        .context("the order disappeared")?;
    drop(conn);
    let reason = format!("Provisioning could not complete the step {step}.");
    let case_id = match open_case(state, &order, step, source).await {
        Ok(case_id) => Some(case_id),
        Err(error) => {
            tracing::error!(%order_id, error = format!("{error:#}"), "the support case could not be opened");
            None
        }
    };
    let mut tx = state.db.begin().await?;
    let changed = repo::set_status(&mut tx, order_id, OrderStatus::Failed, Some(&reason)).await?;
    if changed {
        outbox::record(
            &mut tx,
            NewEvent {
                topic: "order.provisioning_failed",
                aggregate_type: "order",
                aggregate_id: order_id.to_string(),
                payload: json!({
                    "order_id": order_id,
                    "user_id": order.user_id,
                    "step": step,
                    "reason": reason,
                    "case_id": case_id,
                }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    tracing::error!(%order_id, step, "order provisioning failed");
    Ok(())
}

async fn open_case(
    state: &AppState,
    order: &OrderRow,
    step: &'static str,
    source: &anyhow::Error,
) -> anyhow::Result<String> {
    #[derive(Serialize, Deserialize)]
    struct OpenedCase {
        id: String,
    }
    if let Some(opened) = repo::step::<OpenedCase>(&state.db, order.id, STEP_CASE).await? {
        return Ok(opened.id);
    }
    let links = links_of(state, order.user_id)
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let id = state
        .salesforce
        .create(
            "Case",
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
    let mut conn = state.db.acquire().await?;
    repo::record_step(
        &mut conn,
        order.id,
        STEP_CASE,
        &OpenedCase { id: id.clone() },
    )
    .await?;
    Ok(id)
}
