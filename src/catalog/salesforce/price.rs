//! `PricebookEntry` → a product's price in the portal's price book.

use serde::Deserialize;

use super::numbers::{self, NumberError};
use crate::money::Money;
use crate::types::Currency;

/// The fields of a `PricebookEntry` row the catalog reads, as Salesforce sends them.
#[derive(Debug, Clone, Deserialize)]
pub struct RawPricebookEntry {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Product2Id", default)]
    pub product_id: Option<String>,
    /// A Currency field: a double such as `2980.0`.
    #[serde(rename = "UnitPrice", default)]
    pub unit_price: Option<serde_json::Value>,
    #[serde(rename = "CurrencyIsoCode", default)]
    pub currency: Option<String>,
    #[serde(rename = "IsActive", default)]
    pub is_active: Option<bool>,
}

/// The fields the catalog's SOQL selects, matching [`RawPricebookEntry`].
pub const FIELDS: &str = "Id, Product2Id, UnitPrice, CurrencyIsoCode, IsActive";

/// The price of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRecord {
    pub product_id: String,
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("price book entry {id} names no product")]
    MissingProduct { id: String },
    #[error("price book entry {id} is not active")]
    Inactive { id: String },
    #[error("price book entry {id} has no usable unit price: {source}")]
    UnitPrice { id: String, source: NumberError },
    #[error("price book entry {id} has no usable currency: {currency:?}")]
    Currency {
        id: String,
        currency: Option<String>,
    },
}

impl TryFrom<RawPricebookEntry> for PriceRecord {
    type Error = PriceError;

    fn try_from(raw: RawPricebookEntry) -> Result<Self, Self::Error> {
        let id = raw.id;
        let product_id = raw
            .product_id
            .map(|product| product.trim().to_owned())
            .filter(|product| !product.is_empty())
            .ok_or_else(|| PriceError::MissingProduct { id: id.clone() })?;
        if raw.is_active == Some(false) {
            return Err(PriceError::Inactive { id });
        }
        let hundredths = numbers::hundredths(raw.unit_price.as_ref())
            .and_then(|amount| {
                if amount >= 0 {
                    Ok(amount)
                } else {
                    Err(NumberError::OutOfRange(format!("{amount} hundredths")))
                }
            })
            .map_err(|source| PriceError::UnitPrice {
                id: id.clone(),
                source,
            })?;
        let currency = raw
            .currency
            .as_deref()
            .and_then(Currency::parse)
            .ok_or_else(|| PriceError::Currency {
                id: id.clone(),
                currency: raw.currency.clone(),
            })?;
        Ok(PriceRecord {
            product_id,
            price: Money::from_hundredths(hundredths, currency.as_str()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(unit_price: serde_json::Value, currency: Option<&str>) -> RawPricebookEntry {
        serde_json::from_value(serde_json::json!({
            "attributes": { "type": "PricebookEntry" },
            "Id": "01uSB0000000003AAA",
            "Product2Id": "01tSB0000000003AAA",
            "UnitPrice": unit_price,
            "CurrencyIsoCode": currency,
            "IsActive": true
        }))
        .unwrap_or_else(|error| panic!("raw entry: {error}"))
    }

    #[test]
    fn a_double_unit_price_becomes_exact_money() {
        let price = PriceRecord::try_from(raw(serde_json::json!(2980.0), Some("JPY")))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(price.price, Money::from_units(2980, "JPY"));
        assert_eq!(price.price.amount.to_string(), "2980");
        let dollars = PriceRecord::try_from(raw(serde_json::json!(15.95), Some("usd")))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dollars.price.amount.to_string(), "15.95");
        assert_eq!(dollars.price.currency, "USD");
    }

    #[test]
    fn unusable_entries_are_typed_errors() {
        assert!(matches!(
            PriceRecord::try_from(raw(serde_json::Value::Null, Some("JPY"))),
            Err(PriceError::UnitPrice { .. })
        ));
        assert!(matches!(
            PriceRecord::try_from(raw(serde_json::json!(-1), Some("JPY"))),
            Err(PriceError::UnitPrice { .. })
        ));
        assert!(matches!(
            PriceRecord::try_from(raw(serde_json::json!(100), None)),
            Err(PriceError::Currency { .. })
        ));
        assert!(matches!(
            PriceRecord::try_from(raw(serde_json::json!(100), Some("yen!"))),
            Err(PriceError::Currency { .. })
        ));
    }
}
