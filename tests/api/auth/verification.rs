//! Proof before linking: register answers alike for new and taken addresses, the account proves control of
//! its email with a single-use link used while signed in, and only then is it linked, and only to records
//! whose own email is the verified one.

use concierge_sandbox::demo::CUSTOMERS;
use serde_json::{Value, json};

use super::resend::resend;
use super::{PASSWORD, access, login_response, register, signed_in};
use crate::helpers::{
    Sandboxed, TestApp, eventually, get_as, post_verification, problem, sign_in_verified,
    spawn_sandboxed_app, spawn_sandboxed_app_with, verification_token_sent_to,
};

async fn register_with(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({ "email": email, "password": password, "first_name": "Mallory", "last_name": "Example" }))
        .send()
        .await
        .unwrap()
}

/// `(users.email_verified_at IS NOT NULL, customer_links.status)` of the account.
async fn state_of(app: &TestApp, email: &str) -> (bool, Option<String>) {
    sqlx::query_as(
        "SELECT u.email_verified_at IS NOT NULL, l.status
         FROM users u LEFT JOIN customer_links l ON l.user_id = u.id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn link_row(app: &TestApp, email: &str) -> (String, Option<i64>, Option<String>) {
    sqlx::query_as(
        "SELECT l.status, l.whmcs_client_id, l.salesforce_contact_id
         FROM customer_links l JOIN users u ON u.id = l.user_id WHERE u.email = $1",
    )
    .bind(email)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

fn templates(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| m["template"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn registering_a_known_customers_email_gives_no_access_to_their_records() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let taro = &CUSTOMERS[1];

    let registered = register_with(&app, taro.email, "whatever-the-attacker-likes").await;
    assert_eq!(registered.status(), 202);
    let login = login_response(&app, taro.email, "whatever-the-attacker-likes").await;
    assert_eq!(login.status(), 200, "an unverified account can sign in");
    let token = access(&login.json().await.unwrap());

    for path in [
        "/api/v1/me",
        "/api/v1/billing/invoices",
        "/api/v1/subscriptions",
    ] {
        let response = get_as(&app, &token, path).await;
        assert_eq!(response.status(), 409, "{path}");
        let body = problem(response).await;
        assert_eq!(body["code"], "email-unverified", "{path}");
        let text = body.to_string();
        assert!(
            !text.contains(taro.phone) && !text.contains(taro.city),
            "{path}: {text}"
        );
    }
    // The verification email went out (without the name the registrant chose), and nothing was looked up in
    // or linked to WHMCS or Salesforce.
    verification_token_sent_to(&app, taro.email).await;
    let sent = app.sandbox().messages_to(taro.email).await;
    assert!(
        sent.iter()
            .all(|m| !m["body"].as_str().unwrap_or_default().contains("Mallory")),
        "{sent:?}"
    );
    assert_eq!(app.sandbox().whmcs_calls("GetClientsDetails"), 0);
    assert_eq!(app.sandbox().salesforce_queries(), 0);
    assert_eq!(
        state_of(&app, taro.email).await,
        (false, Some("unverified".to_owned()))
    );
    app.stop().await;
}

#[tokio::test]
async fn after_verification_the_account_is_linked_and_sees_its_data() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let taro = &CUSTOMERS[1];
    assert_eq!(
        register_with(&app, taro.email, PASSWORD).await.status(),
        202
    );

    let login = sign_in_verified(&app, taro.email, PASSWORD).await;
    let token = access(&login);

    let profile = eventually(20, "the verified customer to be linked", || async {
        let response = get_as(&app, &token, "/api/v1/me").await;
        if response.status() != 200 {
            return None;
        }
        let profile: Value = response.json().await.unwrap();
        (profile["link_status"] == "linked").then_some(profile)
    })
    .await;
    assert_eq!(profile["customer_number"], taro.customer_number);
    let (status, whmcs_id, contact_id) = link_row(&app, taro.email).await;
    assert_eq!(status, "linked");
    assert_eq!(whmcs_id, Some(i64::from(taro.whmcs_client_id)));
    assert_eq!(contact_id.as_deref(), Some(taro.contact_id));
    assert_eq!(
        get_as(&app, &token, "/api/v1/billing/invoices")
            .await
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn registering_a_taken_email_answers_the_same_and_tells_the_owner() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let email = "owner@example.com";

    let first = register_with(&app, email, PASSWORD).await;
    let second = register_with(&app, "  Owner@Example.COM", "the-attackers-own-passphrase").await;
    let third = register_with(&app, email, "the-attackers-other-passphrase").await;

    let statuses = [first.status(), second.status(), third.status()].map(|s| s.as_u16());
    let first_body: Value = first.json().await.unwrap();
    assert_eq!(statuses, [202, 202, 202]);
    assert_eq!(first_body, second.json::<Value>().await.unwrap());
    assert_eq!(first_body, third.json::<Value>().await.unwrap());
    assert_eq!(first_body["status"], "accepted");

    let messages = eventually(20, "the owner's notice", || async {
        let messages = app.sandbox().messages_to(email).await;
        templates(&messages)
            .contains(&"registration_attempt".to_owned())
            .then_some(messages)
    })
    .await;
    let notice = messages
        .iter()
        .find(|m| m["template"] == "registration_attempt")
        .unwrap();
    assert!(
        !notice["body"].as_str().unwrap().contains("token="),
        "the notice carries no link"
    );
    // Both attempts were recorded; the owner hears once per interval, however often someone tries.
    eventually(20, "both notice jobs to run", || async {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM apalis.jobs WHERE job_type = 'concierge.auth.registration_notice' AND status = 'Done'",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        (done == 2).then_some(())
    })
    .await;
    let messages = app.sandbox().messages_to(email).await;
    let templates = templates(&messages);
    assert_eq!(
        templates
            .iter()
            .filter(|t| *t == "registration_attempt")
            .count(),
        1
    );
    assert_eq!(
        templates
            .iter()
            .filter(|t| *t == "email_verification")
            .count(),
        1,
        "no verification link for the second registration"
    );
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 1);
    assert_eq!(
        login_response(&app, email, "the-attackers-own-passphrase")
            .await
            .status(),
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn register_still_validates_before_anything_else() {
    let app = spawn_sandboxed_app().await;
    register(&app, "taken@example.com").await;

    for body in [
        json!({ "email": "taken@example.com", "password": "short", "first_name": "A", "last_name": "B" }),
        json!({ "email": "not-an-email", "password": PASSWORD, "first_name": "A", "last_name": "B" }),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/auth/register"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(problem(response).await["code"], "validation-failed");
    }
}

#[tokio::test]
async fn a_malformed_used_or_anothers_token_is_refused_and_changes_nothing() {
    let app = spawn_sandboxed_app().await;
    let alice = access(&signed_in(&app, "alice@example.com").await);
    let bob = access(&signed_in(&app, "bob@example.com").await);
    let bobs_token = verification_token_sent_to(&app, "bob@example.com").await;

    let long = "x".repeat(200);
    for token in ["", "not-a-token", long.as_str(), bobs_token.as_str()] {
        let response = post_verification(&app, &alice, token).await;
        assert_eq!(response.status(), 400, "{token:?}");
        assert_eq!(
            problem(response).await["code"],
            "invalid-verification-token"
        );
    }
    assert_eq!(
        state_of(&app, "alice@example.com").await,
        (false, Some("unverified".to_owned()))
    );
    assert_eq!(
        state_of(&app, "bob@example.com").await,
        (false, Some("unverified".to_owned())),
        "another account's token verifies neither account"
    );

    let anonymous = app
        .client
        .post(app.url("/api/v1/auth/email/verify"))
        .json(&json!({ "token": bobs_token }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "the link alone is not enough");
    assert_eq!(
        state_of(&app, "bob@example.com").await,
        (false, Some("unverified".to_owned()))
    );

    assert_eq!(
        post_verification(&app, &bob, &bobs_token).await.status(),
        204
    );
    assert_eq!(
        state_of(&app, "bob@example.com").await,
        (true, Some("linking".to_owned()))
    );
    let again = post_verification(&app, &bob, &bobs_token).await;
    assert_eq!(again.status(), 409, "used once");
    assert_eq!(problem(again).await["code"], "email-already-verified");
    let linking_jobs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs WHERE job_type = 'concierge.customers.link'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(linking_jobs, 1, "linking starts once");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new().configure(|s| s.auth.email_verification_ttl_secs = 1),
    )
    .await;
    let session = access(&signed_in(&app, "slow@example.com").await);
    let token = verification_token_sent_to(&app, "slow@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    let response = post_verification(&app, &session, &token).await;

    assert_eq!(response.status(), 400);
    assert_eq!(
        problem(response).await["code"],
        "invalid-verification-token"
    );
    assert_eq!(
        state_of(&app, "slow@example.com").await,
        (false, Some("unverified".to_owned()))
    );
}

#[tokio::test]
async fn staff_created_by_an_admin_and_seeded_users_are_verified() {
    let app = spawn_sandboxed_app().await;
    let admin = access(&super::admin(&app, "ada@concierge.test").await);

    let created = app
        .client
        .post(app.url("/api/v1/admin/users"))
        .bearer_auth(&admin)
        .json(
            &json!({ "email": "advisor@example.com", "password": PASSWORD, "first_name": "C",
                        "last_name": "A", "roles": ["client_advisor"] }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    assert_eq!(state_of(&app, "ada@concierge.test").await, (true, None));
    assert_eq!(state_of(&app, "advisor@example.com").await, (true, None));
    let resent = resend(&app, &admin).await;
    assert_eq!(resent.status(), 409, "nothing to verify");
}

#[tokio::test]
async fn concurrent_uses_of_one_link_verify_once_and_start_linking_once() {
    let app = spawn_sandboxed_app().await;
    let session = access(&signed_in(&app, "racer@example.com").await);
    let token = verification_token_sent_to(&app, "racer@example.com").await;

    let attempts = (0..10).map(|_| post_verification(&app, &session, &token));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();

    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [204, 409].contains(s)),
        "{statuses:?}"
    );
    let linking_jobs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs WHERE job_type = 'concierge.customers.link'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(linking_jobs, 1);
}

/// Every operation that needs the customer's WHMCS/Salesforce links documents the `email-unverified` 409.
#[test]
fn every_route_needing_the_links_documents_email_unverified() {
    let document = serde_json::to_value(concierge::openapi::document()).unwrap();
    let component = document["components"]["responses"]["AccountLinking"]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for (method, path) in [
        ("get", "/api/v1/me"),
        ("patch", "/api/v1/me"),
        ("get", "/api/v1/billing/invoices"),
        ("get", "/api/v1/billing/invoices/{id}"),
        ("post", "/api/v1/billing/invoices/{id}/payments"),
        ("get", "/api/v1/billing/summary"),
        ("get", "/api/v1/billing/payment-methods"),
        ("get", "/api/v1/support/cases"),
        ("post", "/api/v1/support/cases"),
        ("get", "/api/v1/support/cases/{id}"),
        ("post", "/api/v1/support/cases/{id}/comments"),
        ("get", "/api/v1/subscriptions"),
        ("get", "/api/v1/subscriptions/{id}"),
        ("get", "/api/v1/subscriptions/{id}/sim"),
        ("post", "/api/v1/subscriptions/{id}/sim/top-ups"),
        ("post", "/api/v1/subscriptions/{id}/sim/plan-changes"),
        ("post", "/api/v1/subscriptions/{id}/sim/suspend"),
        ("post", "/api/v1/subscriptions/{id}/sim/resume"),
        ("post", "/api/v1/orders"),
    ] {
        let conflict = &document["paths"][path][method]["responses"]["409"];
        let description = match conflict["$ref"].as_str() {
            Some(_) => component.clone(),
            None => conflict["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        assert!(
            description.contains("email-unverified"),
            "{method} {path}: {conflict}"
        );
    }
}

/// The README's demo logins: seeded users are verified, and the demo customer sees their data at once.
#[tokio::test]
async fn the_seeded_demo_users_are_verified_and_the_demo_customer_sees_their_data() {
    let app = spawn_sandboxed_app().await;
    concierge::seed::run(&app.db, &app.state.settings)
        .await
        .unwrap();

    for (email, _) in [
        concierge::seed::DEMO_CUSTOMER,
        concierge::seed::DEMO_ADMIN,
        concierge::seed::DEMO_ADVISOR,
    ] {
        let verified: bool =
            sqlx::query_scalar("SELECT email_verified_at IS NOT NULL FROM users WHERE email = $1")
                .bind(email)
                .fetch_one(&app.db)
                .await
                .unwrap();
        assert!(verified, "{email}");
    }
    let (email, password) = concierge::seed::DEMO_CUSTOMER;
    let login = login_response(&app, email, password).await;
    assert_eq!(login.status(), 200);
    let token = access(&login.json().await.unwrap());
    let profile: Value = get_as(&app, &token, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["link_status"], "linked");
    assert_eq!(profile["customer_number"], CUSTOMERS[0].customer_number);
    assert_eq!(
        get_as(&app, &token, "/api/v1/billing/invoices")
            .await
            .status(),
        200
    );
}
