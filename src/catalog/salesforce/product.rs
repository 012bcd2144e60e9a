//! `Product2` → the product part of a catalog entry (everything but its price).

use serde::Deserialize;

use super::numbers::{self, NumberError};
use crate::catalog::domain::{BillingCycle, SimDetails};

/// The fields of a `Product2` row the catalog reads, as Salesforce sends them.
#[derive(Debug, Clone, Deserialize)]
pub struct RawProduct2 {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
    #[serde(rename = "ProductCode", default)]
    pub product_code: Option<String>,
    #[serde(rename = "StockKeepingUnit", default)]
    pub stock_keeping_unit: Option<String>,
    #[serde(rename = "Description", default)]
    pub description: Option<String>,
    #[serde(rename = "Family", default)]
    pub family: Option<String>,
    #[serde(rename = "IsActive", default)]
    pub is_active: Option<bool>,
    #[serde(rename = "Portal_Catalog__c", default)]
    pub portal_catalog: Option<bool>,
    #[serde(rename = "Billing_Cycle__c", default)]
    pub billing_cycle: Option<String>,
    /// A Number field: a double such as `103.0`, sometimes a string.
    #[serde(rename = "WH_Product_ID__c", default)]
    pub whmcs_product_id: Option<serde_json::Value>,
    #[serde(rename = "SIM_Data_Size__c", default)]
    pub sim_data_size: Option<String>,
    #[serde(rename = "SIM_Plan_Type__c", default)]
    pub sim_plan_type: Option<String>,
}

/// The fields the catalog's SOQL selects, matching [`RawProduct2`].
pub const FIELDS: &str = "Id, Name, ProductCode, StockKeepingUnit, Description, Family, IsActive, \
                          Portal_Catalog__c, Billing_Cycle__c, WH_Product_ID__c, SIM_Data_Size__c, \
                          SIM_Plan_Type__c";

/// A product as mapped from Salesforce, before its price is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRecord {
    /// The `Product2` id, to join its price book entry on.
    pub id: String,
    pub sku: String,
    pub name: String,
    pub family: String,
    pub description: Option<String>,
    pub billing_cycle: BillingCycle,
    pub sim: Option<SimDetails>,
    pub whmcs_product_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductError {
    #[error("product {id} has no sku (StockKeepingUnit or ProductCode)")]
    MissingSku { id: String },
    #[error("product {id} has a sku that is not usable in a URL: {sku:?}")]
    InvalidSku { id: String, sku: String },
    #[error("product {id} has no name")]
    MissingName { id: String },
    #[error("product {id} is not active or not for the portal")]
    NotInPortalCatalog { id: String },
    #[error("product {id} has an unknown billing cycle {cycle:?}")]
    UnknownBillingCycle { id: String, cycle: Option<String> },
    #[error("product {id} has no usable WHMCS product id: {source}")]
    WhmcsProductId { id: String, source: NumberError },
}

impl TryFrom<RawProduct2> for ProductRecord {
    type Error = ProductError;

    fn try_from(raw: RawProduct2) -> Result<Self, Self::Error> {
        let id = raw.id;
        if raw.is_active != Some(true) || raw.portal_catalog != Some(true) {
            return Err(ProductError::NotInPortalCatalog { id });
        }
        let sku = text(raw.stock_keeping_unit)
            .or_else(|| text(raw.product_code))
            .ok_or_else(|| ProductError::MissingSku { id: id.clone() })?;
        if !crate::types::Sku::is_valid(&sku) {
            return Err(ProductError::InvalidSku { id, sku });
        }
        let name = text(raw.name).ok_or_else(|| ProductError::MissingName { id: id.clone() })?;
        let billing_cycle = raw
            .billing_cycle
            .as_deref()
            .and_then(billing_cycle)
            .ok_or_else(|| ProductError::UnknownBillingCycle {
                id: id.clone(),
                cycle: raw.billing_cycle.clone(),
            })?;
        let whmcs_product_id = numbers::whole_number(raw.whmcs_product_id.as_ref())
            .and_then(|number| {
                if number > 0 {
                    Ok(number)
                } else {
                    Err(NumberError::NotPositive)
                }
            })
            .map_err(|source| ProductError::WhmcsProductId {
                id: id.clone(),
                source,
            })?;
        let data_size = text(raw.sim_data_size);
        let plan_type = text(raw.sim_plan_type);
        let sim = (data_size.is_some() || plan_type.is_some()).then_some(SimDetails {
            data_size,
            plan_type,
        });
        Ok(ProductRecord {
            id,
            sku,
            name,
            family: text(raw.family).unwrap_or_else(|| "Other".to_owned()),
            description: text(raw.description),
            billing_cycle,
            sim,
            whmcs_product_id,
        })
    }
}

