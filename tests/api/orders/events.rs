//! `GET /api/v1/orders/{id}/events`: Server-Sent Events of the order's status changes.

use std::time::Duration;

use serde_json::Value;

use super::provisioning::provisioning_app;
use super::*;
use crate::helpers::{customer_linked_to, problem};

/// Reads the whole stream (it ends at a final status) and returns the `status` events' data.
async fn read_stream(response: Response) -> Vec<Value> {
    let mut response = response;
    let mut text = String::new();
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text.split("\n\n")
        .filter(|frame| frame.contains("event: status"))
        .filter_map(|frame| frame.lines().find_map(|line| line.strip_prefix("data: ")))
        .map(|data| serde_json::from_str(data).expect("event data"))
        .collect()
}

fn statuses(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| event["status"].as_str())
        .collect()
}

#[tokio::test]
async fn the_stream_pushes_each_transition_until_the_order_is_active() {
    let (app, token) = provisioning_app(5).await;
    let order = place(&app, &token, &sim_order()).await;
    let id = order["id"].as_str().expect("id").to_owned();
    let response = get(&app, &token, &format!("/api/v1/orders/{id}/events")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let reader = tokio::spawn(read_stream(response));
    // The stream is open (and has sent the history) before the change happens.
    tokio::time::sleep(Duration::from_millis(700)).await;
    app.sandbox()
        .approve_order(&salesforce_id_of(&app, &id).await)
        .await;

    let events = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the stream ends at the final status")
        .expect("reader");
    assert_eq!(
        statuses(&events),
        ["pending_review", "approved", "provisioning", "active"]
    );
    let sequences: Vec<i64> = events
        .iter()
        .filter_map(|e| e["sequence"].as_i64())
        .collect();
    assert!(sequences.windows(2).all(|pair| pair[0] < pair[1]));
}

#[tokio::test]
async fn a_finished_orders_stream_sends_the_history_and_ends() {
    let (app, token) = provisioning_app(5).await;
    let order = place(&app, &token, &sim_order()).await;
    let id = order["id"].as_str().expect("id").to_owned();
    app.sandbox()
        .approve_order(&salesforce_id_of(&app, &id).await)
        .await;
    crate::helpers::eventually(30, "active", || async {
        let order: Value = get(&app, &token, &format!("/api/v1/orders/{id}"))
            .await
            .json()
            .await
            .expect("json");
        (order["status"] == "active").then_some(())
    })
    .await;

    let response = get(&app, &token, &format!("/api/v1/orders/{id}/events")).await;
    let events = tokio::time::timeout(Duration::from_secs(5), read_stream(response))
        .await
        .expect("ends at once");
    assert_eq!(statuses(&events).last(), Some(&"active"));

    // A reconnecting client resumes after the last event it saw.
    let second = events[1]["sequence"].as_i64().expect("sequence");
    let response = app
        .client
        .get(app.url(&format!("/api/v1/orders/{id}/events")))
        .bearer_auth(&token)
        .header("Last-Event-ID", second.to_string())
        .send()
        .await
        .expect("request");
    let rest = tokio::time::timeout(Duration::from_secs(5), read_stream(response))
        .await
        .expect("ends at once");
    assert_eq!(statuses(&rest), ["provisioning", "active"]);
}

#[tokio::test]
async fn another_customers_stream_is_not_found_and_a_token_is_needed() {
    let (app, token) = with_demo_customer().await;
    let order = place(&app, &token, &sim_order()).await;
    let id = order["id"].as_str().expect("id");
    let other = token_of(&customer_linked_to(&app, 1).await);

    let response = get(&app, &other, &format!("/api/v1/orders/{id}/events")).await;
    assert_eq!(response.status(), 404);
    problem(response).await;
    assert_eq!(
        app.get(&format!("/api/v1/orders/{id}/events"))
            .await
            .status(),
        401
    );
    assert_eq!(
        get(&app, &token, "/api/v1/orders/nope/events")
            .await
            .status(),
        400
    );
}
