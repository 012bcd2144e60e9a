//! The sync of one brand's catalogue from Salesforce, run by the `SyncCatalogue` job:
//!
//! 1. the products changed since the brand's watermark (all of them on the first run), page by page, each
//!    page upserted in its own transaction;
//! 2. on an incremental run, the products whose price book entry changed since the watermark;
//! 3. the ids of every product of the brand: active products no longer there are marked missing, missing
//!    ones back again are read anew;
//! 4. the watermark moves to the latest `LastModifiedDate` taken in, in the transaction marking the run
//!    succeeded. A failure anywhere leaves it where it was, and the job is retried.
//!
//! A record refused because another product holds its SKU is kept by id (`clienteling_catalogue_deferred`)
//! and read again by every later run until it gets in: the holder may release the SKU only in a later run,
//! by which time the refused record, unchanged, lies behind the watermark and its overlap.
//!
//! Runs of one brand never overlap: the job holds a session advisory lock on a connection of its own, which
//! dies with the connection if the process does.

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::Connection;
use uuid::Uuid;

use super::runs::{self, Counts};
use super::store::{self, Upserted};
use super::wire::{self, Incoming, Skip};
use super::{Catalogue, SyncCatalogue};
use crate::integrations::ProviderError;
use crate::integrations::salesforce::{SalesforceClient, soql};
use crate::jobs::JobContext;

/// Salesforce answers at most 2,000 records a page; more is a hostile answer, and the rest is skipped.
const MAX_PAGE: usize = 2000;
/// Records modified this long before the watermark are read again: a transaction that committed late in
/// Salesforce may carry an earlier `LastModifiedDate`. Upserts make the overlap harmless.
const OVERLAP: Duration = Duration::minutes(5);
/// Ids per `Id IN (…)` query (a SOQL statement stays far below its length limit).
const IDS_PER_QUERY: usize = 100;
/// Skipped records named in the log per run.
const LOGGED_SKIPS: i32 = 20;
/// Pages followed at most in one query: a provider looping its cursors cannot keep a run alive for ever.
const MAX_PAGES: usize = 1000;

pub async fn run(catalogue: Catalogue, job: SyncCatalogue, ctx: JobContext) -> anyhow::Result<()> {
    let last_attempt = ctx.attempt >= ctx.max_attempts as usize;
    let mut conn = catalogue.db.acquire().await?;
    let brand: Option<Uuid> = sqlx::query_scalar!(
        "SELECT brand_id FROM clienteling_catalogue_runs WHERE id = $1",
        job.run_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    drop(conn);
    let Some(brand) = brand else {
        return Ok(());
    };
    let mut lock = catalogue
        .db
        .acquire()
        .await
        .context("a connection for the sync lock")?
        .detach();
    let locked = sqlx::query_scalar!(
        "SELECT pg_try_advisory_lock(hashtextextended('clienteling.catalogue:' || $1::text, 0))",
        brand.to_string()
    )
    .fetch_one(&mut lock)
    .await?
    .unwrap_or(false);
    if !locked {
        // The same run delivered twice while its first delivery works: that one reports; this one retries.
        let _ = lock.close().await;
        anyhow::bail!("another sync of this brand is running");
    }
    let outcome = locked_run(&catalogue, job.run_id).await;
    // The lock goes with its connection; closing it (rather than returning it to the pool) cannot leak it.
    let _ = lock.close().await;
    if let Err(error) = &outcome {
        let message = format!("{error:#}");
        tracing::warn!(run = %job.run_id, attempt = ctx.attempt, error = %message, "catalogue sync failed");
        let mut conn = catalogue.db.acquire().await?;
        runs::fail(&mut conn, job.run_id, &message, last_attempt).await?;
    }
    outcome
}

async fn locked_run(catalogue: &Catalogue, run_id: Uuid) -> anyhow::Result<()> {
    let mut conn = catalogue.db.acquire().await?;
    let Some(started) = runs::start(&mut conn, run_id).await? else {
        // Finished already (a job delivered twice): nothing to do.
        return Ok(());
    };
    drop(conn);
    let report = Sync::new(catalogue, run_id, &started).run().await?;
    let mut tx = catalogue.db.begin().await?;
    runs::succeed(
        &mut tx,
        run_id,
        started.brand_id,
        &report.counts,
        report.watermark,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        run = %run_id,
        brand = %started.brand_slug,
        fetched = report.counts.fetched,
        created = report.counts.created,
        updated = report.counts.updated,
        deactivated = report.counts.deactivated,
        skipped = ?report.counts.skipped,
        "catalogue synced"
    );
    Ok(())
}

struct Report {
    counts: Counts,
    watermark: Option<DateTime<Utc>>,
}

struct Sync<'a> {
    catalogue: &'a Catalogue,
    run_id: Uuid,
    brand_id: Uuid,
    brand: String,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    counts: Counts,
    watermark: Option<DateTime<Utc>>,
    /// Salesforce ids upserted (or found unchanged) by this run.
    seen: HashSet<String>,
    /// Records whose SKU another product held when read (see `settle_deferred`).
    deferred: Vec<Incoming>,
}

