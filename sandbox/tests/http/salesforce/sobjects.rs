//! sObject create, get, update and delete, with Salesforce's validation and computed fields.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{API, DEMO_ACCOUNT, DEMO_CONTACT, Org, STANDARD_PRICEBOOK, error_code};

#[tokio::test]
async fn an_account_is_created_read_updated_and_deleted() {
    let org = Org::start().await;

    let (status, created) = org
        .post(
            &format!("{API}/sobjects/Account/"),
            json!({ "Name": "Kobayashi Trading", "BillingCity": "Nagoya" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["success"], true);
    assert_eq!(created["errors"], json!([]));
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("001"));

    let record = org.record("Account", &id).await;
    assert_eq!(record["attributes"]["type"], "Account");
    assert_eq!(
        record["attributes"]["url"],
        format!("{API}/sobjects/Account/{id}")
    );
    assert_eq!(record["Name"], "Kobayashi Trading");
    assert_eq!(record["Phone"], Value::Null, "unset fields are null");
    assert!(record["CreatedDate"].as_str().unwrap().ends_with("+0000"));

    let (status, body) = org
        .patch(
            &format!("{API}/sobjects/Account/{id}"),
            json!({ "Phone": "+81520000000" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);
    assert_eq!(org.record("Account", &id).await["Phone"], "+81520000000");

    let (status, _) = org.delete(&format!("{API}/sobjects/Account/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = org.get(&format!("{API}/sobjects/Account/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn the_demo_customers_are_seeded_as_accounts_and_contacts() {
    let org = Org::start().await;

    let account = org.record("Account", DEMO_ACCOUNT).await;
    let contact = org.record("contact", DEMO_CONTACT).await;

    assert_eq!(account["Customer_Number__c"], "CN-100001");
    assert_eq!(contact["attributes"]["type"], "Contact");
    assert_eq!(contact["Email"], "demo@concierge.test");
    assert_eq!(contact["AccountId"], DEMO_ACCOUNT);
    assert_eq!(contact["Name"], "Hanako Yamada");
}

#[tokio::test]
async fn fields_can_be_chosen_when_reading_a_record() {
    let org = Org::start().await;

    let (_, record) = org
        .get(&format!(
            "{API}/sobjects/Account/{DEMO_ACCOUNT}?fields=Name,billingcity"
        ))
        .await;
    let (status, unknown) = org
        .get(&format!(
            "{API}/sobjects/Account/{DEMO_ACCOUNT}?fields=Name,Shoe_Size__c"
        ))
        .await;

    assert_eq!(record["Name"], "Hanako Yamada");
    assert_eq!(record["BillingCity"], "Shibuya-ku");
    assert!(record.get("Phone").is_none());
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&unknown), "INVALID_FIELD");
}

#[tokio::test]
async fn missing_required_fields_are_listed() {
    let org = Org::start().await;

    let (status, body) = org
        .post(
            &format!("{API}/sobjects/Order/"),
            json!({ "Description": "no account" }),
        )
        .await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "REQUIRED_FIELD_MISSING");
    assert_eq!(
        body[0]["fields"],
        json!(["AccountId", "EffectiveDate", "Status"])
    );
}

#[tokio::test]
async fn unknown_fields_read_only_fields_and_bad_values_are_refused() {
    let org = Org::start().await;
    let path = format!("{API}/sobjects/Contact/");
    let create = |fields: Value| org.post(&path, fields);

    let unknown = create(json!({ "LastName": "Ito", "Shoe_Size__c": 42 })).await;
    let read_only =
        create(json!({ "LastName": "Ito", "CreatedDate": "2026-01-01T00:00:00Z" })).await;
    let bad_email = create(json!({ "LastName": "Ito", "Email": "not-an-email" })).await;
    let bad_lookup = create(json!({ "LastName": "Ito", "AccountId": "001SB9999999999AAA" })).await;
    let wrong_type = create(json!({ "LastName": "Ito", "AccountId": DEMO_CONTACT })).await;

    assert_eq!(unknown.0, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&unknown.1), "INVALID_FIELD");
    assert_eq!(unknown.1[0]["fields"], json!(["Shoe_Size__c"]));
    assert_eq!(error_code(&read_only.1), "INVALID_FIELD_FOR_INSERT_UPDATE");
    assert_eq!(error_code(&bad_email.1), "INVALID_EMAIL_ADDRESS");
    assert_eq!(error_code(&bad_lookup.1), "INVALID_CROSS_REFERENCE_KEY");
    assert_eq!(error_code(&wrong_type.1), "MALFORMED_ID");
}

#[tokio::test]
async fn unknown_objects_missing_records_and_broken_json_get_salesforce_errors() {
    let org = Org::start().await;

    let (object_status, object_body) = org
        .post(
            &format!("{API}/sobjects/Invoice__c/"),
            json!({ "Name": "x" }),
        )
        .await;
    let (record_status, record_body) = org
        .patch(
            &format!("{API}/sobjects/Account/001SB9999999999AAA"),
            json!({ "Name": "x" }),
        )
        .await;
    let broken = org
        .client
        .post(org.url(&format!("{API}/sobjects/Account/")))
        .bearer_auth(&org.token)
        .header("content-type", "application/json")
        .body("{\"Name\": ")
        .send()
        .await
        .unwrap();

    assert_eq!(object_status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&object_body), "NOT_FOUND");
    assert_eq!(record_status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&record_body), "NOT_FOUND");
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    let body: Value = broken.json().await.unwrap();
    assert_eq!(error_code(&body), "JSON_PARSER_ERROR");
}

