//! Provider failures: clear 502/503 problems, retries with the same key, and reading the line back after
//! an ambiguous failure.

use serde_json::{Value, json};

use super::{audit_rows, get, get_json, post_sim, with_demo_customer};
use crate::helpers::{System, problem};

#[tokio::test]
async fn freebit_failures_on_reads_are_503_or_502_problems() {
    let (app, token) = with_demo_customer().await;

    for (fault, status) in [
        (json!({ "status": 500, "operation": "getTrafficInfo" }), 503),
        (json!({ "hang": true, "operation": "getDetail" }), 503),
        (json!({ "malformed": true, "operation": "getDetail" }), 502),
    ] {
        app.sandbox().inject_fault(System::Freebit, fault.clone());
        let response = get(&app, &token, "/api/v1/subscriptions/501/sim").await;
        assert_eq!(response.status(), status, "{fault}");
        problem(response).await;
        app.sandbox().clear_faults(System::Freebit);
    }
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["status"], "active");
    app.stop().await;
}

#[tokio::test]
async fn whmcs_failures_on_the_list_are_503_or_502_problems() {
    let (app, token) = with_demo_customer().await;

    for (fault, status) in [
        (
            json!({ "status": 500, "operation": "GetClientsProducts" }),
            503,
        ),
        (
            json!({ "malformed": true, "operation": "GetClientsProducts" }),
            502,
        ),
    ] {
        app.sandbox().inject_fault(System::Whmcs, fault.clone());
        let response = get(&app, &token, "/api/v1/subscriptions").await;
        assert_eq!(response.status(), status, "{fault}");
        problem(response).await;
        app.sandbox().clear_faults(System::Whmcs);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_failed_suspension_is_a_503_and_the_same_key_can_retry() {
    let (app, token) = with_demo_customer().await;
    app.sandbox().inject_fault(
        System::Freebit,
        json!({ "status": 500, "operation": "mvno/suspend", "times": 1 }),
    );

    let failed = post_sim(&app, &token, "501", "suspend", Some("retry-me"), None).await;
    assert_eq!(failed.status(), 503);
    problem(failed).await;
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["status"], "active");

    let retried = post_sim(&app, &token, "501", "suspend", Some("retry-me"), None).await;
    assert_eq!(retried.status(), 200);
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["status"], "suspended");
    let outcomes: Vec<String> = audit_rows(&app).await.into_iter().map(|r| r.2).collect();
    assert_eq!(outcomes, vec!["failed", "succeeded"]);
    app.stop().await;
}

#[tokio::test]
async fn a_top_up_that_never_reached_freebit_is_sent_again_once_and_charged_once() {
    let (app, token) = with_demo_customer().await;
    // The request hangs until the client gives up, unhandled: the line shows nothing, so the job's next
    // attempt sends it again.
    app.sandbox().inject_fault(
        System::Freebit,
        json!({ "hang": true, "operation": "addSpec", "times": 1 }),
    );

    let response = post_sim(
        &app,
        &token,
        "501",
        "top-ups",
        Some("slow"),
        Some(json!({ "quota_mb": 100 })),
    )
    .await;

    assert_eq!(response.status(), 200);
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 2);
    assert_eq!(app.sandbox().whmcs_calls("CreateInvoice"), 1);
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["data"]["added_mb"], 100);
    app.stop().await;
}

#[tokio::test]
async fn a_change_applied_behind_a_lost_answer_is_confirmed_by_reading_the_line_back() {
    let (app, token) = with_demo_customer().await;
    for operation in ["mvno/suspend", "addSpec"] {
        app.sandbox().inject_fault(
            System::Freebit,
            json!({ "status": 500, "phase": "after", "operation": operation, "times": 1 }),
        );
    }

    let suspended = post_sim(&app, &token, "501", "suspend", Some("lost-1"), None).await;
    assert_eq!(suspended.status(), 200);
    let topped_up = post_sim(
        &app,
        &token,
        "501",
        "top-ups",
        Some("lost-2"),
        Some(json!({ "quota_mb": 256 })),
    )
    .await;
    assert_eq!(topped_up.status(), 200);
    let result: Value = topped_up.json().await.expect("json");
    assert_eq!(result["outcome"], "applied");

    assert_eq!(app.sandbox().count_path(System::Freebit, "mvno/suspend"), 1);
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 1);
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["status"], "suspended");
    assert_eq!(sim["data"]["added_mb"], 256);
    let rows = audit_rows(&app).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|row| row.2 == "succeeded"));
    assert!(rows.iter().all(|row| row.4.is_some()), "read-back noted");
    app.stop().await;
}

#[tokio::test]
async fn freebit_refusing_a_paid_top_up_fails_it_for_support_without_a_repeat() {
    let (app, token) = with_demo_customer().await;
    app.sandbox().inject_fault(
        System::Freebit,
        json!({ "error_code": "400-356", "operation": "addSpec", "times": 1 }),
    );

    let response = post_sim(
        &app,
        &token,
        "501",
        "top-ups",
        Some("not-in-service"),
        Some(json!({ "quota_mb": 100 })),
    )
    .await;

    assert_eq!(response.status(), 502);
    assert_eq!(problem(response).await["code"], "provider-error");
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 1);
    let rows = audit_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2, "failed");
    app.stop().await;
}
