//! Composite requests with references, typed subresponse failures, and sObject collections.

use concierge::integrations::salesforce::{composite_failure, salesforce_errors};
use serde::Serialize;
use serde_json::json;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{DATA, client_for, mount_token, order_id};

const ITEM_ID: &str = "802RO00000B1c2dYAB";

#[tokio::test]
async fn a_composite_request_passes_references_through_and_reads_every_subresponse() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let expected_request = json!({
        "allOrNone": true,
        "compositeRequest": [
            {"method": "POST", "url": format!("{DATA}/sobjects/Order"), "referenceId": "refOrder",
             "body": {"AccountId": "001RO000001abcdYAA", "Status": "Draft"}},
            {"method": "POST", "url": format!("{DATA}/sobjects/OrderItem"), "referenceId": "refItem1",
             "body": {"OrderId": "@{refOrder.id}", "Quantity": 1}},
            {"method": "PATCH", "url": format!("{DATA}/sobjects/Order/@{{refOrder.id}}"), "referenceId": "refActivate",
             "body": {"Status": "Activated"}}
        ]
    });
    Mock::given(method("POST"))
        .and(path(format!("{DATA}/composite")))
        .and(body_json(&expected_request))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"compositeResponse": [
            {"body": {"id": order_id(), "success": true, "errors": []},
             "httpHeaders": {"Location": format!("{DATA}/sobjects/Order/{}", order_id())},
             "httpStatusCode": 201, "referenceId": "refOrder"},
            {"body": {"id": ITEM_ID, "success": true, "errors": []},
             "httpHeaders": {}, "httpStatusCode": 201, "referenceId": "refItem1"},
            {"body": null, "httpHeaders": {}, "httpStatusCode": 204, "referenceId": "refActivate"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let sub = client.subrequests();

    let responses = client
        .composite(
            true,
            vec![
                sub.create(
                    "refOrder",
                    "Order",
                    json!({"AccountId": "001RO000001abcdYAA", "Status": "Draft"}),
                )
                .unwrap(),
                sub.create(
                    "refItem1",
                    "OrderItem",
                    json!({"OrderId": "@{refOrder.id}", "Quantity": 1}),
                )
                .unwrap(),
                sub.update(
                    "refActivate",
                    "Order",
                    "@{refOrder.id}",
                    json!({"Status": "Activated"}),
                )
                .unwrap(),
            ],
        )
        .await
        .unwrap();

    assert!(responses.iter().all(|response| response.is_success()));
    assert_eq!(responses[0].id(), Some(order_id()));
    assert_eq!(
        responses[0].location(),
        Some(format!("{DATA}/sobjects/Order/{}", order_id()).as_str())
    );
    assert_eq!(responses[1].id(), Some(ITEM_ID));
    assert!(composite_failure(&responses).is_none());
}

#[tokio::test]
async fn a_failing_subrequest_is_surfaced_with_typed_errors() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("POST"))
        .and(path(format!("{DATA}/composite")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"compositeResponse": [
            {"body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}],
             "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "refOrder"},
            {"body": [{"message": "Quantity: bad value", "errorCode": "INVALID_FIELD", "fields": ["Quantity"]}],
             "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "refItem1"}
        ]})))
        .mount(&server)
        .await;
    let client = client_for(&server);
    let sub = client.subrequests();

    let responses = client
        .composite(
            true,
            vec![
                sub.create("refOrder", "Order", json!({})).unwrap(),
                sub.create("refItem1", "OrderItem", json!({"Quantity": -1}))
                    .unwrap(),
            ],
        )
        .await
        .unwrap();

    assert!(!responses[1].is_success());
    let item_errors = responses[1].errors();
    assert_eq!(item_errors[0].code, "INVALID_FIELD");
    assert_eq!(item_errors[0].fields, ["Quantity"]);
    let failure = composite_failure(&responses).expect("the batch failed");
    let errors = salesforce_errors(&failure);
    assert_eq!(errors[0].code, "INVALID_FIELD", "the cause, not the halt");
}

#[tokio::test]
async fn subrequest_ids_that_are_neither_ids_nor_references_are_refused() {
    let server = MockServer::start().await;
    let client = client_for(&server);

    let error = client
        .subrequests()
        .update("ref", "Order", "../User/005", json!({}))
        .unwrap_err();

    assert!(concierge::integrations::salesforce::is_not_found(&error));
}

#[derive(Serialize)]
struct NewTask {
    #[serde(rename = "Subject")]
    subject: &'static str,
    #[serde(rename = "WhatId")]
    what_id: &'static str,
}

#[tokio::test]
async fn a_collection_create_types_each_record_and_returns_results_in_request_order() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("POST"))
        .and(path(format!("{DATA}/composite/sobjects")))
        .and(body_json(json!({
            "allOrNone": false,
            "records": [
                {"attributes": {"type": "Task"}, "Subject": "Call", "WhatId": "001RO000001abcdYAA"},
                {"attributes": {"type": "Task"}, "Subject": "Visit", "WhatId": "bad"}
            ]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "00TRO000001aaaaYAA", "success": true, "errors": []},
            {"success": false, "errors": [{"statusCode": "INVALID_CROSS_REFERENCE_KEY", "message": "invalid cross reference id", "fields": ["WhatId"]}]}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);

    let results = client
        .create_collection(
            false,
            "Task",
            &[
                NewTask {
                    subject: "Call",
                    what_id: "001RO000001abcdYAA",
                },
                NewTask {
                    subject: "Visit",
                    what_id: "bad",
                },
            ],
        )
        .await
        .unwrap();

    assert!(results[0].success);
    assert_eq!(results[0].id.as_deref(), Some("00TRO000001aaaaYAA"));
    assert!(!results[1].success);
    assert_eq!(results[1].errors[0].code, "INVALID_CROSS_REFERENCE_KEY");
}
