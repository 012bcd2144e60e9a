//! Staff accounts for brand-scoped tests: the demo brands and stores (SPEC §7) exist, and a staff member of
//! any role, brand and stores is one call away.

use concierge::auth::{self, NewUser, UserKind};
use reqwest::Method;
use serde_json::{Value, json};

use super::TestApp;

pub const STAFF_PASSWORD: &str = "a-long-and-unusual-staff-passphrase";

/// Creates the demo brands (`mobile`, `maison` with `paris-1` and `tokyo-1`, `atelier` with `milan-1` and
/// `london-1`) when absent.
pub async fn demo_brands(app: &TestApp) {
    concierge::seed::demo_brands(&app.db)
        .await
        .expect("demo brands");
}

/// Creates a staff member (the demo brands first) and signs them in; returns the login response body
/// (`access_token`, `user`). `brand` and `stores` must be demo ones (or created by the test).
pub async fn staff(
    app: &TestApp,
    email: &str,
    role: &str,
    brand: Option<&str>,
    stores: &[&str],
) -> Value {
    demo_brands(app).await;
    let hash = app
        .state
        .auth
        .passwords
        .hash(&STAFF_PASSWORD.to_owned().into())
        .await
        .expect("hash");
    let stores: Vec<String> = stores.iter().map(|store| (*store).to_owned()).collect();
    let mut conn = app.db.acquire().await.expect("connection");
    auth::create_user(
        &mut conn,
        NewUser {
            id: uuid::Uuid::now_v7(),
            email,
            password_hash: &hash,
            first_name: "Sam",
            last_name: "Staff",
            kind: UserKind::Staff,
            roles: &[role.to_owned()],
            brand_id: brand,
            store_ids: &stores,
        },
    )
    .await
    .expect("create staff")
    .expect("email free");
    drop(conn);
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": STAFF_PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 200, "staff login {email}");
    response.json().await.expect("login body")
}

/// The access token of a marketer of `brand`.
pub async fn marketer_token(app: &TestApp, email: &str, brand: &str) -> String {
    super::token_of(&staff(app, email, "marketer", Some(brand), &[]).await)
}

/// The access token of an admin (every brand).
pub async fn admin_token(app: &TestApp, email: &str) -> String {
    super::token_of(&staff(app, email, "admin", None, &[]).await)
}

/// A signed-in portal customer with a verified email (customers are no staff: brand routes refuse them).
pub async fn customer_token(app: &TestApp, email: &str) -> String {
    let hash = app
        .state
        .auth
        .passwords
        .hash(&STAFF_PASSWORD.to_owned().into())
        .await
        .expect("hash");
    let mut conn = app.db.acquire().await.expect("connection");
    auth::create_user(
        &mut conn,
        NewUser {
            id: uuid::Uuid::now_v7(),
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
    .expect("create customer")
    .expect("email free");
    drop(conn);
    sqlx::query("UPDATE users SET email_verified_at = now() WHERE email = $1")
        .bind(email)
        .execute(&app.db)
        .await
        .expect("verify customer");
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": STAFF_PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 200, "customer login {email}");
    super::token_of(&response.json().await.expect("login body"))
}

/// One request as `token` (anonymous when `None`), with an optional JSON body.
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
    request.send().await.expect("request")
}
