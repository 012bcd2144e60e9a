//! Billing as the portal sees it, whatever system keeps the books.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::Money;

/// An invoice's state. `overdue` is `unpaid` past its due date (the due date has passed in UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Unpaid,
    Overdue,
    Paid,
    Cancelled,
    Refunded,
    /// Handed to a collections agency.
    Collections,
    /// A payment was started and awaits confirmation from the payment provider.
    PaymentPending,
}

impl InvoiceStatus {
    /// Unpaid (overdue or not): money is still owed and the invoice can be paid.
    pub fn is_payable(self) -> bool {
        matches!(self, InvoiceStatus::Unpaid | InvoiceStatus::Overdue)
    }
}

/// The statuses the invoice list can be filtered by. `unpaid` includes overdue invoices (shown as `overdue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceFilter {
    Unpaid,
    Overdue,
    Paid,
    Cancelled,
}

/// An invoice in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Invoice {
    #[schema(example = 1002)]
    pub id: u64,
    /// The number printed on the invoice (its id when the books use no separate numbering).
    #[schema(example = "1002")]
    pub number: String,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    /// When it was paid in full.
    pub paid_on: Option<NaiveDate>,
    pub total: Money,
    /// What is left to pay: the total for an unpaid invoice in a list (the detail accounts for partial
    /// payments), zero for any other.
    pub balance: Money,
    pub status: InvoiceStatus,
}

impl Invoice {
    /// Unpaid past its due date becomes overdue (`today` in UTC, as WHMCS's cron sees it).
    #[allow(
        clippy::wrong_self_convention,
        reason = "reads as what it means: the invoice as of today"
    )]
    pub fn as_of(mut self, today: NaiveDate) -> Self {
        if self.status == InvoiceStatus::Unpaid && self.due_on < today {
            self.status = InvoiceStatus::Overdue;
        }
        self
    }

    /// Position in the newest-first order (issue date, then id, both descending).
    pub fn sort_key(&self) -> (NaiveDate, u64) {
        (self.issued_on, self.id)
    }
}

/// One invoice with its lines and the payments recorded against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InvoiceDetail {
    #[serde(flatten)]
    pub invoice: Invoice,
    pub subtotal: Money,
    pub tax: Money,
    /// Account credit applied to the invoice.
    pub credit: Money,
    pub items: Vec<InvoiceLine>,
    pub transactions: Vec<Transaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InvoiceLine {
    pub description: String,
    pub amount: Money,
}

/// A payment (or refund, as a negative amount) recorded against an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Transaction {
    pub date: Option<NaiveDate>,
    /// The payment method's display name, e.g. `Credit Card`.
    #[schema(example = "Credit Card")]
    pub gateway: String,
    pub amount: Money,
    /// The payment provider's reference.
    pub transaction_id: String,
}

/// A page of invoices, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoicePage {
    pub items: Vec<Invoice>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Where the customer stands, from their unpaid invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BillingSummary {
    /// The sum of what is left to pay on unpaid invoices.
    pub outstanding_balance: Money,
    pub unpaid_count: u32,
    pub overdue_count: u32,
    /// The earliest due date among unpaid invoices (past for overdue ones).
    pub next_due_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodType {
    Card,
    BankAccount,
}

/// A stored way to pay. Never a full number, a gateway or a token: only what a customer recognises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PaymentMethod {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: PaymentMethodType,
    /// Card brand (`Visa`) or bank name.
    pub brand: Option<String>,
    #[schema(example = "4242")]
    pub last_four: Option<String>,
    /// Cards only: `MM/YY`.
    #[schema(example = "02/28")]
    pub expiry: Option<String>,
    /// The customer's own label, if any.
    pub description: Option<String>,
    /// The method WHMCS charges: a stored-card payment can use only this one (WHMCS's CapturePayment takes
    /// no pay method, and an invoice's `paymentmethod` is a gateway, not a card).
    pub is_default: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentMethodList {
    pub items: Vec<PaymentMethod>,
}

/// How to pay: capture with a stored pay method, or get a link to the billing system's payment page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaymentRequest {
    /// Charge the default stored card now: `pay_method_id` is the method of `GET /billing/payment-methods`
    /// marked `is_default` (the billing system charges only the default card; any other is refused).
    Stored { pay_method_id: u64 },
    /// A short-lived link signing the customer in to the invoice's payment page. (A struct variant, so that
    /// unknown fields are refused here too.)
    Link {},
}

/// The result of a payment request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PaymentResult {
    pub invoice_id: u64,
    pub method: PaymentKind,
    /// `paid` once captured; `pending` while the customer completes a payment link.
    pub status: PaymentStatus,
    /// The invoice after the capture (stored method only).
    pub invoice: Option<InvoiceDetail>,
    /// Open in the browser at once (payment link only): it signs the customer in to the billing system's
    /// payment page for this invoice, works once, and expires quickly.
    pub payment_url: Option<String>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    Stored,
    Link,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Paid,
    Pending,
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_its_method() {
        let stored: PaymentRequest =
            serde_json::from_str(r#"{"method":"stored","pay_method_id":3}"#).expect("stored");
        assert_eq!(stored, PaymentRequest::Stored { pay_method_id: 3 });
        let link: PaymentRequest = serde_json::from_str(r#"{"method":"link"}"#).expect("link");
        assert_eq!(link, PaymentRequest::Link {});
        assert!(serde_json::from_str::<PaymentRequest>(r#"{"method":"cash"}"#).is_err());
        assert!(serde_json::from_str::<PaymentRequest>(r#"{"method":"stored"}"#).is_err());
        assert!(serde_json::from_str::<PaymentRequest>(r#"{"method":"link","extra":1}"#).is_err());
    }
}
