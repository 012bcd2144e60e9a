//! WHMCS invoices (GetInvoices, GetInvoice) → [`Invoice`] and [`InvoiceDetail`].

use chrono::NaiveDate;

use crate::billing::domain::{Invoice, InvoiceDetail, InvoiceLine, InvoiceStatus, Transaction};
use crate::integrations::whmcs::raw;
use crate::money::Money;
use crate::types::Currency;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceMapError {
    /// Drafts are not issued yet: the customer does not see them.
    #[error("invoice {0} is a draft")]
    Draft(u64),
    #[error("invoice {id} has an unknown status {status:?}")]
    UnknownStatus { id: u64, status: String },
    #[error("invoice {id} has no {field}")]
    MissingDate { id: u64, field: &'static str },
    #[error("invoice {0} has no currency")]
    MissingCurrency(u64),
}

/// WHMCS's stored status. `Overdue` never comes from here: see [`Invoice::as_of`].
fn status(id: u64, raw: &str) -> Result<InvoiceStatus, InvoiceMapError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "unpaid" => Ok(InvoiceStatus::Unpaid),
        "paid" => Ok(InvoiceStatus::Paid),
        "cancelled" => Ok(InvoiceStatus::Cancelled),
        "refunded" => Ok(InvoiceStatus::Refunded),
        "collections" => Ok(InvoiceStatus::Collections),
        "payment pending" => Ok(InvoiceStatus::PaymentPending),
        "draft" => Err(InvoiceMapError::Draft(id)),
        _ => Err(InvoiceMapError::UnknownStatus {
            id,
            status: raw.to_owned(),
        }),
    }
}

fn currency(id: u64, code: &str) -> Result<String, InvoiceMapError> {
    Currency::parse(code)
        .map(Currency::into_string)
        .ok_or(InvoiceMapError::MissingCurrency(id))
}

fn money(amount: raw::Amount, currency: &str) -> Money {
    Money::from_hundredths(amount.hundredths(), currency)
}

fn number(id: u64, invoicenum: &str) -> String {
    match invoicenum.trim() {
        "" => id.to_string(),
        number => number.to_owned(),
    }
}

fn required(
    id: u64,
    field: &'static str,
    date: Option<NaiveDate>,
) -> Result<NaiveDate, InvoiceMapError> {
    date.ok_or(InvoiceMapError::MissingDate { id, field })
}

impl TryFrom<raw::InvoiceSummary> for Invoice {
    type Error = InvoiceMapError;

    fn try_from(raw: raw::InvoiceSummary) -> Result<Self, Self::Error> {
        let id = raw.id;
        let status = status(id, &raw.status)?;
        let currency = currency(id, &raw.currencycode)?;
        let total = money(raw.total, &currency);
        // GetInvoices does not say what was paid: an unpaid invoice is owed in full here, the detail (GetInvoice)
        // has the exact balance.
        let balance = if status == InvoiceStatus::Unpaid {
            total.clone()
        } else {
            Money::zero(&currency)
        };
        Ok(Invoice {
            id,
            number: number(id, &raw.invoicenum),
            issued_on: required(id, "date", raw.date)?,
            due_on: required(id, "due date", raw.duedate)?,
            paid_on: raw.datepaid.map(|at| at.date()),
            total,
            balance,
            status,
        })
    }
}

/// GetInvoice does not name the currency: it is the client's, read separately.
pub struct InvoiceInCurrency {
    pub invoice: raw::Invoice,
    pub currency: String,
}

impl TryFrom<InvoiceInCurrency> for InvoiceDetail {
    type Error = InvoiceMapError;

    fn try_from(source: InvoiceInCurrency) -> Result<Self, Self::Error> {
        let raw = source.invoice;
        let id = raw.invoiceid;
        let status = status(id, &raw.status)?;
        let currency = currency(id, &source.currency)?;
        let balance = if status == InvoiceStatus::Unpaid {
            money(raw.balance, &currency)
        } else {
            Money::zero(&currency)
        };
        let items = raw
            .items
            .into_iter()
            .map(|item| InvoiceLine {
                description: item.description.trim().to_owned(),
                amount: money(item.amount, &currency),
            })
            .collect();
        let transactions = raw
            .transactions
            .into_iter()
            .map(|transaction| Transaction {
                date: transaction.date.map(|at| at.date()),
                gateway: transaction.gateway.trim().to_owned(),
                amount: Money::from_hundredths(
                    transaction
                        .amountin
                        .hundredths()
                        .saturating_sub(transaction.amountout.hundredths()),
                    &currency,
                ),
                transaction_id: transaction.transid.trim().to_owned(),
            })
            .collect();
        Ok(InvoiceDetail {
            invoice: Invoice {
                id,
                number: number(id, &raw.invoicenum),
                issued_on: required(id, "date", raw.date)?,
                due_on: required(id, "due date", raw.duedate)?,
                paid_on: raw.datepaid.map(|at| at.date()),
                total: money(raw.total, &currency),
                balance,
                status,
            },
            subtotal: money(raw.subtotal, &currency),
            tax: Money::from_hundredths(
                raw.tax.hundredths().saturating_add(raw.tax2.hundredths()),
                &currency,
            ),
            credit: money(raw.credit, &currency),
            items,
            transactions,
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn summary(status: &str, currency: &str) -> raw::InvoiceSummary {
        serde_json::from_value(serde_json::json!({
            "id": "1002", "userid": "1", "invoicenum": "", "date": "2026-10-01", "duedate": "2026-10-15",
            "datepaid": "0000-00-00 00:00:00", "total": "2980.00", "status": status, "currencycode": currency,
        }))
        .expect("raw invoice")
    }

    #[test]
    fn an_unpaid_invoice_past_its_due_date_is_overdue() {
        let invoice = Invoice::try_from(summary("Unpaid", "JPY")).expect("maps");
        assert_eq!(invoice.number, "1002");
        assert_eq!(invoice.balance.amount.to_string(), "2980");
        let today = NaiveDate::from_ymd_opt(2026, 10, 16).expect("date");
        assert_eq!(invoice.clone().as_of(today).status, InvoiceStatus::Overdue);
        let due_day = NaiveDate::from_ymd_opt(2026, 10, 15).expect("date");
        assert_eq!(invoice.as_of(due_day).status, InvoiceStatus::Unpaid);
    }

    #[test]
    fn drafts_unknown_statuses_and_missing_currencies_are_refused() {
        assert_eq!(
            Invoice::try_from(summary("Draft", "JPY")),
            Err(InvoiceMapError::Draft(1002))
        );
        assert!(matches!(
            Invoice::try_from(summary("Sideways", "JPY")),
            Err(InvoiceMapError::UnknownStatus { .. })
        ));
        assert_eq!(
            Invoice::try_from(summary("Paid", "")),
            Err(InvoiceMapError::MissingCurrency(1002))
        );
    }
}
