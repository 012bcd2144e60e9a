//! Shared plumbing: requests as a marketer, profiles made through the API, rows set up directly, and a full
//! export of the profile store for byte-for-byte comparisons.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;

pub async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

pub async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let response = crate::helpers::get_as(app, token, path).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn code(problem: &Value) -> &str {
    problem["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or("")
}

pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Resolves identifiers (`kind:value`) with attributes; returns (status, body).
pub async fn resolve(
    app: &TestApp,
    token: &str,
    brand: &str,
    identifiers: &[&str],
    attributes: Value,
) -> (u16, Value) {
    let identifiers: Vec<Value> = identifiers
        .iter()
        .map(|pair| {
            let (kind, value) = pair.split_once(':').unwrap();
            json!({ "kind": kind, "value": value })
        })
        .collect();
    post(
        app,
        token,
        &format!("/api/v1/brands/{brand}/crm/profiles"),
        json!({ "attributes": attributes, "identifiers": identifiers }),
    )
    .await
}

pub fn id(body: &Value) -> Uuid {
    body["profile"]["id"].as_str().unwrap().parse().unwrap()
}

pub async fn profile(
    app: &TestApp,
    token: &str,
    brand: &str,
    identifier: &str,
    attributes: Value,
) -> Uuid {
    let (status, body) = resolve(app, token, brand, &[identifier], attributes).await;
    assert_eq!(status, 201, "{body}");
    id(&body)
}

/// Activities, counters and a consent, as the events and consent parts would write them.
pub async fn activity(app: &TestApp, profile: Uuid, kind: &str, days_ago: i32) {
    sqlx::query(
        "INSERT INTO crm_activities (id, brand_id, profile_id, type, occurred_at, properties, event_id, source)
         SELECT $1, brand_id, id, $2, now() - make_interval(days => $3), '{\"n\": 1}', $4, 'test'
         FROM crm_profiles WHERE id = $5",
    )
    .bind(Uuid::now_v7())
    .bind(kind)
    .bind(days_ago)
    .bind(Uuid::now_v7().to_string())
    .bind(profile)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE crm_profiles SET
             activity_counts = activity_counts || jsonb_build_object($2::text,
                 coalesce((activity_counts->>$2)::int, 0) + 1),
             first_activity_at = LEAST(first_activity_at, now() - make_interval(days => $3)),
             last_activity_at = GREATEST(last_activity_at, now() - make_interval(days => $3)),
             lifetime_value = lifetime_value + 10.1234
         WHERE id = $1",
    )
    .bind(profile)
    .bind(kind)
    .bind(days_ago)
    .execute(&app.db)
    .await
    .unwrap();
}

pub async fn consent(app: &TestApp, profile: Uuid, channel: &str, purpose: &str, status: &str) {
    sqlx::query(
        "INSERT INTO crm_consents (brand_id, profile_id, channel, purpose, status, source, actor, captured_at)
         SELECT brand_id, id, $2, $3, $4, 'test', 'tester', now() - interval '1 day' FROM crm_profiles WHERE id = $1",
    )
    .bind(profile)
    .bind(channel)
    .bind(purpose)
    .bind(status)
    .execute(&app.db)
    .await
    .unwrap();
}

/// Every row of the profile store about these profiles (profiles, identifiers, consents, activities), in a
/// fixed order, as JSON.
pub async fn export(app: &TestApp, ids: &[Uuid]) -> Value {
    let mut out = serde_json::Map::new();
    for (name, query) in [
        (
            "profiles",
            "SELECT to_jsonb(t) FROM crm_profiles t WHERE id = ANY($1) ORDER BY id",
        ),
        (
            "identifiers",
            "SELECT to_jsonb(t) FROM crm_identifiers t WHERE profile_id = ANY($1) ORDER BY kind, value",
        ),
        (
            "consents",
            "SELECT to_jsonb(t) FROM crm_consents t WHERE profile_id = ANY($1) ORDER BY profile_id, channel, purpose",
        ),
        (
            "activities",
            "SELECT to_jsonb(t) FROM crm_activities t WHERE profile_id = ANY($1) ORDER BY id",
        ),
    ] {
        let rows: Vec<Value> = sqlx::query_scalar(query)
            .bind(ids)
            .fetch_all(&app.db)
            .await
            .unwrap();
        out.insert(name.into(), Value::from(rows));
    }
    Value::Object(out)
}

/// Every row of every table identity writes, for "writes nothing".
pub async fn everything(app: &TestApp) -> Value {
    let mut out = serde_json::Map::new();
    for table in [
        "crm_profiles",
        "crm_identifiers",
        "crm_consents",
        "crm_consent_history",
        "crm_activities",
        "crm_merges",
        "crm_merge_activities",
        "outbox_events",
    ] {
        // The table names are the constants above.
        let rows: Vec<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT to_jsonb(t) FROM {table} t ORDER BY to_jsonb(t)::text"
        )))
        .fetch_all(&app.db)
        .await
        .unwrap();
        out.insert(table.into(), Value::from(rows));
    }
    Value::Object(out)
}

pub async fn topics(app: &TestApp, topic: &str) -> Vec<Value> {
    sqlx::query_scalar("SELECT payload FROM outbox_events WHERE topic = $1 ORDER BY seq")
        .bind(topic)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

pub async fn merge(
    app: &TestApp,
    token: &str,
    survivor: Uuid,
    absorbed: &[Uuid],
    dry_run: bool,
) -> (u16, Value) {
    post(
        app,
        token,
        "/api/v1/brands/maison/crm/merges",
        json!({ "survivor_id": survivor, "absorbed_ids": absorbed, "dry_run": dry_run }),
    )
    .await
}

pub async fn unmerge(app: &TestApp, token: &str, merge_id: &str, dry_run: bool) -> (u16, Value) {
    post(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/merges/{merge_id}/unmerge"),
        json!({ "dry_run": dry_run }),
    )
    .await
}
