//! External id fields: unique (`DUPLICATE_VALUE`), upsert by them (`PATCH /sobjects/{Type}/{Field}/{value}`)
//! on its own and inside a composite, with Salesforce's response shapes.

use reqwest::StatusCode;
use serde_json::json;

use super::{API, DEMO_ACCOUNT, DEMO_CONTACT, Org, error_code};

#[tokio::test]
async fn an_upsert_creates_then_updates_the_record_named_by_its_external_id() {
    let org = Org::start().await;
    let path = format!("{API}/sobjects/Case/Portal_Case_Key__c/key-1");

    let (status, created) = org
        .patch(
            &path,
            json!({ "AccountId": DEMO_ACCOUNT, "Subject": "First" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["created"], true);
    assert_eq!(created["success"], true);
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, updated) = org.patch(&path, json!({ "Subject": "Second" })).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["created"], false);
    assert_eq!(updated["id"], id.as_str());
    let record = org.record("Case", &id).await;
    assert_eq!(record["Subject"], "Second");
    assert_eq!(record["Portal_Case_Key__c"], "key-1");

    let (status, body) = org
        .patch(&format!("{API}/sobjects/Case/Subject/x"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not an external id: {body}");
}

#[tokio::test]
async fn an_external_id_value_is_unique() {
    let org = Org::start().await;
    let case = json!({ "AccountId": DEMO_ACCOUNT, "ContactId": DEMO_CONTACT, "Portal_Case_Key__c": "once" });
    org.create("Case", case.clone()).await;

    let (status, body) = org.post(&format!("{API}/sobjects/Case/"), case).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "DUPLICATE_VALUE");
    assert_eq!(body[0]["fields"], json!(["Portal_Case_Key__c"]));
}

#[tokio::test]
async fn a_composite_upsert_answers_like_a_single_one() {
    let org = Org::start().await;
    let subrequest = json!({
        "method": "PATCH",
        "url": format!("{API}/sobjects/Case/Portal_Case_Key__c/c%2F1"),
        "referenceId": "case",
        "body": { "AccountId": DEMO_ACCOUNT, "Subject": "Composite" },
    });
    let composite = json!({ "allOrNone": true, "compositeRequest": [subrequest] });

    let (status, first) = org
        .post(&format!("{API}/composite"), composite.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    let first = &first["compositeResponse"][0];
    assert_eq!(first["httpStatusCode"], 201, "{first}");
    assert_eq!(first["body"]["created"], true);
    let (_, again) = org.post(&format!("{API}/composite"), composite).await;
    let again = &again["compositeResponse"][0];
    assert_eq!(again["httpStatusCode"], 200, "{again}");
    assert_eq!(again["body"]["created"], false);
    assert_eq!(again["body"]["id"], first["body"]["id"]);
    let record = org
        .record("Case", first["body"]["id"].as_str().unwrap())
        .await;
    assert_eq!(record["Portal_Case_Key__c"], "c/1");
}
