//! The people of the clienteling tests and clients made through the API.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, staff, token_of};
pub use crate::helpers::{customer_token, send};

pub const CLIENTS: &str = "/api/v1/brands/maison/clienteling/clients";

/// A signed-in staff member and their user id.
pub struct Person {
    pub token: String,
    pub id: Uuid,
}

pub async fn person(
    app: &TestApp,
    email: &str,
    role: &str,
    brand: Option<&str>,
    stores: &[&str],
) -> Person {
    let login = staff(app, email, role, brand, stores).await;
    Person {
        token: token_of(&login),
        id: login["user"]["id"].as_str().unwrap().parse().unwrap(),
    }
}

pub async fn paris(app: &TestApp) -> Person {
    person(
        app,
        "ca.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await
}

pub async fn tokyo(app: &TestApp) -> Person {
    person(
        app,
        "ca.tokyo@maison.example",
        "client_advisor",
        Some("maison"),
        &["tokyo-1"],
    )
    .await
}

/// Creates a client of `maison` through the API as `token`; returns the body.
pub async fn client(
    app: &TestApp,
    token: &str,
    store: &str,
    first: &str,
    last: &str,
    email: &str,
) -> Value {
    let response = send(
        app,
        Method::POST,
        Some(token),
        CLIENTS,
        Some(json!({
            "attributes": { "first_name": first, "last_name": last, "email": email },
            "store": store,
        })),
    )
    .await;
    assert_eq!(response.status(), 201, "create {email}");
    response.json().await.unwrap()
}

pub fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap().to_owned()
}

pub fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

pub fn code(problem: &Value) -> &str {
    problem["code"].as_str().unwrap_or_default()
}
