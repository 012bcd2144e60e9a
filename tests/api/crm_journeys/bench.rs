//! 10,000 journey enrollments woken at once (`scripts/bench/run journeys`, ignored in the suite): a journey
//! `wait` (one day) → `send` (an SMS through the send path and the messaging stand-in) → end; profiles with a
//! phone and a granted consent, enrolled through `journeys::enroll_now` and taken to their wait by the job
//! runner; then every wait is made due at the same instant (the enrollments' `wake_at` and their delayed
//! `crm-journeys-run` jobs' `run_at`, as if the day had passed) and the runner drains them. Reports the time
//! to drain, the enrollments per second, and per enrollment the wake-up's latency (the due instant → its
//! `waited` step recorded) and the send step's (the `waited` step → the `sent` step).

use std::time::{Duration, Instant};

use concierge::crm::journeys::{self, EnrollProfile};
use serde_json::json;
use uuid::Uuid;

use super::{published, sms};
use crate::crm_messages::brand;
use crate::helpers::{Sandboxed, marketer_token, spawn_sandboxed_app_with};

async fn count(db: &sqlx::PgPool, journey: Uuid, status: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM crm_journey_enrollments WHERE journey_id = $1 AND status = $2",
    )
    .bind(journey)
    .bind(status)
    .fetch_one(db)
    .await
    .unwrap()
}

/// Polls until `want` enrollments of the journey have `status`, for at most `limit`.
async fn until_count(db: &sqlx::PgPool, journey: Uuid, status: &str, want: i64, limit: Duration) {
    let started = Instant::now();
    loop {
        let got = count(db, journey, status).await;
        if got >= want {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{got} of {want} enrollments {status} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[ignore = "a benchmark: scripts/bench/run journeys"]
async fn bench_ten_thousand_enrollments_woken_at_once() {
    let size: i64 = std::env::var("BENCH_ENROLLMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs().without_retries().configure(|s| {
        s.database.max_connections = 20;
        s.crm.journeys.time_scale = 1.0;
        s.crm.messages.quiet_hours_start = "00:00".into();
        s.crm.messages.quiet_hours_end = "00:00".into();
    }))
    .await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand(&app, "maison").await;
    let reminder = sms(&app, &token, "A reminder, {{ profile.first_name }}").await;
    let journey = published(
        &app,
        &token,
        json!({
            "trigger": { "type": "event", "event": "bench_signup" },
            "start": "one-day",
            "steps": [
                { "type": "wait", "id": "one-day", "duration_secs": 86400, "next": "reminder" },
                { "type": "send", "id": "reminder", "template_id": reminder, "channel": "sms",
                  "purpose": "marketing", "next": null }
            ],
            "reentry": { "policy": "once" }
        }),
    )
    .await;
    for statement in [
        "INSERT INTO crm_profiles (id, brand_id, first_name, phone)
         SELECT gen_random_uuid(), $1, 'P' || i, '+3362' || lpad(i::text, 8, '0')
         FROM generate_series(1, $2::bigint) i",
        "INSERT INTO crm_consents (brand_id, profile_id, channel, purpose, status, source, captured_at)
         SELECT brand_id, id, 'sms', 'marketing', 'granted', 'bench', now()
         FROM crm_profiles WHERE brand_id = $1 AND $2::bigint > 0",
    ] {
        sqlx::query(statement)
            .bind(maison.id)
            .bind(size)
            .execute(&app.db)
            .await
            .unwrap();
    }
    let profiles: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM crm_profiles WHERE brand_id = $1 ORDER BY id")
            .bind(maison.id)
            .fetch_all(&app.db)
            .await
            .unwrap();
    let enrolling = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in profiles.chunks(profiles.len().div_ceil(4).max(1)) {
        let (crm, settings, chunk) = (
            app.state.crm.clone(),
            app.state.settings.clone(),
            chunk.to_vec(),
        );
        tasks.spawn(async move {
            for profile_id in chunk {
                let job = EnrollProfile {
                    brand_id: maison.id,
                    journey_id: journey,
                    profile_id,
                    trigger_ref: format!("bench:{profile_id}"),
                };
                journeys::enroll_now(&crm, &settings, &job)
                    .await
                    .unwrap()
                    .unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    until_count(&app.db, journey, "waiting", size, Duration::from_secs(1800)).await;
    eprintln!(
        "enrolled {size} and took them to their wait in {:.1} s",
        enrolling.elapsed().as_secs_f64()
    );

    // The day passes: every wait is due now, together.
    let due: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("UPDATE crm_journey_enrollments SET wake_at = $2 WHERE journey_id = $1 AND status = 'waiting'")
        .bind(journey)
        .bind(due)
        .execute(&mut *tx)
        .await
        .unwrap();
    let moved = sqlx::query(
        "UPDATE apalis.jobs SET run_at = $1 WHERE job_type = 'crm-journeys-run' AND status = 'Pending' AND run_at > $1",
    )
    .bind(due)
    .execute(&mut *tx)
    .await
    .unwrap()
    .rows_affected();
    tx.commit().await.unwrap();
    let woken = Instant::now();
    until_count(
        &app.db,
        journey,
        "completed",
        size,
        Duration::from_secs(3600),
    )
    .await;
    let drained = woken.elapsed();
    let (wake_p50, wake_p99, send_p50, send_p99): (f64, f64, f64, f64) = sqlx::query_as(
        "WITH s AS (
             SELECT e.id,
                    max(st.at) FILTER (WHERE st.outcome = 'waited') AS waited,
                    max(st.at) FILTER (WHERE st.outcome = 'sent') AS sent
             FROM crm_journey_enrollments e JOIN crm_journey_steps st ON st.enrollment_id = e.id
             WHERE e.journey_id = $1 GROUP BY e.id)
         SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM waited - $2))::float8,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM waited - $2))::float8,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent - waited))::float8,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent - waited))::float8
         FROM s",
    )
    .bind(journey)
    .bind(due)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let sent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM crm_messages WHERE brand_id = $1 AND status = 'sent' AND idempotency_key LIKE 'journey:%'",
    )
    .bind(maison.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    eprintln!(
        "BENCH journeys wake: {size} enrollments ({moved} waits made due) drained in {:.1} s, {:.0} enrollments/s; \
         {sent} sent; wake-up p50 {:.0} ms, p99 {:.0} ms after the due instant; send step p50 {:.1} ms, p99 {:.1} ms",
        drained.as_secs_f64(),
        size as f64 / drained.as_secs_f64(),
        wake_p50 * 1000.0,
        wake_p99 * 1000.0,
        send_p50 * 1000.0,
        send_p99 * 1000.0
    );
    assert_eq!(sent, size, "one reminder per enrollment");
}
