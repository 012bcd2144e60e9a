//! The orders context over HTTP, end to end against the sandbox: creation (one composite call, idempotency,
//! validation, the customer's pay method), reading, provisioning after approval, and the SSE stream.

mod create;
mod events;
mod provisioning;
mod read;

use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOptions, demo_customer, spawn_app_with};
use crate::helpers::{get_as as get, token_of};

/// An app against its own sandbox, provider calls not retried (so fault tests stay short).
async fn orders_app(jobs: bool) -> TestApp {
    spawn_app_with(TestOptions {
        sandbox: true,
        jobs,
        configure: Box::new(|settings| settings.providers.max_retries = 0),
        ..Default::default()
    })
    .await
}

async fn with_demo_customer(jobs: bool) -> (TestApp, String) {
    let app = orders_app(jobs).await;
    let token = token_of(&demo_customer(&app).await);
    (app, token)
}

fn sandbox_url(app: &TestApp) -> String {
    app.sandbox.as_ref().expect("sandbox").url.clone()
}

/// A physical-SIM data plan and a fibre line.
fn sim_order() -> Value {
    json!({
        "items": [{"sku": "SIM-DATA-20GB", "quantity": 1}],
        "activation": {"type": "immediate"},
        "sim": {"type": "physical"}
    })
}

async fn post_order(app: &TestApp, token: &str, key: Option<&str>, body: &Value) -> Response {
    let mut request = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(token)
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("request")
}

/// Creates an order and returns its JSON.
async fn place(app: &TestApp, token: &str, body: &Value) -> Value {
    let key = uuid::Uuid::new_v4().to_string();
    let response = post_order(app, token, Some(&key), body).await;
    assert_eq!(response.status(), 201, "order created");
    response.json().await.expect("order json")
}

async fn request_log(app: &TestApp, system: &str) -> Vec<Value> {
    reqwest::get(format!(
        "{}/__sandbox/requests?system={system}",
        sandbox_url(app)
    ))
    .await
    .expect("request log")
    .json()
    .await
    .expect("log json")
}

/// How many composite calls Salesforce saw.
async fn composite_calls(app: &TestApp) -> usize {
    request_log(app, "salesforce")
        .await
        .iter()
        .filter(|entry| {
            entry["operation"]
                .as_str()
                .unwrap_or("")
                .trim_end_matches('/')
                .ends_with("/composite")
        })
        .count()
}

async fn inject(app: &TestApp, system: &str, fault: Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/__sandbox/faults/{system}", sandbox_url(app)))
        .json(&fault)
        .send()
        .await
        .expect("fault");
    assert!(response.status().is_success(), "fault accepted");
}

/// The Salesforce Order record as the sandbox holds it.
async fn salesforce_order(app: &TestApp, salesforce_id: &str) -> Value {
    let records: Value = reqwest::get(format!(
        "{}/__sandbox/salesforce/records/Order",
        sandbox_url(app)
    ))
    .await
    .expect("records")
    .json()
    .await
    .expect("records json");
    let list = records
        .as_array()
        .cloned()
        .or_else(|| records["records"].as_array().cloned())
        .unwrap_or_default();
    list.into_iter()
        .find(|record| record["Id"] == salesforce_id)
        .expect("the Salesforce order")
}

async fn salesforce_id_of(app: &TestApp, order_id: &str) -> String {
    let (id,): (String,) =
        sqlx::query_as("SELECT salesforce_order_id FROM orders WHERE id = $1::uuid")
            .bind(order_id)
            .fetch_one(&app.db)
            .await
            .expect("order row");
    id
}
