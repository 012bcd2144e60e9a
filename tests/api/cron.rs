use std::time::Duration;

use crate::helpers::{TestOptions, fresh_database, spawn_app_with};

/// Two replicas on one database, each running the every-second housekeeping schedule.
#[tokio::test]
async fn a_cron_tick_runs_once_across_two_app_instances() {
    let database = fresh_database().await;
    let replica = |database: &str| TestOptions {
        jobs: true,
        database: Some(database.to_owned()),
        configure: Box::new(|settings| settings.jobs.cron.housekeeping = "* * * * * *".into()),
        ..Default::default()
    };
    let first = spawn_app_with(replica(&database)).await;
    let second = spawn_app_with(replica(&database)).await;

    tokio::time::sleep(Duration::from_millis(3500)).await;
    first.stop().await;
    second.stop().await;

    let pool = sqlx::PgPool::connect(&crate::helpers::database_url(&database))
        .await
        .unwrap();
    let ticks: Vec<(chrono::DateTime<chrono::Utc>, String)> =
        sqlx::query_as("SELECT tick_at, claimed_by FROM cron_ticks WHERE schedule = 'housekeeping' ORDER BY tick_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(
        ticks.len() >= 2,
        "expected several ticks in 3.5 s, got {ticks:?}"
    );
    let jobs: Vec<(String,)> =
        sqlx::query_as("SELECT status FROM apalis.jobs WHERE job_type = 'concierge.housekeeping'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        jobs.len(),
        ticks.len(),
        "one job per tick, not one per replica"
    );
    let mut distinct: Vec<_> = ticks.iter().map(|(tick, _)| *tick).collect();
    distinct.dedup();
    assert_eq!(distinct.len(), ticks.len());
    let done = jobs.iter().filter(|(status,)| status == "Done").count();
    assert!(done >= ticks.len() - 1, "the claimed jobs run: {jobs:?}");
}
