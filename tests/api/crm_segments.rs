//! Issue 12, segments: the rule language against hand-built profiles, validation and injection, CRUD and
//! versions, refresh diffs, incremental membership, time-based re-evaluation, nesting, static members,
//! history and the outbox, access.

mod access;
mod attributes;
mod command;
mod consent;
mod incremental;
mod lifecycle;
mod lock_order;
mod merge_race;
mod merges;
mod refresh_timeout;
mod review_atk12;
mod rules;
mod upload;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;

pub async fn brand_id(app: &TestApp, slug: &str) -> Uuid {
    crate::helpers::demo_brands(app).await;
    sqlx::query_scalar("SELECT id FROM brands WHERE slug = $1")
        .bind(slug)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// A live profile of the brand with these columns (`crm_profiles` names), written directly.
pub async fn profile(app: &TestApp, brand: Uuid, columns: Value) -> Uuid {
    let id = Uuid::now_v7();
    let mut row = json!({
        "id": id, "brand_id": brand, "tags": [], "custom": {}, "attribute_times": {},
        "activity_counts": {}, "lifetime_value": 0, "first_seen_at": Utc::now(),
        "created_at": Utc::now(), "updated_at": Utc::now(),
    });
    if let (Some(row), Value::Object(columns)) = (row.as_object_mut(), columns) {
        row.extend(columns);
    }
    sqlx::query(
        "INSERT INTO crm_profiles SELECT * FROM jsonb_populate_record(NULL::crm_profiles, $1)",
    )
    .bind(row)
    .execute(&app.db)
    .await
    .unwrap();
    id
}

pub async fn activity(
    app: &TestApp,
    brand: Uuid,
    profile: Uuid,
    kind: &str,
    at: DateTime<Utc>,
    properties: Value,
) {
    sqlx::query(
        "INSERT INTO crm_activities (id, brand_id, profile_id, type, occurred_at, properties, source)
         VALUES ($1, $2, $3, $4, $5, $6, 'test')",
    )
    .bind(Uuid::now_v7())
    .bind(brand)
    .bind(profile)
    .bind(kind)
    .bind(at)
    .bind(properties)
    .execute(&app.db)
    .await
    .unwrap();
}

pub async fn consent(
    app: &TestApp,
    brand: Uuid,
    profile: Uuid,
    status: &str,
    expires_at: Option<DateTime<Utc>>,
) {
    sqlx::query(
        "INSERT INTO crm_consents (brand_id, profile_id, channel, purpose, status, source, captured_at, expires_at)
         VALUES ($1, $2, 'email', 'marketing', $3, 'test', now() - interval '1 day', $4)",
    )
    .bind(brand)
    .bind(profile)
    .bind(status)
    .bind(expires_at)
    .execute(&app.db)
    .await
    .unwrap();
}

/// Sends `body` with `method` to `path` as `token`: (status, body).
pub async fn call(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    call(app, token, reqwest::Method::POST, path, Some(body)).await
}

pub async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    call(app, token, reqwest::Method::GET, path, None).await
}

/// The preview of `rule` in `brand`: (status, body).
pub async fn preview(app: &TestApp, token: &str, brand: &str, rule: &Value) -> (u16, Value) {
    post(
        app,
        token,
        &format!("/api/v1/brands/{brand}/crm/segments/preview"),
        &json!({ "rule": rule }),
    )
    .await
}

/// The ids a preview answered, sorted (a preview's sample holds at most 20).
pub fn sample_ids(answer: &Value) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = answer["sample"]
        .as_array()
        .unwrap_or_else(|| panic!("no sample in {answer}"))
        .iter()
        .map(|p| p["id"].as_str().unwrap().parse().unwrap())
        .collect();
    ids.sort();
    ids
}

/// Creates a segment in `brand`; its body.
pub async fn create(app: &TestApp, token: &str, brand: &str, body: &Value) -> Value {
    let (status, answer) = post(
        app,
        token,
        &format!("/api/v1/brands/{brand}/crm/segments"),
        body,
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    answer
}

/// Refreshes the segment; the report of each refreshed segment.
pub async fn refresh(app: &TestApp, token: &str, brand: &str, id: &str) -> Value {
    let (status, answer) = post(
        app,
        token,
        &format!("/api/v1/brands/{brand}/crm/segments/{id}/refresh"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The segment's member ids, sorted.
pub async fn members(app: &TestApp, segment: &str) -> Vec<Uuid> {
    let id: Uuid = segment.parse().unwrap();
    sqlx::query_scalar(
        "SELECT profile_id FROM crm_segment_members WHERE segment_id = $1 ORDER BY profile_id",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

pub fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}
