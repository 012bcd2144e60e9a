//! Campaigns (issue 13 part B): drafts, launch, the freeze, delivery through the send path, reads.
//! The freeze and delivery jobs' bodies are called directly on the test clock (no job runner), except in
//! the one test that runs them through the runner.

mod access;
mod bench;
mod crud;
mod delivery;
mod faults;
mod review_atk13;

use chrono::{TimeZone, Utc};
use concierge::brands::Brand;
use concierge::crm::campaigns::{self, Campaigns, RunEnd};
use serde_json::{Value, json};
use uuid::Uuid;

pub use crate::crm_messages::{brand, consent, profile, sms_template, template_id};
use crate::helpers::{Sandboxed, TestApp, marketer_token, spawn_sandboxed_app_with};

/// The app without the job runner nor provider retries; its clock stopped at noon in Paris (outside quiet
/// hours), the throttle never waiting in-line (a wait ends the run, the test moves the clock).
pub async fn app() -> (TestApp, String) {
    app_with(Sandboxed::new()).await
}

pub async fn app_with(sandboxed: Sandboxed) -> (TestApp, String) {
    let app = spawn_sandboxed_app_with(sandboxed.without_retries().configure(|s| {
        s.crm.campaigns.max_inline_wait_ms = 0;
        s.crm.campaigns.retry_base_ms = 1000;
        // The test pool holds five connections.
        s.crm.campaigns.concurrency = 2;
    }))
    .await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    app.state
        .messages
        .clock()
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap());
    (app, token)
}

pub fn handle(app: &TestApp) -> Campaigns {
    Campaigns::new(&app.state)
}

pub fn phone(i: usize) -> String {
    format!("+336123450{i:02}")
}

/// A profile with a phone and a granted SMS marketing consent.
pub async fn reachable(app: &TestApp, token: &str, i: usize) -> Uuid {
    let id = profile(
        app,
        token,
        "maison",
        json!({ "first_name": format!("P{i}"), "phone": phone(i) }),
    )
    .await;
    consent(app, token, "maison", id, "sms", "marketing", "granted").await;
    id
}

/// A static segment of `brand` with these members.
pub async fn segment(app: &TestApp, token: &str, brand: &str, members: &[Uuid]) -> Uuid {
    let slug = format!("s-{}", &Uuid::now_v7().simple().to_string()[20..]);
    let response = app
        .client
        .post(app.url(&format!("/api/v1/brands/{brand}/crm/segments")))
        .bearer_auth(token)
        .json(&json!({ "slug": slug, "name": "Audience", "kind": "static" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let id: Uuid = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    if !members.is_empty() {
        let response = app
            .client
            .post(app.url(&format!("/api/v1/brands/{brand}/crm/segments/{id}/members")))
            .bearer_auth(token)
            .json(&json!({ "add": members }))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap()
        );
    }
    id
}

pub fn body(segment: Uuid, template: Uuid) -> Value {
    json!({ "name": "Winter preview", "segment_id": segment, "channel": "sms", "purpose": "marketing",
            "template_id": template, "throttle_per_sec": 100.0, "retry_limit": 2 })
}

pub async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Creates a campaign; its id.
pub async fn create(app: &TestApp, token: &str, body: &Value) -> Uuid {
    let response = post(app, token, "/api/v1/brands/maison/crm/campaigns", body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

pub async fn launch(app: &TestApp, token: &str, id: Uuid, key: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/brands/maison/crm/campaigns/{id}/launch")))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .send()
        .await
        .unwrap()
}

pub async fn action(app: &TestApp, token: &str, id: Uuid, what: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/brands/maison/crm/campaigns/{id}/{what}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

pub async fn get(app: &TestApp, token: &str, id: Uuid) -> Value {
    crate::helpers::get_json_as(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/campaigns/{id}"),
    )
    .await
}

/// A launched and frozen campaign of `members` with `body`'s settings (a reachable SMS template).
pub async fn frozen(app: &TestApp, token: &str, members: &[Uuid], tweak: Value) -> (Brand, Uuid) {
    let maison = brand(app, "maison").await;
    let template = template_id(app, token, "maison", &sms_template("marketing")).await;
    let segment = segment(app, token, "maison", members).await;
    let mut body = body(segment, template);
    if let (Some(body), Some(tweak)) = (body.as_object_mut(), tweak.as_object()) {
        body.extend(tweak.clone());
    }
    let id = create(app, token, &body).await;
    let response = launch(app, token, id, &format!("launch-{id}")).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let frozen = campaigns::freeze(&handle(app), &maison, id).await.unwrap();
    assert!(frozen.is_some(), "frozen");
    (maison, id)
}

/// Runs delivery until it completes or stops, moving the clock to each next due time (at most `runs`).
pub async fn deliver_all(app: &TestApp, brand: &Brand, id: Uuid, runs: usize) -> RunEnd {
    let campaigns = handle(app);
    let mut end = RunEnd::Stopped;
    for _ in 0..runs {
        end = campaigns::deliver(&campaigns, brand, id).await.unwrap();
        match end {
            RunEnd::Continue(at) => {
                let clock = app.state.messages.clock();
                if at > clock.now() {
                    clock.set(at);
                }
            }
            _ => return end,
        }
    }
    end
}

/// The recipients of a campaign (first 100) as (profile id, status, reason, attempts).
pub async fn recipients(
    app: &TestApp,
    token: &str,
    id: Uuid,
    query: &str,
) -> Vec<(Uuid, String, Option<String>, i64)> {
    let page = crate::helpers::get_json_as(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/campaigns/{id}/recipients?limit=100{query}"),
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["profile_id"].as_str().unwrap().parse().unwrap(),
                r["status"].as_str().unwrap().to_owned(),
                r["reason"].as_str().map(str::to_owned),
                r["attempts"].as_i64().unwrap(),
            )
        })
        .collect()
}
