//! Enrichment at write time: a durable job per written version (`created`, `updated`) resolves what the
//! read path shows beside the interaction — the advisor's and the store's names, the client's name and tier
//! as they were, the order's status from Salesforce, the products' names, images and prices — and appends
//! `enriched` to the stream (the projection follows in the same transaction). The reads stay one query on
//! the projection and never call another system.
//!
//! - A failed look-up appends `enrichment_failed` with the reason once per version (the read shows
//!   `failed`), and the job is retried with the runner's back-off; a later success appends `enriched`.
//! - Ordering: the job names the version it was enqueued for. It enriches only while that version is the
//!   last one a person wrote (`store::content_version`), checked again under the projection's row lock
//!   before appending, so an older job delivered late never overwrites newer enrichment; a version already
//!   enriched is not enriched twice (redelivery).
//! - `clienteling_enrichment_lag_seconds` records the time from the write to `enriched`.

use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::model::State;
use super::processors::Wants;
use super::store::{self, NewEvent};
use crate::clienteling::Clienteling;
use crate::integrations::ProviderError;
use crate::integrations::salesforce::soql;
use crate::jobs::{Job, JobContext};

/// The job: enrich `interaction_id` as written at `version`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrich {
    pub brand_id: Uuid,
    pub brand: String,
    pub interaction_id: Uuid,
    pub version: i32,
}

impl Job for Enrich {
    const QUEUE: &'static str = "clienteling.interaction.enrich";
}

/// Where product names, images and prices come from: the brand catalogue (`clienteling::catalogue`,
/// synced from Salesforce `Product2`) registers one with [`Clienteling::with_products`]. Without one the
/// SKUs are listed as `unresolved` and the rest is enriched.
pub trait ProductSource: Send + Sync + 'static {
    /// One JSON object per SKU found (`{sku, name, image_url, price, currency}`); unknown SKUs are left out.
    fn products<'a>(
        &'a self,
        brand_id: Uuid,
        skus: &'a [String],
    ) -> BoxFuture<'a, anyhow::Result<Vec<Value>>>;
}

pub type Products = Option<Arc<dyn ProductSource>>;

/// Why enrichment failed, as the advisor reads it (the error itself goes to the log).
#[derive(Debug)]
pub struct Failure {
    pub reason: &'static str,
    pub error: anyhow::Error,
}

fn failure(reason: &'static str) -> impl FnOnce(anyhow::Error) -> Failure {
    move |error| Failure { reason, error }
}

fn provider(reason: &'static str) -> impl FnOnce(ProviderError) -> Failure {
    move |error| Failure {
        reason,
        error: error.into(),
    }
}

fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let name = [first, last]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

#[derive(Debug, Deserialize)]
struct SalesforceOrder {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Status")]
    status: Option<String>,
    #[serde(rename = "TotalAmount")]
    total_amount: Option<f64>,
    #[serde(rename = "EffectiveDate")]
    effective_date: Option<String>,
}

/// What the read path shows beside `state`, looked up now.
pub async fn look_up(
    clienteling: &Clienteling,
    brand_id: Uuid,
    state: &State,
    wants: &Wants,
) -> Result<Value, Failure> {
    let db = clienteling.db();
    let advisor = crate::auth::account(db, state.advisor_id)
        .await
        .context("reading the advisor")
        .map_err(failure("The advisor could not be read."))?;
    let store_name = crate::brands::store_name(db, brand_id, &state.store)
        .await
        .context("reading the store")
        .map_err(failure("The store could not be read."))?;
    let mut conn = db
        .acquire()
        .await
        .context("a connection")
        .map_err(failure("The client could not be read."))?;
    let profile = crate::crm::profile::load(&mut conn, brand_id, state.client_id)
        .await
        .context("reading the client's profile")
        .map_err(failure("The client could not be read."))?;
    drop(conn);
    let client = profile.map(|profile| {
        json!({
            "name": full_name(profile.attributes.first_name.as_deref(), profile.attributes.last_name.as_deref()),
            "tier": profile.attributes.tier,
        })
    });
    let order = match &wants.order_number {
        None => Value::Null,
        Some(number) => {
            let soql = format!(
                "SELECT Id, Status, TotalAmount, EffectiveDate FROM Order WHERE OrderNumber = {} LIMIT 1",
                soql::quote(number)
            );
            let orders: Vec<SalesforceOrder> = clienteling
                .salesforce()
                .query(&soql)
                .await
                .map_err(provider("Salesforce did not answer about the order."))?;
            match orders.into_iter().next() {
                Some(order) => json!({
                    "order_number": number, "found": true, "salesforce_id": order.id,
                    "status": order.status, "total_amount": order.total_amount,
                    "effective_date": order.effective_date,
                }),
                None => json!({ "order_number": number, "found": false }),
            }
        }
    };
    let (products, unresolved) = match (clienteling.products(), wants.skus.is_empty()) {
        (_, true) => (Value::Null, Value::Null),
        (None, false) => (Value::Null, json!(wants.skus)),
        (Some(source), false) => {
            let found = source
                .products(brand_id, &wants.skus)
                .await
                .map_err(failure("The catalogue did not answer."))?;
            let missing: Vec<&String> = wants
                .skus
                .iter()
                .filter(|sku| {
                    !found
                        .iter()
                        .any(|product| product["sku"].as_str() == Some(sku.as_str()))
                })
                .collect();
            (json!(found), json!(missing))
        }
    };
    Ok(json!({
        "advisor": {
            "id": state.advisor_id,
            "name": advisor.map(|a| full_name(Some(&a.first_name), Some(&a.last_name))),
        },
        "store": { "code": state.store, "name": store_name },
        "client": client,
        "order": order,
        "products": products,
        "unresolved_skus": unresolved,
    }))
}

