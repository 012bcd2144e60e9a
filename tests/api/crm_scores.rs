//! Issue 12, scores: engagement and churn risk with their reasons, computed on known data under a stopped
//! clock, decay, caps, the crossing rule of `crm.churn.risk.high`, history, rules and who reaches them.

mod access;
mod churn;
mod engagement;
mod merge;
mod nightly;
mod review;
mod rules;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::crm_events::{ingest, profile_of};
use crate::helpers::{TestApp, get_as};

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// Stops the app's scoring clock at `text`.
pub fn clock(app: &TestApp, text: &str) {
    app.state.crm.scores().clock().set(at(text));
}

/// An event of `kind` for `email`.
pub fn event(id: &str, kind: &str, email: &str, when: &str, properties: Value) -> Value {
    json!({"id": id, "type": kind, "occurred_at": when,
           "identifiers": [{"kind": "email", "value": email}], "properties": properties})
}

pub fn purchase(id: &str, email: &str, when: &str, amount: &str) -> Value {
    event(
        id,
        "purchase",
        email,
        when,
        json!({"order_id": id, "amount": amount, "currency": "EUR"}),
    )
}

/// Sends `events` to maison and returns the profile of the first.
pub async fn send(app: &TestApp, token: &str, events: Vec<Value>) -> String {
    let answer = ingest(app, token, "maison", &Value::Array(events)).await;
    for result in answer["results"].as_array().unwrap() {
        assert_eq!(result["status"], "accepted", "{answer}");
    }
    profile_of(&answer, 0)
}

/// `GET …/crm/profiles/{id}/scores` of maison: (status, body).
pub async fn scores(app: &TestApp, token: &str, brand: &str, profile: &str) -> (u16, Value) {
    let response = get_as(
        app,
        token,
        &format!("/api/v1/brands/{brand}/crm/profiles/{profile}/scores"),
    )
    .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The scores object of a maison profile.
pub async fn scores_of(app: &TestApp, token: &str, profile: &str) -> Value {
    let (status, body) = scores(app, token, "maison", profile).await;
    assert_eq!(status, 200, "{body}");
    body["scores"].clone()
}

/// Runs the nightly recomputation now (as of the clock).
pub async fn nightly(app: &TestApp) -> concierge::crm::scores::nightly::Summary {
    concierge::crm::scores::nightly::recompute_all(&app.db, app.state.crm.scores().clock(), 2)
        .await
        .unwrap()
}

/// `PUT …/crm/score-rules`: (status, body).
pub async fn put_rules(app: &TestApp, token: &str, brand: &str, rules: &Value) -> (u16, Value) {
    let response = app
        .client
        .put(app.url(&format!("/api/v1/brands/{brand}/crm/score-rules")))
        .bearer_auth(token)
        .json(rules)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The built-in rules as JSON, for a test to change.
pub fn default_rules() -> Value {
    serde_json::to_value(concierge::crm::scores::rules::Rules::default()).unwrap()
}

/// The `(factor, value, contribution)` of a score's reasons.
pub fn reasons(score: &Value) -> Vec<(String, f64, i64)> {
    score["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["factor"].as_str().unwrap().to_owned(),
                r["value"].as_f64().unwrap(),
                r["contribution"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The `crm.churn.risk.high` payloads recorded for `profile`, oldest first.
pub async fn high_risk_events(app: &TestApp, profile: &str) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT payload FROM outbox_events WHERE topic = 'crm.churn.risk.high' AND aggregate_id = $1
         ORDER BY created_at, id",
    )
    .bind(profile)
    .fetch_all(&app.db)
    .await
    .unwrap()
}
