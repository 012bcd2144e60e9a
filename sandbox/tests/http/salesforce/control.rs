//! `/__sandbox/salesforce/…` and the sandbox reset as seen from the Salesforce side.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{API, Org, error_code};

#[tokio::test]
async fn records_of_a_type_can_be_dumped() {
    let org = Org::start().await;

    let products: Vec<Value> = org
        .client
        .get(org.url("/__sandbox/salesforce/records/Product2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // The portal's 20 and the luxury brands' 44.
    assert_eq!(products.len(), 64);
    assert_eq!(products[0]["attributes"]["type"], "Product2");
    assert!(
        products
            .iter()
            .any(|p| p["SKU__c"] == "LEGACY-ADSL" && p["Portal_Catalog__c"] == false)
    );
}

#[tokio::test]
async fn any_platform_event_can_be_published_for_tests() {
    let org = Org::start().await;

    let published: Value = org
        .client
        .post(org.url("/__sandbox/salesforce/events/CustomerUpdated__e"))
        .json(&json!({ "AccountId__c": "001SBDEMO000001AAA" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(published["channel"], "/event/CustomerUpdated__e");
    assert!(published["replayId"].as_i64().unwrap() > 0);
    assert!(published["id"].as_str().unwrap().starts_with("e01"));
}

#[tokio::test]
async fn approving_an_unknown_or_activated_order_is_refused() {
    let org = Org::start().await;
    let order = org.draft_order_with("FIBER-1G").await;
    let approve = |id: String| {
        org.client
            .post(org.url(&format!("/__sandbox/salesforce/orders/{id}/approve")))
            .send()
    };

    let unknown = approve("801SB9999999999AAA".into()).await.unwrap();
    let first = approve(order.clone()).await.unwrap();
    let second = approve(order).await.unwrap();

    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn reset_brings_back_the_seeded_org() {
    let org = Org::start().await;
    let path = format!("{API}/sobjects/Account/001SBDEMO000002AAA");
    org.patch(&path, json!({ "Name": "Renamed" })).await;

    let reset = org
        .client
        .post(org.url("/__sandbox/reset"))
        .send()
        .await
        .unwrap();

    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let (status, body) = org.get(&path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "tokens are forgotten too");
    assert_eq!(error_code(&body), "INVALID_SESSION_ID");
    let org = Org::on(org.url.clone()).await;
    assert_eq!(
        org.record("Account", "001SBDEMO000002AAA").await["Name"],
        "Taro Suzuki"
    );
}

#[tokio::test]
async fn salesforce_faults_use_the_salesforce_error_shape() {
    let org = Org::start().await;
    org.client
        .put(org.url("/__sandbox/faults/salesforce"))
        .json(&json!({ "error_code": "REQUEST_LIMIT_EXCEEDED", "operation": "/query", "times": 1 }))
        .send()
        .await
        .unwrap();

    let (limited_status, limited) = org.query("SELECT Id FROM Account").await;
    let (status, _) = org.query("SELECT Id FROM Account").await;

    assert_eq!(limited_status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&limited), "REQUEST_LIMIT_EXCEEDED");
    assert_eq!(status, StatusCode::OK);
}
