use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use concierge::config::JobSettings;
use concierge::jobs::{self, Job, JobsStatus, Runner};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::helpers::{eventually, fresh_database, test_settings};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AlwaysFails {
    reason: String,
}

impl Job for AlwaysFails {
    const QUEUE: &'static str = "test.always_fails";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FlakyTwice {
    label: String,
}

impl Job for FlakyTwice {
    const QUEUE: &'static str = "test.flaky_twice";
}

struct Harness {
    pool: PgPool,
    settings: JobSettings,
    shutdown: watch::Sender<bool>,
}

async fn harness(max_attempts: u32) -> Harness {
    let database = fresh_database().await;
    let settings = test_settings(&database);
    let pool = PgPool::connect(&crate::helpers::database_url(&database))
        .await
        .unwrap();
    let mut jobs = settings.jobs.clone();
    jobs.max_attempts = max_attempts;
    jobs.poll_interval_ms = 50;
    jobs.backoff_base_ms = 100;
    jobs.backoff_max_ms = 200;
    let (shutdown, _) = watch::channel(false);
    Harness {
        pool,
        settings: jobs,
        shutdown,
    }
}

impl Harness {
    fn runner(&self) -> Runner {
        Runner::new(
            self.pool.clone(),
            self.settings.clone(),
            JobsStatus::new(true),
        )
    }

    async fn enqueue<J: Job>(&self, job: &J) {
        let mut tx = self.pool.begin().await.unwrap();
        jobs::enqueue(&mut tx, &self.settings, job, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn status_of(&self, queue: &str) -> Vec<(String, i32)> {
        sqlx::query_as("SELECT status, attempts FROM apalis.jobs WHERE job_type = $1")
            .bind(queue)
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_failing_job_is_retried_with_back_off_then_left_dead() {
    let harness = harness(3).await;
    let runs = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = Arc::clone(&runs);
    let runner = harness.runner().register(move |job: AlwaysFails, ctx| {
        let recorded = Arc::clone(&recorded);
        async move {
            recorded
                .lock()
                .unwrap()
                .push((ctx.attempt, tokio::time::Instant::now()));
            anyhow::bail!("provider said no: {}", job.reason)
        }
    });
    let running = tokio::spawn(runner.run(harness.shutdown.subscribe()));

    harness
        .enqueue(&AlwaysFails {
            reason: "INVALID_FIELD".into(),
        })
        .await;

    let mut dead = Vec::new();
    for _ in 0..400 {
        dead = jobs::dead_jobs(&harness.pool, AlwaysFails::QUEUE)
            .await
            .unwrap();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows: Vec<(String, i32, i32, String, Option<String>)> = sqlx::query_as(
        "SELECT status, attempts, max_attempts, (run_at - now())::text, lock_by FROM apalis.jobs WHERE job_type = $1",
    )
    .bind(AlwaysFails::QUEUE)
    .fetch_all(&harness.pool)
    .await
    .unwrap();
    assert!(
        !dead.is_empty(),
        "the job never died: {rows:?}, runs {:?}",
        runs.lock().unwrap()
    );
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    let last = dead[0].last_result.as_ref().unwrap().to_string();
    assert!(
        last.contains("INVALID_FIELD"),
        "the failure reason is kept: {last}"
    );

    // Dead means dead: no further runs.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runs = runs.lock().unwrap().clone();
    assert_eq!(
        runs.iter().map(|(attempt, _)| *attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    for pair in runs.windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(
            gap >= Duration::from_millis(50),
            "retries are spaced by the back-off, got {gap:?}"
        );
    }

    harness.shutdown.send(true).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_transient_failure_is_retried_until_the_job_succeeds() {
    let harness = harness(5).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let runner = harness.runner().register(move |_job: FlakyTwice, _ctx| {
        let counter = Arc::clone(&counter);
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) < 2 {
                anyhow::bail!("503 from upstream");
            }
            Ok(())
        }
    });
    let running = tokio::spawn(runner.run(harness.shutdown.subscribe()));

    harness
        .enqueue(&FlakyTwice {
            label: "top-up".into(),
        })
        .await;

    let rows = eventually(20, "the job to succeed", || async {
        let rows = harness.status_of(FlakyTwice::QUEUE).await;
        rows.iter()
            .any(|(status, _)| status == "Done")
            .then_some(rows)
    })
    .await;
    assert_eq!(rows, [("Done".to_owned(), 3)]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    harness.shutdown.send(true).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_never_exists() {
    let harness = harness(3).await;

    let mut tx = harness.pool.begin().await.unwrap();
    jobs::enqueue(
        &mut tx,
        &harness.settings,
        &FlakyTwice {
            label: "ghost".into(),
        },
        None,
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();

    assert!(harness.status_of(FlakyTwice::QUEUE).await.is_empty());
}

#[tokio::test]
async fn workers_keep_processing_after_their_database_connections_are_killed() {
    let harness = harness(5).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let runner = harness.runner().register(move |_job: FlakyTwice, _ctx| {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let running = tokio::spawn(runner.run(harness.shutdown.subscribe()));
    harness
        .enqueue(&FlakyTwice {
            label: "before".into(),
        })
        .await;
    eventually(20, "the first job", || async {
        (calls.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;

    // A database blip: every connection of this database is cut.
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&harness.pool)
        .await
        .unwrap();
    let admin = PgPool::connect(&crate::helpers::admin_database_url())
        .await
        .unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&database)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(!killed.is_empty());
    admin.close().await;

    harness
        .enqueue(&FlakyTwice {
            label: "after".into(),
        })
        .await;
    eventually(30, "the job enqueued after the blip", || async {
        (calls.load(Ordering::SeqCst) >= 2).then_some(())
    })
    .await;

    harness.shutdown.send(true).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_delayed_job_waits_for_its_time() {
    let harness = harness(3).await;

    let mut tx = harness.pool.begin().await.unwrap();
    jobs::enqueue(
        &mut tx,
        &harness.settings,
        &FlakyTwice {
            label: "later".into(),
        },
        Some(Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let due: bool = sqlx::query_scalar(
        "SELECT run_at > now() + interval '59 minutes' FROM apalis.jobs WHERE job_type = $1",
    )
    .bind(FlakyTwice::QUEUE)
    .fetch_one(&harness.pool)
    .await
    .unwrap();
    assert!(due);
}
