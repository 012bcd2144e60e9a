//! Platform events: published through the REST API, delivered through the CometD long-polling endpoint with
//! replay ids.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{API, DEMO_ACCOUNT, Org};

const EVENT: &str = "OrderProvisionRequested__e";
const CHANNEL: &str = "/event/OrderProvisionRequested__e";

async fn bayeux(org: &Org, messages: Value) -> Vec<Value> {
    let response = org
        .client
        .post(org.url("/cometd/60.0"))
        .bearer_auth(&org.token)
        .json(&messages)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn handshake(org: &Org) -> String {
    let replies = bayeux(
        org,
        json!([{ "channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"] }]),
    )
    .await;
    assert_eq!(replies[0]["successful"], true);
    assert_eq!(
        replies[0]["supportedConnectionTypes"],
        json!(["long-polling"])
    );
    replies[0]["clientId"].as_str().unwrap().to_owned()
}

async fn subscribe(org: &Org, client_id: &str, replay: i64) -> Value {
    let replies = bayeux(
        org,
        json!([{
            "channel": "/meta/subscribe",
            "clientId": client_id,
            "subscription": CHANNEL,
            "ext": { "replay": { CHANNEL: replay } },
        }]),
    )
    .await;
    replies[0].clone()
}

async fn connect(org: &Org, client_id: &str, timeout_ms: u64) -> Vec<Value> {
    bayeux(
        org,
        json!([{
            "channel": "/meta/connect",
            "clientId": client_id,
            "connectionType": "long-polling",
            "advice": { "timeout": timeout_ms },
        }]),
    )
    .await
}

