//! The subscriptions context over HTTP, end to end through the real clients against the sandbox.
//!
//! Demo data: the demo customer (WHMCS client 1) has service 501 (SIM Data 20GB, MSISDN 08012345678, 7,340
//! of 20,480 MB used) and 502 (a VPN option, no SIM); Taro (customer 1, WHMCS client 2) has 503.

mod changes;
mod failures;
mod reads;

use reqwest::Response;
use serde_json::Value;

use crate::helpers::{TestApp, TestOptions, demo_customer, spawn_app_with};
use crate::helpers::{get_as as get, get_json_as as get_json, token_of};

/// An app against its own sandbox, provider calls not retried (so fault tests stay short).
async fn subscriptions_app() -> TestApp {
    spawn_app_with(TestOptions {
        sandbox: true,
        configure: Box::new(|settings| settings.providers.max_retries = 0),
        ..Default::default()
    })
    .await
}

/// The app and the demo customer's access token.
async fn with_demo_customer() -> (TestApp, String) {
    let app = subscriptions_app().await;
    let token = token_of(&demo_customer(&app).await);
    (app, token)
}

/// `POST /api/v1/subscriptions/{id}/sim/{action}` with an optional key and body.
async fn post_sim(
    app: &TestApp,
    token: &str,
    id: &str,
    action: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/subscriptions/{id}/sim/{action}")))
        .bearer_auth(token);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

fn sandbox_url(app: &TestApp) -> &str {
    &app.sandbox.as_ref().expect("sandbox").url
}

/// How many Freebit requests had a path containing `fragment`.
async fn freebit_calls(app: &TestApp, fragment: &str) -> usize {
    let log: Vec<Value> = reqwest::get(format!(
        "{}/__sandbox/requests?system=freebit",
        sandbox_url(app)
    ))
    .await
    .expect("request log")
    .json()
    .await
    .expect("log json");
    log.iter()
        .filter(|entry| entry["path"].as_str().unwrap_or("").contains(fragment))
        .count()
}

async fn inject_fault(app: &TestApp, system: &str, fault: Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/__sandbox/faults/{system}", sandbox_url(app)))
        .json(&fault)
        .send()
        .await
        .expect("fault");
    assert_eq!(response.status(), 204, "fault accepted");
}

async fn clear_faults(app: &TestApp, system: &str) {
    let response = reqwest::Client::new()
        .delete(format!("{}/__sandbox/faults/{system}", sandbox_url(app)))
        .send()
        .await
        .expect("clear faults");
    assert!(response.status().is_success(), "faults cleared");
}

/// The audit trail, oldest first: (service id, action, outcome, parameters, provider reference, error).
async fn audit_rows(
    app: &TestApp,
) -> Vec<(i64, String, String, Value, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT service_id, action, outcome, parameters, provider_reference, error
         FROM sim_actions ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .expect("audit rows")
}
