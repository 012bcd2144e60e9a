//! The catalog context over HTTP, end to end through the real clients against the sandbox.

mod browsing;
mod caching;
mod sync;

use serde_json::Value;

use crate::helpers::{TestApp, TestOptions, demo_customer, spawn_app_with};

/// The sandbox's 20 products less the hidden `LEGACY-ADSL` and the inactive `SIM-DATA-1GB`.
pub const PORTAL_PRODUCTS: usize = 18;

pub async fn catalog_app() -> TestApp {
    catalog_app_with(|_| {}).await
}

pub async fn catalog_app_with(
    configure: impl FnOnce(&mut concierge::config::Settings) + 'static,
) -> TestApp {
    spawn_app_with(TestOptions {
        sandbox: true,
        configure: Box::new(configure),
        ..Default::default()
    })
    .await
}

/// The demo customer's access token.
pub async fn customer_token(app: &TestApp) -> String {
    demo_customer(app).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

pub async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    let response = get(app, path, token).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

/// SOQL queries (first pages and next pages) Salesforce has received so far.
pub async fn salesforce_queries(app: &TestApp) -> usize {
    let sandbox = app.sandbox.as_ref().unwrap();
    let log: Vec<Value> = app
        .client
        .get(format!(
            "{}/__sandbox/requests?system=salesforce",
            sandbox.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.iter()
        .filter(|entry| entry["operation"].as_str().unwrap_or("").contains("/query"))
        .count()
}

/// Injects a Salesforce fault (`{"status":503}`, `{"malformed":true}`, …).
pub async fn salesforce_fault(app: &TestApp, fault: Value) {
    let sandbox = app.sandbox.as_ref().unwrap();
    let response = app
        .client
        .put(format!("{}/__sandbox/faults/salesforce", sandbox.url))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "fault accepted");
}

pub async fn clear_salesforce_faults(app: &TestApp) {
    let sandbox = app.sandbox.as_ref().unwrap();
    app.client
        .delete(format!("{}/__sandbox/faults/salesforce", sandbox.url))
        .send()
        .await
        .unwrap();
}

pub fn skus(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["sku"].as_str().unwrap().to_owned())
        .collect()
}

/// Whether any object key anywhere in `value` mentions WHMCS.
pub fn mentions_whmcs(value: &Value) -> bool {
    match value {
        Value::Object(fields) => fields.iter().any(|(key, value)| {
            key.to_ascii_lowercase().contains("whmcs") || mentions_whmcs(value)
        }),
        Value::Array(items) => items.iter().any(mentions_whmcs),
        _ => false,
    }
}
