//! Property tests: Salesforce products and price book entries with drifted fields map or are refused.

use proptest::prelude::*;
use serde_json::json;

use super::salesforce::price::{PriceRecord, RawPricebookEntry};
use super::salesforce::product::{ProductRecord, RawProduct2};
use crate::testing::{config, mutated};

fn product() -> serde_json::Value {
    json!({
        "attributes": { "type": "Product2" }, "Id": "01t000000000001AAA", "Name": "Data SIM 20 GB",
        "ProductCode": "SIM-DATA-20GB", "StockKeepingUnit": "SIM-DATA-20GB", "Description": "20 GB a month",
        "Family": "SIM", "IsActive": true, "Portal_Catalog__c": true, "Billing_Cycle__c": "Monthly",
        "WH_Product_ID__c": 103.0, "SIM_Data_Size__c": "20GB", "SIM_Plan_Type__c": "Data"
    })
}

fn price() -> serde_json::Value {
    json!({
        "attributes": { "type": "PricebookEntry" }, "Id": "01u000000000001AAA",
        "Product2Id": "01t000000000001AAA", "UnitPrice": 2980.0, "CurrencyIsoCode": "JPY", "IsActive": true
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_drifted_product_maps_or_is_refused(body in mutated(product())) {
        if let Ok(raw) = serde_json::from_value::<RawProduct2>(body) {
            let _ = ProductRecord::try_from(raw);
        }
    }

    #[test]
    fn a_drifted_price_maps_or_is_refused(body in mutated(price())) {
        if let Ok(raw) = serde_json::from_value::<RawPricebookEntry>(body) {
            let _ = PriceRecord::try_from(raw);
        }
    }
}

#[test]
fn the_samples_map() {
    let raw: RawProduct2 = serde_json::from_value(product()).unwrap_or_else(|e| panic!("{e}"));
    let product = ProductRecord::try_from(raw);
    assert!(product.is_ok(), "{product:?}");
    let raw: RawPricebookEntry = serde_json::from_value(price()).unwrap_or_else(|e| panic!("{e}"));
    let price = PriceRecord::try_from(raw);
    assert!(price.is_ok(), "{price:?}");
}
