use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

use super::Amount;
use crate::integrations::whmcs::de;
use crate::telemetry::redact::Pii;

/// GetInvoices: one page of invoices and the paging counters.
#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceList {
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub totalresults: u64,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub startnumber: u64,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub numreturned: u64,
    #[serde(default, deserialize_with = "de::list_or_empty")]
    pub invoices: Vec<InvoiceSummary>,
}

/// An invoice as GetInvoices lists it (no items, no transactions).
#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceSummary {
    #[serde(deserialize_with = "de::string_or_number")]
    pub id: u64,
    #[serde(deserialize_with = "de::string_or_number")]
    pub userid: u64,
    #[serde(default, deserialize_with = "de::text")]
    pub invoicenum: String,
    #[serde(default, deserialize_with = "de::opt_date")]
    pub date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "de::opt_date")]
    pub duedate: Option<NaiveDate>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub datepaid: Option<NaiveDateTime>,
    #[serde(default)]
    pub subtotal: Amount,
    #[serde(default)]
    pub credit: Amount,
    #[serde(default)]
    pub tax: Amount,
    #[serde(default)]
    pub tax2: Amount,
    #[serde(default)]
    pub total: Amount,
    #[serde(default, deserialize_with = "de::text")]
    pub status: String,
    #[serde(default, deserialize_with = "de::text")]
    pub paymentmethod: String,
    #[serde(default, deserialize_with = "de::text")]
    pub currencycode: String,
    #[serde(default, deserialize_with = "de::text")]
    pub currencyprefix: String,
    #[serde(default, deserialize_with = "de::text")]
    pub currencysuffix: String,
}

/// GetInvoice: one invoice with its items and the payments recorded against it.
#[derive(Debug, Clone, Deserialize)]
pub struct Invoice {
    #[serde(deserialize_with = "de::string_or_number")]
    pub invoiceid: u64,
    #[serde(default, deserialize_with = "de::text")]
    pub invoicenum: String,
    #[serde(deserialize_with = "de::string_or_number")]
    pub userid: u64,
    #[serde(default, deserialize_with = "de::opt_date")]
    pub date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "de::opt_date")]
    pub duedate: Option<NaiveDate>,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub datepaid: Option<NaiveDateTime>,
    #[serde(default)]
    pub subtotal: Amount,
    #[serde(default)]
    pub credit: Amount,
    #[serde(default)]
    pub tax: Amount,
    #[serde(default)]
    pub tax2: Amount,
    #[serde(default)]
    pub total: Amount,
    /// What is left to pay.
    #[serde(default)]
    pub balance: Amount,
    #[serde(default, deserialize_with = "de::text")]
    pub status: String,
    #[serde(default, deserialize_with = "de::text")]
    pub paymentmethod: String,
    #[serde(default, deserialize_with = "de::text")]
    pub notes: String,
    #[serde(default, deserialize_with = "de::list_or_empty")]
    pub items: Vec<InvoiceItem>,
    #[serde(default, deserialize_with = "de::list_or_empty")]
    pub transactions: Vec<Transaction>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceItem {
    #[serde(deserialize_with = "de::string_or_number")]
    pub id: u64,
    /// `Hosting` (a service: `relid` is its id), `Addon`, `Domain…`, `Item`, or empty for manual lines.
    #[serde(rename = "type", default, deserialize_with = "de::text")]
    pub kind: String,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub relid: Option<u64>,
    #[serde(default, deserialize_with = "de::text")]
    pub description: String,
    #[serde(default)]
    pub amount: Amount,
    #[serde(default, deserialize_with = "de::flag")]
    pub taxed: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Transaction {
    #[serde(deserialize_with = "de::string_or_number")]
    pub id: u64,
    #[serde(default, deserialize_with = "de::text")]
    pub gateway: String,
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub date: Option<NaiveDateTime>,
    #[serde(default, deserialize_with = "de::text")]
    pub description: String,
    #[serde(default)]
    pub amountin: Amount,
    #[serde(default)]
    pub fees: Amount,
    #[serde(default)]
    pub amountout: Amount,
    /// The gateway's reference for the payment.
    #[serde(default, deserialize_with = "de::text")]
    pub transid: String,
}

/// GetPayMethods: a plain array, unlike most lists.
#[derive(Debug, Clone, Deserialize)]
pub struct PayMethods {
    #[serde(default, deserialize_with = "de::opt_id")]
    pub clientid: Option<u64>,
    #[serde(default, deserialize_with = "de::list_or_empty")]
    pub paymethods: Vec<PayMethod>,
}

/// A stored card or bank account. The gateway's remote token is deliberately not read; the card's number (WHMCS,
/// misconfigured, may send all of it) and expiry are [`Pii`].
#[derive(Debug, Clone, Deserialize)]
pub struct PayMethod {
    #[serde(deserialize_with = "de::string_or_number")]
    pub id: u64,
    /// CreditCard, RemoteCreditCard, BankAccount or RemoteBankAccount.
    #[serde(rename = "type", default, deserialize_with = "de::text")]
    pub kind: String,
    #[serde(default, deserialize_with = "de::text")]
    pub description: String,
    #[serde(default, deserialize_with = "de::text")]
    pub gateway_name: String,
    #[serde(default, deserialize_with = "de::text")]
    pub card_last_four: Pii<String>,
    /// `MM/YY`.
    #[serde(default, deserialize_with = "de::text")]
    pub expiry_date: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub card_type: String,
    #[serde(default, deserialize_with = "de::text")]
    pub bank_name: String,
    /// `DD/MM/YYYY HH:MM`, as WHMCS formats it for display.
    #[serde(default, deserialize_with = "de::text")]
    pub last_updated: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_neither_the_card_number_nor_its_expiry() {
        let card: PayMethod = serde_json::from_value(serde_json::json!({
            "id": 1, "type": "CreditCard", "description": "", "gateway_name": "stripe",
            "card_last_four": "4242424242424242", "expiry_date": "0228", "card_type": "Visa"
        }))
        .unwrap_or_else(|error| panic!("fixture: {error}"));
        let printed = format!("{card:?}");
        assert!(!printed.contains("4242"), "{printed}");
        assert!(!printed.contains("0228"), "{printed}");
        assert_eq!(card.card_last_four, "4242424242424242");
        assert_eq!(card.expiry_date, "0228");
    }
}
