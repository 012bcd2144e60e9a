//! What the enrichment, mirror and CRM-activity tests share: logging and editing interactions through the
//! API, and running the jobs that follow a write by hand (the runner runs the same functions).

use concierge::clienteling::interactions::enrich::{self, Enrich};
use concierge::clienteling::interactions::mirror::{self, Mirror};
use concierge::jobs::JobContext;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fixtures::{CLIENTS, send};
use crate::helpers::TestApp;

pub const INTERACTIONS: &str = "/api/v1/brands/maison/clienteling/interactions";

pub async fn brand_id(app: &TestApp, slug: &str) -> Uuid {
    concierge::brands::find(&app.db, slug)
        .await
        .unwrap()
        .unwrap()
        .id
}

pub fn attempt(attempt: usize) -> JobContext {
    JobContext {
        task_id: format!("test-{attempt}"),
        attempt,
        max_attempts: 5,
    }
}

/// Logs an interaction for `client`; answers its body.
pub async fn log(app: &TestApp, token: &str, client: &str, body: Value) -> Value {
    let response = send(
        app,
        Method::POST,
        Some(token),
        &format!("{CLIENTS}/{client}/interactions"),
        Some(body),
    )
    .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

pub async fn write(
    app: &TestApp,
    method: Method,
    token: &str,
    id: &str,
    etag: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, app.url(&format!("{INTERACTIONS}/{id}")))
        .bearer_auth(token)
        .header("If-Match", etag);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

pub async fn read(app: &TestApp, token: &str, id: &str) -> Value {
    crate::helpers::get_json_as(app, token, &format!("{INTERACTIONS}/{id}")).await
}

pub async fn history_kinds(app: &TestApp, token: &str, id: &str) -> Vec<String> {
    let history =
        crate::helpers::get_json_as(app, token, &format!("{INTERACTIONS}/{id}/history")).await;
    history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn run_enrich(
    app: &TestApp,
    brand: &str,
    id: &str,
    version: i32,
    attempt_number: usize,
) -> anyhow::Result<()> {
    let job = Enrich {
        brand_id: brand_id(app, brand).await,
        brand: brand.to_owned(),
        interaction_id: id.parse().unwrap(),
        version,
    };
    enrich::run(app.state.clienteling.clone(), job, attempt(attempt_number)).await
}

pub async fn run_mirror(
    app: &TestApp,
    id: &str,
    version: i32,
    attempt_number: usize,
) -> anyhow::Result<()> {
    let job = Mirror {
        brand_id: brand_id(app, "maison").await,
        interaction_id: id.parse().unwrap(),
        version,
    };
    mirror::run(app.state.clienteling.clone(), job, attempt(attempt_number)).await
}

pub fn share() -> Value {
    json!({
        "channel": "whatsapp", "context": "product_share", "subject": "The new bags",
        "note": "She loved the green one.",
        "metadata": { "skus": ["MSN-BAG-001", "MSN-SCF-002"], "message": "Thought of you" }
    })
}
