//! Paying an invoice with a stored card or a payment link.

use serde_json::{Value, json};

use super::{get, get_json, pay, status_of_1003, token_of, with_demo_customer};
use crate::helpers::{System, customer_linked_to, problem};

#[tokio::test]
async fn paying_with_the_stored_card_pays_the_invoice() {
    let (app, token) = with_demo_customer().await;

    let response = pay(
        &app,
        &token,
        "1002",
        Some("pay-1002-a"),
        json!({ "method": "stored", "pay_method_id": 1 }),
    )
    .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["invoice_id"], 1002);
    assert_eq!(body["method"], "stored");
    assert_eq!(body["status"], "paid");
    assert_eq!(body["invoice"]["status"], "paid");
    assert_eq!(body["invoice"]["balance"]["amount"], "0");
    assert_eq!(
        body["invoice"]["transactions"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(body["payment_url"], Value::Null);
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);

    let invoice = get_json(&app, &token, "/api/v1/billing/invoices/1002").await;
    assert_eq!(invoice["status"], "paid");
    let summary = get_json(&app, &token, "/api/v1/billing/summary").await;
    assert_eq!(summary["outstanding_balance"]["amount"], "5480");
    assert_eq!(summary["unpaid_count"], 1);
}

#[tokio::test]
async fn a_payment_link_opens_the_invoice_in_the_billing_system() {
    let (app, token) = with_demo_customer().await;

    let response = pay(
        &app,
        &token,
        "1003",
        Some("link-1003"),
        json!({ "method": "link" }),
    )
    .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["method"], "link");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["invoice"], Value::Null);
    let url = body["payment_url"].as_str().expect("payment url");
    assert!(
        url.contains("/oauth/singlesignon.php?access_token="),
        "{url}"
    );
    let expires_at: chrono::DateTime<chrono::Utc> = body["expires_at"]
        .as_str()
        .expect("expiry")
        .parse()
        .expect("timestamp");
    assert!(
        expires_at > chrono::Utc::now()
            && expires_at < chrono::Utc::now() + chrono::Duration::seconds(61)
    );

    let url = url.replacen(
        url.split("/oauth").next().unwrap_or_default(),
        &app.sandbox().url,
        1,
    );
    let landing = reqwest::get(&url).await.expect("sso");
    assert_eq!(landing.status(), 200);
    let page = landing.text().await.expect("page");
    assert!(
        page.contains("client 1") && page.contains("viewinvoice.php?id=1003"),
        "{page}"
    );
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 0);
    assert_eq!(
        get_json(&app, &token, "/api/v1/billing/invoices/1003").await["status"],
        status_of_1003(),
        "a link pays nothing by itself"
    );
}

#[tokio::test]
async fn paid_and_cancelled_invoices_cannot_be_paid() {
    let (app, token) = with_demo_customer().await;
    for (invoice, key) in [("1001", "paid-1001"), ("1004", "cancelled-1004")] {
        let response = pay(
            &app,
            &token,
            invoice,
            Some(key),
            json!({ "method": "stored", "pay_method_id": 1 }),
        )
        .await;
        assert_eq!(response.status(), 409, "{invoice}");
        assert_eq!(problem(response).await["code"], "invoice-not-payable");
        let response = pay(
            &app,
            &token,
            invoice,
            Some(&format!("{key}-link")),
            json!({ "method": "link" }),
        )
        .await;
        assert_eq!(response.status(), 409, "{invoice} by link");
    }
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 0);
}

