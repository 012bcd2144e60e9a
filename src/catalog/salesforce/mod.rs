//! The catalog's Salesforce side: two SOQL queries (portal products, and their entries in the portal's price
//! book), one mapper per resource, and the join. Nothing outside this folder sees a raw Salesforce shape.

mod numbers;
pub mod price;
pub mod product;

use std::collections::HashMap;

use crate::catalog::domain::CatalogProduct;
use crate::integrations::ProviderError;
use crate::integrations::salesforce::{SalesforceClient, soql};
use price::{PriceRecord, RawPricebookEntry};
use product::{ProductRecord, RawProduct2};

/// Every active portal product that has a price in `pricebook_name`, in no particular order. Rows that do
/// not map (a missing sku, an unknown billing cycle, no price) are skipped with a warning: one bad record
/// in Salesforce must not take the whole catalog down.
pub async fn fetch_catalog(
    client: &SalesforceClient,
    pricebook_name: &str,
) -> Result<Vec<CatalogProduct>, ProviderError> {
    let products_soql = format!(
        "SELECT {} FROM Product2 WHERE IsActive = true AND Portal_Catalog__c = true ORDER BY Id",
        product::FIELDS
    );
    let prices_soql = format!(
        "SELECT {} FROM PricebookEntry WHERE Pricebook2.Name = {} AND IsActive = true \
         AND Product2.IsActive = true AND Product2.Portal_Catalog__c = true ORDER BY Id",
        price::FIELDS,
        soql::quote(pricebook_name)
    );
    let (products, prices) = tokio::try_join!(
        client.query::<RawProduct2>(&products_soql),
        client.query::<RawPricebookEntry>(&prices_soql),
    )?;
    Ok(join(products, prices, pricebook_name))
}

fn join(
    products: Vec<RawProduct2>,
    prices: Vec<RawPricebookEntry>,
    pricebook_name: &str,
) -> Vec<CatalogProduct> {
    let mut price_by_product: HashMap<String, PriceRecord> = HashMap::new();
    for raw in prices {
        match PriceRecord::try_from(raw) {
            Ok(price) => {
                // Entries come in Id order: the first one for a product wins, every run the same.
                price_by_product
                    .entry(price.product_id.clone())
                    .or_insert(price);
            }
            Err(error) => tracing::warn!(%error, "skipping a price book entry"),
        }
    }
    let mut catalog = Vec::new();
    for raw in products {
        let product = match ProductRecord::try_from(raw) {
            Ok(product) => product,
            Err(error) => {
                tracing::warn!(%error, "skipping a catalog product");
                continue;
            }
        };
        let Some(price) = price_by_product.remove(&product.id) else {
            tracing::warn!(
                product = %product.id,
                sku = %product.sku,
                pricebook = pricebook_name,
                "skipping a catalog product without a price in the portal's price book"
            );
            continue;
        };
        catalog.push(CatalogProduct {
            sku: product.sku,
            name: product.name,
            family: product.family,
            description: product.description,
            price: price.price,
            billing_cycle: product.billing_cycle,
            sim: product.sim,
            whmcs_product_id: product.whmcs_product_id,
        });
    }
    catalog
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str, sku: &str) -> RawProduct2 {
        serde_json::from_value(serde_json::json!({
            "Id": id, "Name": sku, "StockKeepingUnit": sku, "Family": "Options", "IsActive": true,
            "Portal_Catalog__c": true, "Billing_Cycle__c": "Monthly", "WH_Product_ID__c": 301.0
        }))
        .unwrap_or_else(|error| panic!("{error}"))
    }

    fn entry(id: &str, product: &str, price: f64) -> RawPricebookEntry {
        serde_json::from_value(serde_json::json!({
            "Id": id, "Product2Id": product, "UnitPrice": price, "CurrencyIsoCode": "JPY", "IsActive": true
        }))
        .unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn products_without_a_price_or_that_do_not_map_are_skipped() {
        let mut broken = product("01t3", "BROKEN");
        broken.billing_cycle = Some("Fortnightly".into());
        let catalog = join(
            vec![
                product("01t1", "PRICED"),
                product("01t2", "UNPRICED"),
                broken,
            ],
            vec![
                entry("01u1", "01t1", 490.0),
                entry("01u2", "01t1", 999.0),
                entry("01u3", "01t3", 100.0),
            ],
            "Standard Price Book",
        );
        assert_eq!(catalog.len(), 1);
        assert_eq!(catalog[0].sku, "PRICED");
        assert_eq!(
            catalog[0].price.amount.to_string(),
            "490",
            "the first entry wins"
        );
        assert_eq!(catalog[0].whmcs_product_id, 301);
    }
}