impl<'a> Sync<'a> {
    fn new(catalogue: &'a Catalogue, run_id: Uuid, started: &runs::Started) -> Self {
        Self {
            catalogue,
            run_id,
            brand_id: started.brand_id,
            brand: started.brand_slug.clone(),
            since: started.since,
            now: Utc::now(),
            counts: Counts::default(),
            watermark: None,
            seen: HashSet::new(),
            deferred: Vec::new(),
        }
    }

    fn salesforce(&self) -> &SalesforceClient {
        &self.catalogue.salesforce
    }

    async fn run(mut self) -> anyhow::Result<Report> {
        let brand = soql::quote(&self.brand);
        let changed = match self.since {
            Some(since) => format!(
                " AND LastModifiedDate > {}",
                soql::datetime(since - OVERLAP)
            ),
            None => String::new(),
        };
        let query = format!(
            "SELECT {} FROM Product2 WHERE Brand__c = {brand}{changed} ORDER BY LastModifiedDate, Id",
            wire::FIELDS
        );
        self.products(&query).await?;
        if self.since.is_some() {
            let repriced = self.repriced(&brand, &changed).await?;
            self.by_ids(&brand, &repriced).await?;
        }
        // Records an earlier run refused for their SKU, not read again above.
        let mut conn = self.catalogue.db.acquire().await?;
        let waiting: Vec<String> = store::deferred(&mut conn, self.brand_id)
            .await?
            .into_iter()
            .filter(|id| !self.seen.contains(id))
            .collect();
        drop(conn);
        self.by_ids(&brand, &waiting).await?;
        let present = self.present_ids(&brand).await?;
        let mut conn = self.catalogue.db.acquire().await?;
        let back = store::reappeared(&mut conn, self.brand_id, &present).await?;
        drop(conn);
        self.by_ids(&brand, &back).await?;
        let refused = self.settle_deferred().await?;
        let mut tx = self.catalogue.db.begin().await?;
        // Committed before the watermark moves: a refused record is never behind it and forgotten.
        store::replace_deferred(&mut tx, self.brand_id, self.run_id, &refused).await?;
        let deactivated = store::deactivate_missing(&mut tx, self.brand_id, &present).await?;
        self.counts.deactivated += i32::try_from(deactivated).unwrap_or(i32::MAX);
        tx.commit().await?;
        let mut conn = self.catalogue.db.acquire().await?;
        store::flush_search_indexes(&mut conn).await?;
        Ok(Report {
            counts: self.counts,
            watermark: self.watermark,
        })
    }

    /// Every page of `query`, upserted page by page.
    async fn products(&mut self, query: &str) -> anyhow::Result<()> {
        let mut page = self.salesforce().query_page::<Value>(query).await?;
        let mut pages = 1;
        loop {
            self.take_page(page.records).await?;
            let Some(next) = page.next_records_url else {
                return Ok(());
            };
            pages += 1;
            if pages > MAX_PAGES {
                return Err(malformed("the query paged past its limit"));
            }
            page = self.salesforce().query_more::<Value>(&next).await?;
            if page.next_records_url.as_deref() == Some(next.as_str()) {
                return Err(malformed(
                    "query paging returned the same nextRecordsUrl twice",
                ));
            }
        }
    }

