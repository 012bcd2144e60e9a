//! `POST /api/v1/orders`.

use serde_json::{Value, json};

use super::*;
use crate::helpers::{customer_linked_to, problem};

#[tokio::test]
async fn an_order_is_created_in_salesforce_in_one_composite_call() {
    let (app, token) = with_demo_customer().await;
    let before = composite_calls(&app);

    let order = place(&app, &token, &sim_order()).await;

    assert_eq!(order["status"], "pending_review");
    assert_eq!(order["items"][0]["sku"], "SIM-DATA-20GB");
    assert_eq!(order["items"][0]["quantity"], 1);
    assert_eq!(order["items"][0]["unit_price"]["amount"], "2980");
    assert_eq!(order["items"][0]["billing_cycle"], "monthly");
    assert_eq!(order["service_ids"], json!([]));
    assert_eq!(composite_calls(&app) - before, 1);
    let salesforce_id = salesforce_id_of(&app, order["id"].as_str().expect("id")).await;
    let record = app
        .sandbox()
        .salesforce_record("Order", &salesforce_id)
        .await;
    assert_eq!(record["Status"], "Draft");
    assert_eq!(record["Activation_Status__c"], "Pending Review");
    assert_eq!(record["AccountId"], "001SBDEMO000001AAA");
    assert_eq!(record["SIM_Type__c"], "Physical");
}

#[tokio::test]
async fn several_items_and_an_esim_make_one_order() {
    let (app, token) = with_demo_customer().await;
    let eid = "8".repeat(32);
    let order = place(
        &app,
        &token,
        &json!({
            "items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}, {"sku": "FIBER-1G", "quantity": 1}],
            "sim": {"type": "esim", "eid": eid}
        }),
    )
    .await;
    assert_eq!(order["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(order["sim"]["eid"], eid.as_str());
    assert_eq!(composite_calls(&app), 1);
}

#[tokio::test]
async fn a_repeated_key_replays_the_same_order() {
    let (app, token) = with_demo_customer().await;
    let first = post_order(&app, &token, Some("order-key-1"), &sim_order()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");

    let again = post_order(&app, &token, Some("order-key-1"), &sim_order()).await;
    assert_eq!(again.status(), 201);
    assert_eq!(
        again
            .headers()
            .get("Idempotent-Replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let again: Value = again.json().await.expect("json");

    assert_eq!(first["id"], again["id"]);
    assert_eq!(composite_calls(&app), 1);
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM orders")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(count, 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused() {
    let (app, token) = with_demo_customer().await;
    assert_eq!(
        post_order(&app, &token, Some("order-key-2"), &sim_order())
            .await
            .status(),
        201
    );
    let other =
        json!({"items": [{"sku": "SIM-DATA-3GB", "quantity": 1}], "sim": {"type": "physical"}});
    let response = post_order(&app, &token, Some("order-key-2"), &other).await;
    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    assert!(
        body["type"]
            .as_str()
            .unwrap_or("")
            .ends_with("idempotency-key-reused")
    );
    assert_eq!(composite_calls(&app), 1);
}

#[tokio::test]
async fn an_order_needs_an_idempotency_key() {
    let (app, token) = with_demo_customer().await;
    let response = post_order(&app, &token, None, &sim_order()).await;
    assert_eq!(response.status(), 400);
    problem(response).await;
}

#[tokio::test]
async fn invalid_orders_get_field_errors() {
    let (app, token) = with_demo_customer().await;
    let cases = [
        (json!({"items": []}), "items"),
        (
            json!({"items": [{"sku": "SIM-DATA-3GB", "quantity": 0}], "sim": {"type": "physical"}}),
            "items/0/quantity",
        ),
        (
            json!({"items": [{"sku": "SIM-DATA-3GB", "quantity": 11}], "sim": {"type": "physical"}}),
            "items/0/quantity",
        ),
        (
            json!({"items": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}),
            "items/0/sku",
        ),
        (
            json!({"items": [{"sku": "bad sku!", "quantity": 1}]}),
            "items/0/sku",
        ),
        (
            json!({"items": [{"sku": "SIM-DATA-3GB", "quantity": 1}]}),
            "sim",
        ),
        (
            json!({"items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}], "sim": {"type": "esim"}}),
            "sim/eid",
        ),
        (
            json!({"items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}], "sim": {"type": "esim", "eid": "12ab"}}),
            "sim/eid",
        ),
        (
            json!({"items": [{"sku": "SIM-DATA-3GB", "quantity": 1}], "sim": {"type": "physical"},
                "activation": {"type": "scheduled"}}),
            "activation/scheduled_at",
        ),
        (
            json!({"items": [{"sku": "SIM-DATA-3GB", "quantity": 1}], "sim": {"type": "physical"},
                "activation": {"type": "scheduled", "scheduled_at": "2020-01-01T00:00:00Z"}}),
            "activation/scheduled_at",
        ),
    ];
    for (index, (body, field)) in cases.iter().enumerate() {
        let key = format!("invalid-{index}");
        let response = post_order(&app, &token, Some(&key), body).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .expect("field errors")
            .iter()
            .filter_map(|error| error["field"].as_str())
            .collect();
        assert!(fields.contains(field), "{body}: {fields:?}");
    }
    let too_many: Vec<Value> = (0..21)
        .map(|_| json!({"sku": "FIBER-1G", "quantity": 1}))
        .collect();
    let response = post_order(&app, &token, Some("too-many"), &json!({"items": too_many})).await;
    assert_eq!(response.status(), 422);
    let unknown_type =
        json!({"items": [{"sku": "SIM-DATA-3GB", "quantity": 1}], "sim": {"type": "nano"}});
    let response = post_order(&app, &token, Some("bad-enum"), &unknown_type).await;
    assert!(response.status().is_client_error());
    problem(response).await;
    assert_eq!(composite_calls(&app), 0);
}

#[tokio::test]
async fn a_customer_without_a_pay_method_cannot_order() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let token = token_of(&customer_linked_to(&app, 1).await);
    let response = post_order(&app, &token, Some("no-card"), &sim_order()).await;
    assert_eq!(response.status(), 409);
    let body = problem(response).await;
    assert_eq!(body["code"], "no-payment-method");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("payment method")
    );
    assert_eq!(composite_calls(&app), 0);
}

#[tokio::test]
async fn salesforce_failures_are_clear_problems_and_the_key_may_be_retried() {
    let (app, token) = with_demo_customer().await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"status": 500, "times": 1, "operation": "composite"}),
    );
    let response = post_order(&app, &token, Some("retry-me"), &sim_order()).await;
    assert!(
        response.status() == 502 || response.status() == 503,
        "{}",
        response.status()
    );
    problem(response).await;

    let response = post_order(&app, &token, Some("retry-me"), &sim_order()).await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn a_malformed_billing_answer_is_a_502() {
    let (app, token) = with_demo_customer().await;
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({"malformed": true, "times": 1, "operation": "GetPayMethods"}),
    );
    let response = post_order(&app, &token, Some("malformed"), &sim_order()).await;
    assert_eq!(response.status(), 502);
    problem(response).await;
}

#[tokio::test]
async fn ordering_needs_a_signed_in_customer() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let response = app
        .client
        .post(app.url("/api/v1/orders"))
        .header("Idempotency-Key", "k")
        .json(&sim_order())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    problem(response).await;
}
