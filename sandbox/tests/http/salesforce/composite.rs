//! `/composite`: subrequests in order with `@{ref…}` references, and `allOrNone` rollback.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{API, DEMO_ACCOUNT, Org, STANDARD_PRICEBOOK, error_code};

fn order_body() -> Value {
    json!({
        "AccountId": DEMO_ACCOUNT,
        "EffectiveDate": "2026-11-21",
        "Status": "Draft",
        "Pricebook2Id": STANDARD_PRICEBOOK,
    })
}

async fn order_count(org: &Org) -> u64 {
    let (_, body) = org.query("SELECT COUNT() FROM Order").await;
    body["totalSize"].as_u64().unwrap()
}

#[tokio::test]
async fn subrequests_can_use_the_results_of_earlier_ones() {
    let org = Org::start().await;
    let entry = org.pricebook_entry("SIM-DATA-20GB").await;

    let (status, body) = org
        .post(
            &format!("{API}/composite"),
            json!({
                "allOrNone": true,
                "compositeRequest": [
                    { "method": "POST", "url": format!("{API}/sobjects/Order"), "referenceId": "refOrder", "body": order_body() },
                    { "method": "POST", "url": format!("{API}/sobjects/OrderItem"), "referenceId": "refItem",
                      "body": { "OrderId": "@{refOrder.id}", "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 2980 } },
                    { "method": "GET", "url": format!("{API}/sobjects/Order/@{{refOrder.id}}?fields=TotalAmount,OrderNumber"), "referenceId": "refRead" },
                    { "method": "GET", "url": format!("{API}/query?q=SELECT+Id,Quantity+FROM+OrderItem+WHERE+OrderId='@{{refOrder.id}}'"), "referenceId": "refQuery" },
                    { "method": "PATCH", "url": format!("{API}/sobjects/OrderItem/@{{refQuery.records[0].Id}}"), "referenceId": "refPatch",
                      "body": { "WHMCS_Service_ID__c": "@{refRead.OrderNumber}" } },
                ]
            }),
        )
        .await;

    assert_eq!(status, StatusCode::OK);
    let responses = body["compositeResponse"].as_array().unwrap();
    assert_eq!(responses.len(), 5);
    let order_id = responses[0]["body"]["id"].as_str().unwrap();
    assert_eq!(responses[0]["httpStatusCode"], 201);
    assert_eq!(responses[0]["referenceId"], "refOrder");
    assert_eq!(
        responses[0]["httpHeaders"]["Location"],
        format!("{API}/sobjects/Order/{order_id}")
    );
    assert_eq!(responses[1]["httpStatusCode"], 201);
    assert_eq!(responses[2]["body"]["TotalAmount"], 2980.0);
    assert_eq!(responses[3]["body"]["totalSize"], 1);
    assert_eq!(responses[4]["httpStatusCode"], 204);
    assert_eq!(responses[4]["body"], Value::Null);
    let item_id = responses[1]["body"]["id"].as_str().unwrap();
    let item = org.record("OrderItem", item_id).await;
    assert_eq!(
        item["WHMCS_Service_ID__c"],
        responses[2]["body"]["OrderNumber"]
    );
}

#[tokio::test]
async fn with_all_or_none_one_failure_rolls_everything_back() {
    let org = Org::start().await;
    let before = order_count(&org).await;

    let (status, body) = org
        .post(
            &format!("{API}/composite"),
            json!({
                "allOrNone": true,
                "compositeRequest": [
                    { "method": "POST", "url": format!("{API}/sobjects/Order"), "referenceId": "refOrder", "body": order_body() },
                    { "method": "POST", "url": format!("{API}/sobjects/OrderItem"), "referenceId": "refItem",
                      "body": { "OrderId": "@{refOrder.id}", "Quantity": 1 } },
                    { "method": "GET", "url": format!("{API}/sobjects/Account/{DEMO_ACCOUNT}"), "referenceId": "refAccount" },
                ]
            }),
        )
        .await;

    assert_eq!(status, StatusCode::OK);
    let responses = &body["compositeResponse"];
    assert_eq!(responses[0]["httpStatusCode"], 400);
    assert_eq!(error_code(&responses[0]["body"]), "PROCESSING_HALTED");
    assert_eq!(
        responses[0]["body"][0]["message"],
        "The transaction was rolled back since another operation in the same transaction failed."
    );
    assert_eq!(responses[1]["httpStatusCode"], 400);
    assert_eq!(error_code(&responses[1]["body"]), "REQUIRED_FIELD_MISSING");
    assert_eq!(error_code(&responses[2]["body"]), "PROCESSING_HALTED");
    assert_eq!(responses[2]["referenceId"], "refAccount");
    assert_eq!(order_count(&org).await, before, "the order was rolled back");
}

#[tokio::test]
async fn without_all_or_none_earlier_successes_stay() {
    let org = Org::start().await;
    let before = order_count(&org).await;

    let (_, body) = org
        .post(
            &format!("{API}/composite"),
            json!({
                "compositeRequest": [
                    { "method": "POST", "url": format!("{API}/sobjects/Order"), "referenceId": "refOrder", "body": order_body() },
                    { "method": "POST", "url": format!("{API}/sobjects/Order"), "referenceId": "refBroken", "body": { "Status": "Draft" } },
                    { "method": "GET", "url": format!("{API}/sobjects/Order/@{{refBroken.id}}"), "referenceId": "refDependent" },
                ]
            }),
        )
        .await;

    let responses = &body["compositeResponse"];
    assert_eq!(responses[0]["httpStatusCode"], 201);
    assert_eq!(error_code(&responses[1]["body"]), "REQUIRED_FIELD_MISSING");
    assert_eq!(error_code(&responses[2]["body"]), "PROCESSING_HALTED");
    assert_eq!(order_count(&org).await, before + 1);
}

#[tokio::test]
async fn more_than_twenty_five_subrequests_are_refused() {
    let org = Org::start().await;
    let subrequests: Vec<Value> = (0..26)
        .map(|n| json!({ "method": "GET", "url": format!("{API}/sobjects/Account/{DEMO_ACCOUNT}"), "referenceId": format!("ref{n}") }))
        .collect();

    let (status, body) = org
        .post(
            &format!("{API}/composite"),
            json!({ "compositeRequest": subrequests }),
        )
        .await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body[0]["errorCode"].is_string());
}

#[tokio::test]
async fn subrequests_to_unknown_resources_answer_inside_the_composite() {
    let org = Org::start().await;

    let (_, body) = org
        .post(
            &format!("{API}/composite"),
            json!({ "compositeRequest": [
                { "method": "GET", "url": "/services/data/v60.0/sobjects/Account/001SB9999999999AAA", "referenceId": "missing" },
                { "method": "GET", "url": "/services/apexrest/anything", "referenceId": "elsewhere" },
                { "method": "GET", "url": "/services/data/v60.0/query?q=SELECT+Nope+FROM+Account", "referenceId": "badQuery" },
            ]}),
        )
        .await;

    let responses = &body["compositeResponse"];
    assert_eq!(responses[0]["httpStatusCode"], 404);
    assert_eq!(error_code(&responses[0]["body"]), "NOT_FOUND");
    assert_eq!(responses[1]["httpStatusCode"], 404);
    assert_eq!(responses[2]["httpStatusCode"], 400);
    assert_eq!(error_code(&responses[2]["body"]), "INVALID_FIELD");
}