/// Which version an enrichment payload was computed for.
fn enriched_for(state: &State) -> Option<i64> {
    state
        .enrichment
        .as_ref()
        .and_then(|enrichment| enrichment["for_version"].as_i64())
}

enum Next {
    /// Nothing to do: gone, deleted, superseded by a newer write, or already done.
    Skip(&'static str),
    Enrich(Box<State>),
}

async fn next(clienteling: &Clienteling, job: &Enrich) -> anyhow::Result<Next> {
    let mut conn = clienteling.db().acquire().await?;
    let Some(state) = store::by_id(&mut conn, job.brand_id, job.interaction_id, false).await?
    else {
        return Ok(Next::Skip("gone"));
    };
    check(&mut conn, job, state).await
}

async fn check(conn: &mut sqlx::PgConnection, job: &Enrich, state: State) -> anyhow::Result<Next> {
    if state.deleted_at.is_some() {
        return Ok(Next::Skip("deleted"));
    }
    let content = store::content_version(conn, job.brand_id, job.interaction_id)
        .await?
        .map_or(state.version, |(version, _)| version);
    if content > job.version {
        return Ok(Next::Skip("superseded"));
    }
    if state.enrichment_status == "enriched" && enriched_for(&state) >= Some(i64::from(job.version))
    {
        return Ok(Next::Skip("done"));
    }
    Ok(Next::Enrich(Box::new(state)))
}

/// Appends `kind` with `payload` if the job's version is still the one to enrich (checked under the row
/// lock); answers whether it did.
async fn append(
    clienteling: &Clienteling,
    job: &Enrich,
    kind: &str,
    payload: Value,
    when: impl Fn(&State) -> bool,
) -> anyhow::Result<bool> {
    let mut tx = clienteling.db().begin().await?;
    let Some(state) = store::by_id(&mut tx, job.brand_id, job.interaction_id, true).await? else {
        return Ok(false);
    };
    let state = match check(&mut tx, job, state).await? {
        Next::Skip(_) => return Ok(false),
        Next::Enrich(state) if !when(&state) => return Ok(false),
        Next::Enrich(state) => *state,
    };
    let id = state.id;
    let event = store::append(
        &mut tx,
        NewEvent {
            brand_id: job.brand_id,
            stream_id: id,
            version: state.version + 1,
            kind,
            payload,
            actor: "job:enrichment",
        },
    )
    .await?;
    let next = State::apply(Some(state), id, &event)
        .with_context(|| format!("interaction {id}: {kind} cannot follow"))?;
    store::project(&mut tx, job.brand_id, &next).await?;
    tx.commit().await?;
    Ok(true)
}

/// Runs one enrichment job; an error retries it (with back-off), the last attempt's leaves it dead and the
/// interaction `failed`.
pub async fn run(clienteling: Clienteling, job: Enrich, ctx: JobContext) -> anyhow::Result<()> {
    let state = match next(&clienteling, &job).await? {
        Next::Skip(why) => {
            tracing::debug!(interaction = %job.interaction_id, version = job.version, why, "enrichment skipped");
            return Ok(());
        }
        Next::Enrich(state) => *state,
    };
    let wants = clienteling
        .processors()
        .processor(&job.brand, &state.context)
        .map(|processor| processor.wants(&state.metadata))
        .unwrap_or_default();
    match look_up(&clienteling, job.brand_id, &state, &wants).await {
        Ok(mut found) => {
            found["for_version"] = json!(job.version);
            found["enriched_at"] = json!(Utc::now());
            if append(&clienteling, &job, "enriched", found, |_| true).await? {
                let mut conn = clienteling.db().acquire().await?;
                if let Some((_, written_at)) =
                    store::content_version(&mut conn, job.brand_id, job.interaction_id).await?
                {
                    let lag = (Utc::now() - written_at).to_std().unwrap_or_default();
                    metrics::histogram!("clienteling_enrichment_lag_seconds")
                        .record(lag.as_secs_f64());
                }
                metrics::counter!("clienteling_enrichments_total", "outcome" => "enriched")
                    .increment(1);
            }
            Ok(())
        }
        Err(Failure { reason, error }) => {
            let payload = json!({
                "for_version": job.version, "reason": reason, "attempt": ctx.attempt,
                "failed_at": Utc::now(),
            });
            // Once per version: the retries do not grow the stream.
            let first = |state: &State| {
                state.enrichment_status != "failed"
                    || enriched_for(state) != Some(i64::from(job.version))
            };
            append(&clienteling, &job, "enrichment_failed", payload, first).await?;
            metrics::counter!("clienteling_enrichments_total", "outcome" => "failed").increment(1);
            Err(error.context(format!(
                "enriching interaction {} v{}: {reason}",
                job.interaction_id, job.version
            )))
        }
    }
}
