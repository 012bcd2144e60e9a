//! The catalog context over HTTP, end to end through the real clients against the sandbox.

mod browsing;
mod caching;
mod sync;

use serde_json::Value;

use crate::helpers::{TestApp, demo_customer, get_as, get_json_as, token_of};

/// The sandbox's 20 products less the hidden `LEGACY-ADSL` and the inactive `SIM-DATA-1GB`.
pub const PORTAL_PRODUCTS: usize = 18;

/// The demo customer's access token.
pub async fn customer_token(app: &TestApp) -> String {
    token_of(&demo_customer(app).await)
}

/// `GET path` as `token` (the shared `get_as`, path first).
pub async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    get_as(app, token, path).await
}

/// `GET path` as `token`, asserting 200 and reading the JSON body (the shared `get_json_as`, path first).
pub async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    get_json_as(app, token, path).await
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