async fn publish(org: &Org, order_id: &str) -> Value {
    let (status, body) = org
        .post(
            &format!("{API}/sobjects/{EVENT}/"),
            json!({ "OrderId__c": order_id }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn events_in(replies: &[Value]) -> Vec<&Value> {
    replies.iter().filter(|r| r["channel"] == CHANNEL).collect()
}

#[tokio::test]
async fn publishing_a_platform_event_reports_it_enqueued() {
    let org = Org::start().await;

    let body = publish(&org, "801SB0000000001AAA").await;

    assert!(body["id"].as_str().unwrap().starts_with("e01"));
    assert_eq!(body["success"], true);
    assert_eq!(body["errors"][0]["statusCode"], "OPERATION_ENQUEUED");
    assert_eq!(body["errors"][0]["message"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn replaying_all_delivers_every_retained_event_once() {
    let org = Org::start().await;
    let first = publish(&org, "801SB0000000001AAA").await;
    publish(&org, "801SB0000000002AAA").await;
    let client_id = handshake(&org).await;

    let subscribed = subscribe(&org, &client_id, -2).await;
    let replies = connect(&org, &client_id, 2_000).await;
    let again = connect(&org, &client_id, 200).await;

    assert_eq!(subscribed["successful"], true);
    assert_eq!(subscribed["subscription"], CHANNEL);
    let events = events_in(&replies);
    assert_eq!(events.len(), 2);
    let data = &events[0]["data"];
    assert_eq!(data["payload"]["OrderId__c"], "801SB0000000001AAA");
    assert!(data["payload"]["CreatedDate"].is_string());
    assert_eq!(data["payload"]["CreatedById"], "005SB0000000001AAA");
    assert_eq!(data["event"]["EventUuid"], first["errors"][0]["message"]);
    assert!(data["schema"].is_string());
    let first_replay = data["event"]["replayId"].as_i64().unwrap();
    let second_replay = events[1]["data"]["event"]["replayId"].as_i64().unwrap();
    assert!(second_replay > first_replay);
    let connected = replies.last().unwrap();
    assert_eq!(connected["channel"], "/meta/connect");
    assert_eq!(connected["successful"], true);
    assert_eq!(connected["advice"]["reconnect"], "retry");
    assert!(events_in(&again).is_empty(), "each event is delivered once");
}

#[tokio::test]
async fn replaying_new_only_waits_for_the_next_event() {
    let org = Org::start().await;
    publish(&org, "801SB0000000001AAA").await;
    let client_id = handshake(&org).await;
    subscribe(&org, &client_id, -1).await;
    let started = Instant::now();

    let (replies, _) = tokio::join!(connect(&org, &client_id, 10_000), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        publish(&org, "801SB0000000002AAA").await
    });

    let events = events_in(&replies);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["data"]["payload"]["OrderId__c"],
        "801SB0000000002AAA"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered when the event came"
    );
}

#[tokio::test]
async fn replaying_from_an_id_delivers_the_events_after_it() {
    let org = Org::start().await;
    for n in 1..=3 {
        publish(&org, &format!("801SB000000000{n}AAA")).await;
    }
    let reader = handshake(&org).await;
    subscribe(&org, &reader, -2).await;
    let all = connect(&org, &reader, 2_000).await;
    let first_replay = events_in(&all)[0]["data"]["event"]["replayId"]
        .as_i64()
        .unwrap();
    let resumed = handshake(&org).await;

    let subscribed = subscribe(&org, &resumed, first_replay).await;
    let replies = connect(&org, &resumed, 2_000).await;

    assert_eq!(subscribed["successful"], true);
    let orders: Vec<&Value> = events_in(&replies)
        .iter()
        .map(|e| &e["data"]["payload"]["OrderId__c"])
        .collect();
    assert_eq!(orders, vec!["801SB0000000002AAA", "801SB0000000003AAA"]);
}

#[tokio::test]
async fn an_unknown_replay_id_is_refused_with_salesforce_advice() {
    let org = Org::start().await;
    publish(&org, "801SB0000000001AAA").await;
    let client_id = handshake(&org).await;

    let subscribed = subscribe(&org, &client_id, 987_654).await;

    assert_eq!(subscribed["successful"], false);
    assert_eq!(
        subscribed["error"],
        "400::The replayId 987654 you provided was invalid. Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."
    );
}

#[tokio::test]
async fn an_unknown_client_is_told_to_handshake_again() {
    let org = Org::start().await;

    let replies = connect(&org, "never-handshaken", 1_000).await;
    let subscribed = subscribe(&org, "never-handshaken", -1).await;

    assert_eq!(replies[0]["channel"], "/meta/connect");
    assert_eq!(replies[0]["successful"], false);
    assert_eq!(replies[0]["error"], "403::Unknown client");
    assert_eq!(replies[0]["advice"]["reconnect"], "handshake");
    assert_eq!(subscribed["successful"], false);
    assert_eq!(subscribed["error"], "403::Unknown client");
}

#[tokio::test]
async fn a_connect_without_events_answers_after_the_requested_timeout() {
    let org = Org::start().await;
    let client_id = handshake(&org).await;
    subscribe(&org, &client_id, -1).await;
    let started = Instant::now();

    let replies = connect(&org, &client_id, 400).await;

    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(350), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["successful"], true);
}

#[tokio::test]
async fn after_disconnecting_the_client_is_unknown() {
    let org = Org::start().await;
    let client_id = handshake(&org).await;

    let replies = bayeux(
        &org,
        json!([{ "channel": "/meta/disconnect", "clientId": client_id }]),
    )
    .await;
    let connected = connect(&org, &client_id, 200).await;

    assert_eq!(replies[0]["successful"], true);
    assert_eq!(connected[0]["error"], "403::Unknown client");
}

#[tokio::test]
async fn the_streaming_endpoint_needs_a_valid_token() {
    let org = Org::start().await;

    let response = org
        .client
        .post(org.url("/cometd/60.0"))
        .json(&json!([{ "channel": "/meta/handshake", "version": "1.0" }]))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn approving_an_order_activates_it_and_wakes_the_provisioning_subscriber() {
    let org = Org::start().await;
    let order = org.draft_order_with("SIM-DATA-20GB").await;
    let client_id = handshake(&org).await;
    subscribe(&org, &client_id, -1).await;

    let (replies, approval) = tokio::join!(connect(&org, &client_id, 10_000), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        org.client
            .post(org.url(&format!("/__sandbox/salesforce/orders/{order}/approve")))
            .send()
            .await
            .unwrap()
    });

    assert_eq!(approval.status(), StatusCode::OK);
    let approval: Value = approval.json().await.unwrap();
    assert_eq!(approval["order"]["Status"], "Activated");
    let events = events_in(&replies);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["payload"]["OrderId__c"], order.as_str());
    assert_eq!(
        events[0]["data"]["event"]["replayId"],
        approval["event"]["replayId"]
    );
    let activated = org.record("Order", &order).await;
    assert_eq!(activated["Status"], "Activated");
    assert_eq!(activated["Activation_Status__c"], "Activating");
    assert!(activated["ActivatedDate"].is_string());
}

#[tokio::test]
async fn events_of_a_rolled_back_composite_are_never_published() {
    let org = Org::start().await;

    org.post(
        &format!("{API}/composite"),
        json!({ "allOrNone": true, "compositeRequest": [
            { "method": "POST", "url": format!("{API}/sobjects/{EVENT}"), "referenceId": "refEvent", "body": { "OrderId__c": "801SB0000000001AAA" } },
            { "method": "POST", "url": format!("{API}/sobjects/Order"), "referenceId": "refOrder", "body": { "AccountId": DEMO_ACCOUNT } },
        ]}),
    )
    .await;

    let retained: Vec<Value> = org
        .client
        .get(org.url(&format!("/__sandbox/salesforce/events/{EVENT}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(retained.is_empty());
}
