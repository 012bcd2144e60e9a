//! The customers context over HTTP, end to end through the real clients against the sandbox: `GET/PATCH
//! /api/v1/me` and the linking of a verified customer to WHMCS and Salesforce.

mod linking;
mod linking_once;
mod profile;
mod superseded;
mod update;

use concierge::integrations::whmcs::ClientRef;
use concierge::integrations::whmcs::raw::ClientDetails;
use serde_json::{Value, json};

use crate::helpers::TestApp;
pub use crate::helpers::token_of as token;

/// The WHMCS client as the sandbox has it, read through the WHMCS client itself.
pub async fn whmcs_client(app: &TestApp, client: ClientRef<'_>) -> ClientDetails {
    app.whmcs
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

/// Registers a new portal customer, signs them in and verifies their email through the emailed link (which
/// starts linking). Needs a sandboxed app.
pub async fn new_customer(app: &TestApp, email: &str) -> String {
    crate::auth::register(app, email).await;
    token(&crate::helpers::sign_in_verified(app, email, crate::auth::PASSWORD).await)
}

pub fn new_address() -> Value {
    json!({ "line1": "2-4-1 Marunouchi", "line2": "Building 7F", "city": "Chiyoda-ku",
            "state": "Tokyo", "postcode": "1000005", "country": "jp" })
}
