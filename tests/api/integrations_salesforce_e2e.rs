//! The Salesforce client against the sandbox's Salesforce. Both were written from the wire format alone, so
//! these tests are where the two meet: token, paging, sObjects, composite, re-authentication, platform events.

use concierge::config::{SalesforceAuth, Settings};
use concierge::integrations::salesforce::{
    CometdSubscriber, PlatformEventSubscriber, ReplayFrom, SalesforceClient, composite_failure,
    has_error_code, is_not_found, replay,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::helpers::{System, TestSandbox, settings_for_sandbox, spawn_sandbox};

const CHANNEL: &str = "/event/OrderProvisionRequested__e";

/// The seeded org's people, each an Account and a Contact: the portal's demo customers and the luxury
/// brands' demo clients.
fn seeded_people() -> usize {
    concierge_sandbox::demo::CUSTOMERS.len()
        + concierge_sandbox::salesforce::luxury_clients::CLIENTS.len()
}

async fn client_for(sandbox: &TestSandbox) -> (SalesforceClient, Settings) {
    let settings = settings_for_sandbox(sandbox);
    (
        SalesforceClient::new(&settings.providers).unwrap(),
        settings,
    )
}

#[derive(Debug, Deserialize)]
struct Product {
    #[serde(rename = "StockKeepingUnit")]
    sku: String,
    #[serde(rename = "WH_Product_ID__c")]
    whmcs_pid: f64,
}

#[tokio::test]
async fn the_portal_catalog_is_read_across_several_pages() {
    let sandbox = spawn_sandbox().await;
    let (client, _) = client_for(&sandbox).await;

    let products: Vec<Product> = client
        .query(
            "SELECT Id, Name, StockKeepingUnit, WH_Product_ID__c FROM Product2 \
             WHERE Portal_Catalog__c = true AND IsActive = true ORDER BY StockKeepingUnit",
        )
        .await
        .unwrap();

    assert_eq!(
        products.len(),
        18,
        "20 demo products, one hidden and one inactive"
    );
    assert!(products.windows(2).all(|pair| pair[0].sku < pair[1].sku));
    assert!(
        products
            .iter()
            .any(|p| p.sku == "SIM-DATA-20GB" && p.whmcs_pid == 103.0)
    );
    assert!(
        sandbox.count_operation(System::Salesforce, "/query/") >= 3,
        "page size 5 in tests: several next pages"
    );
    assert_eq!(
        sandbox.count_operation(System::Salesforce, "/oauth2/token"),
        1,
        "one token for every call"
    );
}

#[tokio::test]
async fn records_are_created_read_updated_and_deleted() {
    let sandbox = spawn_sandbox().await;
    let (client, _) = client_for(&sandbox).await;

    let id = client
        .create("Case", &json!({ "Subject": "eSIM profile", "AccountId": "001SBDEMO000001AAA", "Status": "New" }))
        .await
        .unwrap();
    client
        .update("Case", &id, &json!({ "Status": "Working" }))
        .await
        .unwrap();
    let case: Value = client
        .get("Case", &id, Some(&["Subject", "Status"]))
        .await
        .unwrap();
    assert_eq!(case["Status"], "Working");

    client.delete("Case", &id).await.unwrap();
    let error = client.get::<Value>("Case", &id, None).await.unwrap_err();
    assert!(is_not_found(&error), "{error:?}");
}

#[tokio::test]
async fn an_order_and_its_items_are_created_in_one_composite_call() {
    let sandbox = spawn_sandbox().await;
    let (client, _) = client_for(&sandbox).await;
    #[derive(Deserialize)]
    struct Entry {
        #[serde(rename = "Id")]
        id: String,
    }
    let entries: Vec<Entry> = client
        .query("SELECT Id FROM PricebookEntry WHERE UnitPrice > 2000 ORDER BY UnitPrice LIMIT 2")
        .await
        .unwrap();
    let builder = client.subrequests();
    let subrequests = vec![
        builder
            .create(
                "refOrder",
                "Order",
                json!({ "AccountId": "001SBDEMO000001AAA", "EffectiveDate": "2026-11-21", "Status": "Draft",
                        "Pricebook2Id": "01sSB0000000001AAA" }),
            )
            .unwrap(),
        builder
            .create(
                "refItem1",
                "OrderItem",
                json!({ "OrderId": "@{refOrder.id}", "PricebookEntryId": entries[0].id, "Quantity": 1, "UnitPrice": 2980 }),
            )
            .unwrap(),
        builder
            .create(
                "refItem2",
                "OrderItem",
                json!({ "OrderId": "@{refOrder.id}", "PricebookEntryId": entries[1].id, "Quantity": 2, "UnitPrice": 3280 }),
            )
            .unwrap(),
    ];
    let before = sandbox.count_operation(System::Salesforce, "/composite");

    let responses = client.composite(true, subrequests).await.unwrap();

    assert!(composite_failure(&responses).is_none(), "{responses:?}");
    assert_eq!(
        sandbox.count_operation(System::Salesforce, "/composite"),
        before + 1,
        "exactly one call"
    );
    let order_id = responses[0].id().unwrap().to_owned();
    let items: Vec<Value> = client
        .query(&format!(
            "SELECT Id, Quantity FROM OrderItem WHERE OrderId = '{order_id}'"
        ))
        .await
        .unwrap();
    assert_eq!(items.len(), 2);
}

#[tokio::test]
async fn a_failing_subrequest_rolls_the_whole_composite_back() {
    let sandbox = spawn_sandbox().await;
    let (client, _) = client_for(&sandbox).await;
    let builder = client.subrequests();
    let subrequests = vec![
        builder
            .create(
                "refOrder",
                "Order",
                json!({ "AccountId": "001SBDEMO000002AAA", "EffectiveDate": "2026-11-21", "Status": "Draft",
                        "Description": "rolled back" }),
            )
            .unwrap(),
        builder
            .create("refItem", "OrderItem", json!({ "OrderId": "@{refOrder.id}", "Quantity": 1, "UnitPrice": 1 }))
            .unwrap(),
    ];

    let responses = client.composite(true, subrequests).await.unwrap();

    let failure = composite_failure(&responses).expect("the item lacks its PricebookEntryId");
    assert!(
        has_error_code(&failure, "REQUIRED_FIELD_MISSING"),
        "{failure:?}"
    );
    let orders: Vec<Value> = client
        .query("SELECT Id FROM Order WHERE Description = 'rolled back'")
        .await
        .unwrap();
    assert!(orders.is_empty(), "allOrNone: nothing was kept");
}

#[tokio::test]
async fn an_expired_session_is_renewed_transparently() {
    let sandbox = spawn_sandbox().await;
    let (client, _) = client_for(&sandbox).await;
    let _: Vec<Value> = client.query("SELECT Id FROM Account").await.unwrap();

    let expired = sandbox.expire_salesforce_tokens().await;
    assert!(expired.status().is_success());
    let accounts: Vec<Value> = client.query("SELECT Id FROM Account").await.unwrap();

    assert_eq!(accounts.len(), seeded_people());
    assert_eq!(
        sandbox.count_operation(System::Salesforce, "/oauth2/token"),
        2
    );
}

#[tokio::test]
async fn the_jwt_bearer_flow_is_accepted_with_the_registered_key() {
    let sandbox = spawn_sandbox().await;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let public = std::fs::read_to_string(fixtures.join("salesforce_jwt_test_key.pub.pem")).unwrap();
    let private = std::fs::read_to_string(fixtures.join("salesforce_jwt_test_key.pem")).unwrap();
    let registered = sandbox.register_jwt_key(&public).await;
    assert!(registered.status().is_success());
    let mut settings = settings_for_sandbox(&sandbox);
    settings.providers.salesforce.auth = SalesforceAuth::JwtBearer;
    settings.providers.salesforce.username = Some("integration@concierge.test".into());
    settings.providers.salesforce.private_key_pem = Some(private.into());
    let client = SalesforceClient::new(&settings.providers).unwrap();

    let contacts: Vec<Value> = client.query("SELECT Id, Email FROM Contact").await.unwrap();

    assert_eq!(contacts.len(), seeded_people());
}

#[tokio::test]
async fn bad_soql_is_a_typed_rejection_that_is_not_retried() {
    let sandbox = spawn_sandbox().await;
    let (client, _) = client_for(&sandbox).await;

    let error = client
        .query::<Value>("SELEC Id FROM Account")
        .await
        .unwrap_err();
    let unknown_field = client
        .query::<Value>("SELECT Nope__c FROM Account")
        .await
        .unwrap_err();

    assert!(has_error_code(&error, "MALFORMED_QUERY"), "{error:?}");
    assert!(
        has_error_code(&unknown_field, "INVALID_FIELD"),
        "{unknown_field:?}"
    );
    assert_eq!(sandbox.count_operation(System::Salesforce, "SELEC+Id"), 1);
}

#[tokio::test]
async fn a_request_limit_fault_is_retried() {
    let sandbox = spawn_sandbox().await;
    let (client, _) = client_for(&sandbox).await;
    sandbox.inject_fault(
        System::Salesforce,
        json!({ "error_code": "REQUEST_LIMIT_EXCEEDED", "operation": "/query", "times": 1 }),
    );

    let accounts: Vec<Value> = client.query("SELECT Id FROM Account").await.unwrap();

    assert_eq!(accounts.len(), seeded_people());
}

#[tokio::test]
async fn an_approved_order_is_delivered_once_and_a_restart_resumes_after_the_stored_replay_id() {
    let sandbox = spawn_sandbox().await;
    let (client, _) = client_for(&sandbox).await;
    let database = crate::helpers::fresh_database().await;
    let pool = sqlx::PgPool::connect(&crate::helpers::database_url(&database))
        .await
        .unwrap();
    let order = order_with_one_item(&client, "001SBDEMO000001AAA").await;
    sandbox.approve_order(&order).await;

    let mut subscriber =
        CometdSubscriber::new(client.clone(), CHANNEL, ReplayFrom::AllRetained).unwrap();
    let events = subscriber.next_events().await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].payload["OrderId__c"], order);
    let mut conn = pool.acquire().await.unwrap();
    replay::store_replay_id(&mut conn, CHANNEL, events[0].replay_id)
        .await
        .unwrap();
    subscriber.close().await;

    // A restart: the new subscriber starts after what was processed, so it sees only the second approval.
    let second = order_with_one_item(&client, "001SBDEMO000002AAA").await;
    sandbox.approve_order(&second).await;
    let mut resumed = CometdSubscriber::resume(client, CHANNEL, &pool)
        .await
        .unwrap();
    let events = resumed.next_events().await.unwrap();

    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].payload["OrderId__c"], second);
    resumed.close().await;
}

/// Salesforce refuses to activate an order without products, so approvals need one item.
async fn order_with_one_item(client: &SalesforceClient, account: &str) -> String {
    #[derive(Deserialize)]
    struct Entry {
        #[serde(rename = "Id")]
        id: String,
    }
    let entries: Vec<Entry> = client
        .query("SELECT Id FROM PricebookEntry LIMIT 1")
        .await
        .unwrap();
    let builder = client.subrequests();
    let responses = client
        .composite(
            true,
            vec![
                builder
                    .create(
                        "order",
                        "Order",
                        json!({ "AccountId": account, "EffectiveDate": "2026-11-21", "Status": "Draft",
                                "Pricebook2Id": "01sSB0000000001AAA" }),
                    )
                    .unwrap(),
                builder
                    .create(
                        "item",
                        "OrderItem",
                        json!({ "OrderId": "@{order.id}", "PricebookEntryId": entries[0].id, "Quantity": 1, "UnitPrice": 980 }),
                    )
                    .unwrap(),
            ],
        )
        .await
        .unwrap();
    assert!(composite_failure(&responses).is_none(), "{responses:?}");
    responses[0].id().unwrap().to_owned()
}
