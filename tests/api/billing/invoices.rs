//! Invoices, summary and pay methods: reading the customer's billing account.

use serde_json::{Value, json};

use super::{get, get_json, ids, status_of_1003, token_of, with_demo_customer};
use crate::helpers::{Sandboxed, System, customer_linked_to, problem, spawn_sandboxed_app_with};

#[tokio::test]
async fn the_invoice_list_shows_the_customers_invoices_newest_first() {
    let (app, token) = with_demo_customer().await;

    let page = get_json(&app, &token, "/api/v1/billing/invoices").await;

    assert_eq!(
        ids(&page),
        vec![1003, 1002, 1001, 1004],
        "by issue date, newest first"
    );
    assert_eq!(page["next_cursor"], Value::Null);
    let items = page["items"].as_array().expect("items");
    assert_eq!(
        items[1],
        json!({
            "id": 1002, "number": "1002", "issued_on": "2026-10-01", "due_on": "2026-10-15", "paid_on": null,
            "total": { "amount": "2980", "currency": "JPY" },
            "balance": { "amount": "2980", "currency": "JPY" },
            "status": "overdue",
        })
    );
    assert_eq!(items[0]["status"], status_of_1003());
    assert_eq!(items[0]["total"]["amount"], "5480");
    assert_eq!(items[2]["status"], "paid");
    assert_eq!(items[2]["paid_on"], "2026-09-10");
    assert_eq!(items[2]["balance"]["amount"], "0");
    assert_eq!(items[3]["status"], "cancelled");
}

#[tokio::test]
async fn the_invoice_list_filters_by_status() {
    let (app, token) = with_demo_customer().await;
    let list = |status: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            ids(&get_json(
                app,
                token,
                &format!("/api/v1/billing/invoices?status={status}"),
            )
            .await)
        }
    };

    assert_eq!(list("paid").await, vec![1001]);
    assert_eq!(list("cancelled").await, vec![1004]);
    assert_eq!(
        list("unpaid").await,
        vec![1003, 1002],
        "overdue ones included"
    );
    if status_of_1003() == "unpaid" {
        assert_eq!(list("overdue").await, vec![1002]);
    }
}

