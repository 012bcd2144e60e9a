//! The freeze of a 100,000-recipient audience (`scripts/bench/run campaigns`, ignored in the suite): profiles
//! with phones, half with a granted SMS marketing consent, a tenth denied, a twentieth without a phone, all in
//! one static segment; the freeze's time is printed (target < 2 s).

use std::time::Instant;

use concierge::crm::campaigns;
use serde_json::json;

use super::*;

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
