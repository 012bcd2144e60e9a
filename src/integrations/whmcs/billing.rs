//! Invoices, stored pay methods and payment capture.

use secrecy::{ExposeSecret, SecretString};

use super::{WhmcsClient, param, raw};
use crate::integrations::ProviderError;

/// GetInvoices `status`. `Overdue` is not stored by WHMCS: it means Unpaid and past the due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    Unpaid,
    Paid,
    Cancelled,
    Overdue,
    Refunded,
    Collections,
    Draft,
    PaymentPending,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Unpaid => "Unpaid",
            InvoiceStatus::Paid => "Paid",
            InvoiceStatus::Cancelled => "Cancelled",
            InvoiceStatus::Overdue => "Overdue",
            InvoiceStatus::Refunded => "Refunded",
            InvoiceStatus::Collections => "Collections",
            InvoiceStatus::Draft => "Draft",
            InvoiceStatus::PaymentPending => "Payment Pending",
        }
    }
}

/// GetInvoices. Without `limitnum` WHMCS returns 25.
#[derive(Debug, Clone, Default)]
pub struct InvoiceQuery {
    pub userid: Option<u64>,
    pub status: Option<InvoiceStatus>,
    pub limitstart: Option<u64>,
    pub limitnum: Option<u64>,
    /// id, invoicenumber, date, duedate, total or status.
    pub orderby: Option<String>,
    /// asc or desc.
    pub order: Option<String>,
}

impl WhmcsClient {
    pub async fn get_invoices(
        &self,
        query: &InvoiceQuery,
    ) -> Result<raw::InvoiceList, ProviderError> {
        let mut params = Vec::new();
        if let Some(userid) = query.userid {
            params.push(param("userid", userid));
        }
        if let Some(status) = query.status {
            params.push(param("status", status.as_str()));
        }
        if let Some(limitstart) = query.limitstart {
            params.push(param("limitstart", limitstart));
        }
        if let Some(limitnum) = query.limitnum {
            params.push(param("limitnum", limitnum));
        }
        if let Some(orderby) = &query.orderby {
            params.push(param("orderby", orderby));
        }
        if let Some(order) = &query.order {
            params.push(param("order", order));
        }
        self.call("GetInvoices", &params).await
    }

    /// An unknown id answers `{"status":"error","message":"Invoice ID Not Found"}`: `Rejected` with code
    /// `invoice_id_not_found`.
    pub async fn get_invoice(&self, invoice_id: u64) -> Result<raw::Invoice, ProviderError> {
        self.call("GetInvoice", &[param("invoiceid", invoice_id)])
            .await
    }

    pub async fn get_pay_methods(&self, client_id: u64) -> Result<raw::PayMethods, ProviderError> {
        self.call("GetPayMethods", &[param("clientid", client_id)])
            .await
    }

    /// Charges the invoice's stored pay method. Sent once (see [`WhmcsClient::call_once`]): after an
    /// `Unavailable` error, read the invoice before trying again. "Invoice Not Found or Not Unpaid" and
    /// "Payment Attempt Failed" are `Rejected`.
    pub async fn capture_payment(
        &self,
        invoice_id: u64,
        cvv: Option<&SecretString>,
    ) -> Result<raw::Ack, ProviderError> {
        let mut params = vec![param("invoiceid", invoice_id)];
        if let Some(cvv) = cvv {
            params.push(param("cvv", cvv.expose_secret()));
        }
        self.call_once("CapturePayment", &params).await
    }
}