#[tokio::test]
async fn the_invoice_list_pages_with_a_cursor() {
    let (app, token) = with_demo_customer().await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/billing/invoices?limit=1".to_owned();
    for _ in 0..10 {
        let page = get_json(&app, &token, &path).await;
        assert!(ids(&page).len() <= 1);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/billing/invoices?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, vec![1003, 1002, 1001, 1004]);

    let first = get_json(
        &app,
        &token,
        "/api/v1/billing/invoices?status=unpaid&limit=1",
    )
    .await;
    assert_eq!(ids(&first), vec![1003]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = get_json(
        &app,
        &token,
        &format!("/api/v1/billing/invoices?status=unpaid&limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(ids(&second), vec![1002]);
    assert_eq!(second["next_cursor"], Value::Null);
}

#[tokio::test]
async fn bad_list_parameters_are_client_errors() {
    let (app, token) = with_demo_customer().await;
    let first = get_json(&app, &token, "/api/v1/billing/invoices?limit=1").await;
    let cursor = first["next_cursor"].as_str().expect("cursor").to_owned();
    let (payload, tag) = cursor.split_once('.').expect("signed cursor");
    let mut forged_tag = tag.to_owned();
    forged_tag.replace_range(0..1, if tag.starts_with('A') { "B" } else { "A" });

    for (query, status, code) in [
        ("status=bogus", 400, "invalid-query-parameter"),
        ("status=draft", 400, "invalid-query-parameter"),
        ("limit=abc", 400, "invalid-query-parameter"),
        ("limit=-1", 400, "invalid-query-parameter"),
        ("limit=0", 422, "validation-failed"),
        ("limit=101", 422, "validation-failed"),
        ("unknown=1", 400, "invalid-query-parameter"),
        ("cursor=garbage", 400, "invalid-query-parameter"),
        ("cursor=", 400, "invalid-query-parameter"),
        (
            &format!("cursor={payload}.{forged_tag}"),
            400,
            "invalid-query-parameter",
        ),
        (
            &format!("status=paid&cursor={cursor}"),
            400,
            "invalid-query-parameter",
        ),
    ] {
        let response = get(&app, &token, &format!("/api/v1/billing/invoices?{query}")).await;
        assert_eq!(response.status(), status, "{query}");
        assert_eq!(problem(response).await["code"], code, "{query}");
    }

    // A cursor is bound to the customer it was made for.
    let other = token_of(&customer_linked_to(&app, 1).await);
    let response = get(
        &app,
        &other,
        &format!("/api/v1/billing/invoices?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn an_invoice_has_its_lines_and_payments() {
    let (app, token) = with_demo_customer().await;

    let unpaid = get_json(&app, &token, "/api/v1/billing/invoices/1003").await;
    assert_eq!(unpaid["id"], 1003);
    assert_eq!(unpaid["status"], status_of_1003());
    assert_eq!(
        unpaid["balance"],
        json!({ "amount": "5480", "currency": "JPY" })
    );
    assert_eq!(
        unpaid["items"],
        json!([
            { "description": "SIM Data 20GB (11/2026)", "amount": { "amount": "2980", "currency": "JPY" } },
            { "description": "International Roaming 7 days", "amount": { "amount": "2500", "currency": "JPY" } },
        ])
    );
    assert_eq!(unpaid["transactions"], json!([]));

    let paid = get_json(&app, &token, "/api/v1/billing/invoices/1001").await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["balance"]["amount"], "0");
    let transactions = paid["transactions"].as_array().expect("transactions");
    assert_eq!(transactions.len(), 1);
    assert_eq!(transactions[0]["date"], "2026-09-10");
    assert_eq!(
        transactions[0]["amount"],
        json!({ "amount": "3470", "currency": "JPY" })
    );
    assert!(
        transactions[0]["transaction_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert!(transactions[0]["gateway"].as_str().is_some());
}

#[tokio::test]
async fn another_customers_invoice_is_not_found() {
    let (app, token) = with_demo_customer().await;

    let theirs = get(&app, &token, "/api/v1/billing/invoices/2001").await;
    assert_eq!(theirs.status(), 404);
    let theirs = problem(theirs).await;
    let missing = get(&app, &token, "/api/v1/billing/invoices/999999").await;
    assert_eq!(missing.status(), 404);
    let missing = problem(missing).await;
    assert_eq!(
        theirs["detail"], missing["detail"],
        "no hint that 2001 exists"
    );

    // …while its owner sees it.
    let taro = token_of(&customer_linked_to(&app, 1).await);
    assert_eq!(
        get(&app, &taro, "/api/v1/billing/invoices/2001")
            .await
            .status(),
        200
    );
    assert_eq!(
        get(&app, &taro, "/api/v1/billing/invoices/1001")
            .await
            .status(),
        404
    );
    assert_eq!(
        ids(&get_json(&app, &taro, "/api/v1/billing/invoices").await),
        vec![2002, 2001]
    );
}

#[tokio::test]
async fn a_bad_invoice_id_is_a_400() {
    let (app, token) = with_demo_customer().await;
    for id in ["abc", "0", "-1", "1.5", "99999999999999999999999", "%20"] {
        let response = get(&app, &token, &format!("/api/v1/billing/invoices/{id}")).await;
        assert_eq!(response.status(), 400, "{id}");
        assert_eq!(
            problem(response).await["code"],
            "invalid-path-parameter",
            "{id}"
        );
    }
}

#[tokio::test]
async fn the_summary_adds_up_the_unpaid_invoices() {
    let (app, token) = with_demo_customer().await;

    let summary = get_json(&app, &token, "/api/v1/billing/summary").await;

    let overdue = if status_of_1003() == "overdue" { 2 } else { 1 };
    assert_eq!(
        summary,
        json!({
            "outstanding_balance": { "amount": "8460", "currency": "JPY" },
            "unpaid_count": 2,
            "overdue_count": overdue,
            "next_due_on": "2026-10-15",
        })
    );
}

#[tokio::test]
async fn payment_methods_show_no_secrets() {
    let (app, token) = with_demo_customer().await;

    let response = get(&app, &token, "/api/v1/billing/payment-methods").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    let body: Value = serde_json::from_str(&text).expect("json");

    assert_eq!(
        body,
        json!({ "items": [{ "id": 1, "type": "card", "brand": "Visa", "last_four": "4242", "expiry": "02/28",
                           "description": null, "is_default": true }] })
    );
    for secret in ["stripe", "remote", "token", "cus_", "pm_", "gateway"] {
        assert!(!text.to_lowercase().contains(secret), "{secret} in {text}");
    }

    let taro = token_of(&customer_linked_to(&app, 1).await);
    assert_eq!(
        get_json(&app, &taro, "/api/v1/billing/payment-methods").await,
        json!({ "items": [] })
    );
}

#[tokio::test]
async fn billing_needs_a_signed_in_customer() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    for path in [
        "/api/v1/billing/invoices",
        "/api/v1/billing/invoices/1001",
        "/api/v1/billing/summary",
        "/api/v1/billing/payment-methods",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 401, "{path}");
        problem(response).await;
        let response = get(&app, "not-a-token", path).await;
        assert_eq!(response.status(), 401, "{path} with a bad token");
    }
    let response = app
        .client
        .post(app.url("/api/v1/billing/invoices/1002/payments"))
        .header("Idempotency-Key", "k-1")
        .json(&json!({ "method": "link" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert_eq!(
        app.client
            .delete(app.url("/api/v1/billing/invoices"))
            .send()
            .await
            .expect("request")
            .status(),
        405
    );
}

#[tokio::test]
async fn whmcs_failures_are_clear_gateway_problems() {
    let (app, token) = with_demo_customer().await;
    let cases = [
        (
            json!({ "status": 500, "operation": "GetInvoices" }),
            "/api/v1/billing/invoices",
            503,
            "provider-unavailable",
        ),
        (
            json!({ "malformed": true, "operation": "GetInvoices" }),
            "/api/v1/billing/invoices",
            502,
            "provider-error",
        ),
        (
            json!({ "status": 503, "operation": "GetInvoice" }),
            "/api/v1/billing/invoices/1002",
            503,
            "provider-unavailable",
        ),
        (
            json!({ "malformed": true, "operation": "GetInvoice" }),
            "/api/v1/billing/invoices/1002",
            502,
            "provider-error",
        ),
        (
            json!({ "error_code": "Something Broke", "operation": "GetInvoices" }),
            "/api/v1/billing/summary",
            502,
            "provider-error",
        ),
        (
            json!({ "malformed": true, "operation": "GetPayMethods" }),
            "/api/v1/billing/payment-methods",
            502,
            "provider-error",
        ),
        (
            json!({ "hang": true, "operation": "GetPayMethods" }),
            "/api/v1/billing/payment-methods",
            503,
            "provider-unavailable",
        ),
    ];
    for (fault, path, status, code) in cases {
        app.sandbox().inject_fault(System::Whmcs, fault.clone());
        let response = get(&app, &token, path).await;
        assert_eq!(response.status(), status, "{fault} on {path}");
        let body = problem(response).await;
        assert_eq!(body["code"], code, "{fault}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            !detail.contains("succ") && !detail.contains("Server Error"),
            "no payload leaks: {detail}"
        );
        app.sandbox().clear_faults(System::Whmcs);
        // Let the circuit breaker close again.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    }
    assert_eq!(
        get(&app, &token, "/api/v1/billing/invoices").await.status(),
        200
    );
}
