//! Plan changes: only the plans the service's WHMCS product may move to, billed in WHMCS (UpgradeProduct)
//! and applied at Freebit in one journal.

use concierge::integrations::whmcs::param;
use serde_json::{Value, json};

use super::{audit_rows, get_json, post_sim, with_demo_customer};
use crate::helpers::{System, TestApp, problem};

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

async fn change(app: &TestApp, token: &str, key: &str, plan: &str) -> reqwest::Response {
    let body = json!({ "plan_code": plan, "effective_date": today() });
    post_sim(app, token, "501", "plan-changes", Some(key), Some(body)).await
}

/// Service 501's WHMCS product id.
async fn product_of_501(app: &TestApp) -> String {
    let page: Value = app
        .whmcs
        .call(
            "GetClientsProducts",
            &[param("clientid", 1), param("serviceid", 501)],
        )
        .await
        .expect("GetClientsProducts");
    page["products"]["product"][0]["pid"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_plan_change_moves_the_service_to_the_plans_whmcs_product_and_the_line_together() {
    let (app, token) = with_demo_customer().await;

    let response = change(&app, &token, "to-50", "DATA_50GB").await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("json")["outcome"],
        "applied"
    );
    assert_eq!(product_of_501(&app).await, "104", "SIM Data 50GB in WHMCS");
    // The quote (calconly), then the upgrade itself, before the network.
    assert_eq!(app.sandbox().whmcs_calls("UpgradeProduct"), 2);
    let log = app.sandbox().state.log.list(None);
    let last_upgrade = log
        .iter()
        .rposition(|r| r.operation.contains("UpgradeProduct"))
        .expect("upgrade");
    let plan = log
        .iter()
        .position(|r| r.operation.contains("changePlan"))
        .expect("plan change");
    assert!(last_upgrade < plan);
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["plan_code"], "DATA_50GB");
    let subscription = get_json(&app, &token, "/api/v1/subscriptions/501").await;
    assert_eq!(subscription["product_name"], "SIM Data 50GB");
    let rows = audit_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2, "succeeded");
    app.stop().await;
}

#[tokio::test]
async fn plans_the_product_cannot_move_to_are_refused_before_anything_changes() {
    let (app, token) = with_demo_customer().await;

    for (n, (plan, code)) in [
        ("VOICE_5GB", "not_allowed"),
        ("DATA_1GB", "not_allowed"),
        ("DATA_20GB", "unchanged"),
    ]
    .into_iter()
    .enumerate()
    {
        let response = change(&app, &token, &format!("no-{n}"), plan).await;
        assert_eq!(response.status(), 422, "{plan}");
        let body = problem(response).await;
        assert_eq!(body["errors"][0]["field"], "plan_code", "{plan}");
        assert_eq!(body["errors"][0]["code"], code, "{plan}");
    }
    assert_eq!(app.sandbox().whmcs_calls("UpgradeProduct"), 0);
    assert_eq!(app.sandbox().count_path(System::Freebit, "changePlan"), 0);
    assert_eq!(product_of_501(&app).await, "103");
    app.stop().await;
}

#[tokio::test]
async fn a_lost_upgrade_answer_is_read_back_not_repeated() {
    let (app, token) = with_demo_customer().await;
    // The first UpgradeProduct (the quote) passes; the real one is applied and its answer lost.
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "latency_ms": 1, "operation": "UpgradeProduct", "times": 1 }),
    );
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "status": 500, "phase": "after", "operation": "UpgradeProduct", "times": 1 }),
    );

    let response = change(&app, &token, "lost", "DATA_10GB").await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        app.sandbox().whmcs_calls("UpgradeProduct"),
        2,
        "quote + one upgrade"
    );
    assert_eq!(product_of_501(&app).await, "102");
    let upgrades = app
        .sandbox()
        .whmcs_orders()
        .await
        .into_iter()
        .filter(|order| order["notes"] == "Upgrade of service 501")
        .count();
    assert_eq!(upgrades, 1);
    assert_eq!(app.sandbox().count_path(System::Freebit, "changePlan"), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_network_refusal_after_the_billing_change_fails_the_change_for_support() {
    let (app, token) = with_demo_customer().await;
    app.sandbox().inject_fault(
        System::Freebit,
        json!({ "error_code": "400-210", "operation": "changePlan", "times": 1 }),
    );

    let response = change(&app, &token, "refused", "DATA_10GB").await;

    assert_eq!(response.status(), 502);
    assert_eq!(problem(response).await["code"], "provider-error");
    assert_eq!(app.sandbox().count_path(System::Freebit, "changePlan"), 1);
    let rows = audit_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2, "failed");
    app.stop().await;
}