#[tokio::test]
async fn order_items_price_the_order_and_take_their_product_from_the_entry() {
    let org = Org::start().await;
    let order = org
        .create(
            "Order",
            json!({
                "AccountId": DEMO_ACCOUNT,
                "EffectiveDate": "2026-11-21",
                "Status": "Draft",
                "Pricebook2Id": STANDARD_PRICEBOOK,
            }),
        )
        .await;
    let entry = org.pricebook_entry("SIM-DATA-20GB").await;

    let item = org
        .create(
            "OrderItem",
            json!({ "OrderId": order, "PricebookEntryId": entry, "Quantity": 2, "UnitPrice": "2980" }),
        )
        .await;

    let item = org.record("OrderItem", &item).await;
    let order = org.record("Order", &order).await;
    let product = org.record("PricebookEntry", &entry).await["Product2Id"].clone();
    assert!(item["Id"].as_str().unwrap().starts_with("802"));
    assert_eq!(item["Product2Id"], product);
    assert_eq!(item["TotalPrice"], 5960.0);
    assert_eq!(item["ListPrice"], 2980.0);
    assert_eq!(order["TotalAmount"], 5960.0);
    assert_eq!(order["EffectiveDate"], "2026-11-21");
    let number = order["OrderNumber"].as_str().unwrap();
    assert_eq!(number.len(), 8);
    assert!(number.chars().all(|c| c.is_ascii_digit()));
}

