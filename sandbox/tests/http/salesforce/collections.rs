//! sObject Collections: many records in one call, results in request order.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{API, DEMO_ACCOUNT, DEMO_CONTACT, Org};

async fn task_count(org: &Org) -> u64 {
    let (_, body) = org.query("SELECT COUNT() FROM Task").await;
    body["totalSize"].as_u64().unwrap()
}

#[tokio::test]
async fn records_of_several_types_are_created_in_order() {
    let org = Org::start().await;

    let (status, body) = org
        .post(
            &format!("{API}/composite/sobjects"),
            json!({
                "allOrNone": false,
                "records": [
                    { "attributes": { "type": "Task" }, "Subject": "Call", "WhatId": DEMO_ACCOUNT, "WhoId": DEMO_CONTACT },
                    { "attributes": { "type": "Contact" }, "FirstName": "No last name" },
                    { "attributes": { "type": "Task" }, "Subject": "WhatsApp", "WhatId": DEMO_ACCOUNT },
                ]
            }),
        )
        .await;

    assert_eq!(status, StatusCode::OK);
    let results = body.as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["success"], true);
    assert!(results[0]["id"].as_str().unwrap().starts_with("00T"));
    assert_eq!(results[0]["errors"], json!([]));
    assert_eq!(results[1]["success"], false);
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(results[1]["errors"][0]["fields"], json!(["LastName"]));
    assert!(results[1]["errors"][0].get("errorCode").is_none());
    assert_eq!(results[2]["success"], true);
    let task = org.record("Task", results[0]["id"].as_str().unwrap()).await;
    assert_eq!(task["Status"], "Not Started");
    assert_eq!(task["OwnerId"], "005SB0000000001AAA");
}

#[tokio::test]
async fn with_all_or_none_nothing_is_kept_when_one_record_fails() {
    let org = Org::start().await;
    let before = task_count(&org).await;

    let (status, body) = org
        .post(
            &format!("{API}/composite/sobjects"),
            json!({
                "allOrNone": true,
                "records": [
                    { "attributes": { "type": "Task" }, "Subject": "Call", "WhatId": DEMO_ACCOUNT },
                    { "attributes": { "type": "Task" }, "Subject": "Visit", "Colour__c": "red" },
                ]
            }),
        )
        .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["success"], false);
    assert!(body[0].get("id").is_none());
    assert_eq!(
        body[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(body[1]["errors"][0]["statusCode"], "INVALID_FIELD");
    assert_eq!(task_count(&org).await, before);
}

#[tokio::test]
async fn records_are_updated_and_deleted_in_bulk() {
    let org = Org::start().await;
    let first = org.create("Task", json!({ "Subject": "One" })).await;
    let second = org.create("Task", json!({ "Subject": "Two" })).await;

    let (_, updated) = org
        .patch(
            &format!("{API}/composite/sobjects"),
            json!({ "records": [
                { "attributes": { "type": "Task" }, "Id": first, "Status": "Completed" },
                { "attributes": { "type": "Task" }, "Id": "00TSB9999999999AAA", "Status": "Completed" },
            ]}),
        )
        .await;
    let (_, deleted) = org
        .delete(&format!("{API}/composite/sobjects?ids={first},{second}"))
        .await;

    assert_eq!(
        updated[0],
        json!({ "id": first, "success": true, "errors": [] })
    );
    assert_eq!(updated[1]["success"], false);
    assert_eq!(deleted[0]["success"], true);
    assert_eq!(deleted[1]["id"], second.as_str());
    assert_eq!(task_count(&org).await, 0);
}

#[tokio::test]
async fn more_than_two_hundred_records_are_refused() {
    let org = Org::start().await;
    let records: Vec<Value> = (0..201)
        .map(|n| json!({ "attributes": { "type": "Task" }, "Subject": format!("Task {n}") }))
        .collect();

    let (status, body) = org
        .post(
            &format!("{API}/composite/sobjects"),
            json!({ "records": records }),
        )
        .await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body[0]["errorCode"].is_string());
    assert_eq!(task_count(&org).await, 0);
}
