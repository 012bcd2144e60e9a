//! The billing context over HTTP, end to end through the real clients against the sandbox.

mod idempotency;
mod invoices;
mod payments;

use reqwest::Response;
use serde_json::Value;

use crate::helpers::{Sandboxed, TestApp, demo_customer, spawn_sandboxed_app_with};
use crate::helpers::{get_as as get, get_json_as as get_json, token_of};

/// An app against its own sandbox, WHMCS calls not retried (so fault tests stay short), and the demo
/// customer's access token (WHMCS client 1: invoices 1001 paid, 1002 overdue, 1003
/// unpaid, 1004 cancelled; a Visa card, pay method 1).
async fn with_demo_customer() -> (TestApp, String) {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let token = token_of(&demo_customer(&app).await);
    (app, token)
}

async fn pay(
    app: &TestApp,
    token: &str,
    invoice: &str,
    key: Option<&str>,
    body: Value,
) -> Response {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/billing/invoices/{invoice}/payments")))
        .bearer_auth(token)
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("request")
}

fn ids(page: &Value) -> Vec<u64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_u64().expect("id"))
        .collect()
}

/// 1003 is due on 2026-12-15: unpaid until then, overdue after.
fn status_of_1003() -> &'static str {
    let due = chrono::NaiveDate::from_ymd_opt(2026, 12, 15).expect("date");
    if chrono::Utc::now().date_naive() > due {
        "overdue"
    } else {
        "unpaid"
    }
}
