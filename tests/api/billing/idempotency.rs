//! Idempotency-Key on payments: replays, reuse, failures that do not poison the key, concurrency.

use serde_json::{Value, json};

use super::{get_json, pay, with_demo_customer};
use crate::helpers::{System, problem};

async fn keys(app: &crate::helpers::TestApp) -> Vec<(String, String)> {
    sqlx::query_as::<_, (String, String)>("SELECT key, state FROM idempotency_keys ORDER BY key")
        .fetch_all(&app.db)
        .await
        .expect("idempotency keys")
}

#[tokio::test]
async fn the_same_key_and_body_replay_the_first_answer_without_charging_again() {
    let (app, token) = with_demo_customer().await;
    let body = json!({ "method": "stored", "pay_method_id": 1 });

    let first = pay(&app, &token, "1002", Some("replay-me"), body.clone()).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.expect("json");

    // Same request, keys in another order: the same request.
    let second = pay(
        &app,
        &token,
        "1002",
        Some("replay-me"),
        json!({ "pay_method_id": 1, "method": "stored" }),
    )
    .await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: Value = second.json().await.expect("json");

    assert_eq!(first, second);
    // The invoice id as written differently is still the same request.
    let third = pay(&app, &token, "01002", Some("replay-me"), body.clone()).await;
    assert_eq!(third.status(), 200);
    assert_eq!(third.headers()["idempotent-replayed"], "true");
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
    assert_eq!(
        keys(&app).await,
        vec![("replay-me".to_owned(), "completed".to_owned())]
    );

    // A new key for the now paid invoice: a new request, and a 409, itself replayed.
    let again = pay(&app, &token, "1002", Some("second-try"), body.clone()).await;
    assert_eq!(again.status(), 409);
    let again = problem(again).await;
    let replayed = pay(&app, &token, "1002", Some("second-try"), body).await;
    assert_eq!(replayed.status(), 409);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(problem(replayed).await, again);
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_a_422() {
    let (app, token) = with_demo_customer().await;
    let first = pay(
        &app,
        &token,
        "1003",
        Some("one-key"),
        json!({ "method": "link" }),
    )
    .await;
    assert_eq!(first.status(), 200);

    let other_body = pay(
        &app,
        &token,
        "1003",
        Some("one-key"),
        json!({ "method": "stored", "pay_method_id": 1 }),
    )
    .await;
    assert_eq!(other_body.status(), 422);
    assert_eq!(problem(other_body).await["code"], "idempotency-key-reused");

    let other_invoice = pay(
        &app,
        &token,
        "1002",
        Some("one-key"),
        json!({ "method": "link" }),
    )
    .await;
    assert_eq!(other_invoice.status(), 422);
    assert_eq!(
        problem(other_invoice).await["code"],
        "idempotency-key-reused"
    );
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 0);
}

