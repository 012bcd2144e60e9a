//! Single-record create, get, update, delete, upsert, and platform-event publishing.

use concierge::integrations::salesforce::{is_not_found, salesforce_errors};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{DATA, client_for, hits, mount_token, order_id};

#[tokio::test]
async fn create_posts_the_body_and_returns_the_new_record_id() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let order = json!({"AccountId": "001RO000001abcdYAA", "EffectiveDate": "2026-11-21", "Status": "Draft"});
    Mock::given(method("POST"))
        .and(path(format!("{DATA}/sobjects/Order/")))
        .and(body_json(&order))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": order_id(), "success": true, "errors": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);

    let id = client.create("Order", &order).await.unwrap();

    assert_eq!(id, order_id());
}

#[tokio::test]
async fn a_create_answered_with_success_false_is_a_rejection_with_its_errors() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("POST"))
        .and(path(format!("{DATA}/sobjects/Order/")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": null, "success": false,
            "errors": [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "No pay method", "fields": null}]
        })))
        .mount(&server)
        .await;
    let client = client_for(&server);

    let error = client.create("Order", &json!({})).await.unwrap_err();

    let errors = salesforce_errors(&error);
    assert_eq!(errors[0].code, "FIELD_CUSTOM_VALIDATION_EXCEPTION");
    assert!(errors[0].fields.is_empty());
}

#[tokio::test]
async fn get_asks_only_for_the_chosen_fields() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("GET"))
        .and(path(format!("{DATA}/sobjects/Order/{}", order_id())))
        .and(query_param("fields", "Id,Status,Account.Name"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "attributes": {"type": "Order", "url": format!("{DATA}/sobjects/Order/{}", order_id())},
            "Id": order_id(), "Status": "Draft", "Account": {"Name": "Acme"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);

    let order: Value = client
        .get("Order", order_id(), Some(&["Id", "Status", "Account.Name"]))
        .await
        .unwrap();

    assert_eq!(order["Status"], "Draft");
}

#[tokio::test]
async fn update_and_delete_accept_an_empty_204() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let record = format!("{DATA}/sobjects/Order/{}", order_id());
    Mock::given(method("PATCH"))
        .and(path(record.as_str()))
        .and(body_json(json!({"Status": "Activated"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(record.as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);

    client
        .update("Order", order_id(), &json!({"Status": "Activated"}))
        .await
        .unwrap();
    client.delete("Order", order_id()).await.unwrap();
}

#[tokio::test]
async fn ids_and_names_that_could_escape_the_path_are_refused_before_any_request() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    let client = client_for(&server);

    let bad_id = client
        .get::<Value>("Order", "../../query?q=x", None)
        .await
        .unwrap_err();
    let bad_type = client
        .delete("Order/../User", order_id())
        .await
        .unwrap_err();
    let bad_field = client
        .get::<Value>("Order", order_id(), Some(&["Id,Password"]))
        .await
        .unwrap_err();

    assert!(is_not_found(&bad_id), "{bad_id:?}");
    assert!(is_not_found(&bad_type), "{bad_type:?}");
    assert_eq!(salesforce_errors(&bad_field)[0].code, "INVALID_FIELD");
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(requests.is_empty(), "nothing was sent: {requests:?}");
}

#[tokio::test]
async fn upsert_by_external_id_encodes_the_value_and_reports_creation() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("PATCH"))
        .and(path(format!(
            "{DATA}/sobjects/Order/Portal_Key__c/key%2F42"
        )))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"id": order_id(), "success": true, "errors": [], "created": true}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);

    let result = client
        .upsert(
            "Order",
            "Portal_Key__c",
            "key/42",
            &json!({"Status": "Draft"}),
        )
        .await
        .unwrap();

    assert_eq!(result.id.as_deref(), Some(order_id()));
    assert!(result.created);
}

#[tokio::test]
async fn publishing_a_platform_event_returns_its_enqueued_save_result() {
    let server = MockServer::start().await;
    mount_token(&server, "token-1").await;
    Mock::given(method("POST"))
        .and(path(format!("{DATA}/sobjects/OrderProvisionRequested__e/")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "e01xx0000000001AAA", "success": true,
            "errors": [{"statusCode": "OPERATION_ENQUEUED", "message": "2ec0a1b2-uuid", "fields": []}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);

    let result = client
        .publish_event(
            "OrderProvisionRequested__e",
            &json!({"OrderId__c": order_id()}),
        )
        .await
        .unwrap();

    assert!(result.success);
    assert_eq!(result.errors[0].code, "OPERATION_ENQUEUED");
    assert_eq!(
        hits(
            &server,
            &format!("{DATA}/sobjects/OrderProvisionRequested__e/")
        )
        .await,
        1
    );
}