#[tokio::test]
async fn another_customers_invoice_or_card_cannot_be_used() {
    let (app, token) = with_demo_customer().await;

    let response = pay(
        &app,
        &token,
        "2002",
        Some("theirs"),
        json!({ "method": "stored", "pay_method_id": 1 }),
    )
    .await;
    assert_eq!(response.status(), 404);
    problem(response).await;
    let response = pay(
        &app,
        &token,
        "2002",
        Some("theirs-link"),
        json!({ "method": "link" }),
    )
    .await;
    assert_eq!(response.status(), 404);

    // Pay method 2 is demo customer 2's card; 99 nobody's.
    for method in [2, 99] {
        let response = pay(
            &app,
            &token,
            "1002",
            Some(&format!("card-{method}")),
            json!({ "method": "stored", "pay_method_id": method }),
        )
        .await;
        assert_eq!(response.status(), 422, "pay method {method}");
        let body = problem(response).await;
        assert_eq!(body["errors"][0]["field"], "pay_method_id");
    }
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 0);

    // Taro has no card at all.
    let taro = token_of(&customer_linked_to(&app, 1).await);
    let response = pay(
        &app,
        &taro,
        "2002",
        Some("taro"),
        json!({ "method": "stored", "pay_method_id": 1 }),
    )
    .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn bad_payment_requests_are_client_errors() {
    let (app, token) = with_demo_customer().await;
    let stored = json!({ "method": "stored", "pay_method_id": 1 });

    let response = pay(&app, &token, "1002", None, stored.clone()).await;
    assert_eq!(response.status(), 400, "missing key");
    assert!(
        problem(response).await["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Idempotency-Key")
    );
    for key in ["", "has space", "ключ", &"k".repeat(256)] {
        let response = app
            .client
            .post(app.url("/api/v1/billing/invoices/1002/payments"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key.as_bytes())
            .json(&stored)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 400, "key {key:?}");
        problem(response).await;
    }
    assert_eq!(
        pay(
            &app,
            &token,
            "1002",
            Some(&"k".repeat(255)),
            json!({ "method": "link" })
        )
        .await
        .status(),
        200,
        "255 characters are fine"
    );

    for (body, status) in [
        (json!({ "method": "cash" }), 422),
        (json!({ "method": "stored" }), 422),
        (json!({ "method": "stored", "pay_method_id": -1 }), 422),
        (json!({ "method": "stored", "pay_method_id": "1" }), 422),
        (json!({ "method": "stored", "pay_method_id": 0 }), 422),
        (json!({ "method": "link", "extra": true }), 422),
        (json!({}), 422),
        (json!([]), 422),
    ] {
        let response = pay(&app, &token, "1002", Some("body-check"), body.clone()).await;
        assert_eq!(response.status(), status, "{body}");
        problem(response).await;
    }
    let response = app
        .client
        .post(app.url("/api/v1/billing/invoices/1002/payments"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "raw")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    let response = pay(&app, &token, "abc", Some("bad-id"), stored.clone()).await;
    assert_eq!(response.status(), 400);
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 0);
}

#[tokio::test]
async fn a_declined_card_is_a_402() {
    let (app, token) = with_demo_customer().await;
    app.sandbox().inject_fault(System::Whmcs, json!({ "error_code": "Payment Attempt Failed", "operation": "CapturePayment", "times": 1 }));

    let response = pay(
        &app,
        &token,
        "1002",
        Some("declined"),
        json!({ "method": "stored", "pay_method_id": 1 }),
    )
    .await;

    assert_eq!(response.status(), 402);
    assert_eq!(problem(response).await["code"], "payment-declined");
    assert_eq!(
        get(&app, &token, "/api/v1/billing/invoices/1002")
            .await
            .status(),
        200
    );
}

/// Adds a card to WHMCS client 1 as an operator would (AddPayMethod), answering its pay method id.
async fn add_card(app: &crate::helpers::TestApp, number: &str, default: bool) -> u64 {
    use concierge::integrations::whmcs::param;
    let answer: Value = app
        .whmcs
        .call(
            "AddPayMethod",
            &[
                param("clientid", 1),
                param("type", "CreditCard"),
                param("card_number", number),
                param("card_expiry", "0130"),
                param("set_as_default", if default { "1" } else { "0" }),
            ],
        )
        .await
        .expect("AddPayMethod");
    answer["paymethodid"].as_u64().expect("paymethodid")
}

#[tokio::test]
async fn only_the_default_card_can_be_charged_because_whmcs_charges_no_other() {
    let (app, token) = with_demo_customer().await;
    let second = add_card(&app, "5555555555554444", false).await;

    let methods = get_json(&app, &token, "/api/v1/billing/payment-methods").await;
    let defaults: Vec<(u64, bool)> = methods["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| (m["id"].as_u64().expect("id"), m["is_default"] == true))
        .collect();
    assert_eq!(defaults, vec![(1, true), (second, false)]);

    // Choosing the second card would have charged the default one: refused, nothing captured.
    let chosen = json!({ "method": "stored", "pay_method_id": second });
    let response = pay(&app, &token, "1002", Some("second-card"), chosen).await;
    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    assert_eq!(body["errors"][0]["field"], "pay_method_id");
    assert_eq!(body["errors"][0]["code"], "not_default");
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 0);
    let invoice = get_json(&app, &token, "/api/v1/billing/invoices/1002").await;
    assert_ne!(invoice["status"], "paid");

    let default = json!({ "method": "stored", "pay_method_id": 1 });
    let response = pay(&app, &token, "1002", Some("default-card"), default).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
}

#[tokio::test]
async fn a_new_default_card_is_the_only_one_accepted() {
    let (app, token) = with_demo_customer().await;
    let new_default = add_card(&app, "4000056655665556", true).await;

    let old = json!({ "method": "stored", "pay_method_id": 1 });
    let response = pay(&app, &token, "1002", Some("old-default"), old).await;
    assert_eq!(response.status(), 422);
    assert_eq!(problem(response).await["errors"][0]["code"], "not_default");

    let new = json!({ "method": "stored", "pay_method_id": new_default });
    let response = pay(&app, &token, "1002", Some("new-default"), new).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
}
