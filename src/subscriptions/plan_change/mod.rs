//! Plan changes, billed in WHMCS and applied at Freebit in one step journal. The request checks that the
//! plan is one the service's WHMCS product may move to (`plans::target_product`) and that WHMCS would take
//! the upgrade (UpgradeProduct with `calconly`), then records the change and enqueues [`ApplyPlanChange`] in
//! one transaction and waits for its outcome. The job (one run per line at a time, shared with top-ups)
//! moves the service to the new product in WHMCS (UpgradeProduct, sent once: a `sent` marker first, and a
//! repeat reads the service's product back before sending again), then changes the plan at Freebit.

mod repo;

use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

pub use repo::{NewPlanChange, PlanChangeRow};

use super::Subscriptions;
use super::domain::SimAction;
use super::repo as audit;
use crate::integrations::ProviderError;
use crate::integrations::whmcs::{ClientProductsQuery, ProductUpgrade};
use crate::jobs::{self, Job, JobContext};

const STEP_UPGRADE_SENT: &str = "whmcs_upgrade_sent";
const STEP_UPGRADE: &str = "whmcs_upgrade";
const STEP_PLAN: &str = "freebit_plan";
const WAIT_POLL: Duration = Duration::from_millis(100);

/// Completes one plan change (enqueued by the request that recorded it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplyPlanChange {
    pub plan_change_id: Uuid,
}

