//! Campaign benchmarks (`scripts/bench/run campaigns`, ignored in the suite). The freeze of a 100,000-recipient
//! audience: profiles with phones, 60% with an SMS marketing consent (a fifth of those denied), a twentieth
//! without a phone, all in one static segment; the freeze's time is printed (target < 2 s). The send rate at a
//! 500/s throttle (target: within 5%), with the per-message latency.

use std::time::Instant;

use concierge::crm::campaigns;
use serde_json::json;

use super::*;
use crate::helpers::{Sandboxed, marketer_token, spawn_sandboxed_app_with};

#[tokio::test]
#[ignore = "a benchmark: scripts/bench/run campaigns"]
async fn bench_freeze_of_a_100k_audience() {
    let size: i64 = std::env::var("BENCH_RECIPIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (app, token) = app().await;
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let audience = segment(&app, &token, "maison", &[]).await;
    let seeded = Instant::now();
    for statement in [
        "INSERT INTO crm_profiles (id, brand_id, first_name, phone)
         SELECT gen_random_uuid(), $1, 'P' || i,
                CASE WHEN i % 20 = 0 THEN NULL ELSE '+3361' || lpad(i::text, 8, '0') END
         FROM generate_series(1, $2::bigint) i",
        "INSERT INTO crm_consents (brand_id, profile_id, channel, purpose, status, source, captured_at)
         SELECT brand_id, id, 'sms', 'marketing', CASE WHEN row_number() OVER () % 5 = 0 THEN 'denied' ELSE 'granted' END,
                'bench', now()
         FROM (SELECT brand_id, id FROM crm_profiles WHERE brand_id = $1 ORDER BY id LIMIT ($2::bigint * 6 / 10)) p",
        "INSERT INTO crm_segment_members (segment_id, profile_id, brand_id, entered_at, version)
         SELECT $3, id, brand_id, now(), 1 FROM crm_profiles WHERE brand_id = $1 AND merged_into IS NULL",
        "ANALYZE crm_profiles",
    ] {
        let mut query = sqlx::query(statement);
        if statement.contains("$1") {
            query = query.bind(maison.id).bind(size);
        }
        if statement.contains("$3") {
            query = query.bind(audience);
        }
        query.execute(&app.db).await.unwrap();
    }
    for statement in [
        "ANALYZE crm_consents",
        "ANALYZE crm_segment_members",
        "ANALYZE crm_identifiers",
    ] {
        sqlx::query(statement).execute(&app.db).await.unwrap();
    }
    eprintln!("seeded {size} members in {:?}", seeded.elapsed());
    let mut body = body(audience, template);
    body["throttle_per_sec"] = json!(500.0);
    let id = create(&app, &token, &body).await;
    assert_eq!(launch(&app, &token, id, "bench").await.status(), 200);
    let started = Instant::now();
    let frozen = campaigns::freeze(&handle(&app), &maison, id)
        .await
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    let counts = get(&app, &token, id).await["counts"].clone();
    eprintln!(
        "BENCH campaign freeze: {} recipients ({} queued, {} suppressed) in {} ms; counts {counts}",
        frozen.queued + frozen.suppressed,
        frozen.queued,
        frozen.suppressed,
        took.as_millis()
    );
    assert_eq!(
        i64::try_from(frozen.queued + frozen.suppressed).unwrap(),
        size
    );
}

/// Sending at a campaign throttle of 500 messages/s (`scripts/bench/run campaigns`, ignored in the suite):
/// `BENCH_SEND_MESSAGES` (default 5,000) reachable members of a static segment, delivered by the real
/// delivery run (`crm::campaigns::deliver`, repeated until completed) through the send path and the
/// messaging stand-in, on the real clock and the shared Redis bucket. The rate is the ledger's: messages sent
/// over the span of their `sent_at`; the per-message latency is the ledger row's reservation to the
/// provider's answer (`created_at` → `sent_at`). Quiet hours are off (the machine's hour would defer them).
#[tokio::test]
#[ignore = "a benchmark: scripts/bench/run campaigns"]
async fn bench_send_rate_at_a_500_per_second_throttle() {
    let size: i64 = std::env::var("BENCH_SEND_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let rate: f64 = std::env::var("BENCH_SEND_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500.0);
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries().configure(|s| {
        s.database.max_connections = 40;
        s.crm.campaigns.concurrency = 32;
        s.crm.campaigns.batch_size = 500;
        s.crm.messages.quiet_hours_start = "00:00".into();
        s.crm.messages.quiet_hours_end = "00:00".into();
    }))
    .await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let audience = segment(&app, &token, "maison", &[]).await;
    for statement in [
        "INSERT INTO crm_profiles (id, brand_id, first_name, phone)
         SELECT gen_random_uuid(), $1, 'P' || i, '+3361' || lpad(i::text, 8, '0')
         FROM generate_series(1, $2::bigint) i",
        "INSERT INTO crm_consents (brand_id, profile_id, channel, purpose, status, source, captured_at)
         SELECT brand_id, id, 'sms', 'marketing', 'granted', 'bench', now()
         FROM crm_profiles WHERE brand_id = $1 AND $2::bigint > 0",
        "INSERT INTO crm_segment_members (segment_id, profile_id, brand_id, entered_at, version)
         SELECT $3, id, brand_id, now(), 1 FROM crm_profiles WHERE brand_id = $1 AND $2::bigint > 0",
    ] {
        let mut query = sqlx::query(statement).bind(maison.id).bind(size);
        if statement.contains("$3") {
            query = query.bind(audience);
        }
        query.execute(&app.db).await.unwrap();
    }
    for table in ["crm_profiles", "crm_consents", "crm_segment_members"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}")))
            .execute(&app.db)
            .await
            .unwrap();
    }
    let mut body = body(audience, template);
    body["throttle_per_sec"] = json!(rate);
    body["retry_limit"] = json!(0);
    let id = create(&app, &token, &body).await;
    assert_eq!(launch(&app, &token, id, "bench-send").await.status(), 200);
    let c = handle(&app);
    campaigns::freeze(&c, &maison, id).await.unwrap().unwrap();
    let started = Instant::now();
    let mut runs = 0;
    loop {
        runs += 1;
        match campaigns::deliver(&c, &maison, id).await.unwrap() {
            RunEnd::Completed | RunEnd::Stopped => break,
            RunEnd::Continue(at) => {
                if let Ok(wait) = (at - chrono::Utc::now()).to_std() {
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
    let took = started.elapsed();
    let row = sqlx::query_as::<_, (i64, f64, f64, f64)>(
        "SELECT count(*),
                extract(epoch FROM max(sent_at) - min(sent_at))::float8,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at))::float8,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at))::float8
         FROM crm_messages WHERE brand_id = $1 AND status = 'sent' AND idempotency_key LIKE $2",
    )
    .bind(maison.id)
    .bind(format!("campaign:{id}:%"))
    .fetch_one(&app.db)
    .await
    .unwrap();
    let (sent, span, p50, p99) = row;
    let achieved = if span > 0.0 {
        (sent - 1) as f64 / span
    } else {
        0.0
    };
    let counts = get(&app, &token, id).await["counts"].clone();
    eprintln!(
        "BENCH campaign send: {sent} of {size} sent in {:.1} s ({runs} runs); achieved {achieved:.1}/s at a \
         throttle of {rate}/s ({:+.1}%); per message p50 {:.1} ms, p99 {:.1} ms; counts {counts}",
        took.as_secs_f64(),
        (achieved / rate - 1.0) * 100.0,
        p50 * 1000.0,
        p99 * 1000.0
    );
    assert_eq!(sent, size, "every member sent once");
}
