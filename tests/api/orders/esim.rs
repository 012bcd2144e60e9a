//! The eSIM step: Freebit's "EID already in use" (`400-501`) is our own line only when an earlier attempt
//! of ours was recorded as sent; otherwise the EID is another line's and the order fails with that reason.

use serde_json::json;

use super::provisioning::{lines_with_eid, place_and_approve, provisioning_app, wait_for};
use super::*;

/// The demo line's EID: registered at Freebit before any order of ours.
const FOREIGN_EID: &str = "89049032000001000000000000000001";

#[tokio::test]
async fn an_eid_already_registered_to_another_line_fails_the_order_with_that_reason() {
    let (app, token) = provisioning_app(5).await;
    assert_eq!(lines_with_eid(&app, FOREIGN_EID).await, 1);
    let body = json!({"items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}], "sim": {"type": "esim", "eid": FOREIGN_EID}});
    let (id, _) = place_and_approve(&app, &token, &body).await;

    let order = wait_for(&app, &token, &id, "failed").await;

    let reason = order["failure_reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("EID is already registered to another line"),
        "{reason}"
    );
    assert_eq!(
        lines_with_eid(&app, FOREIGN_EID).await,
        1,
        "no line of ours"
    );
    // Refused for good: not retried into the same answer four more times.
    assert_eq!(app.sandbox().count_operation(System::Freebit, "addAcnt"), 1);
}

#[tokio::test]
async fn an_eid_in_use_after_our_own_lost_activation_counts_as_activated() {
    let (app, token) = provisioning_app(5).await;
    // Freebit activates the line, then the answer is lost: the retry meets "EID already in use".
    app.sandbox().inject_fault(
        System::Freebit,
        json!({"operation": "addAcnt", "phase": "after", "status": 500, "times": 1}),
    );
    let eid = "6".repeat(32);
    let body = json!({"items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}], "sim": {"type": "esim", "eid": eid}});
    let (id, _) = place_and_approve(&app, &token, &body).await;

    wait_for(&app, &token, &id, "active").await;

    assert_eq!(lines_with_eid(&app, &eid).await, 1);
    assert_eq!(app.sandbox().count_operation(System::Freebit, "addAcnt"), 2);
}

#[tokio::test]
async fn an_attempt_freebit_refused_does_not_make_a_later_eid_in_use_ours() {
    let (app, token) = provisioning_app(5).await;
    // The first activation is refused outright (Freebit answered: nothing was activated); the retry then
    // meets the other line's EID.
    app.sandbox().inject_fault(
        System::Freebit,
        json!({"operation": "addAcnt", "error_code": "400-210", "times": 1}),
    );
    let body = json!({"items": [{"sku": "ESIM-DATA-20GB", "quantity": 1}], "sim": {"type": "esim", "eid": FOREIGN_EID}});
    let (id, _) = place_and_approve(&app, &token, &body).await;

    let order = wait_for_final(&app, &token, &id).await;

    assert_eq!(
        order["status"], "failed",
        "another line's EID is not our activation"
    );
    let reason = order["failure_reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("EID is already registered to another line"),
        "{reason}"
    );
}

/// Polls the order until it is active or failed.
async fn wait_for_final(app: &TestApp, token: &str, id: &str) -> Value {
    crate::helpers::eventually(60, "the order is final", || async {
        let order: Value = get(app, token, &format!("/api/v1/orders/{id}"))
            .await
            .json()
            .await
            .expect("order");
        (order["status"] == "failed" || order["status"] == "active").then_some(order)
    })
    .await
}
