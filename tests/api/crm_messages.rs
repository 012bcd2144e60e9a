//! Messages (issue 13 part A): templates, the send path, delivery receipts and the throttle.

mod caps;
mod lost_answers;
mod receipts;
mod send;
mod templates;
mod throttle;
mod versions;

use concierge::brands::Brand;
use concierge::crm::consent::Purpose;
use concierge::crm::messages::{
    self, Content, MessageChannel, MessageContext, SendOutcome, SendRequest,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;

pub async fn brand(app: &TestApp, slug: &str) -> Brand {
    crate::helpers::demo_brands(app).await;
    concierge::brands::find(&app.db, slug)
        .await
        .unwrap()
        .unwrap()
}

/// A profile of `brand` made through the API, with these attributes and an email identifier.
pub async fn profile(app: &TestApp, token: &str, brand: &str, attributes: Value) -> Uuid {
    let email = format!("p-{}@example.com", Uuid::now_v7().simple());
    let response = app
        .client
        .post(app.url(&format!("/api/v1/brands/{brand}/crm/profiles")))
        .bearer_auth(token)
        .json(&json!({ "identifiers": [{ "kind": "email", "value": email }], "attributes": attributes }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    body["profile"]["id"].as_str().unwrap().parse().unwrap()
}

pub async fn consent(
    app: &TestApp,
    token: &str,
    brand: &str,
    profile: Uuid,
    channel: &str,
    purpose: &str,
    status: &str,
) {
    let response = app
        .client
        .put(app.url(&format!(
            "/api/v1/brands/{brand}/crm/profiles/{profile}/consents/{channel}/{purpose}"
        )))
        .bearer_auth(token)
        .json(&json!({ "status": status, "source": "test" }))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
}

/// Creates a template; the response.
pub async fn create_template(
    app: &TestApp,
    token: &str,
    brand: &str,
    body: &Value,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/brands/{brand}/crm/templates")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

pub async fn template_id(app: &TestApp, token: &str, brand: &str, body: &Value) -> Uuid {
    let response = create_template(app, token, brand, body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().parse().unwrap()
}

pub fn sms_template(purpose: &str) -> Value {
    json!({ "name": "Hello", "channel": "sms", "purpose": purpose, "fallback_language": "en",
            "variants": [{ "language": "en", "body": "Hello {{ profile.first_name }} from {{ brand.name }}" }] })
}

pub fn request(profile: Uuid, template: Uuid, purpose: Purpose, key: &str) -> SendRequest {
    SendRequest {
        profile_id: profile,
        channel: MessageChannel::Sms,
        purpose,
        content: Content::Template {
            id: template,
            version: None,
        },
        idempotency_key: key.to_owned(),
        context: MessageContext::default(),
        language: None,
        exempt_from_cap: false,
    }
}

pub async fn send(app: &TestApp, brand: &Brand, request: &SendRequest) -> SendOutcome {
    messages::send(&app.state.messages, brand, request)
        .await
        .unwrap()
}

/// The types of the profile's activities, newest first.
pub async fn activity_types(
    app: &TestApp,
    token: &str,
    brand: &str,
    profile: Uuid,
) -> Vec<(String, Value)> {
    let body = crate::helpers::get_json_as(
        app,
        token,
        &format!("/api/v1/brands/{brand}/crm/profiles/{profile}/activities"),
    )
    .await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap().to_owned(),
                a["properties"].clone(),
            )
        })
        .collect()
}
