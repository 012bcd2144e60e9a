//! SOQL over HTTP: results, paging through `nextRecordsUrl`, and query errors.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::json;

use super::{API, Org, error_code};

#[tokio::test]
async fn a_large_result_is_paged_through_next_records_urls() {
    let org = Org::start().await;

    let (status, mut page) = org
        .query("SELECT Id, Name, StockKeepingUnit FROM Product2 ORDER BY Name")
        .await;
    assert_eq!(status, StatusCode::OK);
    // The portal's 20 products and the luxury brands' 44.
    assert_eq!(page["totalSize"], 64);
    let mut ids = Vec::new();
    let mut pages = 1;
    loop {
        for record in page["records"].as_array().unwrap() {
            assert_eq!(record["attributes"]["type"], "Product2");
            ids.push(record["Id"].as_str().unwrap().to_owned());
        }
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page["nextRecordsUrl"].as_str().unwrap().to_owned();
        assert!(next.starts_with(&format!("{API}/query/")));
        let (status, body) = org.get(&next).await;
        assert_eq!(status, StatusCode::OK);
        page = body;
        pages += 1;
    }

    assert_eq!(pages, 13, "64 records at 5 per page");
    assert_eq!(ids.len(), 64);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 64);
}

#[tokio::test]
async fn a_small_result_fits_one_page() {
    let org = Org::start().await;

    let (_, body) = org
        .query("SELECT Id, Email, Account.Name FROM Contact WHERE Email LIKE '%@concierge.test' ORDER BY Email LIMIT 2")
        .await;

    assert_eq!(body["totalSize"], 2);
    assert_eq!(body["done"], true);
    assert_eq!(body["records"][0]["Email"], "demo@concierge.test");
    assert_eq!(body["records"][0]["Account"]["Name"], "Hanako Yamada");
    assert_eq!(body["records"][1]["Email"], "emma@concierge.test");
}

#[tokio::test]
async fn the_catalog_is_seeded_with_prices_in_the_standard_price_book() {
    let org = Org::start().await;

    let (_, body) = org
        .query(
            "SELECT UnitPrice, CurrencyIsoCode, Product2.WH_Product_ID__c, Product2.SIM_Plan_Type__c, Product2.SIM_Data_Size__c, Product2.Billing_Cycle__c FROM PricebookEntry WHERE Product2.SKU__c = 'SIM-DATA-20GB' AND Pricebook2.IsStandard = true",
        )
        .await;

    let entry = &body["records"][0];
    assert_eq!(entry["UnitPrice"], 2980.0);
    assert_eq!(entry["CurrencyIsoCode"], "JPY");
    assert_eq!(entry["Product2"]["WH_Product_ID__c"], 103.0);
    assert_eq!(entry["Product2"]["SIM_Plan_Type__c"], "DATA_20GB");
    assert_eq!(entry["Product2"]["SIM_Data_Size__c"], "20GB");
    assert_eq!(entry["Product2"]["Billing_Cycle__c"], "Monthly");
}

#[tokio::test]
async fn count_gives_only_the_total() {
    let org = Org::start().await;

    let (_, body) = org.query("SELECT COUNT() FROM Contact").await;

    assert_eq!(body, json!({ "totalSize": 8, "done": true, "records": [] }));
}

#[tokio::test]
async fn bad_soql_unknown_fields_and_unknown_objects_are_400s_with_their_codes() {
    let org = Org::start().await;

    let malformed = org.query("SELEC Id FROM Account").await;
    let unknown_field = org.query("SELECT Id, Colour__c FROM Account").await;
    let unknown_object = org.query("SELECT Id FROM Invoice__c").await;

    for (response, code) in [
        (malformed, "MALFORMED_QUERY"),
        (unknown_field, "INVALID_FIELD"),
        (unknown_object, "INVALID_TYPE"),
    ] {
        assert_eq!(response.0, StatusCode::BAD_REQUEST, "{code}");
        assert_eq!(error_code(&response.1), code);
        assert_eq!(response.1[0]["fields"], json!([]));
    }
}

#[tokio::test]
async fn a_query_without_q_or_with_a_bad_locator_is_refused() {
    let org = Org::start().await;

    let (no_q_status, no_q) = org.get(&format!("{API}/query")).await;
    let (locator_status, locator) = org.get(&format!("{API}/query/01gSBNOTACURSOR-5")).await;

    assert_eq!(no_q_status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&no_q), "MALFORMED_QUERY");
    assert_eq!(locator_status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&locator), "INVALID_QUERY_LOCATOR");
}

#[tokio::test]
async fn hostile_query_text_never_breaks_the_server() {
    let org = Org::start().await;

    for soql in [
        "SELECT Id FROM Account WHERE Name = 'x' AND AND",
        "SELECT Id FROM Account LIMIT 184467440737095516150",
        "SELECT Id FROM Account WHERE Name = 1e999",
        "SELECT (SELECT (SELECT Id FROM Contacts) FROM Contacts) FROM Account",
        "((((((((",
        "SELECT Id FROM Account WHERE CreatedDate > 2026-99-99T99:99:99Z",
    ] {
        let (status, body) = org.query(soql).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{soql}: {body}");
        assert!(body[0]["errorCode"].is_string());
    }
    let (status, _) = org.query("SELECT Id FROM Account").await;
    assert_eq!(status, StatusCode::OK);
}
