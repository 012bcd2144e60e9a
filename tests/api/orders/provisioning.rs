//! Approval in Salesforce → the `OrderProvisionRequested__e` event → the provisioning job: WHMCS (AddOrder,
//! AcceptOrder), Freebit for eSIMs, the write-back to Salesforce — once, whatever fails on the way.

use serde_json::{Value, json};

use super::*;
use crate::helpers::{Sandboxed, eventually, spawn_sandboxed_app_with};

/// An app with jobs (and the event subscriber), provider calls not retried, `max_attempts` job runs.
pub(super) async fn provisioning_app(max_attempts: u32) -> (TestApp, String) {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .without_retries()
            .configure(move |settings| settings.jobs.max_attempts = max_attempts),
    )
    .await;
    let token = token_of(&crate::helpers::demo_customer(&app).await);
    (app, token)
}

async fn status_of(app: &TestApp, token: &str, id: &str) -> Value {
    get(app, token, &format!("/api/v1/orders/{id}"))
        .await
        .json()
        .await
        .expect("order json")
}

pub(super) async fn wait_for(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    eventually(30, &format!("order {status}"), || async {
        let order = status_of(app, token, id).await;
        (order["status"] == status).then_some(order)
    })
    .await
}

/// WHMCS orders whose notes name this Salesforce order.
async fn whmcs_orders_for(app: &TestApp, salesforce_id: &str) -> Vec<Value> {
    app.sandbox()
        .whmcs_orders()
        .await
        .into_iter()
        .filter(|order| {
            order["notes"]
                .as_str()
                .unwrap_or("")
                .contains(salesforce_id)
        })
        .collect()
}

pub(super) async fn lines_with_eid(app: &TestApp, eid: &str) -> usize {
    app.sandbox()
        .freebit_accounts()
        .await
        .iter()
        .filter(|account| account["eid"] == eid)
        .count()
}

async fn outbox_topics(app: &TestApp, order_id: &str) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT topic FROM outbox_events WHERE aggregate_id = $1 ORDER BY created_at",
    )
    .bind(order_id)
    .fetch_all(&app.db)
    .await
    .expect("outbox");
    rows.into_iter().map(|(topic,)| topic).collect()
}

async fn statuses(app: &TestApp, order_id: &str) -> Vec<String> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT status FROM order_events WHERE order_id = $1::uuid ORDER BY id")
            .bind(order_id)
            .fetch_all(&app.db)
            .await
            .expect("events");
    rows.into_iter().map(|(status,)| status).collect()
}

/// Places `body`, approves it and returns (order id, Salesforce id).
pub(super) async fn place_and_approve(
    app: &TestApp,
    token: &str,
    body: &Value,
) -> (String, String) {
    let order = place(app, token, body).await;
    let id = order["id"].as_str().expect("id").to_owned();
    let salesforce_id = salesforce_id_of(app, &id).await;
    app.sandbox().approve_order(&salesforce_id).await;
    (id, salesforce_id)
}

