//! Paid top-ups: charged in WHMCS (an invoice, captured with the default card) before Freebit adds the
//! data, capped per line and month, and never charged or added twice.

use serde_json::{Value, json};

use super::{audit_rows, get_json, post_sim, with_demo_customer};
use crate::helpers::{System, customer_linked_to, problem, token_of};

async fn top_up(
    app: &crate::helpers::TestApp,
    token: &str,
    key: &str,
    mb: i64,
) -> reqwest::Response {
    post_sim(
        app,
        token,
        "501",
        "top-ups",
        Some(key),
        Some(json!({ "quota_mb": mb })),
    )
    .await
}

/// The WHMCS invoices the top-ups made (their notes name the top-up), newest first.
async fn top_up_invoices(app: &crate::helpers::TestApp) -> Vec<Value> {
    use concierge::integrations::whmcs::param;
    let list: Value = app
        .whmcs
        .call("GetInvoices", &[param("userid", 1), param("limitnum", 100)])
        .await
        .expect("GetInvoices");
    let mut found = Vec::new();
    for summary in list["invoices"]["invoice"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let id = summary["id"].as_str().unwrap_or_default().to_owned();
        let invoice: Value = app
            .whmcs
            .call("GetInvoice", &[param("invoiceid", &id)])
            .await
            .expect("GetInvoice");
        if invoice["notes"]
            .as_str()
            .unwrap_or_default()
            .contains("Concierge top-up")
        {
            found.push(invoice);
        }
    }
    found
}

#[tokio::test]
async fn a_top_up_is_charged_in_whmcs_before_freebit_adds_the_data() {
    let (app, token) = with_demo_customer().await;

    let response = top_up(&app, &token, "paid-1", 1024).await;

    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.expect("json");
    assert_eq!(
        result["charged"],
        json!({ "amount": "500", "currency": "JPY" })
    );
    // One log across the systems, in arrival order: invoice, capture, then the network.
    let log = app.sandbox().state.log.list(None);
    let at = |fragment: &str| {
        log.iter()
            .position(|r| r.operation.contains(fragment))
            .unwrap_or_else(|| panic!("{fragment} in {log:?}"))
    };
    assert!(at("CreateInvoice") < at("CapturePayment"));
    assert!(at("CapturePayment") < at("addSpec"));
    let invoices = top_up_invoices(&app).await;
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0]["status"], "Paid");
    assert_eq!(invoices[0]["total"], "500.00");
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["data"]["added_mb"], 1024);
    let rows = audit_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2, "succeeded");
    assert!(
        rows[0]
            .4
            .as_deref()
            .is_some_and(|r| r.contains("WHMCS invoice"))
    );

    // The same key replays the answer: one charge, one addition.
    let again = top_up(&app, &token, "paid-1", 1024).await;
    assert_eq!(again.status(), 200);
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_charge_comes_before_the_network_and_a_declined_one_adds_nothing() {
    let (app, token) = with_demo_customer().await;
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "error_code": "Payment Attempt Failed", "operation": "CapturePayment", "times": 1 }),
    );

    let response = top_up(&app, &token, "declined", 1024).await;

    assert_eq!(response.status(), 402);
    assert_eq!(problem(response).await["code"], "payment-declined");
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 0);
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["data"]["added_mb"], 0);
    let invoices = top_up_invoices(&app).await;
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0]["status"], "Cancelled", "nothing owed for it");
    assert_eq!(audit_rows(&app).await[0].2, "rejected");

    // A declined top-up does not count against the cap, and a new key tries again.
    let retried = top_up(&app, &token, "declined-retry", 30720).await;
    assert_eq!(retried.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn the_monthly_cap_per_line_is_a_specific_conflict() {
    let (app, token) = with_demo_customer().await;

    assert_eq!(top_up(&app, &token, "cap-1", 20_000).await.status(), 200);
    assert_eq!(top_up(&app, &token, "cap-2", 10_720).await.status(), 200);
    let over = top_up(&app, &token, "cap-3", 1).await;

    assert_eq!(over.status(), 409);
    let body = problem(over).await;
    assert_eq!(body["code"], "top-up-limit-reached");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("0 MB are left"),
        "{body}"
    );
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 2);
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 2);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_top_ups_cannot_pass_the_cap_together() {
    let (app, token) = with_demo_customer().await;

    let requests = (0..4).map(|n| {
        let (app, token) = (&app, &token);
        async move {
            top_up(app, token, &format!("race-{n}"), 10_240)
                .await
                .status()
        }
    });
    let mut statuses: Vec<u16> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(|status| status.as_u16())
        .collect();
    statuses.sort_unstable();

    assert_eq!(statuses, vec![200, 200, 200, 409]);
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 3);
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 3);
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["data"]["added_mb"], 30_720);
    app.stop().await;
}