impl Job for ApplyPlanChange {
    const QUEUE: &'static str = "concierge.subscriptions.plan_change";
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the key names another plan change")]
    KeyReused,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The plan change this request's key already recorded, if any, before the service is checked again: a
/// repeat of a request whose change is running or done answers that change's outcome (the service is on
/// the new product by then, which a fresh check would refuse as `unchanged`).
pub async fn recorded(
    subs: &Subscriptions,
    user_id: Uuid,
    request_key: &str,
    service_id: i64,
    plan_code: &str,
    effective_date: chrono::NaiveDate,
) -> Result<Option<Uuid>, StartError> {
    let mut conn = subs.db.acquire().await.context("acquire")?;
    match repo::find_by_key(&mut conn, user_id, request_key)
        .await
        .context("find by key")?
    {
        Some(existing)
            if existing.service_id != service_id
                || existing.plan_code != plan_code
                || existing.effective_date != effective_date =>
        {
            Err(StartError::KeyReused)
        }
        Some(existing) => Ok(Some(existing.id)),
        None => Ok(None),
    }
}

/// Records the plan change and enqueues its job, or finds the one this request's key already recorded.
pub async fn start(subs: &Subscriptions, change: &NewPlanChange<'_>) -> Result<Uuid, StartError> {
    let mut tx = subs.db.begin().await.context("begin")?;
    if let Some(existing) = repo::find_by_key(&mut tx, change.user_id, change.request_key)
        .await
        .context("find by key")?
    {
        if existing.service_id != change.service_id
            || existing.plan_code != change.plan_code
            || existing.effective_date != change.effective_date
        {
            return Err(StartError::KeyReused);
        }
        return Ok(existing.id);
    }
    let id = repo::insert(&mut tx, change).await.context("insert")?;
    let job = ApplyPlanChange { plan_change_id: id };
    jobs::enqueue(&mut tx, &subs.jobs, &job, None).await?;
    tx.commit().await.context("commit")?;
    Ok(id)
}

/// The plan change once final, or `None` while it still runs after `top_up_wait_ms`.
pub async fn wait(subs: &Subscriptions, id: Uuid) -> anyhow::Result<Option<PlanChangeRow>> {
    let deadline = Instant::now() + Duration::from_millis(subs.settings.top_up_wait_ms);
    loop {
        let row = repo::find(&subs.db, id)
            .await?
            .context("the plan change disappeared")?;
        if row.is_final() {
            return Ok(Some(row));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
}

/// Runs [`ApplyPlanChange`] under the line's lock (released by PostgreSQL if the process dies).
pub async fn run(subs: Subscriptions, job: ApplyPlanChange, ctx: JobContext) -> anyhow::Result<()> {
    let Some(row) = repo::find(&subs.db, job.plan_change_id).await? else {
        return Ok(());
    };
    if row.is_final() {
        return Ok(());
    }
    let (class, key) = super::top_up::line_lock(row.service_id);
    let mut lock_conn = subs.db.acquire().await?;
    sqlx::query!("SELECT pg_advisory_lock($1, $2)", class, key)
        .execute(&mut *lock_conn)
        .await?;
    let outcome = run_locked(&subs, job.plan_change_id, &ctx).await;
    let unlocked = sqlx::query_scalar!("SELECT pg_advisory_unlock($1, $2)", class, key)
        .fetch_one(&mut *lock_conn)
        .await;
    if unlocked.is_err() {
        lock_conn.detach();
    }
    outcome
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    /// A refusal: final.
    #[error("{0}")]
    Refused(String),
    #[error("{step}: {source}")]
    Failed {
        step: &'static str,
        #[source]
        source: anyhow::Error,
    },
}

fn failed<E: Into<anyhow::Error>>(step: &'static str) -> impl FnOnce(E) -> StepError {
    move |error| StepError::Failed {
        step,
        source: error.into(),
    }
}

async fn run_locked(subs: &Subscriptions, id: Uuid, ctx: &JobContext) -> anyhow::Result<()> {
    let Some(row) = repo::find(&subs.db, id).await? else {
        return Ok(());
    };
    if row.is_final() {
        return Ok(());
    }
    let result = match upgrade(subs, &row).await {
        Ok(()) => change_plan(subs, &row).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => finish(subs, &row, None).await,
        Err(StepError::Refused(reason)) => {
            tracing::error!(plan_change_id = %id, %reason, "plan change refused part-way; support reconciles");
            finish(subs, &row, Some(reason)).await
        }
        Err(StepError::Failed { step, source }) => {
            let last = ctx.attempt >= ctx.max_attempts as usize;
            tracing::warn!(plan_change_id = %id, step, attempt = ctx.attempt, last,
                error = format!("{source:#}"), "plan change step failed");
            if !last {
                return Err(source.context(format!("plan change step {step}")));
            }
            finish(subs, &row, Some(format!("{step} failed"))).await
        }
    }
}

fn id_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// The service's product in WHMCS now (scoped by the client).
async fn current_product(
    subs: &Subscriptions,
    row: &PlanChangeRow,
) -> Result<Option<u64>, StepError> {
    let page = subs
        .whmcs
        .get_clients_products(&ClientProductsQuery {
            clientid: Some(id_of(row.whmcs_client_id)),
            serviceid: Some(id_of(row.service_id)),
            ..Default::default()
        })
        .await
        .map_err(failed(STEP_UPGRADE))?;
    Ok(page
        .products
        .iter()
        .find(|p| p.id == id_of(row.service_id) && p.clientid == id_of(row.whmcs_client_id))
        .map(|p| p.pid))
}

/// The billing change: UpgradeProduct to the plan's product, once.
async fn upgrade(subs: &Subscriptions, row: &PlanChangeRow) -> Result<(), StepError> {
    const STEP: &str = STEP_UPGRADE;
    if repo::step::<serde_json::Value>(&subs.db, row.id, STEP)
        .await
        .map_err(failed(STEP))?
        .is_some()
    {
        return Ok(());
    }
    let sent = repo::step::<serde_json::Value>(&subs.db, row.id, STEP_UPGRADE_SENT)
        .await
        .map_err(failed(STEP))?
        .is_some();
    let target = id_of(row.to_product_id);
    if sent && current_product(subs, row).await? == Some(target) {
        return record(subs, row.id, STEP, &json!({ "reconciled": true })).await;
    }
    let gateway =
        super::service::service_gateway(subs, id_of(row.whmcs_client_id), id_of(row.service_id))
            .await
            .map_err(failed(STEP))?;
    let upgrade = ProductUpgrade {
        serviceid: id_of(row.service_id),
        newproductid: target,
        newproductbillingcycle: row.billing_cycle.clone(),
        paymentmethod: gateway,
    };
    record(subs, row.id, STEP_UPGRADE_SENT, &json!({})).await?;
    match subs.whmcs.upgrade_product(&upgrade, false).await {
        Ok(done) => {
            let result = json!({ "orderid": done.orderid, "invoiceid": done.invoiceid });
            record(subs, row.id, STEP, &result).await
        }
        Err(error @ ProviderError::Rejected { .. }) => Err(StepError::Refused(format!(
            "WHMCS refused the upgrade: {error}"
        ))),
        Err(error) => {
            tracing::warn!(%error, "UpgradeProduct outcome unknown; reading the service back");
            if current_product(subs, row).await? == Some(target) {
                return record(subs, row.id, STEP, &json!({ "reconciled": true })).await;
            }
            Err(failed(STEP)(error))
        }
    }
}

/// The network's change: setting a plan (and its date) is idempotent at Freebit.
async fn change_plan(subs: &Subscriptions, row: &PlanChangeRow) -> Result<(), StepError> {
    const STEP: &str = STEP_PLAN;
    if repo::step::<serde_json::Value>(&subs.db, row.id, STEP)
        .await
        .map_err(failed(STEP))?
        .is_some()
    {
        return Ok(());
    }
    match subs
        .freebit
        .change_plan(&row.msisdn, &row.plan_code, row.effective_date)
        .await
    {
        Ok(()) => record(subs, row.id, STEP, &json!({})).await,
        Err(error @ ProviderError::Rejected { .. }) => Err(StepError::Refused(format!(
            "Freebit refused the plan after WHMCS upgraded the service: {error}"
        ))),
        Err(error) => Err(failed(STEP)(error)),
    }
}

async fn record(
    subs: &Subscriptions,
    id: Uuid,
    step: &'static str,
    result: &serde_json::Value,
) -> Result<(), StepError> {
    repo::record_step(&subs.db, id, step, result)
        .await
        .map_err(failed(step))
}

/// The outcome with its audit trail row: `failure` is `None` for applied.
async fn finish(
    subs: &Subscriptions,
    row: &PlanChangeRow,
    failure: Option<String>,
) -> anyhow::Result<()> {
    let parameters = json!({ "plan_code": row.plan_code, "effective_date": row.effective_date });
    let reference = format!(
        "WHMCS product {} -> {}, plan change {}",
        row.from_product_id, row.to_product_id, row.id
    );
    let recorded = audit::record(
        &subs.db,
        &audit::Entry {
            user_id: row.user_id,
            service_id: id_of(row.service_id),
            action: SimAction::PlanChange,
            parameters: &parameters,
            outcome: if failure.is_some() {
                audit::Outcome::Failed
            } else {
                audit::Outcome::Succeeded
            },
            provider_reference: failure.is_none().then_some(reference.as_str()),
            error: failure.as_deref(),
            request_id: None,
        },
    )
    .await
    .ok();
    let status = if failure.is_some() {
        "failed"
    } else {
        "applied"
    };
    repo::finish(
        &subs.db,
        row.id,
        status,
        failure.as_deref(),
        recorded.map(|r| r.id),
    )
    .await?;
    Ok(())
}
