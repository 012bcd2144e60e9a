//! Journeys (issue 13 part C): definitions, versions, enrollments, dry-runs.

mod access;
mod bench;
mod paths;
mod review_atk13;
mod runs;

use chrono::{TimeZone, Utc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::crm_messages::{consent, sms_template, template_id};
use crate::helpers::{TestApp, get_json_as};

pub const PHONE_PREFIX: &str = "+3361234";

/// Noon in Paris for the send path: outside quiet hours.
pub fn noon(app: &TestApp) {
    app.state
        .messages
        .clock()
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap());
}

pub fn database_of(app: &TestApp) -> String {
    let url = app.state.settings.database.url.expose_secret().to_owned();
    url.rsplit_once('/').unwrap().1.to_owned()
}

/// A profile with a phone that said yes to marketing SMS: (id, email, phone).
pub async fn reachable(app: &TestApp, token: &str, n: u32) -> (Uuid, String, String) {
    let email = format!("j-{}@example.com", Uuid::now_v7().simple());
    let phone = format!("{PHONE_PREFIX}{n:04}");
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/profiles"))
        .bearer_auth(token)
        .json(
            &json!({ "identifiers": [{ "kind": "email", "value": email }],
                       "attributes": { "first_name": "Zoé", "phone": phone } }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    let id = body["profile"]["id"].as_str().unwrap().parse().unwrap();
    consent(app, token, "maison", id, "sms", "marketing", "granted").await;
    (id, email, phone)
}

pub async fn sms(app: &TestApp, token: &str, body: &str) -> Uuid {
    let mut template = sms_template("marketing");
    template["variants"][0]["body"] = json!(body);
    template_id(app, token, "maison", &template).await
}

/// The welcome / two days / reminder journey on `signup`.
pub fn welcome(welcome: Uuid, reminder: Uuid, wait_secs: u64) -> Value {
    json!({
        "trigger": { "type": "event", "event": "signup" },
        "start": "welcome",
        "steps": [
            { "type": "send", "id": "welcome", "template_id": welcome, "channel": "sms", "purpose": "marketing", "next": "two-days" },
            { "type": "wait", "id": "two-days", "duration_secs": wait_secs, "next": "reminder" },
            { "type": "send", "id": "reminder", "template_id": reminder, "channel": "sms", "purpose": "marketing", "next": null }
        ],
        "exit": { "events": ["purchase"] },
        "reentry": { "policy": "once" }
    })
}

pub async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Creates and publishes a journey of maison; its id.
pub async fn published(app: &TestApp, token: &str, definition: Value) -> Uuid {
    let (status, body) = post(
        app,
        token,
        "/api/v1/brands/maison/crm/journeys",
        &json!({ "name": "Welcome", "definition": definition }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
    let (status, body) = post(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/journeys/{id}/publish"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    id
}

/// Posts a `signup` (or another type) event for the profile with this email.
pub async fn event(app: &TestApp, token: &str, kind: &str, email: &str, properties: Value) {
    let (status, body) = post(
        app,
        token,
        "/api/v1/brands/maison/crm/events",
        &json!([{ "id": format!("{kind}-{}", Uuid::now_v7()), "type": kind,
                  "occurred_at": Utc::now().to_rfc3339(),
                  "identifiers": [{ "kind": "email", "value": email }], "properties": properties }]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["status"], "accepted", "{body}");
}

pub async fn enrollments(app: &TestApp, token: &str, journey: Uuid) -> Vec<Value> {
    let page = get_json_as(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/journeys/{journey}/enrollments"),
    )
    .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// The enrollment with its steps.
pub async fn enrollment(app: &TestApp, token: &str, id: &str) -> Value {
    get_json_as(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/enrollments/{id}"),
    )
    .await
}

/// The path taken: (step id, outcome) in order.
pub fn path(detail: &Value) -> Vec<(String, String)> {
    detail["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step_id"].as_str().unwrap().to_owned(),
                s["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