/// A trimmed, non-empty text.
fn text(value: Option<String>) -> Option<String> {
    value
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The picklist values of `Billing_Cycle__c` (which are also WHMCS's cycle names), case-insensitively.
fn billing_cycle(value: &str) -> Option<BillingCycle> {
    let normalized: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match normalized.as_str() {
        "monthly" => Some(BillingCycle::Monthly),
        "annually" | "annual" | "yearly" => Some(BillingCycle::Annually),
        "onetime" | "once" => Some(BillingCycle::OneTime),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawProduct2 {
        serde_json::from_value(serde_json::json!({
            "attributes": { "type": "Product2" },
            "Id": "01tSB0000000003AAA",
            "Name": "SIM Data 20GB",
            "ProductCode": "SIM-DATA-20GB",
            "StockKeepingUnit": "SIM-DATA-20GB",
            "Description": "SIM Data 20GB",
            "Family": "SIM",
            "IsActive": true,
            "Portal_Catalog__c": true,
            "Billing_Cycle__c": "Monthly",
            "WH_Product_ID__c": 103.0,
            "SIM_Data_Size__c": "20GB",
            "SIM_Plan_Type__c": "DATA_20GB"
        }))
        .unwrap_or_else(|error| panic!("raw product: {error}"))
    }

    #[test]
    fn a_sim_product_maps_with_its_plan_and_whmcs_id() {
        let product = ProductRecord::try_from(raw()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(product.sku, "SIM-DATA-20GB");
        assert_eq!(product.billing_cycle, BillingCycle::Monthly);
        assert_eq!(product.whmcs_product_id, 103);
        assert_eq!(
            product.sim,
            Some(SimDetails {
                data_size: Some("20GB".into()),
                plan_type: Some("DATA_20GB".into())
            })
        );
    }

    #[test]
    fn cycles_and_ids_are_read_tolerantly() {
        let mut onetime = raw();
        onetime.billing_cycle = Some("Onetime".into());
        onetime.whmcs_product_id = Some(serde_json::json!("401"));
        onetime.sim_data_size = None;
        onetime.sim_plan_type = Some(" ".into());
        let product = ProductRecord::try_from(onetime).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(product.billing_cycle, BillingCycle::OneTime);
        assert_eq!(product.whmcs_product_id, 401);
        assert_eq!(product.sim, None);
    }

    #[test]
    fn unusable_rows_are_typed_errors() {
        let mut hidden = raw();
        hidden.portal_catalog = Some(false);
        assert!(matches!(
            ProductRecord::try_from(hidden),
            Err(ProductError::NotInPortalCatalog { .. })
        ));
        let mut fractional = raw();
        fractional.whmcs_product_id = Some(serde_json::json!(10.5));
        assert!(matches!(
            ProductRecord::try_from(fractional),
            Err(ProductError::WhmcsProductId { .. })
        ));
        let mut cycle = raw();
        cycle.billing_cycle = Some("Biennially".into());
        assert!(matches!(
            ProductRecord::try_from(cycle),
            Err(ProductError::UnknownBillingCycle { .. })
        ));
        let mut sku = raw();
        sku.stock_keeping_unit = None;
        sku.product_code = Some("SIM 20/GB".into());
        assert!(matches!(
            ProductRecord::try_from(sku),
            Err(ProductError::InvalidSku { .. })
        ));
    }
}
