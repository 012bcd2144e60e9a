//! The catalog context over HTTP, end to end through the real clients against the sandbox.

mod browsing;
mod caching;
mod sync;

use serde_json::Value;

use crate::helpers::{TestApp, demo_customer};

/// The sandbox's 20 products less the hidden `LEGACY-ADSL` and the inactive `SIM-DATA-1GB`.
pub const PORTAL_PRODUCTS: usize = 18;

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
