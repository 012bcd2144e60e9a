//! Charging for one-off changes: CreateInvoice, UpdateInvoice (to cancel an invoice that could not be
//! charged) and UpgradeProduct (a service's move to another product, billed by WHMCS).

use serde::Deserialize;

use super::{WhmcsClient, de, param, raw};
use crate::integrations::ProviderError;

/// One invoice line of CreateInvoice (`itemdescriptionX`, `itemamountX`, `itemtaxedX`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvoiceLine {
    pub description: String,
    pub amount: raw::Amount,
    pub taxed: bool,
}

/// CreateInvoice: an Unpaid invoice, not e-mailed, for the gateway `paymentmethod` (system name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvoice {
    pub userid: u64,
    pub paymentmethod: String,
    pub lines: Vec<NewInvoiceLine>,
    /// Shown on the invoice; carries our reference so the invoice can be found again.
    pub notes: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CreatedInvoice {
    #[serde(deserialize_with = "de::string_or_number")]
    pub invoiceid: u64,
}

/// UpgradeProduct `type=product`: moves `serviceid` to `newproductid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductUpgrade {
    pub serviceid: u64,
    pub newproductid: u64,
    /// `monthly`, `annually`… as WHMCS names cycles in requests.
    pub newproductbillingcycle: String,
    pub paymentmethod: String,
}

/// UpgradeProduct's answer. With `calconly` it is the quote; otherwise the upgrade order and its invoice
/// (0 when nothing is due).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpgradeQuote {
    #[serde(default, deserialize_with = "de::opt_string_or_number")]
    pub orderid: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_string_or_number")]
    pub invoiceid: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_string_or_number")]
    pub price: Option<raw::Amount>,
}

impl WhmcsClient {
    /// Sent once: WHMCS does not de-duplicate invoices, so after an `Unavailable` error look for the
    /// invoice (its notes) before creating another.
    pub async fn create_invoice(
        &self,
        invoice: &NewInvoice,
    ) -> Result<CreatedInvoice, ProviderError> {
        let mut params = vec![
            param("userid", invoice.userid),
            param("status", "Unpaid"),
            param("sendinvoice", "0"),
            param("paymentmethod", &invoice.paymentmethod),
            param("notes", &invoice.notes),
        ];
        for (index, line) in invoice.lines.iter().enumerate() {
            let n = index + 1;
            params.push(param(&format!("itemdescription{n}"), &line.description));
            params.push(param(&format!("itemamount{n}"), line.amount));
            params.push(param(&format!("itemtaxed{n}"), u8::from(line.taxed)));
        }
        self.call_once("CreateInvoice", &params).await
    }

    /// Sets an invoice's status (e.g. `Cancelled` for a charge that was declined).
    pub async fn set_invoice_status(
        &self,
        invoice_id: u64,
        status: &str,
    ) -> Result<raw::Ack, ProviderError> {
        self.call(
            "UpdateInvoice",
            &[param("invoiceid", invoice_id), param("status", status)],
        )
        .await
    }

    /// UpgradeProduct. With `calc_only` nothing changes (the quote); otherwise sent once: WHMCS creates an
    /// upgrade order each time, so after an `Unavailable` error read the service before repeating.
    pub async fn upgrade_product(
        &self,
        upgrade: &ProductUpgrade,
        calc_only: bool,
    ) -> Result<UpgradeQuote, ProviderError> {
        let params = [
            param("serviceid", upgrade.serviceid),
            param("calconly", u8::from(calc_only)),
            param("paymentmethod", &upgrade.paymentmethod),
            param("type", "product"),
            param("newproductid", upgrade.newproductid),
            param("newproductbillingcycle", &upgrade.newproductbillingcycle),
        ];
        if calc_only {
            self.call("UpgradeProduct", &params).await
        } else {
            self.call_once("UpgradeProduct", &params).await
        }
    }
}
