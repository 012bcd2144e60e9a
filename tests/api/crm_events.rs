//! Issue 11, events in and activities out: `POST …/crm/events`, the counters, the after-event hooks, the
//! timeline, and the portal's own facts fed through the outbox.

mod access;
mod batched;
mod coalesced;
mod concurrency;
mod hooks;
mod ingest;
mod internal;
mod journey;
mod portal;
mod timeline;
mod validation;

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Posts a batch to `brand`'s events route: (status, body).
pub async fn send(app: &TestApp, token: &str, brand: &str, body: &Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/brands/{brand}/crm/events")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Posts a batch that must be answered 200; the body.
pub async fn ingest(app: &TestApp, token: &str, brand: &str, body: &Value) -> Value {
    let (status, answer) = send(app, token, brand, body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// A `page_view` of `email` with this id, at `at`.
pub fn page_view(id: &str, email: &str, at: &str) -> Value {
    json!({"id": id, "type": "page_view", "occurred_at": at,
           "identifiers": [{"kind": "email", "value": email}],
           "properties": {"url": "https://maison.example/bags"}})
}

/// The statuses of a batch's results, in order.
pub fn statuses(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["status"].as_str().unwrap().to_owned())
        .collect()
}

/// The profile id of result `index`.
pub fn profile_of(answer: &Value, index: usize) -> String {
    answer["results"][index]["profile_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no profile in {}", answer["results"][index]))
        .to_owned()
}

/// The number of activities of the profile.
pub async fn activity_count(app: &TestApp, profile: &str) -> i64 {
    let id: uuid::Uuid = profile.parse().unwrap();
    sqlx::query_scalar("SELECT count(*) FROM crm_activities WHERE profile_id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// The timeline page at `query` (`?limit=…`), as the marketer sees it: (status, body).
pub async fn timeline(
    app: &TestApp,
    token: &str,
    brand: &str,
    profile: &str,
    query: &str,
) -> (u16, Value) {
    let response = crate::helpers::get_as(
        app,
        token,
        &format!("/api/v1/brands/{brand}/crm/profiles/{profile}/activities{query}"),
    )
    .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