    async fn take_page(&mut self, mut records: Vec<Value>) -> anyhow::Result<()> {
        if records.len() > MAX_PAGE {
            for _ in MAX_PAGE..records.len() {
                self.counts.skip(Skip::PageOverflow);
            }
            tracing::warn!(
                records = records.len(),
                "Salesforce answered an oversized page; the excess is skipped"
            );
            records.truncate(MAX_PAGE);
        }
        let mut tx = self.catalogue.db.begin().await?;
        for record in &records {
            self.counts.fetched += 1;
            let product = match wire::read(record, &self.brand, self.now) {
                Ok(product) => product,
                Err(reason) => {
                    self.skipped(record, reason);
                    continue;
                }
            };
            match store::upsert(&mut tx, self.brand_id, &product).await? {
                Ok(done) => self.took(done, product),
                // Another product holds the SKU: tried again once the run has read everything (the holder
                // may be moving it away later in the run, or taking this product's SKU in exchange).
                Err(Skip::DuplicateSku) => self.deferred.push(product),
                Err(reason) => self.skipped(record, reason),
            }
        }
        runs::progress(&mut tx, self.run_id, &self.counts).await?;
        tx.commit().await?;
        Ok(())
    }

    fn took(&mut self, done: Upserted, product: Incoming) {
        match done {
            Upserted::Created => self.counts.created += 1,
            Upserted::Updated => self.counts.updated += 1,
            Upserted::Unchanged => self.counts.unchanged += 1,
        }
        self.watermark = self.watermark.max(Some(product.modified_at));
        self.seen.insert(product.salesforce_id);
    }

