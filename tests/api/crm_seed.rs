//! `concierge seed crm`: synthetic profiles loaded with COPY into the brand asked for, counters that agree
//! with the activities written, a second run adding fresh people, and refusals that write nothing.

use concierge::crm::seed::{Plan, run};
use indicatif::ProgressBar;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestApp, demo_brands, spawn_app};

fn plan(brand: &str, profiles: u64, activities: u64) -> Plan {
    Plan {
        brand: brand.to_owned(),
        profiles,
        activities,
        seed: 11,
        chunk: 70,
        jobs: 2,
        vacuum: true,
    }
}

async fn brand_id(app: &TestApp, slug: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM brands WHERE slug = $1")
        .bind(slug)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn count(db: &PgPool, sql: &str, brand: Uuid) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(brand)
        .fetch_one(db)
        .await
        .unwrap()
}

/// Profiles whose counters disagree with their activities.
async fn inconsistent(db: &PgPool, brand: Uuid) -> i64 {
    count(
        db,
        "WITH per_type AS (
             SELECT profile_id, type, count(*) AS n FROM crm_activities WHERE brand_id = $1
             GROUP BY profile_id, type),
         counts AS (
             SELECT profile_id, jsonb_object_agg(type, n) AS counts FROM per_type GROUP BY profile_id),
         totals AS (
             SELECT profile_id, min(occurred_at) AS f, max(occurred_at) AS l,
                    COALESCE(sum((properties->>'amount')::numeric) FILTER (WHERE type = 'purchase'), 0) AS ltv
             FROM crm_activities WHERE brand_id = $1 GROUP BY profile_id)
         SELECT count(*) FROM crm_profiles p
         LEFT JOIN counts c ON c.profile_id = p.id
         LEFT JOIN totals t ON t.profile_id = p.id
         WHERE p.brand_id = $1
           AND (COALESCE(c.counts, '{}') <> p.activity_counts
                OR t.f IS DISTINCT FROM p.first_activity_at
                OR t.l IS DISTINCT FROM p.last_activity_at
                OR COALESCE(t.ltv, 0) <> p.lifetime_value)",
        brand,
    )
    .await
}

#[tokio::test]
async fn seeding_loads_what_was_asked_with_counters_that_match_the_activities() {
    let app = spawn_app().await;
    demo_brands(&app).await;
    let maison = brand_id(&app, "maison").await;
    let atelier = brand_id(&app, "atelier").await;

    let report = run(&app.db, &plan("maison", 300, 3_100), &ProgressBar::hidden())
        .await
        .unwrap();

    assert_eq!((report.profiles, report.activities), (300, 3_100));
    let db = &app.db;
    let profiles = "SELECT count(*) FROM crm_profiles WHERE brand_id = $1";
    let activities = "SELECT count(*) FROM crm_activities WHERE brand_id = $1";
    assert_eq!(count(db, profiles, maison).await, 300);
    assert_eq!(count(db, activities, maison).await, 3_100);
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM crm_identifiers WHERE brand_id = $1",
            maison
        )
        .await,
        i64::try_from(report.identifiers).unwrap()
    );
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM crm_profiles p WHERE brand_id = $1 AND NOT EXISTS (
                 SELECT 1 FROM crm_identifiers i WHERE i.brand_id = $1 AND i.profile_id = p.id
                 AND i.kind = 'email' AND i.value = p.email)",
            maison
        )
        .await,
        0,
        "every profile is found by its email"
    );
    assert_eq!(inconsistent(db, maison).await, 0);
    assert_eq!(
        count(db, profiles, atelier).await,
        0,
        "only the brand asked for"
    );
    let stores = count(
        db,
        "SELECT count(*) FROM crm_activities WHERE brand_id = $1 AND type = 'purchase'
         AND properties->>'store' NOT IN ('paris-1', 'tokyo-1')",
        maison,
    )
    .await;
    assert_eq!(stores, 0, "purchases name the brand's stores");

    // What was loaded reads back through the CRM's own view.
    let id: Uuid =
        sqlx::query_scalar("SELECT id FROM crm_profiles WHERE brand_id = $1 ORDER BY id LIMIT 1")
            .bind(maison)
            .fetch_one(db)
            .await
            .unwrap();
    let mut conn = db.acquire().await.unwrap();
    let profile = concierge::crm::profile::load(&mut conn, maison, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(profile.brand, "maison");
    assert!(profile.identifiers.iter().any(|i| i.kind == "email"));
    assert!(profile.attributes.tier.is_some());
}

#[tokio::test]
async fn a_second_run_adds_a_fresh_batch_without_colliding() {
    let app = spawn_app().await;
    demo_brands(&app).await;
    let maison = brand_id(&app, "maison").await;
    let first = run(&app.db, &plan("maison", 150, 900), &ProgressBar::hidden())
        .await
        .unwrap();
    // The same seed again: the same people, with new ids, emails, phones and loyalty ids.
    let second = run(&app.db, &plan("maison", 150, 900), &ProgressBar::hidden())
        .await
        .unwrap();

    assert_eq!((first.first_serial, second.first_serial), (0, 150));
    let db = &app.db;
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM crm_profiles WHERE brand_id = $1",
            maison
        )
        .await,
        300
    );
    assert_eq!(
        count(
            db,
            "SELECT count(DISTINCT email) FROM crm_profiles WHERE brand_id = $1",
            maison
        )
        .await,
        300
    );
    assert_eq!(inconsistent(db, maison).await, 0);
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM crm_seed_runs WHERE brand_id = $1 AND finished_at IS NOT NULL",
            maison
        )
        .await,
        2
    );
}

#[tokio::test]
async fn an_unknown_brand_or_an_empty_plan_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    demo_brands(&app).await;

    let unknown = run(&app.db, &plan("nope", 10, 10), &ProgressBar::hidden())
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("no brand `nope`"), "{unknown}");
    let empty = run(&app.db, &plan("maison", 0, 10), &ProgressBar::hidden())
        .await
        .unwrap_err();
    assert!(empty.to_string().contains("--profiles"), "{empty}");
    let no_jobs = Plan {
        jobs: 0,
        ..plan("maison", 10, 10)
    };
    assert!(
        run(&app.db, &no_jobs, &ProgressBar::hidden())
            .await
            .is_err()
    );

    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_seed_runs")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let profiles: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_profiles")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!((runs, profiles), (0, 0));
}

#[tokio::test]
async fn more_activities_than_profiles_or_none_at_all_both_load() {
    let app = spawn_app().await;
    demo_brands(&app).await;
    let atelier = brand_id(&app, "atelier").await;
    let report = run(&app.db, &plan("atelier", 40, 0), &ProgressBar::hidden())
        .await
        .unwrap();
    assert_eq!((report.profiles, report.activities), (40, 0));
    assert_eq!(inconsistent(&app.db, atelier).await, 0);
    assert_eq!(
        count(
            &app.db,
            "SELECT count(*) FROM crm_profiles WHERE brand_id = $1 AND activity_counts = '{}'
             AND first_activity_at IS NULL AND lifetime_value = 0",
            atelier
        )
        .await,
        40
    );
}
