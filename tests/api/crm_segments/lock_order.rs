//! A change that re-evaluates segments holds its profile while it waits for a segment's lock; a refresh
//! holding that lock exclusively inserts members, whose foreign key share-locks the profile's key. The
//! change's profile lock must not block that (`FOR NO KEY UPDATE`), or the two deadlock.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use sqlx::Connection;
use uuid::Uuid;

use super::merges::{ingest, page_view, purchase};
use super::{brand_id, call, create, members, post};
use crate::helpers::{TestApp, eventually, marketer_token, spawn_app};

/// Takes the segment's membership lock exclusively, as a refresh does, before the request is sent.
async fn hold(app: &TestApp, segment: &str) -> sqlx::PgConnection {
    let mut conn = sqlx::PgConnection::connect_with(&app.db.connect_options())
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 12))")
        .bind(segment.parse::<Uuid>().unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

/// Once a request waits for the lock `conn` holds, inserts `profile` as a member of the segment (the
/// refresh's write), then rolls back.
async fn refresh_write(
    app: &TestApp,
    mut conn: sqlx::PgConnection,
    segment: &str,
    brand: Uuid,
    profile: Uuid,
) {
    // Generous: on a loaded machine the request may take long to get there.
    eventually(90, "the request waits for the segment's lock", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        (waiting > 0).then_some(())
    })
    .await;
    sqlx::query("SET LOCAL lock_timeout = '5s'")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO crm_segment_members (segment_id, profile_id, brand_id, entered_at, version)
         VALUES ($1, $2, $3, now(), 1)",
    )
    .bind(segment.parse::<Uuid>().unwrap())
    .bind(profile)
    .bind(brand)
    .execute(&mut conn)
    .await
    .expect("the refresh's insert is not blocked by the change's profile lock");
    sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
}

#[tokio::test]
async fn a_patch_waiting_for_a_refresh_does_not_deadlock_with_it() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let brand = brand_id(&app, "maison").await;
    let gold = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "gold", "name": "Gold",
        "rule": {"attribute": "tier", "op": "eq", "value": "gold"}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let jane = ingest(&app, &token, json!([page_view("j1", "l7")])).await;
    let body = json!({"attributes": {"tier": "gold"}});
    let path = format!("/api/v1/brands/maison/crm/profiles/{jane}");
    let held = hold(&app, &gold).await;
    let patch = call(&app, &token, Method::PATCH, &path, Some(&body));
    let ((status, answer), ()) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(patch, refresh_write(&app, held, &gold, brand, jane))
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(members(&app, &gold).await, vec![jane]);
}

#[tokio::test]
async fn a_merge_waiting_for_a_refresh_does_not_deadlock_with_it() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let brand = brand_id(&app, "maison").await;
    let buyers = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "buyers", "name": "Buyers",
        "rule": {"activity": "purchase"}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let absorbed = ingest(&app, &token, json!([purchase("a1", "ann@example.com")])).await;
    let survivor = ingest(&app, &token, json!([page_view("b1", "l1")])).await;
    let body = json!({"survivor_id": survivor, "absorbed_ids": [absorbed]});
    let held = hold(&app, &buyers).await;
    let merge = post(&app, &token, "/api/v1/brands/maison/crm/merges", &body);
    let ((status, answer), ()) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(merge, refresh_write(&app, held, &buyers, brand, survivor))
    })
    .await
    .unwrap();
    assert_eq!(status, 201, "{answer}");
    assert_eq!(members(&app, &buyers).await, vec![survivor]);
}

#[tokio::test]
async fn an_event_waiting_for_a_refresh_does_not_deadlock_with_it() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let brand = brand_id(&app, "maison").await;
    let visitors = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "visitors", "name": "Visitors",
        "rule": {"activity": "page_view", "count": {"gte": 2}}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let jane = ingest(&app, &token, json!([page_view("v1", "l9")])).await;
    assert!(members(&app, &visitors).await.is_empty());
    // The event matches jane, whose row the batch locks before its hooks wait for the segment's lock.
    let body = json!([page_view("v2", "l9")]);
    let held = hold(&app, &visitors).await;
    let event = post(&app, &token, "/api/v1/brands/maison/crm/events", &body);
    let ((status, answer), ()) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(event, refresh_write(&app, held, &visitors, brand, jane))
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    assert_eq!(members(&app, &visitors).await, vec![jane]);
}

#[tokio::test]
async fn a_resolve_waiting_for_a_refresh_does_not_deadlock_with_it() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let brand = brand_id(&app, "maison").await;
    let gold = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "gold", "name": "Gold",
        "rule": {"attribute": "tier", "op": "eq", "value": "gold"}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let jane = ingest(&app, &token, json!([page_view("r1", "l8")])).await;
    // Resolving jane's identifier locks her row, sets the tier, then re-evaluates the segment.
    let body = json!({"attributes": {"tier": "gold"},
                      "identifiers": [{"kind": "loyalty_id", "value": "l8"}]});
    let held = hold(&app, &gold).await;
    let resolve = post(&app, &token, "/api/v1/brands/maison/crm/profiles", &body);
    let ((status, answer), ()) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(resolve, refresh_write(&app, held, &gold, brand, jane))
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"]["kind"], "matched", "{answer}");
    assert_eq!(members(&app, &gold).await, vec![jane]);
}