    /// The records refused because another product held their SKU, once everything else is in: a SKU moved
    /// from one product to another (the taker changed first, or on an earlier page) is free by now; SKUs
    /// exchanged between products (a swap, any cycle) are applied together in one transaction, each
    /// product's old SKU released first. A SKU that two products hold in Salesforce stays skipped
    /// (`duplicate_sku`), as does every product of a cycle when one of them cannot be applied. Answers those
    /// left out, (Salesforce id, SKU), for the next runs to read again.
    async fn settle_deferred(&mut self) -> anyhow::Result<Vec<(String, String)>> {
        let mut pending = std::mem::take(&mut self.deferred);
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        // A record read twice in the run (its page, then again by id) counts once, as last read.
        let mut last_read = HashSet::new();
        pending.reverse();
        pending.retain(|product| last_read.insert(product.salesforce_id.clone()));
        pending.reverse();
        let mut tx = self.catalogue.db.begin().await?;
        pending = self.retry_free(&mut tx, pending).await?;
        // The products exchanging SKUs: each one's SKU is held by another of them.
        let lowered: Vec<String> = pending.iter().map(|p| p.sku.to_lowercase()).collect();
        let holders: std::collections::HashMap<String, String> =
            store::sku_holders(&mut tx, self.brand_id, &lowered)
                .await?
                .into_iter()
                .collect();
        let mut cycle: Vec<Incoming> = pending.clone();
        loop {
            let ids: HashSet<&str> = cycle.iter().map(|p| p.salesforce_id.as_str()).collect();
            let kept: Vec<Incoming> = cycle
                .iter()
                .filter(|p| {
                    holders
                        .get(&p.sku.to_lowercase())
                        .is_some_and(|holder| ids.contains(holder.as_str()))
                })
                .cloned()
                .collect();
            if kept.len() == cycle.len() {
                break;
            }
            cycle = kept;
        }
        if !cycle.is_empty() {
            let ids: Vec<String> = cycle.iter().map(|p| p.salesforce_id.clone()).collect();
            sqlx::query!("SAVEPOINT clienteling_sku_exchange")
                .execute(&mut *tx)
                .await?;
            store::release_skus(&mut tx, self.brand_id, &ids).await?;
            let mut applied = Vec::new();
            let mut refused = false;
            for product in &cycle {
                match store::upsert(&mut tx, self.brand_id, product).await? {
                    Ok(done) => applied.push(done),
                    Err(_) => refused = true,
                }
            }
            if !refused && store::released_left(&mut tx, self.brand_id, &ids).await? == 0 {
                sqlx::query!("RELEASE SAVEPOINT clienteling_sku_exchange")
                    .execute(&mut *tx)
                    .await?;
                pending.retain(|p| !ids.contains(&p.salesforce_id));
                for (done, product) in applied.into_iter().zip(cycle) {
                    self.took(done, product);
                }
                // A product whose SKU the exchange freed.
                pending = self.retry_free(&mut tx, pending).await?;
            } else {
                sqlx::query!("ROLLBACK TO SAVEPOINT clienteling_sku_exchange")
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // A record read twice in the run (its page, then by id) is refused once.
        let mut refused = std::collections::BTreeMap::new();
        for product in pending {
            self.counts.skip(Skip::DuplicateSku);
            if self.counts.skipped.values().sum::<i32>() <= LOGGED_SKIPS {
                tracing::warn!(brand = %self.brand, record = %product.salesforce_id, reason = Skip::DuplicateSku.as_str(), "catalogue record skipped");
            }
            refused.insert(product.salesforce_id, product.sku);
        }
        runs::progress(&mut tx, self.run_id, &self.counts).await?;
        tx.commit().await?;
        Ok(refused.into_iter().collect())
    }

    /// Upserts the products whose SKU is free, again while one more gets in (a chain of moves); answers the
    /// rest.
    async fn retry_free(
        &mut self,
        conn: &mut sqlx::PgConnection,
        mut pending: Vec<Incoming>,
    ) -> anyhow::Result<Vec<Incoming>> {
        loop {
            let before = pending.len();
            let mut left = Vec::new();
            for product in pending {
                match store::upsert(&mut *conn, self.brand_id, &product).await? {
                    Ok(done) => self.took(done, product),
                    Err(_) => left.push(product),
                }
            }
            pending = left;
            if pending.is_empty() || pending.len() == before {
                return Ok(pending);
            }
        }
    }

    fn skipped(&mut self, record: &Value, reason: Skip) {
        self.counts.skip(reason);
        // A hostile page must not flood the logs: the first few are named, the run's counts say the rest.
        if self.counts.skipped.values().sum::<i32>() > LOGGED_SKIPS {
            return;
        }
        let id: String = record
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .chars()
            .take(20)
            .collect();
        tracing::warn!(brand = %self.brand, record = %id, reason = reason.as_str(), "catalogue record skipped");
    }

    /// Products whose price book entry changed since the watermark, not read already.
    async fn repriced(&mut self, brand: &str, changed: &str) -> anyhow::Result<Vec<String>> {
        let query = format!(
            "SELECT Product2Id, LastModifiedDate FROM PricebookEntry WHERE Product2.Brand__c = {brand}{changed}"
        );
        let mut ids = Vec::new();
        for entry in self.all_records(&query).await? {
            if let Some(id) = entry.get("Product2Id").and_then(Value::as_str)
                && soql::is_id(id)
                && !self.seen.contains(id)
            {
                ids.push(id.to_owned());
            }
            // An entry's change is taken in once its product is: its date counts toward the watermark.
            if let Some(at) = entry
                .get("LastModifiedDate")
                .and_then(Value::as_str)
                .and_then(wire::parse_datetime)
                .filter(|at| *at <= self.now + Duration::days(1))
            {
                self.watermark = self.watermark.max(Some(at));
            }
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    async fn by_ids(&mut self, brand: &str, ids: &[String]) -> anyhow::Result<()> {
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let query = format!(
                "SELECT {} FROM Product2 WHERE Brand__c = {brand} AND Id IN {} ORDER BY Id",
                wire::FIELDS,
                soql::quote_list(chunk)
            );
            self.products(&query).await?;
        }
        Ok(())
    }

    /// The id of every product of the brand in Salesforce. An id that is not one fails the run rather than
    /// risk deactivating what is there.
    async fn present_ids(&mut self, brand: &str) -> anyhow::Result<Vec<String>> {
        let query = format!("SELECT Id FROM Product2 WHERE Brand__c = {brand}");
        let mut ids = Vec::new();
        for record in self.all_records(&query).await? {
            match record.get("Id").and_then(Value::as_str) {
                Some(id) if soql::is_id(id) => ids.push(id.to_owned()),
                _ => return Err(malformed("a product id in the listing is not an id")),
            }
        }
        Ok(ids)
    }

    async fn all_records(&self, query: &str) -> anyhow::Result<Vec<Value>> {
        let mut page = self.salesforce().query_page::<Value>(query).await?;
        let mut records = std::mem::take(&mut page.records);
        let mut pages = 1;
        while let Some(next) = page.next_records_url.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(malformed("the query paged past its limit"));
            }
            page = self.salesforce().query_more::<Value>(&next).await?;
            if page.next_records_url.as_deref() == Some(next.as_str()) {
                return Err(malformed(
                    "query paging returned the same nextRecordsUrl twice",
                ));
            }
            records.append(&mut page.records);
        }
        Ok(records)
    }
}

fn malformed(detail: &str) -> anyhow::Error {
    ProviderError::malformed("salesforce", detail).into()
}
