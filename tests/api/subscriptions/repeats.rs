//! A repeat with the same Idempotency-Key of a top-up or plan change that answered `change-in-progress`
//! answers that change's outcome, whatever the service looks like by then (the 503 forgot the key, so the
//! repeat runs the request again).

use concierge::integrations::whmcs::param;
use serde_json::{Value, json};

use super::{get_json, post_sim};
use crate::helpers::{
    Sandboxed, System, TestApp, demo_customer, eventually, spawn_sandboxed_app_with, token_of,
};

/// Requests give up waiting after 300 ms; the network is slower than that.
async fn with_slow_network(operation: &str) -> (TestApp, String) {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .without_retries()
            .configure(|settings| settings.subscriptions.top_up_wait_ms = 300),
    )
    .await;
    let token = token_of(&demo_customer(&app).await);
    app.sandbox().inject_fault(
        System::Freebit,
        json!({ "latency_ms": 1500, "operation": operation, "times": 1 }),
    );
    (app, token)
}

async fn status_of(app: &TestApp, table: &'static str) -> String {
    let query = match table {
        "sim_plan_changes" => "SELECT status FROM sim_plan_changes",
        _ => "SELECT status FROM sim_top_ups",
    };
    sqlx::query_scalar(query)
        .fetch_optional(&app.db)
        .await
        .expect("status")
        .unwrap_or_default()
}

#[tokio::test]
async fn a_repeated_plan_change_answers_the_change_not_unchanged() {
    let (app, token) = with_slow_network("changePlan").await;
    let today = chrono::Utc::now().date_naive().to_string();
    let body = json!({ "plan_code": "DATA_50GB", "effective_date": today });
    let change = || {
        post_sim(
            &app,
            &token,
            "501",
            "plan-changes",
            Some("slow-plan"),
            Some(body.clone()),
        )
    };

    let pending = change().await;
    assert_eq!(pending.status(), 503);
    eventually(30, "the plan change to finish", || async {
        (status_of(&app, "sim_plan_changes").await == "applied").then_some(())
    })
    .await;

    let again = change().await;

    assert_eq!(
        again.status(),
        200,
        "{}",
        again.text().await.unwrap_or_default()
    );
    assert_eq!(
        app.sandbox().whmcs_calls("UpgradeProduct"),
        2,
        "quote + one upgrade"
    );
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["plan_code"], "DATA_50GB");
    app.stop().await;
}

#[tokio::test]
async fn a_repeated_top_up_answers_the_paid_top_up_after_the_card_changed() {
    let (app, token) = with_slow_network("addSpec").await;
    let top_up = || {
        post_sim(
            &app,
            &token,
            "501",
            "top-ups",
            Some("slow-top-up"),
            Some(json!({ "quota_mb": 1024 })),
        )
    };

    let pending = top_up().await;
    assert_eq!(pending.status(), 503);
    // Meanwhile the customer makes a bank account the default.
    let _: Value = app
        .whmcs
        .call(
            "AddPayMethod",
            &[
                param("clientid", 1),
                param("type", "BankAccount"),
                param("bank_name", "Mizuho"),
                param("set_as_default", "1"),
            ],
        )
        .await
        .expect("AddPayMethod");
    eventually(30, "the top-up to finish", || async {
        (status_of(&app, "sim_top_ups").await == "applied").then_some(())
    })
    .await;

    let again = top_up().await;

    let status = again.status();
    let text = again.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    let result: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        result["charged"],
        json!({ "amount": "500", "currency": "JPY" })
    );
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 1);
    app.stop().await;
}
