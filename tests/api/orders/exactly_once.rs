//! The CRM order is created once however its composite call ends: it is sent once (no transport retry), and
//! an unknown outcome is settled by the order's external id (`Portal_Order_Id__c`), in the same request or,
//! after a 5xx, in the retry with the same Idempotency-Key (the key is kept once the create went out).

use serde_json::{Value, json};

use super::*;
use crate::helpers::problem;

/// The sandbox's Orders carrying this portal order id as their external id.
async fn crm_orders_for(app: &TestApp, order_id: &str) -> Vec<Value> {
    app.sandbox()
        .salesforce_records("Order")
        .await
        .into_iter()
        .filter(|order| order["Portal_Order_Id__c"] == order_id)
        .collect()
}

#[tokio::test]
async fn a_composite_that_times_out_after_salesforce_committed_gives_the_client_that_one_order() {
    // Transport retries on, as in production: the create must still go out once.
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let token = token_of(&demo_customer(&app).await);
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "composite", "phase": "after", "hang": true, "times": 1}),
    );

    let response = post_order(&app, &token, Some("slow-crm"), &sim_order()).await;

    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.expect("order");
    let id = order["id"].as_str().expect("id");
    let crm = crm_orders_for(&app, id).await;
    assert_eq!(crm.len(), 1, "exactly one Order in Salesforce");
    assert_eq!(crm[0]["Id"], salesforce_id_of(&app, id).await.as_str());
    assert_eq!(composite_calls(&app), 1, "the composite is sent once");
    let items: Vec<Value> = app
        .sandbox()
        .salesforce_records("OrderItem")
        .await
        .into_iter()
        .filter(|item| item["OrderId"] == crm[0]["Id"])
        .collect();
    assert_eq!(items.len(), 1);
    let (item_id,): (String,) =
        sqlx::query_as("SELECT items->0->>'salesforce_item_id' FROM orders WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .expect("order row");
    assert_eq!(items[0]["Id"], item_id.as_str());
}

#[tokio::test]
async fn a_5xx_after_the_crm_order_was_created_is_answered_by_the_retry_with_that_order() {
    let (app, token) = with_demo_customer().await;
    // Salesforce commits and the answer is lost; the lookup that would settle it fails as well.
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "composite", "phase": "after", "status": 500, "times": 1}),
    );
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "Portal_Order_Id__c", "status": 503, "times": 1}),
    );
    let first = post_order(&app, &token, Some("lost-answer"), &sim_order()).await;
    assert_eq!(first.status(), 503);
    problem(first).await;
    let (state,): (String,) =
        sqlx::query_as("SELECT state FROM idempotency_keys WHERE key = 'lost-answer'")
            .fetch_one(&app.db)
            .await
            .expect("the key is kept, not forgotten");
    assert_eq!(state, "in_progress");

    let retry = post_order(&app, &token, Some("lost-answer"), &sim_order()).await;

    assert_eq!(retry.status(), 201, "the real outcome: the order exists");
    let order: Value = retry.json().await.expect("order");
    let id = order["id"].as_str().expect("id");
    let crm = crm_orders_for(&app, id).await;
    assert_eq!(crm.len(), 1);
    assert_eq!(crm[0]["Id"], salesforce_id_of(&app, id).await.as_str());
    assert_eq!(composite_calls(&app), 1, "found, not created again");
    assert_eq!(
        app.sandbox().salesforce_records("Order").await.len(),
        crm_count_without(&app, id).await + 1
    );
    let replay = post_order(&app, &token, Some("lost-answer"), &sim_order()).await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.expect("order"), order);
}

/// Orders in the sandbox that are not this portal order (the seeded ones).
async fn crm_count_without(app: &TestApp, order_id: &str) -> usize {
    app.sandbox()
        .salesforce_records("Order")
        .await
        .iter()
        .filter(|order| order["Portal_Order_Id__c"] != order_id)
        .count()
}

