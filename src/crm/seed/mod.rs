//! `concierge seed crm`: synthetic profiles, identifiers, consents and activities for benchmarks, streamed
//! into the CRM's tables with `COPY` (no staging table; the indexes stay in place and valid). The
//! distribution is in [`dist`] and `docs/crm-seed.md`.
//!
//! A generator thread produces chunks of rows while `jobs` connections load them, each chunk in one
//! transaction, so a chunk is all there or not at all and its profiles' counters always match its
//! activities. Each run reserves a range of serial numbers in `crm_seed_runs`: running it again adds a new
//! batch with fresh ids, emails, phones and loyalty ids.

mod dist;
mod generate;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::Utc;
use indicatif::ProgressBar;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::{Mutex, mpsc};
use uuid::Uuid;

pub use dist::{HISTORY_DAYS, RECENT_DAYS};
pub use generate::{Chunk, Generator, Population};

/// Serial numbers end up in phones as nine digits.
const MAX_SERIAL: u64 = 1_000_000_000;
pub const MAX_PROFILES: u64 = 100_000_000;
pub const MAX_ACTIVITIES: u64 = 2_000_000_000;

const COPY_PROFILES: &str = "COPY crm_profiles (id, brand_id, first_name, last_name, email, phone, birthday, \
     locale, country, city, tier, tags, attribute_times, activity_counts, first_activity_at, last_activity_at, \
     lifetime_value, first_seen_at) FROM STDIN";
const COPY_IDENTIFIERS: &str =
    "COPY crm_identifiers (brand_id, kind, value, profile_id, source, added_at) FROM STDIN";
const COPY_CONSENTS: &str = "COPY crm_consents (brand_id, profile_id, channel, purpose, status, source, \
     captured_at) FROM STDIN";
const COPY_HISTORY: &str = "COPY crm_consent_history (brand_id, profile_id, channel, purpose, status, \
     source, captured_at, cause, recorded_at) FROM STDIN";
const COPY_ACTIVITIES: &str = "COPY crm_activities (id, brand_id, profile_id, type, occurred_at, \
     properties, source, received_at) FROM STDIN";

/// What `concierge seed crm` was asked to load.
#[derive(Debug, Clone)]
pub struct Plan {
    pub brand: String,
    pub profiles: u64,
    pub activities: u64,
    pub seed: u64,
    /// Profiles per chunk (one transaction each).
    pub chunk: u64,
    /// Connections loading chunks at the same time.
    pub jobs: usize,
    /// `VACUUM (ANALYZE)` the tables afterwards (hint bits and visibility map set, statistics fresh) rather
    /// than `ANALYZE` only.
    pub vacuum: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    pub run: i64,
    pub first_serial: u64,
    pub profiles: u64,
    pub identifiers: u64,
    pub consents: u64,
    pub activities: u64,
    pub load: Duration,
    pub maintenance: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.load.as_secs_f64().max(1e-9);
        write!(
            f,
            "seed run {}: {} profiles, {} identifiers, {} consents, {} activities loaded in {:.1}s \
             ({:.0} profiles/s, {:.0} activities/s); vacuum/analyze {:.1}s",
            self.run,
            self.profiles,
            self.identifiers,
            self.consents,
            self.activities,
            self.load.as_secs_f64(),
            self.profiles as f64 / secs,
            self.activities as f64 / secs,
            self.maintenance.as_secs_f64()
        )
    }
}

/// Loads the plan into the brand (which must exist), advancing `progress` by profiles loaded.
pub async fn run(pool: &PgPool, plan: &Plan, progress: &ProgressBar) -> anyhow::Result<Report> {
    ensure!(
        (1..=MAX_PROFILES).contains(&plan.profiles),
        "--profiles must be between 1 and {MAX_PROFILES}"
    );
    ensure!(
        plan.activities <= MAX_ACTIVITIES,
        "--activities must be at most {MAX_ACTIVITIES}"
    );
    ensure!(
        plan.chunk >= 1 && plan.jobs >= 1,
        "--chunk and --jobs must be at least 1"
    );
    let seed = i64::try_from(plan.seed).context("--seed must be at most 2^63 - 1")?;
    let brand = crate::brands::find(pool, &plan.brand)
        .await?
        .with_context(|| {
            format!(
                "no brand `{}`: create it first (`concierge seed` creates the demo brands)",
                plan.brand
            )
        })?;
    let mut stores = crate::brands::store_codes(pool, brand.id).await?;
    if stores.is_empty() {
        stores.push("online".to_owned());
    }
    let (run, first_serial) = reserve(pool, brand.id, seed, plan).await?;
    progress.set_length(plan.profiles);

    let started = Instant::now();
    let (sender, receiver) = mpsc::channel::<Chunk>(plan.jobs);
    let population = Population {
        seed: plan.seed,
        profiles: plan.profiles,
        activities: plan.activities,
        first_serial,
        brand_id: brand.id,
        currency: brand.currency,
        stores,
        now: Utc::now(),
    };
    let chunk_size = plan.chunk;
    let generator = tokio::task::spawn_blocking(move || {
        let mut generator = Generator::new(population);
        while let Some(chunk) = generator.next_chunk(chunk_size) {
            if sender.blocking_send(chunk).is_err() {
                break;
            }
        }
    });
    let receiver = Arc::new(Mutex::new(receiver));
    let writers = (0..plan.jobs).map(|_| writer(pool, receiver.clone(), progress));
    let loaded = futures::future::try_join_all(writers).await;
    drop(receiver);
    generator.await.context("the generator thread failed")?;
    let mut report = Report {
        run,
        first_serial,
        ..Report::default()
    };
    for totals in loaded? {
        report.profiles += totals.profiles;
        report.identifiers += totals.identifiers;
        report.consents += totals.consents;
        report.activities += totals.activities;
    }
    report.load = started.elapsed();
    ensure!(
        report.profiles == plan.profiles && report.activities == plan.activities,
        "loaded {} profiles and {} activities, expected {} and {}",
        report.profiles,
        report.activities,
        plan.profiles,
        plan.activities
    );
    sqlx::query!(
        "UPDATE crm_seed_runs SET finished_at = now() WHERE id = $1",
        run
    )
    .execute(pool)
    .await?;

    progress.set_message("vacuum/analyze");
    let started = Instant::now();
    maintain(pool, plan.vacuum).await?;
    report.maintenance = started.elapsed();
    Ok(report)
}

