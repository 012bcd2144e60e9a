//! The customers context over HTTP, end to end through the real clients against the sandbox: `GET/PATCH
//! /api/v1/me` and the linking of a new customer to WHMCS and Salesforce at registration.

mod linking;
mod profile;
mod update;

use concierge::integrations::whmcs::ClientRef;
use concierge::integrations::whmcs::raw::ClientDetails;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOptions, spawn_app_with};

pub async fn sandbox_app(jobs: bool) -> TestApp {
    spawn_app_with(TestOptions {
        sandbox: true,
        jobs,
        ..Default::default()
    })
    .await
}

fn sandbox_url(app: &TestApp) -> &str {
    &app.sandbox.as_ref().expect("sandbox").url
}

pub async fn inject_fault(app: &TestApp, system: &str, fault: Value) {
    let response = app
        .client
        .put(format!("{}/__sandbox/faults/{system}", sandbox_url(app)))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "fault {system}");
}

pub async fn clear_faults(app: &TestApp, system: &str) {
    let response = app
        .client
        .delete(format!("{}/__sandbox/faults/{system}", sandbox_url(app)))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "clear faults {system}");
}

/// The sandbox's request log for `system`, as `operation` strings.
pub async fn operations(app: &TestApp, system: &str) -> Vec<String> {
    let log: Vec<Value> = app
        .client
        .get(format!(
            "{}/__sandbox/requests?system={system}",
            sandbox_url(app)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.iter()
        .filter_map(|entry| entry["operation"].as_str().map(str::to_owned))
        .collect()
}

/// How many WHMCS API calls of `action` the sandbox saw.
pub async fn whmcs_calls(app: &TestApp, action: &str) -> usize {
    let operation = format!("/includes/api.php {action}");
    operations(app, "whmcs")
        .await
        .iter()
        .filter(|op| **op == operation)
        .count()
}

/// Every record of `object` in the Salesforce sandbox.
pub async fn salesforce_records(app: &TestApp, object: &str) -> Vec<Value> {
    app.client
        .get(format!(
            "{}/__sandbox/salesforce/records/{object}",
            sandbox_url(app)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn salesforce_record(app: &TestApp, object: &str, id: &str) -> Value {
    salesforce_records(app, object)
        .await
        .into_iter()
        .find(|record| record["Id"] == id)
        .unwrap_or_else(|| panic!("{object} {id} in the sandbox"))
}

/// The WHMCS client as the sandbox has it, read through the WHMCS client itself.
pub async fn whmcs_client(app: &TestApp, client: ClientRef<'_>) -> ClientDetails {
    app.state
        .whmcs
        .get_clients_details(client, false)
        .await
        .expect("WHMCS client")
}

pub async fn get_me(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

pub async fn me(app: &TestApp, token: &str) -> Value {
    let response = get_me(app, token).await;
    assert_eq!(response.status(), 200, "GET /me");
    response.json().await.unwrap()
}

pub async fn patch_me(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub fn token(login: &Value) -> String {
    login["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// Registers a new portal customer and signs them in.
pub async fn new_customer(app: &TestApp, email: &str) -> String {
    token(&crate::auth::signed_in(app, email).await)
}

pub fn new_address() -> Value {
    json!({ "line1": "2-4-1 Marunouchi", "line2": "Building 7F", "city": "Chiyoda-ku",
            "state": "Tokyo", "postcode": "1000005", "country": "jp" })
}
