//! Who may lift a suspension, and changes to a service billing has not made (or no longer keeps) Active.

use concierge::integrations::freebit::FreebitClient;
use concierge::integrations::whmcs::param;
use serde_json::{Value, json};

use super::{get_json, post_sim, with_demo_customer};
use crate::helpers::{System, TestApp, problem};

const MSISDN: &str = "08012345678";

/// Freebit as support uses it, outside the portal.
fn operator_freebit(app: &TestApp) -> FreebitClient {
    FreebitClient::new(&app.state.settings.providers).expect("freebit client")
}

/// Sets service 501's status in WHMCS as a billing operator (or the dunning run) would.
async fn set_service_status(app: &TestApp, status: &str) {
    let _: Value = app
        .whmcs
        .call(
            "UpdateClientProduct",
            &[param("serviceid", 501), param("status", status)],
        )
        .await
        .expect("UpdateClientProduct");
}

#[tokio::test]
async fn a_suspension_the_customer_did_not_make_cannot_be_lifted_by_them() {
    let (app, token) = with_demo_customer().await;
    operator_freebit(&app)
        .suspend(MSISDN)
        .await
        .expect("suspend");

    let response = post_sim(&app, &token, "501", "resume", Some("lift-it"), None).await;

    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["code"], "sim-suspended-by-operator");
    assert_eq!(app.sandbox().count_path(System::Freebit, "mvno/resume"), 0);
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["status"], "suspended");
    app.stop().await;
}

#[tokio::test]
async fn the_customers_own_suspension_is_lifted_once_and_not_a_later_one() {
    let (app, token) = with_demo_customer().await;
    let suspended = post_sim(&app, &token, "501", "suspend", Some("mine"), None).await;
    assert_eq!(suspended.status(), 200);
    let resumed = post_sim(&app, &token, "501", "resume", Some("mine-back"), None).await;
    assert_eq!(resumed.status(), 200);

    // Support suspends the line afterwards: the customer's earlier suspension does not cover it.
    operator_freebit(&app)
        .suspend(MSISDN)
        .await
        .expect("suspend");
    let again = post_sim(&app, &token, "501", "resume", Some("not-mine"), None).await;
    assert_eq!(again.status(), 409);
    assert_eq!(problem(again).await["code"], "sim-suspended-by-operator");
    assert_eq!(app.sandbox().count_path(System::Freebit, "mvno/resume"), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_pending_or_suspended_service_takes_no_change() {
    let (app, token) = with_demo_customer().await;
    let today = chrono::Utc::now().date_naive().to_string();
    for status in ["Suspended", "Pending"] {
        set_service_status(&app, status).await;
        for (n, (action, body)) in [
            ("top-ups", Some(json!({ "quota_mb": 100 }))),
            (
                "plan-changes",
                Some(json!({ "plan_code": "DATA_50GB", "effective_date": today })),
            ),
            ("suspend", None),
            ("resume", None),
        ]
        .into_iter()
        .enumerate()
        {
            let key = format!("{status}-{n}");
            let response = post_sim(&app, &token, "501", action, Some(&key), body).await;
            assert_eq!(response.status(), 409, "{status} {action}");
            let body = problem(response).await;
            assert_eq!(body["code"], "subscription-not-active", "{status} {action}");
        }
    }
    for write in ["addSpec", "changePlan", "mvno/suspend", "mvno/resume"] {
        assert_eq!(
            app.sandbox().count_path(System::Freebit, write),
            0,
            "{write}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn billing_suspending_the_service_blocks_the_customers_own_resume() {
    let (app, token) = with_demo_customer().await;
    let suspended = post_sim(&app, &token, "501", "suspend", Some("mine"), None).await;
    assert_eq!(suspended.status(), 200);
    set_service_status(&app, "Suspended").await;

    let response = post_sim(&app, &token, "501", "resume", Some("around-dunning"), None).await;

    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["code"], "subscription-not-active");
    assert_eq!(app.sandbox().count_path(System::Freebit, "mvno/resume"), 0);

    set_service_status(&app, "Active").await;
    let response = post_sim(&app, &token, "501", "resume", Some("after-payment"), None).await;
    assert_eq!(response.status(), 200);
    app.stop().await;
}
