//! Connecting the demo accounts through the API, scheduling posts, waiting for an outcome.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Sandboxed, TestApp, marketer_token, spawn_sandboxed_app_with};

pub const FB_TOKEN: &str = "sandbox-facebook-page-token";
pub const IG_TOKEN: &str = "sandbox-instagram-token";
pub const X_TOKEN: &str = "sandbox-x-access-token";
pub const X_REFRESH: &str = "sandbox-x-refresh-token";
pub const IMAGE: &str = "https://cdn.example.com/spring.jpg";

pub struct Accounts {
    pub facebook: String,
    pub instagram: String,
    pub x: String,
}

pub async fn app() -> TestApp {
    spawn_sandboxed_app_with(Sandboxed::new().jobs()).await
}

pub async fn connect(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/brands/maison/social/accounts"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("connect")
}

pub async fn connect_demo(app: &TestApp, token: &str) -> Accounts {
    let mut ids = Vec::new();
    for body in [
        json!({"network": "facebook", "external_id": "104000000000001", "name": "Maison FB", "access_token": FB_TOKEN}),
        json!({"network": "instagram", "external_id": "17841400000000001", "name": "Maison IG", "access_token": IG_TOKEN}),
        json!({"network": "x", "external_id": "1500000000000000001", "name": "Maison X", "access_token": X_TOKEN, "refresh_token": X_REFRESH, "expires_in": 7200}),
    ] {
        let response = connect(app, token, body).await;
        assert_eq!(response.status(), 201, "connect");
        let account: Value = response.json().await.expect("account");
        ids.push(account["id"].as_str().expect("id").to_owned());
    }
    Accounts {
        facebook: ids[0].clone(),
        instagram: ids[1].clone(),
        x: ids[2].clone(),
    }
}

pub async fn marketer_with_accounts(app: &TestApp) -> (String, Accounts) {
    let token = marketer_token(app, "social.marketer@concierge.test", "maison").await;
    let accounts = connect_demo(app, &token).await;
    (token, accounts)
}

pub async fn create(app: &TestApp, token: &str, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/brands/maison/social/posts"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("create post")
}

pub async fn created(app: &TestApp, token: &str, body: Value) -> Value {
    let response = create(app, token, &uuid::Uuid::new_v4().to_string(), &body).await;
    let status = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).expect("post")
}

pub async fn read(app: &TestApp, token: &str, id: &str) -> Value {
    crate::helpers::get_json_as(
        app,
        token,
        &format!("/api/v1/brands/maison/social/posts/{id}"),
    )
    .await
}

/// Waits until `check` holds for the post.
pub async fn until(
    app: &TestApp,
    token: &str,
    id: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    crate::helpers::eventually(20, what, || async {
        let post = read(app, token, id).await;
        check(&post).then_some(post)
    })
    .await
}

pub fn target<'a>(post: &'a Value, network: &str) -> &'a Value {
    post["targets"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["network"] == network))
        .unwrap_or_else(|| panic!("no {network} target in {post}"))
}

pub fn published(app: &TestApp, network: &str) -> Vec<concierge_sandbox::social::PublishedPost> {
    app.sandbox().state.social.published(network)
}

pub async fn control(app: &TestApp, path: &str, body: Value) {
    let response = app
        .sandbox()
        .control(Method::PUT, path)
        .json(&body)
        .send()
        .await
        .expect("control");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}
