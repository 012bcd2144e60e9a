//! The subscriptions context over HTTP, end to end through the real clients against the sandbox.
//!
//! Demo data: the demo customer (WHMCS client 1) has service 501 (SIM Data 20GB, MSISDN 08012345678, 7,340
//! of 20,480 MB used) and 502 (a VPN option, no SIM); Taro (customer 1, WHMCS client 2) has 503.

mod changes;
mod failures;
mod plans;
mod reads;
mod repeats;
mod suspension;
mod top_ups;

use reqwest::Response;
use serde_json::Value;

use crate::helpers::{Sandboxed, TestApp, demo_customer, spawn_sandboxed_app_with};
use crate::helpers::{get_as as get, get_json_as as get_json, token_of};

/// An app against its own sandbox, with the job runner (top-ups are completed by a job), provider calls not
/// retried (so fault tests stay short), and the demo customer's access token.
async fn with_demo_customer() -> (TestApp, String) {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs().without_retries()).await;
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