#[tokio::test]
async fn an_order_account_is_locked_once_the_order_is_activated() {
    let org = Org::start().await;
    let order = org.draft_order_with("FIBER-1G").await;
    let path = format!("{API}/sobjects/Order/{order}");
    let (status, _) = org
        .patch(&path, json!({ "AccountId": "001SBDEMO000002AAA" }))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "editable while Draft");

    let (status, _) = org.patch(&path, json!({ "Status": "Activated" })).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = org.patch(&path, json!({ "AccountId": DEMO_ACCOUNT })).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "FIELD_INTEGRITY_EXCEPTION");
    let activated = org.record("Order", &order).await;
    assert_eq!(activated["Status"], "Activated");
    assert!(activated["ActivatedDate"].is_string());
    let (status, _) = org
        .patch(
            &path,
            json!({ "WHMCS_Order_ID__c": "42", "Activation_Status__c": "Activated" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "custom fields stay editable"
    );
}

#[tokio::test]
async fn order_status_rules_follow_salesforce() {
    let org = Org::start().await;
    let base = json!({ "AccountId": DEMO_ACCOUNT, "EffectiveDate": "2026-11-21", "Pricebook2Id": STANDARD_PRICEBOOK });
    let with_status = |status: &str| {
        let mut fields = base.clone();
        fields["Status"] = status.into();
        fields
    };

    let unknown_status = org
        .post(&format!("{API}/sobjects/Order/"), with_status("Shipped"))
        .await;
    let created_activated = org
        .post(&format!("{API}/sobjects/Order/"), with_status("Activated"))
        .await;
    let empty = org.create("Order", with_status("Draft")).await;
    let activate_empty = org
        .patch(
            &format!("{API}/sobjects/Order/{empty}"),
            json!({ "Status": "Activated" }),
        )
        .await;
    let no_pricebook = org
        .create(
            "Order",
            json!({ "AccountId": DEMO_ACCOUNT, "EffectiveDate": "2026-11-21", "Status": "Draft" }),
        )
        .await;
    let entry = org.pricebook_entry("FIBER-1G").await;
    let item_without_pricebook = org
        .post(
            &format!("{API}/sobjects/OrderItem/"),
            json!({ "OrderId": no_pricebook, "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 4800 }),
        )
        .await;

    assert_eq!(
        error_code(&unknown_status.1),
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(
        error_code(&created_activated.1),
        "FIELD_INTEGRITY_EXCEPTION"
    );
    assert_eq!(error_code(&activate_empty.1), "FIELD_INTEGRITY_EXCEPTION");
    assert_eq!(
        error_code(&item_without_pricebook.1),
        "FIELD_INTEGRITY_EXCEPTION"
    );
    assert_eq!(
        item_without_pricebook.1[0]["message"],
        "Price Book Not Set on Order"
    );
}

#[tokio::test]
async fn deleting_a_draft_order_deletes_its_items() {
    let org = Org::start().await;
    let order = org.draft_order_with("VPN-SECURE").await;

    let (status, _) = org.delete(&format!("{API}/sobjects/Order/{order}")).await;

    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, items) = org
        .query(&format!(
            "SELECT Id FROM OrderItem WHERE OrderId = '{order}'"
        ))
        .await;
    assert_eq!(items["totalSize"], 0);
}

#[tokio::test]
async fn a_case_gets_a_number_and_closes_with_its_status() {
    let org = Org::start().await;
    let case = org
        .create(
            "Case",
            json!({ "Subject": "Invoice question", "AccountId": DEMO_ACCOUNT, "ContactId": DEMO_CONTACT, "Origin": "Web" }),
        )
        .await;
    let opened = org.record("Case", &case).await;
    assert!(case.starts_with("500"));
    assert_eq!(opened["CaseNumber"].as_str().unwrap().len(), 8);
    assert_eq!(opened["Status"], "New");
    assert_eq!(opened["IsClosed"], false);

    org.patch(
        &format!("{API}/sobjects/Case/{case}"),
        json!({ "Status": "Closed" }),
    )
    .await;

    let closed = org.record("Case", &case).await;
    assert_eq!(closed["IsClosed"], true);
    assert!(closed["ClosedDate"].is_string());
}

#[tokio::test]
async fn each_object_gets_ids_with_its_key_prefix() {
    let org = Org::start().await;
    let case = org.create("Case", json!({ "Subject": "Prefix" })).await;

    let ids = [
        (
            "003",
            org.create(
                "Contact",
                json!({ "LastName": "Mori", "AccountId": DEMO_ACCOUNT }),
            )
            .await,
        ),
        (
            "01t",
            org.create("Product2", json!({ "Name": "Gadget" })).await,
        ),
        (
            "01s",
            org.create("Pricebook2", json!({ "Name": "Partners" }))
                .await,
        ),
        (
            "00a",
            org.create(
                "CaseComment",
                json!({ "ParentId": case, "CommentBody": "Hi" }),
            )
            .await,
        ),
        (
            "00T",
            org.create(
                "Task",
                json!({ "Subject": "Call", "WhatId": DEMO_ACCOUNT, "WhoId": DEMO_CONTACT }),
            )
            .await,
        ),
    ];

    for (prefix, id) in ids {
        assert!(id.starts_with(prefix), "{id} should start with {prefix}");
        assert_eq!(id.len(), 18);
    }
}

#[tokio::test]
async fn a_record_still_used_elsewhere_cannot_be_deleted() {
    let org = Org::start().await;
    org.draft_order_with("FIBER-1G").await;
    let (_, product) = org
        .query("SELECT Id FROM Product2 WHERE StockKeepingUnit = 'FIBER-1G'")
        .await;
    let product = product["records"][0]["Id"].as_str().unwrap().to_owned();
    let unused = org.create("Product2", json!({ "Name": "Unused" })).await;

    let (used_status, used) = org
        .delete(&format!("{API}/sobjects/Product2/{product}"))
        .await;
    let (account_status, account) = org
        .delete(&format!("{API}/sobjects/Account/{DEMO_ACCOUNT}"))
        .await;
    let (unused_status, _) = org
        .delete(&format!("{API}/sobjects/Product2/{unused}"))
        .await;

    assert_eq!(used_status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&used), "DELETE_FAILED");
    assert_eq!(
        account_status,
        StatusCode::BAD_REQUEST,
        "the order points at it"
    );
    assert_eq!(error_code(&account), "DELETE_FAILED");
    assert_eq!(unused_status, StatusCode::NO_CONTENT);
}