#[tokio::test]
async fn an_approved_order_becomes_active_with_one_whmcs_order() {
    let (app, token) = provisioning_app(5).await;
    let (id, salesforce_id) = place_and_approve(&app, &token, &sim_order()).await;

    let order = wait_for(&app, &token, &id, "active").await;

    assert_eq!(whmcs_orders_for(&app, &salesforce_id).await.len(), 1);
    let whmcs = &whmcs_orders_for(&app, &salesforce_id).await[0];
    assert_eq!(whmcs["status"], "Active");
    let service_ids = order["service_ids"].as_array().expect("service ids");
    assert_eq!(service_ids.len(), 1);
    assert_eq!(order["items"][0]["service_ids"], json!(service_ids));
    let record = app
        .sandbox()
        .salesforce_record("Order", &salesforce_id)
        .await;
    assert_eq!(record["Activation_Status__c"], "Activated");
    assert_eq!(
        record["WHMCS_Order_ID__c"],
        whmcs["id"].to_string().as_str()
    );
    assert_eq!(
        statuses(&app, &id).await,
        ["pending_review", "approved", "provisioning", "active"]
    );
    eventually(10, "order.provisioned in the outbox", || async {
        outbox_topics(&app, &id)
            .await
            .contains(&"order.provisioned".to_owned())
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_esim_order_activates_one_line_at_freebit() {
    let (app, token) = provisioning_app(5).await;
    let eid = "4".repeat(32);
    let body = json!({"items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}], "sim": {"type": "esim", "eid": eid}});
    let (id, salesforce_id) = place_and_approve(&app, &token, &body).await;
    wait_for(&app, &token, &id, "active").await;
    assert_eq!(lines_with_eid(&app, &eid).await, 1);
    assert_eq!(whmcs_orders_for(&app, &salesforce_id).await.len(), 1);
}

#[tokio::test]
async fn a_timeout_after_whmcs_created_the_order_does_not_create_a_second() {
    let (app, token) = provisioning_app(5).await;
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({"operation": "AddOrder", "phase": "after", "hang": true, "times": 1}),
    );
    let (id, salesforce_id) = place_and_approve(&app, &token, &sim_order()).await;
    wait_for(&app, &token, &id, "active").await;
    assert_eq!(whmcs_orders_for(&app, &salesforce_id).await.len(), 1);
    let log = app.sandbox().requests(System::Whmcs);
    let calls = |action: &str| {
        log.iter()
            .filter(|entry| entry.operation.ends_with(action))
            .count()
    };
    assert_eq!(calls("AddOrder"), 1, "AddOrder is sent once");
    assert!(
        calls("GetOrders") >= 1,
        "the retry looked for the order first"
    );
}

#[tokio::test]
async fn transient_failures_at_each_step_are_retried_to_one_order_and_one_sim() {
    let (app, token) = provisioning_app(8).await;
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({"operation": "AcceptOrder", "status": 500, "times": 1}),
    );
    app.sandbox().inject_fault(
        System::Freebit,
        json!({"operation": "addAcnt", "status": 500, "times": 1}),
    );
    let eid = "5".repeat(32);
    let body = json!({"items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}], "sim": {"type": "esim", "eid": eid}});
    let order = place(&app, &token, &body).await;
    let id = order["id"].as_str().expect("id").to_owned();
    let salesforce_id = salesforce_id_of(&app, &id).await;
    // The write-back is the only composite call after creation.
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({"operation": "composite", "status": 500, "times": 1}),
    );
    app.sandbox().approve_order(&salesforce_id).await;

    wait_for(&app, &token, &id, "active").await;
    assert_eq!(whmcs_orders_for(&app, &salesforce_id).await.len(), 1);
    assert_eq!(lines_with_eid(&app, &eid).await, 1);
    assert_eq!(
        app.sandbox()
            .salesforce_record("Order", &salesforce_id)
            .await["Activation_Status__c"],
        "Activated"
    );
}

#[tokio::test]
async fn a_duplicate_event_or_job_provisions_once() {
    let (app, token) = provisioning_app(5).await;
    let (id, salesforce_id) = place_and_approve(&app, &token, &sim_order()).await;
    wait_for(&app, &token, &id, "active").await;

    // The same event again (a redelivery, or a second replica's subscription), and the job itself again.
    let response = app
        .sandbox()
        .publish_event(
            "OrderProvisionRequested__e",
            json!({ "OrderId__c": salesforce_id }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mut conn = app.db.acquire().await.expect("conn");
    concierge::jobs::enqueue(
        &mut conn,
        &app.state.settings.jobs,
        &concierge::orders::ProvisionOrder {
            order_id: id.parse().expect("uuid"),
        },
        None,
    )
    .await
    .expect("enqueue");
    drop(conn);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    assert_eq!(whmcs_orders_for(&app, &salesforce_id).await.len(), 1);
    let events = statuses(&app, &id).await;
    assert_eq!(events.iter().filter(|s| *s == "approved").count(), 1);
    assert_eq!(events.iter().filter(|s| *s == "active").count(), 1);
}

#[tokio::test]
async fn a_step_that_keeps_failing_fails_the_order_and_opens_a_case() {
    let (app, token) = provisioning_app(2).await;
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({"operation": "AcceptOrder", "status": 500, "times": 100}),
    );
    let (id, salesforce_id) = place_and_approve(&app, &token, &sim_order()).await;

    let order = wait_for(&app, &token, &id, "failed").await;

    assert!(
        order["failure_reason"]
            .as_str()
            .unwrap_or("")
            .contains("whmcs_accept_order")
    );
    assert_eq!(whmcs_orders_for(&app, &salesforce_id).await.len(), 1);
    let cases = app.sandbox().salesforce_records("Case").await;
    let case = cases
        .iter()
        .find(|case| {
            case["Description"]
                .as_str()
                .unwrap_or("")
                .contains(&salesforce_id)
        })
        .expect("a support case for the order");
    assert_eq!(case["AccountId"], "001SBDEMO000001AAA");
    eventually(10, "order.provisioning_failed in the outbox", || async {
        outbox_topics(&app, &id)
            .await
            .contains(&"order.provisioning_failed".to_owned())
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_order_not_activating_in_salesforce_is_not_provisioned() {
    let (app, token) = provisioning_app(5).await;
    let order = place(&app, &token, &sim_order()).await;
    let id = order["id"].as_str().expect("id").to_owned();
    let salesforce_id = salesforce_id_of(&app, &id).await;
    // An event without the approval (Activation_Status__c still "Pending Review").
    app.sandbox()
        .publish_event(
            "OrderProvisionRequested__e",
            json!({ "OrderId__c": salesforce_id }),
        )
        .await;
    eventually(
        10,
        "the event handled and the order back in review",
        || async {
            let events = statuses(&app, &id).await;
            (events == ["pending_review", "approved", "pending_review"]).then_some(())
        },
    )
    .await;
    assert_eq!(whmcs_orders_for(&app, &salesforce_id).await.len(), 0);

    // The real approval later still provisions it.
    app.sandbox().approve_order(&salesforce_id).await;
    wait_for(&app, &token, &id, "active").await;
    assert_eq!(whmcs_orders_for(&app, &salesforce_id).await.len(), 1);
}

#[tokio::test]
async fn two_replicas_receiving_the_event_provision_once() {
    let database = crate::helpers::fresh_database().await;
    let sandbox = crate::helpers::spawn_sandbox().await;
    let replica = || {
        Sandboxed::new()
            .sharing(&sandbox)
            .database(&database)
            .jobs()
            .without_retries()
    };
    let first = spawn_sandboxed_app_with(replica()).await;
    let second = spawn_sandboxed_app_with(replica()).await;
    let token = token_of(&crate::helpers::demo_customer(&first).await);
    let (id, salesforce_id) = place_and_approve(&first, &token, &sim_order()).await;

    wait_for(&second, &token, &id, "active").await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(whmcs_orders_for(&first, &salesforce_id).await.len(), 1);
    let events = statuses(&first, &id).await;
    assert_eq!(
        events,
        ["pending_review", "approved", "provisioning", "active"]
    );
    let (jobs,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM apalis.jobs WHERE job_type = 'concierge.orders.provision'",
    )
    .fetch_one(&first.db)
    .await
    .expect("jobs");
    assert_eq!(jobs, 1);
    drop(second);
}

#[tokio::test]
async fn a_crash_after_addorder_went_out_resumes_without_a_second_whmcs_order() {
    let (app, token) = provisioning_app(5).await;
    let order = place(&app, &token, &sim_order()).await;
    let id = order["id"].as_str().expect("id").to_owned();
    let salesforce_id = salesforce_id_of(&app, &id).await;
    // The state a process killed mid-step leaves: the `sent` marker, and the WHMCS order it placed, but
    // no recorded result.
    sqlx::query(
        "INSERT INTO order_steps (order_id, step, result) VALUES ($1::uuid, 'whmcs_add_order_sent', '{}')",
    )
    .bind(&id)
    .execute(&app.db)
    .await
    .expect("marker");
    app.whmcs
        .add_order_noted(
            &concierge::integrations::whmcs::NewOrder {
                clientid: 1,
                paymentmethod: "stripe".into(),
                items: vec![concierge::integrations::whmcs::OrderItem {
                    pid: 103,
                    billingcycle: Some("monthly".into()),
                    qty: Some(1),
                }],
                promocode: None,
                noinvoice: false,
                noemail: true,
            },
            Some(&format!("Salesforce order {salesforce_id}")),
        )
        .await
        .expect("the order the crashed run placed");

    app.sandbox().approve_order(&salesforce_id).await;
    let order = wait_for(&app, &token, &id, "active").await;

    let whmcs = whmcs_orders_for(&app, &salesforce_id).await;
    assert_eq!(whmcs.len(), 1);
    assert_eq!(whmcs[0]["status"], "Active");
    assert_eq!(order["service_ids"].as_array().map(Vec::len), Some(1));
    let (replay_id,): (i64,) = sqlx::query_as(
        "SELECT replay_id FROM salesforce_replay_ids WHERE channel = '/event/OrderProvisionRequested__e'",
    )
    .fetch_one(&app.db)
    .await
    .expect("the replay id is stored");
    assert!(replay_id > 0);
}