#[tokio::test]
async fn a_create_that_never_reached_salesforce_is_sent_by_the_retry_after_the_lookup() {
    let (app, token) = with_demo_customer().await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "composite", "status": 500, "times": 1}),
    );
    let first = post_order(&app, &token, Some("never-sent"), &sim_order()).await;
    assert_eq!(first.status(), 503);

    let retry = post_order(&app, &token, Some("never-sent"), &sim_order()).await;

    assert_eq!(retry.status(), 201);
    let order: Value = retry.json().await.expect("order");
    assert_eq!(
        crm_orders_for(&app, order["id"].as_str().expect("id"))
            .await
            .len(),
        1
    );
    assert_eq!(composite_calls(&app), 2);
}

#[tokio::test]
async fn a_lost_answer_to_the_provisioning_failure_case_opens_one_case() {
    // Transport retries on: the case is upserted by the order's key, so a repeat updates it.
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .configure(|settings| settings.jobs.max_attempts = 1),
    )
    .await;
    let token = token_of(&demo_customer(&app).await);
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({"operation": "AcceptOrder", "status": 500, "times": 100}),
    );
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "Portal_Case_Key__c", "phase": "after", "status": 500, "times": 1}),
    );
    let order = post_order(&app, &token, Some("fails"), &sim_order()).await;
    assert_eq!(order.status(), 201);
    let order: Value = order.json().await.expect("order");
    let id = order["id"].as_str().expect("id").to_owned();
    let salesforce_id = salesforce_id_of(&app, &id).await;
    app.sandbox().approve_order(&salesforce_id).await;

    crate::helpers::eventually(30, "the order failed", || async {
        let order: Value = get(&app, &token, &format!("/api/v1/orders/{id}"))
            .await
            .json()
            .await
            .expect("order");
        (order["status"] == "failed").then_some(())
    })
    .await;

    let cases: Vec<Value> = app
        .sandbox()
        .salesforce_records("Case")
        .await
        .into_iter()
        .filter(|case| {
            case["Description"]
                .as_str()
                .unwrap_or("")
                .contains(&salesforce_id)
        })
        .collect();
    assert_eq!(cases.len(), 1, "one support case");
    assert_eq!(
        cases[0]["Portal_Case_Key__c"],
        format!("provisioning-failure-{id}").as_str()
    );
    let (recorded,): (String,) = sqlx::query_as(
        "SELECT result->>'id' FROM order_steps WHERE order_id = $1::uuid AND step = 'salesforce_case'",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .expect("the case is recorded");
    assert_eq!(cases[0]["Id"], recorded.as_str());
}

#[tokio::test]
async fn a_retry_after_the_crm_order_was_created_answers_that_order_even_if_the_product_was_withdrawn()
 {
    let (app, token) = with_demo_customer().await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "composite", "phase": "after", "status": 500, "times": 1}),
    );
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "Portal_Order_Id__c", "status": 503, "times": 1}),
    );
    let first = post_order(&app, &token, Some("withdrawn"), &sim_order()).await;
    assert_eq!(first.status(), 503);
    // Meanwhile the product is withdrawn from the price book: a new order for it would be refused, but this
    // one already exists in Salesforce.
    let entry = app
        .sandbox()
        .salesforce_records("PricebookEntry")
        .await
        .into_iter()
        .find(|entry| entry["ProductCode"] == "SIM-DATA-20GB")
        .expect("the plan's price book entry");
    app.salesforce
        .update(
            "PricebookEntry",
            entry["Id"].as_str().expect("id"),
            &json!({"IsActive": false}),
        )
        .await
        .expect("withdraw the entry");

    let retry = post_order(&app, &token, Some("withdrawn"), &sim_order()).await;

    assert_eq!(
        retry.status(),
        201,
        "the real outcome: the order exists in Salesforce"
    );
    let order: Value = retry.json().await.expect("order");
    let id = order["id"].as_str().expect("id");
    let crm = crm_orders_for(&app, id).await;
    assert_eq!(crm.len(), 1);
    assert_eq!(crm[0]["Id"], salesforce_id_of(&app, id).await.as_str());
    assert_eq!(composite_calls(&app), 1, "found, not created again");
}
