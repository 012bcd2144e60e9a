//! The sandbox's own machinery: the control API, fault injection and the request log.

use serde_json::{Value, json};

use crate::helpers::spawn_sandbox;

#[tokio::test]
async fn faults_are_applied_counted_and_cleared() {
    let sandbox = spawn_sandbox().await;
    let client = reqwest::Client::new();
    let put = client
        .put(format!("{}/__sandbox/faults/messaging", sandbox.url))
        .json(&json!({ "status": 503, "times": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);

    let faulted = client
        .get(format!("{}/messaging/v1/anything", sandbox.url))
        .send()
        .await
        .unwrap();
    assert_eq!(faulted.status(), 503);
    let after = client
        .get(format!("{}/messaging/v1/anything", sandbox.url))
        .send()
        .await
        .unwrap();
    assert_ne!(after.status(), 503, "a fault with times=1 fires once");

    let log: Vec<Value> = client
        .get(format!(
            "{}/__sandbox/requests?system=messaging",
            sandbox.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["system"], "messaging");
}

#[tokio::test]
async fn an_unknown_fault_field_is_refused() {
    let sandbox = spawn_sandbox().await;
    let response = reqwest::Client::new()
        .put(format!("{}/__sandbox/faults/whmcs", sandbox.url))
        .json(&json!({ "stauts": 500 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn reset_clears_faults_and_the_request_log() {
    let sandbox = spawn_sandbox().await;
    let client = reqwest::Client::new();
    client
        .put(format!("{}/__sandbox/faults/freebit", sandbox.url))
        .json(&json!({ "hang": true }))
        .send()
        .await
        .unwrap();

    let reset = client
        .post(format!("{}/__sandbox/reset", sandbox.url))
        .send()
        .await
        .unwrap();

    assert_eq!(reset.status(), 204);
    let faults: Vec<Value> = client
        .get(format!("{}/__sandbox/faults", sandbox.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(faults.is_empty());
    let log: Vec<Value> = client
        .get(format!("{}/__sandbox/requests", sandbox.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(log.is_empty());
}

#[tokio::test]
async fn the_request_log_keeps_the_trace_context_each_request_carried() {
    let sandbox = spawn_sandbox().await;
    let client = reqwest::Client::new();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    client
        .get(format!("{}/messaging/v1/anything", sandbox.url))
        .header("traceparent", traceparent)
        .header("tracestate", "concierge=1")
        .send()
        .await
        .unwrap();
    client
        .get(format!("{}/messaging/v1/anything", sandbox.url))
        .send()
        .await
        .unwrap();

    let log: Vec<Value> = client
        .get(format!(
            "{}/__sandbox/requests?system=messaging",
            sandbox.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["traceparent"], traceparent);
    assert_eq!(log[0]["tracestate"], "concierge=1");
    assert_eq!(log[1]["traceparent"], Value::Null);
    assert_eq!(log[1]["tracestate"], Value::Null);
}
