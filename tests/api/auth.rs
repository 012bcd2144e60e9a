//! Auth: registration, login, refresh-token rotation, sessions, passwords, staff administration, tokens.

mod accounts;
mod client_ip;
mod limits;
mod passwords;
mod resend;
mod retention;
mod rotation;
mod throttling;
mod tokens;
mod verification;
mod whmcs_proof;

use concierge::auth::{self, NewUser, UserKind};
use serde_json::{Value, json};

use crate::helpers::{TestApp, get_as};

pub const PASSWORD: &str = "a-long-and-unusual-passphrase";

pub async fn register(app: &TestApp, email: &str) -> Value {
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({ "email": email, "password": PASSWORD, "first_name": "Hanako", "last_name": "Yamada" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "register {email}");
    response.json().await.unwrap()
}

pub async fn login_response(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

/// Registers (if needed) and signs in; returns the token response body.
pub async fn signed_in(app: &TestApp, email: &str) -> Value {
    let response = login_response(app, email, PASSWORD).await;
    if response.status() == 200 {
        return response.json().await.unwrap();
    }
    register(app, email).await;
    let response = login_response(app, email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({ "refresh_token": token }))
        .send()
        .await
        .unwrap()
}

pub async fn get_with(app: &TestApp, path: &str, access_token: &str) -> reqwest::Response {
    get_as(app, access_token, path).await
}

pub fn access(body: &Value) -> String {
    body["access_token"].as_str().unwrap().to_owned()
}

pub fn refresh_token(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

/// An admin created directly in the database (the first admin of a deployment comes from `concierge seed`).
pub async fn admin(app: &TestApp, email: &str) -> Value {
    // Staff an admin creates need their brand and stores to exist.
    crate::helpers::demo_brands(app).await;
    let hash = app
        .state
        .auth
        .passwords
        .hash(&PASSWORD.to_owned().into())
        .await
        .unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    auth::create_user(
        &mut conn,
        NewUser {
            id: uuid::Uuid::now_v7(),
            email,
            password_hash: &hash,
            first_name: "Ada",
            last_name: "Admin",
            kind: UserKind::Staff,
            roles: &["admin".to_owned()],
            brand_id: None,
            store_ids: &[],
        },
    )
    .await
    .unwrap()
    .unwrap();
    let response = login_response(app, email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}
