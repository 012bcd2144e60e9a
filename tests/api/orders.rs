//! The orders context over HTTP, end to end against the sandbox: creation (one composite call, idempotency,
//! validation, the customer's pay method), reading, provisioning after approval, and the SSE stream.

mod create;
mod esim;
mod events;
mod exactly_once;
mod provisioning;
mod read;
mod streams;

use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{Sandboxed, System, TestApp, demo_customer, spawn_sandboxed_app_with};
use crate::helpers::{get_as as get, token_of};

/// An app against its own sandbox, provider calls not retried (so fault tests stay short), and the demo
/// customer's access token.
async fn with_demo_customer() -> (TestApp, String) {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let token = token_of(&demo_customer(&app).await);
    (app, token)
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

/// How many composite calls Salesforce saw.
fn composite_calls(app: &TestApp) -> usize {
    app.sandbox().count(System::Salesforce, |request| {
        request
            .operation
            .trim_end_matches('/')
            .ends_with("/composite")
    })
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