#[tokio::test]
async fn keys_belong_to_one_customer() {
    let (app, token) = with_demo_customer().await;
    let taro = super::token_of(&crate::helpers::customer_linked_to(&app, 1).await);

    assert_eq!(
        pay(
            &app,
            &token,
            "1003",
            Some("shared"),
            json!({ "method": "link" })
        )
        .await
        .status(),
        200
    );
    let theirs = pay(
        &app,
        &taro,
        "2002",
        Some("shared"),
        json!({ "method": "link" }),
    )
    .await;
    assert_eq!(theirs.status(), 200, "another customer's key space");
    assert!(theirs.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_whmcs_failure_does_not_poison_the_key() {
    let (app, token) = with_demo_customer().await;
    let body = json!({ "method": "stored", "pay_method_id": 1 });

    for (fault, status) in [
        (json!({ "status": 500, "operation": "GetInvoice" }), 503),
        (
            json!({ "malformed": true, "operation": "GetPayMethods" }),
            502,
        ),
        (json!({ "hang": true, "operation": "GetInvoice" }), 503),
    ] {
        app.sandbox().inject_fault(System::Whmcs, fault.clone());
        let response = pay(&app, &token, "1002", Some("retry-me"), body.clone()).await;
        assert_eq!(response.status(), status, "{fault}");
        problem(response).await;
        assert_eq!(keys(&app).await, vec![], "nothing recorded after {fault}");
        app.sandbox().clear_faults(System::Whmcs);
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    }
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 0);

    let response = pay(&app, &token, "1002", Some("retry-me"), body).await;
    assert_eq!(
        response.status(),
        200,
        "the same key works once WHMCS is back"
    );
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
}

#[tokio::test]
async fn a_failed_capture_is_not_recorded_and_may_be_retried() {
    let (app, token) = with_demo_customer().await;
    let body = json!({ "method": "stored", "pay_method_id": 1 });
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "status": 503, "operation": "CapturePayment", "times": 1 }),
    );

    let response = pay(&app, &token, "1002", Some("capture-retry"), body.clone()).await;
    assert_eq!(response.status(), 503);
    problem(response).await;
    // The capture went out (its outcome unknown to the key): kept, released for the retry to reconcile.
    assert_eq!(
        keys(&app).await,
        vec![("capture-retry".to_owned(), "in_progress".to_owned())]
    );
    assert_eq!(
        get_json(&app, &token, "/api/v1/billing/invoices/1002").await["status"],
        "overdue"
    );

    let response = pay(&app, &token, "1002", Some("capture-retry"), body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.sandbox().whmcs_calls("CapturePayment"),
        2,
        "sent once per attempt, never retried blindly"
    );
}

#[tokio::test]
async fn a_capture_whose_answer_is_lost_is_confirmed_from_the_invoice() {
    let (app, token) = with_demo_customer().await;
    // WHMCS charges the card, then the answer is lost.
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "status": 500, "operation": "CapturePayment", "phase": "after", "times": 1 }),
    );

    let response = pay(
        &app,
        &token,
        "1002",
        Some("lost-answer"),
        json!({ "method": "stored", "pay_method_id": 1 }),
    )
    .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "paid");
    assert_eq!(
        app.sandbox().whmcs_calls("CapturePayment"),
        1,
        "not charged twice"
    );
    assert_eq!(
        keys(&app).await,
        vec![("lost-answer".to_owned(), "completed".to_owned())]
    );
}

#[tokio::test]
async fn a_request_still_running_under_the_key_is_a_409() {
    let (app, token) = with_demo_customer().await;
    let body = json!({ "method": "link" });
    // The first request takes its time.
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "latency_ms": 1500, "operation": "CreateSsoToken", "times": 1 }),
    );

    let slow = pay(&app, &token, "1003", Some("in-flight"), body.clone());
    let fast = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        pay(&app, &token, "1003", Some("in-flight"), body.clone()).await
    };
    let (slow, fast) = tokio::join!(slow, fast);

    assert_eq!(slow.status(), 200);
    assert_eq!(fast.status(), 409);
    assert_eq!(fast.headers()["retry-after"], "1");
    assert_eq!(problem(fast).await["code"], "request-in-progress");
    let replay = pay(&app, &token, "1003", Some("in-flight"), body).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
}

#[tokio::test]
async fn an_abandoned_or_expired_key_is_taken_over() {
    let (app, token) = with_demo_customer().await;
    let body = json!({ "method": "link" });
    assert_eq!(
        pay(&app, &token, "1003", Some("old"), body.clone())
            .await
            .status(),
        200
    );
    assert_eq!(
        pay(&app, &token, "1003", Some("stuck"), body.clone())
            .await
            .status(),
        200
    );
    // "old" expired; "stuck" died mid-request long ago.
    sqlx::query(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'old'",
    )
    .execute(&app.db)
    .await
    .expect("expire");
    sqlx::query("UPDATE idempotency_keys SET state = 'in_progress', response_status = NULL, response_body = NULL, created_at = now() - interval '1 hour', heartbeat_at = now() - interval '1 hour' WHERE key = 'stuck'")
        .execute(&app.db)
        .await
        .expect("abandon");

    let old = pay(
        &app,
        &token,
        "1003",
        Some("old"),
        json!({ "method": "stored", "pay_method_id": 1 }),
    )
    .await;
    assert_eq!(old.status(), 200, "an expired key is a new key");
    assert!(old.headers().get("idempotent-replayed").is_none());
    let stuck = pay(&app, &token, "1003", Some("stuck"), body).await;
    assert_eq!(
        stuck.status(),
        409,
        "taken over, and the invoice is paid by now"
    );
    assert!(stuck.headers().get("idempotent-replayed").is_none());

    let pruned = concierge::idempotency::prune_expired(&app.db)
        .await
        .expect("prune");
    assert_eq!(pruned, 0);
}

