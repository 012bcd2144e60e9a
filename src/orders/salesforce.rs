//! The CRM side of an order: the price book and its entries (raw records + mappers), and the one composite
//! call that creates the Order with all its OrderItems. The Order carries the portal order id as its unique
//! external id (`Portal_Order_Id__c`) and each item `{order id}-{line}` (`Portal_Item_Key__c`): the
//! composite is sent once, and an unknown outcome is settled by looking the order up by that id.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::domain::{ActivationType, CreateOrderRequest, SimType, StoredItem};
use crate::catalog::BillingCycle;
use crate::integrations::ProviderError;
use crate::integrations::salesforce::{
    SalesforceClient, composite_failure, create_reconciled, soql,
};

/// The Order's external id field: the portal order id.
pub const ORDER_EXTERNAL_ID: &str = "Portal_Order_Id__c";
const ITEM_EXTERNAL_ID: &str = "Portal_Item_Key__c";
/// One send per request: after an unknown outcome the order is looked up, and when it is absent the client's
/// retry with the same Idempotency-Key sends it again (and looks first).
const CREATE_SENDS: usize = 1;

/// `Activation_Status__c` while an order waits for review.
pub const PENDING_REVIEW: &str = "Pending Review";
/// `Activation_Status__c` once the approval Flow asks for provisioning.
pub const ACTIVATING: &str = "Activating";
/// `Activation_Status__c` once provisioned.
pub const ACTIVATED: &str = "Activated";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawPricebook {
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawPricebookEntry {
    id: String,
    #[serde(default)]
    product_code: Option<String>,
}

/// A price book entry of one product (by sku).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceEntry {
    pub id: String,
    pub sku: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceEntryMapError {
    #[error("the price book entry has an invalid id")]
    InvalidId,
    #[error("the price book entry has no product code")]
    MissingProductCode,
}

impl TryFrom<RawPricebookEntry> for PriceEntry {
    type Error = PriceEntryMapError;

    fn try_from(raw: RawPricebookEntry) -> Result<Self, Self::Error> {
        if !soql::is_id(&raw.id) {
            return Err(PriceEntryMapError::InvalidId);
        }
        let sku = raw
            .product_code
            .filter(|code| !code.trim().is_empty())
            .ok_or(PriceEntryMapError::MissingProductCode)?;
        Ok(PriceEntry { id: raw.id, sku })
    }
}

/// The id of the active price book named `name`.
pub async fn pricebook_id(
    client: &SalesforceClient,
    name: &str,
) -> Result<Option<String>, ProviderError> {
    let soql = format!(
        "SELECT Id FROM Pricebook2 WHERE Name = {} AND IsActive = true LIMIT 1",
        soql::quote(name)
    );
    let books: Vec<RawPricebook> = client.query(&soql).await?;
    Ok(books
        .into_iter()
        .map(|book| book.id)
        .find(|id| soql::is_id(id)))
}

/// The active entries of `skus` in the price book.
pub async fn price_entries(
    client: &SalesforceClient,
    pricebook_id: &str,
    skus: &[&str],
) -> Result<Vec<PriceEntry>, ProviderError> {
    let soql = format!(
        "SELECT Id, ProductCode FROM PricebookEntry WHERE Pricebook2Id = {} AND ProductCode IN {} AND IsActive = true",
        soql::quote(pricebook_id),
        soql::quote_list(skus.iter().copied())
    );
    let raw: Vec<RawPricebookEntry> = client.query(&soql).await?;
    Ok(raw
        .into_iter()
        .filter_map(|entry| match PriceEntry::try_from(entry) {
            Ok(entry) => Some(entry),
            Err(error) => {
                tracing::warn!(%error, "skipping a price book entry");
                None
            }
        })
        .collect())
}

/// What the order is created for.
pub struct NewSalesforceOrder<'a> {
    pub local_id: uuid::Uuid,
    pub account_id: &'a str,
    pub contact_id: &'a str,
    pub pricebook_id: &'a str,
    pub effective_date: NaiveDate,
    pub request: &'a CreateOrderRequest,
    /// Lines with their price book entry ids.
    pub lines: Vec<(&'a StoredItem, String)>,
}

/// The ids the composite answered: the Order's, then each OrderItem's in line order.
#[derive(Debug, Clone)]
pub struct CreatedOrder {
    pub order_id: String,
    pub item_ids: Vec<String>,
}

pub fn cycle_name(cycle: BillingCycle) -> &'static str {
    match cycle {
        BillingCycle::Monthly => "Monthly",
        BillingCycle::Annually => "Annually",
        BillingCycle::OneTime => "Onetime",
    }
}

/// A unit price as Salesforce takes it: a JSON number in major units.
fn unit_price(item: &StoredItem) -> Value {
    let text = crate::money::Money::from_hundredths(item.unit_price_hundredths, &item.currency)
        .amount
        .to_string();
    serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)
}

fn item_key(local_id: uuid::Uuid, index: usize) -> String {
    format!("{local_id}-{index}")
}

