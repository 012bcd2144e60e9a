use chrono::NaiveDateTime;
use serde::Deserialize;

use super::Amount;
use crate::integrations::whmcs::de;

/// AddOrder. The order is Pending, its services are not provisioned until AcceptOrder.
#[derive(Debug, Clone, Deserialize)]
pub struct AddedOrder {
    #[serde(deserialize_with = "de::string_or_number")]
    pub orderid: u64,
    #[serde(default, deserialize_with = "de::comma_list")]
    pub serviceids: Vec<u64>,
    #[serde(default, deserialize_with = "de::comma_list")]
    pub addonids: Vec<u64>,
    #[serde(default, deserialize_with = "de::comma_list")]
    pub domainids: Vec<u64>,
    /// `None` with `noinvoice`.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub invoiceid: Option<u64>,
}

/// GetOrders.
#[derive(Debug, Clone, Deserialize)]
pub struct Orders {
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub totalresults: u64,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub startnumber: u64,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub numreturned: u64,
    #[serde(default, deserialize_with = "de::list_or_empty")]
    pub orders: Vec<Order>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    #[serde(deserialize_with = "de::string_or_number")]
    pub id: u64,
    #[serde(default, deserialize_with = "de::text")]
    pub ordernum: String,
    #[serde(deserialize_with = "de::string_or_number")]
    pub userid: u64,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub date: Option<NaiveDateTime>,
    #[serde(default)]
    pub amount: Amount,
    #[serde(default, deserialize_with = "de::text")]
    pub paymentmethod: String,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub invoiceid: Option<u64>,
    /// Pending, Active, Fraud, Cancelled.
    #[serde(default, deserialize_with = "de::text")]
    pub status: String,
    /// The invoice's status (Paid, Unpaid, …); empty without an invoice.
    #[serde(default, deserialize_with = "de::text")]
    pub paymentstatus: String,
    /// Admin notes given at AddOrder.
    #[serde(default, deserialize_with = "de::text")]
    pub notes: String,
    #[serde(default, deserialize_with = "de::list_or_empty")]
    pub lineitems: Vec<OrderLineItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderLineItem {
    /// product, addon or domain.
    #[serde(rename = "type", default, deserialize_with = "de::text")]
    pub kind: String,
    /// The service (addon, domain) id.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub relid: Option<u64>,
    #[serde(default, deserialize_with = "de::text")]
    pub product: String,
    #[serde(default, deserialize_with = "de::text")]
    pub billingcycle: String,
    #[serde(default)]
    pub amount: Amount,
    #[serde(default, deserialize_with = "de::text")]
    pub status: String,
}
