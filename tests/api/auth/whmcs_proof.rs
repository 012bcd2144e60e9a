//! An existing WHMCS customer proves their address at once with their WHMCS password (`ValidateLogin`),
//! instead of waiting for the emailed link.

use concierge_sandbox::demo::CUSTOMERS;
use serde_json::{Value, json};

use super::{PASSWORD, access, login_response};
use crate::helpers::{
    Sandboxed, System, TestApp, eventually, get_as, problem, spawn_sandboxed_app,
    spawn_sandboxed_app_with,
};

async fn prove(app: &TestApp, access_token: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/email/verify/whmcs"))
        .bearer_auth(access_token)
        .json(&json!({ "password": password }))
        .send()
        .await
        .unwrap()
}

/// Registers `email` with the portal password and signs in.
async fn unverified(app: &TestApp, email: &str) -> String {
    let registered = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({ "email": email, "password": PASSWORD, "first_name": "T", "last_name": "S" }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 202);
    let login = login_response(app, email, PASSWORD).await;
    assert_eq!(login.status(), 200);
    access(&login.json().await.unwrap())
}

async fn verified(app: &TestApp, email: &str) -> bool {
    sqlx::query_scalar("SELECT email_verified_at IS NOT NULL FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_whmcs_password_of_the_accounts_email_verifies_it_and_links_the_account() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let taro = &CUSTOMERS[1];
    let token = unverified(&app, taro.email).await;

    let proved = prove(&app, &token, taro.password).await;

    assert_eq!(proved.status(), 204);
    assert!(verified(&app, taro.email).await);
    let profile = eventually(20, "the customer to be linked", || async {
        let response = get_as(&app, &token, "/api/v1/me").await;
        let profile: Value = response.json().await.ok()?;
        (profile["link_status"] == "linked").then_some(profile)
    })
    .await;
    assert_eq!(profile["customer_number"], taro.customer_number);
    let again = prove(&app, &token, taro.password).await;
    assert_eq!(again.status(), 409);
    assert_eq!(problem(again).await["code"], "email-already-verified");
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_password_or_anothers_password_proves_nothing() {
    let app = spawn_sandboxed_app().await;
    let taro = &CUSTOMERS[1];
    let emma = &CUSTOMERS[2];
    let token = unverified(&app, taro.email).await;

    for password in ["not-taros-password", emma.password, PASSWORD, ""] {
        let response = prove(&app, &token, password).await;
        assert_eq!(response.status(), 401, "{password:?}");
        assert_eq!(problem(response).await["code"], "invalid-credentials");
    }

    assert!(!verified(&app, taro.email).await);
    assert_eq!(
        problem(get_as(&app, &token, "/api/v1/me").await).await["code"],
        "email-unverified"
    );
    let anonymous = app
        .client
        .post(app.url("/api/v1/auth/email/verify/whmcs"))
        .json(&json!({ "password": taro.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(!verified(&app, taro.email).await);
}

#[tokio::test]
async fn guesses_are_limited_per_account_before_whmcs_is_asked() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new().configure(|s| s.auth.limits.whmcs_proof.per_account = 2),
    )
    .await;
    let taro = &CUSTOMERS[1];
    let token = unverified(&app, taro.email).await;

    for _ in 0..2 {
        assert_eq!(prove(&app, &token, "a-guess-1234").await.status(), 401);
    }
    let limited = prove(&app, &token, taro.password).await;

    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(problem(limited).await["code"], "rate-limited");
    assert_eq!(app.sandbox().whmcs_calls("ValidateLogin"), 2);
    assert!(!verified(&app, taro.email).await);
}

#[tokio::test]
async fn whmcs_being_down_is_a_clear_problem_and_changes_nothing() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let taro = &CUSTOMERS[1];
    let token = unverified(&app, taro.email).await;
    app.sandbox()
        .inject_fault(System::Whmcs, json!({ "status": 503 }));

    let response = prove(&app, &token, taro.password).await;

    assert_eq!(response.status(), 503);
    problem(response).await;
    assert!(!verified(&app, taro.email).await);
}