#[tokio::test]
async fn a_payment_link_is_not_replayed_after_it_expired() {
    let (app, token) = with_demo_customer().await;
    let link = json!({ "method": "link" });
    let first = pay(&app, &token, "1003", Some("link-key"), link.clone()).await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.expect("json");

    // While it can be opened, a repeat replays the same link.
    let replayed = pay(&app, &token, "1003", Some("link-key"), link.clone()).await;
    assert_eq!(replayed.status(), 200);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.json::<Value>().await.expect("json"), first);

    // The link's lifetime passes (WHMCS single sign-on links live 60 seconds).
    sqlx::query(
        "UPDATE idempotency_keys
         SET response_body = jsonb_set(response_body, '{expires_at}', to_jsonb($1::text))
         WHERE key = 'link-key'",
    )
    .bind((chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339())
    .execute(&app.db)
    .await
    .expect("age the link");
    let expired = pay(&app, &token, "1003", Some("link-key"), link.clone()).await;
    assert_eq!(expired.status(), 409);
    let expired = problem(expired).await;
    assert_eq!(expired["code"], "payment-link-expired");
    assert!(
        !expired.to_string().contains("singlesignon"),
        "the dead link is not handed out: {expired}"
    );
    assert_eq!(
        app.sandbox().whmcs_calls("CreateSsoToken"),
        1,
        "the key is not re-run"
    );

    // A new key is a new request: a fresh link.
    let fresh = pay(&app, &token, "1003", Some("link-key-2"), link).await;
    assert_eq!(fresh.status(), 200);
    let fresh: Value = fresh.json().await.expect("json");
    assert_ne!(fresh["payment_url"], first["payment_url"]);
    assert_eq!(app.sandbox().whmcs_calls("CreateSsoToken"), 2);
}

#[tokio::test]
async fn a_capture_whose_outcome_stayed_unknown_is_answered_paid_by_the_retry() {
    let (app, token) = with_demo_customer().await;
    let body = json!({ "method": "stored", "pay_method_id": 1 });
    // WHMCS charges the card slowly, then the answer is lost...
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "status": 500, "operation": "CapturePayment", "phase": "after", "latency_ms": 1500,
                "times": 1 }),
    );
    let first = pay(&app, &token, "1002", Some("unknown"), body.clone());
    let meanwhile = async {
        // ...and the invoice read that would confirm it fails too (the pre-check read has passed by now).
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        app.sandbox().inject_fault(
            System::Whmcs,
            json!({ "status": 503, "operation": "GetInvoice", "times": 1 }),
        );
    };
    let (first, ()) = tokio::join!(first, meanwhile);
    assert!(first.status().is_server_error(), "{}", first.status());
    assert_eq!(app.sandbox().whmcs_calls("CapturePayment"), 1);
    app.sandbox().clear_faults(System::Whmcs);

    let retry = pay(&app, &token, "1002", Some("unknown"), body).await;

    assert_eq!(retry.status(), 200, "the real outcome: our capture paid it");
    let retry: Value = retry.json().await.expect("json");
    assert_eq!(retry["status"], "paid");
    assert_eq!(
        app.sandbox().whmcs_calls("CapturePayment"),
        1,
        "not charged twice"
    );
}
