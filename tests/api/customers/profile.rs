//! `GET /api/v1/me`.

use concierge_sandbox::demo::CUSTOMERS;
use serde_json::{Value, json};

use super::{get_me, me, new_customer, token};
use crate::helpers::{System, customer_linked_to, demo_customer, problem, spawn_sandboxed_app};

#[tokio::test]
async fn the_demo_customer_sees_their_profile_merged_from_both_systems() {
    let app = spawn_sandboxed_app().await;
    let demo = &CUSTOMERS[0];
    let login = demo_customer(&app).await;

    let profile = me(&app, &token(&login)).await;

    assert_eq!(profile["email"], demo.email);
    assert_eq!(profile["first_name"], demo.first_name);
    assert_eq!(profile["last_name"], demo.last_name);
    assert_eq!(profile["phone"], demo.phone);
    assert_eq!(
        profile["address"],
        json!({ "line1": demo.address1, "city": demo.city, "state": demo.state,
                "postcode": demo.postcode, "country": demo.country })
    );
    assert_eq!(profile["currency"], demo.currency);
    assert_eq!(profile["customer_number"], demo.customer_number);
    assert_eq!(profile["link_status"], "linked");
    assert_eq!(profile["pending_update"], Value::Null);
    assert_eq!(profile["unavailable"], json!([]));
    assert!(profile["id"].as_str().is_some());
}

#[tokio::test]
async fn a_customer_sees_only_their_own_records() {
    let app = spawn_sandboxed_app().await;
    demo_customer(&app).await;
    let taro = customer_linked_to(&app, 1).await;

    let profile = me(&app, &token(&taro)).await;

    assert_eq!(profile["email"], CUSTOMERS[1].email);
    assert_eq!(profile["first_name"], CUSTOMERS[1].first_name);
    assert_eq!(profile["customer_number"], CUSTOMERS[1].customer_number);
    assert_eq!(profile["address"]["city"], CUSTOMERS[1].city);
}

#[tokio::test]
async fn a_customer_still_being_linked_sees_what_the_portal_account_knows() {
    // No job runner: the linking job stays queued.
    let app = spawn_sandboxed_app().await;
    let access = new_customer(&app, "new.customer@example.com").await;

    let profile = me(&app, &access).await;

    assert_eq!(profile["link_status"], "linking");
    assert_eq!(profile["email"], "new.customer@example.com");
    assert_eq!(profile["first_name"], "Hanako");
    assert_eq!(profile["last_name"], "Yamada");
    assert_eq!(profile["phone"], Value::Null);
    assert_eq!(profile["address"], Value::Null);
    assert!(
        app.sandbox().operations(System::Whmcs).is_empty(),
        "no provider is asked while linking"
    );
}

#[tokio::test]
async fn the_profile_needs_a_signed_in_customer() {
    let app = spawn_sandboxed_app().await;

    let anonymous = app.get("/api/v1/me").await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(problem(anonymous).await["code"], "unauthorized");

    let forged = get_me(&app, "not-a-token").await;
    assert_eq!(forged.status(), 401);

    let staff = crate::auth::admin(&app, "ada@concierge.test").await;
    let response = get_me(&app, &token(&staff)).await;
    assert_eq!(response.status(), 403);
    assert_eq!(problem(response).await["code"], "forbidden");
}

/// The profile's `unavailable` list, as `(system, reason)` pairs.
fn unavailable(profile: &Value) -> Vec<(String, String)> {
    profile["unavailable"]
        .as_array()
        .expect("an unavailable list")
        .iter()
        .map(|entry| {
            (
                entry["system"].as_str().unwrap().to_owned(),
                entry["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn whmcs_down_answers_what_salesforce_has_with_the_billing_fields_unavailable() {
    let app = spawn_sandboxed_app().await;
    let demo = &CUSTOMERS[0];
    let login = demo_customer(&app).await;
    app.sandbox()
        .inject_fault(System::Whmcs, json!({ "status": 503 }));

    let profile = me(&app, &token(&login)).await;

    assert_eq!(
        profile["unavailable"],
        json!([{ "system": "whmcs", "reason": "unavailable", "fields": ["address", "currency"] }])
    );
    assert_eq!(profile["first_name"], demo.first_name);
    assert_eq!(profile["email"], demo.email);
    assert_eq!(profile["phone"], demo.phone);
    assert_eq!(profile["customer_number"], demo.customer_number);
    assert_eq!(profile["currency"], Value::Null);
    assert_eq!(profile["link_status"], "linked");
}

#[tokio::test]
async fn a_malformed_salesforce_answer_leaves_the_crm_fields_unavailable_and_leaks_nothing() {
    let app = spawn_sandboxed_app().await;
    let demo = &CUSTOMERS[0];
    let login = demo_customer(&app).await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "malformed": true, "operation": "/query" }),
    );

    let profile = me(&app, &token(&login)).await;

    assert_eq!(
        profile["unavailable"],
        json!([{ "system": "salesforce", "reason": "error",
                 "fields": ["first_name", "last_name", "email", "phone", "customer_number"] }])
    );
    assert_eq!(profile["customer_number"], Value::Null);
    assert_eq!(profile["currency"], demo.currency);
    assert_eq!(profile["address"]["city"], demo.city);
    assert!(
        !profile.to_string().contains("succ"),
        "no provider payload leaks: {profile}"
    );
}

#[tokio::test]
async fn a_salesforce_timeout_answers_what_whmcs_has() {
    let app = spawn_sandboxed_app().await;
    let login = demo_customer(&app).await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "hang": true, "operation": "/query" }),
    );

    let profile = me(&app, &token(&login)).await;

    assert_eq!(
        unavailable(&profile),
        [("salesforce".to_owned(), "unavailable".to_owned())]
    );
    assert_eq!(profile["currency"], CUSTOMERS[0].currency);
}

#[tokio::test]
async fn both_systems_down_is_a_service_unavailable_problem() {
    let app = spawn_sandboxed_app().await;
    let login = demo_customer(&app).await;
    app.sandbox()
        .inject_fault(System::Whmcs, json!({ "status": 503 }));
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "malformed": true, "operation": "/query" }),
    );

    let response = get_me(&app, &token(&login)).await;

    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body = problem(response).await;
    assert_eq!(body["code"], "provider-unavailable");
}

#[tokio::test]
async fn both_systems_answering_garbage_is_a_bad_gateway_problem() {
    let app = spawn_sandboxed_app().await;
    let login = demo_customer(&app).await;
    app.sandbox()
        .inject_fault(System::Whmcs, json!({ "malformed": true }));
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "malformed": true, "operation": "/query" }),
    );

    let response = get_me(&app, &token(&login)).await;

    assert_eq!(response.status(), 502);
    assert_eq!(problem(response).await["code"], "provider-error");
}

#[tokio::test]
async fn a_contact_missing_from_salesforce_is_reported_unavailable_not_someone_elses_profile() {
    let app = spawn_sandboxed_app().await;
    let login = demo_customer(&app).await;
    // The link points at an account whose contact is someone else's: the scoped query finds nothing.
    sqlx::query("UPDATE customer_links SET salesforce_account_id = '001SBDEMO000002AAA'")
        .execute(&app.db)
        .await
        .unwrap();

    let profile = me(&app, &token(&login)).await;

    assert_eq!(
        unavailable(&profile),
        [("salesforce".to_owned(), "error".to_owned())]
    );
    assert!(!profile.to_string().contains("Taro"), "{profile}");
    assert_eq!(profile["customer_number"], Value::Null);
}
