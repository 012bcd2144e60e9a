//! The people of the clienteling tests and clients made through the API.

use concierge::auth::{self, NewUser, UserKind};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{STAFF_PASSWORD, TestApp, staff, token_of};

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

/// A portal customer's token (customers are no staff: every clienteling route refuses them).
pub async fn customer_token(app: &TestApp, email: &str) -> String {
    let hash = app
        .state
        .auth
        .passwords
        .hash(&STAFF_PASSWORD.to_owned().into())
        .await
        .unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    auth::create_user(
        &mut conn,
        NewUser {
            id: Uuid::now_v7(),
            email,
            password_hash: &hash,
            first_name: "Cleo",
            last_name: "Client",
            kind: UserKind::Customer,
            roles: &["customer".to_owned()],
            brand_id: None,
            store_ids: &[],
        },
    )
    .await
    .unwrap()
    .unwrap();
    drop(conn);
    let login: Value = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": STAFF_PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token_of(&login)
}

pub async fn send(
    app: &TestApp,
    method: Method,
    token: Option<&str>,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
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
