use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use super::Amount;
use crate::integrations::whmcs::de;
use crate::telemetry::redact::Pii;

/// GetClientsProducts: a client's services (one per product instance, "hosting" in WHMCS terms).
#[derive(Debug, Clone, Deserialize)]
pub struct ClientProducts {
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub totalresults: u64,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub startnumber: u64,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub numreturned: u64,
    #[serde(default, deserialize_with = "de::list_or_empty")]
    pub products: Vec<ClientProduct>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClientProduct {
    /// The service id.
    #[serde(deserialize_with = "de::string_or_number")]
    pub id: u64,
    #[serde(deserialize_with = "de::string_or_number")]
    pub clientid: u64,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub orderid: Option<u64>,
    /// The product id.
    #[serde(deserialize_with = "de::string_or_number")]
    pub pid: u64,
    #[serde(default, deserialize_with = "de::opt_date")]
    pub regdate: Option<NaiveDate>,
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    #[serde(default, deserialize_with = "de::text")]
    pub groupname: String,
    #[serde(default, deserialize_with = "de::text")]
    pub domain: String,
    #[serde(default)]
    pub firstpaymentamount: Amount,
    #[serde(default)]
    pub recurringamount: Amount,
    #[serde(default, deserialize_with = "de::text")]
    pub paymentmethod: String,
    /// Monthly, Quarterly, Semi-Annually, Annually, Biennially, Triennially, One Time, Free Account.
    #[serde(default, deserialize_with = "de::text")]
    pub billingcycle: String,
    #[serde(default, deserialize_with = "de::opt_date")]
    pub nextduedate: Option<NaiveDate>,
    /// Pending, Active, Suspended, Terminated, Cancelled, Fraud, Completed.
    #[serde(default, deserialize_with = "de::text")]
    pub status: String,
    #[serde(default, deserialize_with = "de::list_or_empty")]
    pub customfields: Vec<CustomField>,
    #[serde(default, deserialize_with = "de::list_or_empty")]
    pub configoptions: Vec<ConfigOption>,
}

impl ClientProduct {
    /// The value of the custom field with this name (e.g. a SIM's `MSISDN`), if set.
    pub fn custom_field(&self, name: &str) -> Option<&str> {
        self.customfields
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
            .map(|field| field.value.as_str())
            .filter(|value| !value.is_empty())
    }
}

/// A service's custom field. Its value is [`Pii`]: for a SIM it is the MSISDN (or the ICCID, the EID).
#[derive(Debug, Clone, Deserialize)]
pub struct CustomField {
    #[serde(deserialize_with = "de::string_or_number")]
    pub id: u64,
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    #[serde(default, deserialize_with = "de::text")]
    pub value: Pii<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConfigOption {
    #[serde(deserialize_with = "de::string_or_number")]
    pub id: u64,
    #[serde(default, deserialize_with = "de::text")]
    pub option: String,
    #[serde(rename = "type", default, deserialize_with = "de::text")]
    pub kind: String,
    #[serde(default, deserialize_with = "de::text")]
    pub value: String,
}

/// GetProducts: the product catalog with prices per currency and billing cycle.
#[derive(Debug, Clone, Deserialize)]
pub struct Products {
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub totalresults: u64,
    #[serde(default, deserialize_with = "de::list_or_empty")]
    pub products: Vec<Product>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    #[serde(deserialize_with = "de::string_or_number")]
    pub pid: u64,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub gid: u64,
    /// hostingaccount, reselleraccount, server or other.
    #[serde(rename = "type", default, deserialize_with = "de::text")]
    pub kind: String,
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    #[serde(default, deserialize_with = "de::text")]
    pub description: String,
    #[serde(default, deserialize_with = "de::text")]
    pub module: String,
    /// free, onetime or recurring.
    #[serde(default, deserialize_with = "de::text")]
    pub paytype: String,
    /// Keyed by currency code (`JPY`).
    #[serde(default, deserialize_with = "de::map_or_empty")]
    pub pricing: BTreeMap<String, Pricing>,
}

/// A product's prices in one currency. WHMCS writes `-1.00` for a cycle that is not offered, and keeps a
/// one-time product's price under `monthly`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pricing {
    #[serde(default, deserialize_with = "de::text")]
    pub prefix: String,
    #[serde(default, deserialize_with = "de::text")]
    pub suffix: String,
    #[serde(default)]
    pub msetupfee: Amount,
    #[serde(default)]
    pub monthly: Amount,
    #[serde(default)]
    pub quarterly: Amount,
    #[serde(default)]
    pub semiannually: Amount,
    #[serde(default)]
    pub annually: Amount,
    #[serde(default)]
    pub biennially: Amount,
    #[serde(default)]
    pub triennially: Amount,
}

impl Pricing {
    /// The price of a cycle by its WHMCS name (`monthly`, `annually`, …; `onetime` reads `monthly`), or
    /// `None` when the cycle is not offered.
    pub fn price(&self, cycle: &str) -> Option<Amount> {
        let amount = match cycle.to_ascii_lowercase().replace(['-', ' '], "").as_str() {
            "monthly" | "onetime" => self.monthly,
            "quarterly" => self.quarterly,
            "semiannually" => self.semiannually,
            "annually" => self.annually,
            "biennially" => self.biennially,
            "triennially" => self.triennially,
            _ => return None,
        };
        (!amount.is_negative()).then_some(amount)
    }
}
