//! The provider misbehaving and the process dying: a 429 slows the shared throttle and the recipient is
//! retried; 5xx retries stop at the campaign's limit with the reason; a crash mid-campaign (a run killed
//! mid-batch, outcomes lost after the sends, an answer lost after the provider took the message) messages
//! nobody twice, counted on the stand-in.

use std::time::Duration;

use concierge::crm::campaigns::{self, RunEnd};
use concierge::crm::messages::ThrottleKey;
use concierge_sandbox::System;
use serde_json::json;

use super::*;

#[tokio::test]
async fn a_429_slows_the_throttle_and_the_recipient_is_retried() {
    let (app, token) = app().await;
    let people = [
        reachable(&app, &token, 20).await,
        reachable(&app, &token, 21).await,
    ];
    let (maison, id) = frozen(&app, &token, &people, json!({ "throttle_per_sec": 40.0 })).await;
    app.sandbox().inject_fault(
        System::Messaging,
        json!({ "status": 429, "times": 1, "operation": "/v1/messages" }),
    );
    let c = handle(&app);
    let end = campaigns::deliver(&c, &maison, id).await.unwrap();
    assert!(matches!(end, RunEnd::Continue(_)), "{end:?}");
    let throttle = app.state.messages.throttle();
    let rate = throttle
        .current_rate(&ThrottleKey::campaign(id))
        .await
        .unwrap();
    assert!(rate <= 20.0 + 1e-9, "halved after the 429: {rate}");
    let rows = recipients(&app, &token, id, "").await;
    let limited: Vec<_> = rows
        .iter()
        .filter(|r| r.2.as_deref() == Some("rate_limited"))
        .collect();
    assert_eq!(limited.len(), 1, "{rows:?}");
    assert_eq!(limited[0].1, "queued");
    assert_eq!(limited[0].3, 1, "one attempt");
    assert_eq!(deliver_all(&app, &maison, id, 10).await, RunEnd::Completed);
    for i in [20, 21] {
        assert_eq!(app.sandbox().messages_to(&phone(i)).await.len(), 1, "{i}");
    }
    assert_eq!(get(&app, &token, id).await["counts"]["sent"], 2);
}

#[tokio::test]
async fn retryable_failures_stop_at_the_retry_limit_with_their_reason() {
    let (app, token) = app().await;
    let person = reachable(&app, &token, 22).await;
    let (maison, id) = frozen(&app, &token, &[person], json!({ "retry_limit": 1 })).await;
    app.sandbox().inject_fault(
        System::Messaging,
        json!({ "status": 503, "times": 10, "operation": "/v1/messages" }),
    );
    let c = handle(&app);
    let end = campaigns::deliver(&c, &maison, id).await.unwrap();
    let RunEnd::Continue(at) = end else {
        panic!("{end:?}");
    };
    let now = app.state.messages.clock().now();
    assert!(
        at >= now + chrono::Duration::milliseconds(500),
        "backs off: {at} vs {now}"
    );
    let rows = recipients(&app, &token, id, "").await;
    assert_eq!((rows[0].1.as_str(), rows[0].3), ("queued", 1));
    assert_eq!(deliver_all(&app, &maison, id, 10).await, RunEnd::Completed);
    let rows = recipients(&app, &token, id, "").await;
    assert_eq!(rows[0].1, "failed");
    assert_eq!(
        rows[0].2.as_deref(),
        Some("retry_limit_reached: provider_unavailable")
    );
    assert_eq!(rows[0].3, 2, "the first attempt and one retry");
    let campaign = get(&app, &token, id).await;
    assert_eq!(campaign["status"], "completed");
    assert_eq!(campaign["counts"]["failed"], 1);
    assert!(app.sandbox().messages_to(&phone(22)).await.is_empty());
}

#[tokio::test]
async fn a_crash_mid_campaign_messages_nobody_twice() {
    let (app, token) = app().await;
    let mut people = Vec::new();
    for i in 30..42 {
        people.push(reachable(&app, &token, i).await);
    }
    let (maison, id) = frozen(&app, &token, &people, json!({ "throttle_per_sec": 1000.0 })).await;
    // The provider takes one message but its answer is lost.
    app.sandbox().inject_fault(
        System::Messaging,
        json!({ "status": 500, "times": 1, "phase": "after", "operation": "/v1/messages" }),
    );
    // A run killed as soon as the first messages went out: its claimed rows stay leased.
    let c = handle(&app);
    let run = {
        let (c, maison) = (c.clone(), maison.clone());
        tokio::spawn(async move { campaigns::deliver(&c, &maison, id).await })
    };
    let sandbox = app.sandbox();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while sandbox.count_path(System::Messaging, "/v1/messages") == 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    run.abort();
    let _ = run.await;
    // Another replica runs once the lease has run out.
    app.state
        .messages
        .clock()
        .advance(chrono::Duration::seconds(120));
    assert_eq!(deliver_all(&app, &maison, id, 10).await, RunEnd::Completed);
    // A crash that lost every recipient's outcome after the sends: the rows go back to queued.
    sqlx::query(
        "UPDATE crm_campaign_recipients SET status = 'queued', reason = NULL, lease_token = NULL,
                lease_until = NULL WHERE campaign_id = $1",
    )
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE crm_campaigns SET status = 'sending', completed_at = NULL WHERE id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(deliver_all(&app, &maison, id, 10).await, RunEnd::Completed);
    for i in 30..42 {
        assert_eq!(
            app.sandbox().messages_to(&phone(i)).await.len(),
            1,
            "profile {i} messaged once"
        );
    }
    let campaign = get(&app, &token, id).await;
    assert_eq!(campaign["counts"]["sent"], 12, "{campaign}");
}
