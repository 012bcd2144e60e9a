//! The support context over HTTP, end to end through the real clients against the sandbox.

mod access;
mod cases;
mod comments;
mod exactly_once;
mod failures;

use serde_json::{Value, json};

use crate::helpers::{
    Sandboxed, System, TestApp, customer_linked_to, demo_customer, problem, spawn_sandboxed_app,
    spawn_sandboxed_app_with,
};
use crate::helpers::{get_as as get, token_of};

const DEMO_CASE: &str = "500SBDEMO000001AAA";
const DEMO_ACCOUNT: &str = "001SBDEMO000001AAA";

/// The app and the demo customer's access token.
async fn demo() -> (TestApp, String) {
    let app = spawn_sandboxed_app().await;
    let token = token_of(&demo_customer(&app).await);
    (app, token)
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn new_case(subject: &str) -> Value {
    json!({
        "subject": subject,
        "description": "My invoice shows a roaming charge I did not make.",
        "category": "billing",
        "priority": "high",
    })
}

async fn create_case(app: &TestApp, token: &str, subject: &str) -> Value {
    let response = post(app, token, "/api/v1/support/cases", &new_case(subject)).await;
    assert_eq!(response.status(), 201, "create {subject}");
    response.json().await.unwrap()
}

/// Salesforce back to normal.
async fn clear_faults(app: &TestApp) {
    app.sandbox().clear_faults(System::Salesforce);
    // Let the circuit breaker's cooldown pass.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
}

async fn close_case(app: &TestApp, id: &str) {
    app.salesforce
        .update("Case", id, &json!({ "Status": "Closed" }))
        .await
        .unwrap();
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}