/// The CRM order for `order`, created once, and after an unknown outcome looked up by its external id
/// before any second send. A resumed attempt looks first ([`find_order`]).
pub async fn place_order(
    client: &SalesforceClient,
    order: &NewSalesforceOrder<'_>,
) -> Result<CreatedOrder, ProviderError> {
    create_reconciled(
        CREATE_SENDS,
        || create_order(client, order),
        || find_order(client, order.local_id, order.lines.len()),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawPlacedOrder {
    id: String,
    #[serde(default)]
    order_items: Option<RawItems>,
}

#[derive(Debug, Deserialize)]
struct RawItems {
    #[serde(default)]
    records: Vec<RawPlacedItem>,
}

#[derive(Debug, Deserialize)]
struct RawPlacedItem {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Portal_Item_Key__c", default)]
    key: Option<String>,
}

/// The order an earlier attempt created for `local_id`, with its items in line order. The composite is
/// all-or-none, so an order found without every line is not ours to complete: malformed.
pub async fn find_order(
    client: &SalesforceClient,
    local_id: uuid::Uuid,
    lines: usize,
) -> Result<Option<CreatedOrder>, ProviderError> {
    let soql = format!(
        "SELECT Id, (SELECT Id, {ITEM_EXTERNAL_ID} FROM OrderItems) FROM Order WHERE {ORDER_EXTERNAL_ID} = {} LIMIT 1",
        soql::quote(&local_id.to_string())
    );
    let Some(raw) = client
        .query::<RawPlacedOrder>(&soql)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let malformed = |what: &str| ProviderError::malformed("salesforce", what.to_owned());
    if !soql::is_id(&raw.id) {
        return Err(malformed(
            "the order found by its external id has no valid id",
        ));
    }
    let items = raw
        .order_items
        .map(|items| items.records)
        .unwrap_or_default();
    let item_ids = (0..lines)
        .map(|index| {
            let key = item_key(local_id, index);
            items
                .iter()
                .find(|item| item.key.as_deref() == Some(key.as_str()) && soql::is_id(&item.id))
                .map(|item| item.id.clone())
                .ok_or_else(|| malformed("the order found by its external id lacks a line"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    tracing::info!(order_id = %local_id, "the CRM order was found by its external id");
    Ok(Some(CreatedOrder {
        order_id: raw.id,
        item_ids,
    }))
}

/// Creates the Order (Draft, pending review) and every OrderItem in one all-or-none composite call.
async fn create_order(
    client: &SalesforceClient,
    order: &NewSalesforceOrder<'_>,
) -> Result<CreatedOrder, ProviderError> {
    let builder = client.subrequests();
    let mut body = json!({
        "AccountId": order.account_id,
        "BillToContactId": order.contact_id,
        "Pricebook2Id": order.pricebook_id,
        "EffectiveDate": order.effective_date.format("%Y-%m-%d").to_string(),
        "Status": "Draft",
        "Activation_Status__c": PENDING_REVIEW,
        "Order_Type__c": "Portal",
        "Description": format!("Portal order {}", order.local_id),
        ORDER_EXTERNAL_ID: order.local_id.to_string(),
    });
    if let Value::Object(fields) = &mut body {
        if let Some(activation) = &order.request.activation {
            let kind = match activation.kind {
                ActivationType::Immediate => "Immediate",
                ActivationType::Scheduled => "Scheduled",
            };
            fields.insert("Activation_Type__c".into(), kind.into());
            if let Some(at) = activation.scheduled_at {
                fields.insert(
                    "Activation_Scheduled_At__c".into(),
                    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string().into(),
                );
            }
        }
        if let Some(sim) = &order.request.sim {
            let kind = match sim.kind {
                SimType::Physical => "Physical",
                SimType::Esim => "eSIM",
            };
            fields.insert("SIM_Type__c".into(), kind.into());
            if let Some(eid) = &sim.eid {
                fields.insert("EID__c".into(), eid.clone().into());
            }
        }
    }
    let mut subrequests = vec![builder.create("order", "Order", body)?];
    for (index, (item, entry_id)) in order.lines.iter().enumerate() {
        subrequests.push(builder.create(
            &format!("item{index}"),
            "OrderItem",
            json!({
                "OrderId": "@{order.id}",
                "PricebookEntryId": entry_id,
                "Quantity": item.quantity,
                "UnitPrice": unit_price(item),
                "Billing_Cycle__c": cycle_name(item.billing_cycle),
                ITEM_EXTERNAL_ID: item_key(order.local_id, index),
            }),
        )?);
    }
    let responses = client.composite(true, subrequests).await?;
    if let Some(error) = composite_failure(&responses) {
        return Err(error);
    }
    let malformed = |what: &str| ProviderError::malformed("salesforce", what.to_owned());
    if responses.len() != order.lines.len() + 1 {
        return Err(malformed(
            "the composite answered another number of results",
        ));
    }
    let order_id = responses
        .first()
        .and_then(|response| response.id())
        .filter(|id| soql::is_id(id))
        .ok_or_else(|| malformed("the Order create answered no id"))?
        .to_owned();
    let item_ids = responses
        .iter()
        .skip(1)
        .map(|response| {
            response
                .id()
                .filter(|id| soql::is_id(id))
                .map(str::to_owned)
                .ok_or_else(|| malformed("an OrderItem create answered no id"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CreatedOrder { order_id, item_ids })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_needs_an_id_and_a_product_code() {
        let ok = RawPricebookEntry {
            id: "01u000000000001AAA".into(),
            product_code: Some("SIM-DATA-3GB".into()),
        };
        assert_eq!(
            PriceEntry::try_from(ok).map(|entry| entry.sku),
            Ok("SIM-DATA-3GB".to_owned())
        );
        let no_code = RawPricebookEntry {
            id: "01u000000000001AAA".into(),
            product_code: None,
        };
        assert_eq!(
            PriceEntry::try_from(no_code),
            Err(PriceEntryMapError::MissingProductCode)
        );
    }
}