#[tokio::test]
async fn no_card_or_another_customers_line_is_never_charged() {
    let (app, token) = with_demo_customer().await;
    // The default pay method (the one WHMCS charges) becomes a bank account.
    use concierge::integrations::whmcs::param;
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
    let no_card = top_up(&app, &token, "no-card", 10).await;
    assert_eq!(no_card.status(), 409);
    assert_eq!(problem(no_card).await["code"], "no-payment-method");
    let taro = token_of(&customer_linked_to(&app, 1).await);
    let not_mine = post_sim(
        &app,
        &taro,
        "501",
        "top-ups",
        Some("x"),
        Some(json!({ "quota_mb": 10 })),
    )
    .await;
    assert_eq!(not_mine.status(), 404);
    let not_sim = post_sim(
        &app,
        &token,
        "502",
        "top-ups",
        Some("y"),
        Some(json!({ "quota_mb": 10 })),
    )
    .await;
    assert_eq!(not_sim.status(), 404);
    let anonymous = app
        .client
        .post(app.url("/api/v1/subscriptions/501/sim/top-ups"))
        .header("Idempotency-Key", "anon")
        .json(&json!({ "quota_mb": 10 }))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);

    assert_eq!(app.sandbox().whmcs_calls("CreateInvoice"), 0);
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 0);
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 0);
    app.stop().await;
}

#[tokio::test]
async fn lost_whmcs_answers_are_reconciled_not_repeated() {
    let (app, token) = with_demo_customer().await;
    for action in ["CreateInvoice", "CapturePayment"] {
        app.sandbox().inject_fault(
            System::Whmcs,
            json!({ "status": 500, "phase": "after", "operation": action, "times": 1 }),
        );
    }

    let response = top_up(&app, &token, "lost", 2048).await;

    assert_eq!(response.status(), 200);
    assert_eq!(app.sandbox().whmcs_calls("CreateInvoice"), 1);
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
    let invoices = top_up_invoices(&app).await;
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0]["status"], "Paid");
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_top_up_that_fails_before_its_charge_leaves_no_unpaid_invoice_to_collect() {
    // Two attempts, and CapturePayment never gets through: the top-up fails uncharged.
    let app = crate::helpers::spawn_sandboxed_app_with(
        crate::helpers::Sandboxed::new()
            .jobs()
            .without_retries()
            .configure(|settings| settings.jobs.max_attempts = 2),
    )
    .await;
    let token = token_of(&crate::helpers::demo_customer(&app).await);
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "status": 500, "operation": "CapturePayment" }),
    );

    let response = top_up(&app, &token, "never-captured", 1024).await;

    assert_eq!(response.status(), 502);
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 0);
    let invoices = top_up_invoices(&app).await;
    assert_eq!(invoices.len(), 1);
    // An Unpaid invoice would be collected (WHMCS's cron charges the card) for data never added.
    assert_eq!(invoices[0]["status"], "Cancelled");
    app.stop().await;
}