/// Takes the next range of serial numbers; concurrent runs take turns on the table's lock.
async fn reserve(
    pool: &PgPool,
    brand_id: Uuid,
    seed: i64,
    plan: &Plan,
) -> anyhow::Result<(i64, u64)> {
    let mut tx = pool.begin().await?;
    sqlx::raw_sql("LOCK TABLE crm_seed_runs IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query!(
        r#"INSERT INTO crm_seed_runs (brand_id, seed, first_serial, profiles, activities)
           SELECT $1, $2, COALESCE(MAX(first_serial + profiles), 0), $3, $4 FROM crm_seed_runs
           RETURNING id, first_serial"#,
        brand_id,
        seed,
        i64::try_from(plan.profiles)?,
        i64::try_from(plan.activities)?
    )
    .fetch_one(&mut *tx)
    .await?;
    let first_serial = u64::try_from(row.first_serial)?;
    if first_serial + plan.profiles > MAX_SERIAL {
        bail!(
            "this database already holds {first_serial} seeded profiles: at most {MAX_SERIAL} fit"
        );
    }
    tx.commit().await?;
    Ok((row.id, first_serial))
}

async fn writer(
    pool: &PgPool,
    receiver: Arc<Mutex<mpsc::Receiver<Chunk>>>,
    progress: &ProgressBar,
) -> anyhow::Result<Report> {
    let mut totals = Report::default();
    loop {
        let next = receiver.lock().await.recv().await;
        let Some(chunk) = next else {
            return Ok(totals);
        };
        let (profiles, activities) = (chunk.profiles, chunk.activities);
        totals.identifiers += chunk.identifiers;
        totals.consents += chunk.consents;
        write_chunk(pool, chunk).await?;
        totals.profiles += profiles;
        totals.activities += activities;
        progress.inc(profiles);
    }
}

async fn write_chunk(pool: &PgPool, chunk: Chunk) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    // A chunk takes longer than a request may; this transaction only.
    sqlx::raw_sql("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await?;
    copy(&mut tx, COPY_PROFILES, chunk.profile_rows, chunk.profiles).await?;
    copy(
        &mut tx,
        COPY_IDENTIFIERS,
        chunk.identifier_rows,
        chunk.identifiers,
    )
    .await?;
    copy(&mut tx, COPY_CONSENTS, chunk.consent_rows, chunk.consents).await?;
    copy(&mut tx, COPY_HISTORY, chunk.history_rows, chunk.consents).await?;
    copy(
        &mut tx,
        COPY_ACTIVITIES,
        chunk.activity_rows,
        chunk.activities,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn copy(
    conn: &mut PgConnection,
    statement: &str,
    rows: String,
    expected: u64,
) -> anyhow::Result<()> {
    if expected == 0 {
        return Ok(());
    }
    let mut copy = conn.copy_in_raw(statement).await?;
    if let Err(error) = copy.send(rows.into_bytes()).await {
        let _ = copy.abort(error.to_string()).await;
        return Err(error.into());
    }
    let written = copy.finish().await?;
    ensure!(
        written == expected,
        "COPY wrote {written} rows, expected {expected}"
    );
    Ok(())
}

/// Statistics for the planner, and (with `vacuum`) hint bits and the visibility map set now rather than by
/// the first queries that read the rows (index-only scans need the map). VACUUM cannot run in a
/// transaction, so this takes a connection of its own out of the pool, without the statement timeout.
async fn maintain(pool: &PgPool, vacuum: bool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?.detach();
    sqlx::raw_sql("SET statement_timeout = 0")
        .execute(&mut conn)
        .await?;
    let statement = if vacuum {
        "VACUUM (ANALYZE) crm_profiles, crm_identifiers, crm_consents, crm_consent_history, crm_activities"
    } else {
        "ANALYZE crm_profiles, crm_identifiers, crm_consents, crm_consent_history, crm_activities"
    };
    sqlx::raw_sql(statement).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}
