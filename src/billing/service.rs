//! One customer's billing account at WHMCS. Every call is scoped by the customer's linked WHMCS client id,
//! and every answer is checked against it: another client's invoice is "not found".

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};

use super::Billing;
use super::cursor::Cursor;
use super::domain::{
    BillingSummary, Invoice, InvoiceDetail, InvoiceFilter, InvoiceStatus, PaymentKind,
    PaymentMethod, PaymentMethodType, PaymentRequest, PaymentResult, PaymentStatus,
};
use super::error::BillingError;
use super::whmcs::{InvoiceInCurrency, InvoiceMapError, PaymentLink, invoice_page};
use crate::idempotency::Attempt;
use crate::integrations::ProviderError;
use crate::integrations::whmcs::{self, ClientRef, InvoiceQuery, param, raw};
use crate::money::Money;
use crate::types::Currency;

/// How long a client's currency is cached (it practically never changes).
const CURRENCY_TTL: Duration = Duration::from_secs(3600);
/// Extra rows read after the first page, to make up for rows skipped as already shown.
const PAGE_SLACK: u64 = 5;
/// WHMCS's largest sensible page, used when reading every unpaid invoice.
const SCAN_PAGE: u64 = 100;
/// The summary reads at most this many unpaid invoices.
const SCAN_LIMIT: u64 = 1000;
/// Concurrent GetInvoice calls when the summary needs exact balances.
const DETAIL_CONCURRENCY: usize = 4;

pub struct BillingAccount<'a> {
    billing: &'a Billing,
    client_id: u64,
}

pub struct InvoiceSlice {
    pub items: Vec<Invoice>,
    pub next: Option<Cursor>,
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn whmcs_status(filter: InvoiceFilter) -> whmcs::InvoiceStatus {
    match filter {
        InvoiceFilter::Unpaid => whmcs::InvoiceStatus::Unpaid,
        InvoiceFilter::Overdue => whmcs::InvoiceStatus::Overdue,
        InvoiceFilter::Paid => whmcs::InvoiceStatus::Paid,
        InvoiceFilter::Cancelled => whmcs::InvoiceStatus::Cancelled,
    }
}

fn is_not_found(error: &ProviderError) -> bool {
    matches!(error, ProviderError::Rejected { code, .. } if code == "invoice_id_not_found")
}

fn rejected_with(error: &ProviderError, wanted: &str) -> bool {
    matches!(error, ProviderError::Rejected { code, .. } if code == wanted)
}

impl<'a> BillingAccount<'a> {
    pub fn new(billing: &'a Billing, whmcs_client_id: i64) -> Result<Self, BillingError> {
        let client_id = u64::try_from(whmcs_client_id)
            .map_err(|_| anyhow::anyhow!("WHMCS client id {whmcs_client_id} is negative"))?;
        Ok(Self { billing, client_id })
    }

    /// One page of invoices, newest first, continuing after `cursor`.
    #[tracing::instrument(name = "billing.invoices", skip_all, fields(client_id = self.client_id))]
    pub async fn invoices(
        &self,
        filter: Option<InvoiceFilter>,
        limit: u64,
        cursor: Option<&Cursor>,
    ) -> Result<InvoiceSlice, BillingError> {
        let offset = cursor.map_or(0, |c| c.offset);
        let after = cursor.map(|c| (c.last_issued_on, c.last_id));
        let list = self
            .billing
            .whmcs
            .get_invoices(&InvoiceQuery {
                userid: Some(self.client_id),
                status: filter.map(whmcs_status),
                limitstart: Some(offset),
                limitnum: Some(limit + if cursor.is_some() { PAGE_SLACK } else { 0 }),
                orderby: Some("date".into()),
                order: Some("desc".into()),
            })
            .await?;
        let today = today();
        let mut items = Vec::new();
        let mut consumed = 0_u64;
        for raw in list.invoices {
            if items.len() as u64 == limit {
                break;
            }
            consumed += 1;
            let Some(invoice) = self.map_listed(raw)? else {
                continue;
            };
            // Already shown on an earlier page (invoices issued since moved it down the offsets).
            if after.is_some_and(|after| invoice.sort_key() >= after) {
                continue;
            }
            items.push(invoice.as_of(today));
        }
        let next_offset = offset + consumed;
        let next = (consumed > 0 && next_offset < list.totalresults)
            .then(|| {
                let (last_issued_on, last_id) = items.last().map(Invoice::sort_key).or(after)?;
                Some(Cursor {
                    offset: next_offset,
                    last_issued_on,
                    last_id,
                    status: filter,
                })
            })
            .flatten();
        Ok(InvoiceSlice { items, next })
    }

    /// A listed invoice, or `None` for what the customer must not see (drafts, and, defensively, another
    /// client's rows should WHMCS ever ignore the `userid` filter).
    fn map_listed(&self, raw: raw::InvoiceSummary) -> Result<Option<Invoice>, BillingError> {
        if raw.userid != self.client_id {
            tracing::error!(
                invoice_id = raw.id,
                "GetInvoices returned another client's invoice; dropped"
            );
            return Ok(None);
        }
        match Invoice::try_from(raw) {
            Ok(invoice) => Ok(Some(invoice)),
            Err(InvoiceMapError::Draft(_)) => Ok(None),
            Err(error) => Err(BillingError::Mapping(error.to_string())),
        }
    }

    /// One of the customer's invoices with its lines and payments.
    #[tracing::instrument(name = "billing.invoice", skip_all, fields(client_id = self.client_id, invoice_id))]
    pub async fn invoice(&self, invoice_id: u64) -> Result<InvoiceDetail, BillingError> {
        let raw = match self.billing.whmcs.get_invoice(invoice_id).await {
            Ok(raw) => raw,
            Err(error) if is_not_found(&error) => return Err(BillingError::InvoiceNotFound),
            Err(error) => return Err(error.into()),
        };
        // Never reveal that someone else's invoice exists.
        if raw.userid != self.client_id || raw.invoiceid != invoice_id {
            return Err(BillingError::InvoiceNotFound);
        }
        let currency = self.currency().await?;
        match InvoiceDetail::try_from(InvoiceInCurrency {
            invoice: raw,
            currency,
        }) {
            Ok(mut detail) => {
                detail.invoice = detail.invoice.as_of(today());
                Ok(detail)
            }
            Err(InvoiceMapError::Draft(_)) => Err(BillingError::InvoiceNotFound),
            Err(error) => Err(BillingError::Mapping(error.to_string())),
        }
    }

    /// The client's currency (GetInvoice does not say it), cached.
    async fn currency(&self) -> Result<String, BillingError> {
        let key = format!("billing:currency:{}", self.client_id);
        let whmcs = &self.billing.whmcs;
        let client_id = self.client_id;
        self.billing
            .cache
            .get_or_load(&key, CURRENCY_TTL, || async move {
                let details = whmcs
                    .get_clients_details(ClientRef::Id(client_id), false)
                    .await?;
                Currency::parse(&details.currency_code)
                    .map(Currency::into_string)
                    .ok_or_else(|| {
                        BillingError::Mapping(format!("client {client_id} has no currency code"))
                    })
            })
            .await
    }

    /// Outstanding balance, overdue count and next due date, from every unpaid invoice.
    #[tracing::instrument(name = "billing.summary", skip_all, fields(client_id = self.client_id))]
    pub async fn summary(&self) -> Result<BillingSummary, BillingError> {
        let mut unpaid = Vec::new();
        let mut offset = 0;
        loop {
            let list = self
                .billing
                .whmcs
                .get_invoices(&InvoiceQuery {
                    userid: Some(self.client_id),
                    status: Some(whmcs::InvoiceStatus::Unpaid),
                    limitstart: Some(offset),
                    limitnum: Some(SCAN_PAGE),
                    orderby: Some("duedate".into()),
                    order: Some("asc".into()),
                })
                .await?;
            let returned = list.invoices.len() as u64;
            for raw in list.invoices {
                if let Some(invoice) = self.map_listed(raw)? {
                    unpaid.push(invoice);
                }
            }
            offset += returned;
            if returned == 0 || offset >= list.totalresults || offset >= SCAN_LIMIT {
                break;
            }
        }
        let today = today();
        let unpaid: Vec<Invoice> = unpaid
            .into_iter()
            .filter(|invoice| invoice.status == InvoiceStatus::Unpaid)
            .map(|invoice| invoice.as_of(today))
            .collect();
        // GetInvoices knows totals, not what was already paid: the balances come from each invoice.
        let balances: Vec<Money> = futures::stream::iter(unpaid.iter().map(|invoice| invoice.id))
            .map(|id| async move { self.invoice(id).await.map(|detail| detail.invoice.balance) })
            .buffer_unordered(DETAIL_CONCURRENCY)
            .try_collect()
            .await?;
        let currency = match unpaid.first() {
            Some(invoice) => invoice.total.currency.clone(),
            None => self.currency().await?,
        };
        let mut outstanding = Money::zero(&currency);
        for balance in &balances {
            outstanding = outstanding.checked_add(balance).ok_or_else(|| {
                BillingError::Mapping("unpaid invoices in several currencies".into())
            })?;
        }
        Ok(BillingSummary {
            outstanding_balance: outstanding,
            unpaid_count: u32::try_from(unpaid.len()).unwrap_or(u32::MAX),
            overdue_count: u32::try_from(
                unpaid
                    .iter()
                    .filter(|invoice| invoice.status == InvoiceStatus::Overdue)
                    .count(),
            )
            .unwrap_or(u32::MAX),
            next_due_on: unpaid.iter().map(|invoice| invoice.due_on).min(),
        })
    }

    /// The customer's stored pay methods. A type we do not know is left out rather than failing the list.
    /// WHMCS lists them in its order of preference: the first is the client's default, the one
    /// CapturePayment charges.
    #[tracing::instrument(name = "billing.payment_methods", skip_all, fields(client_id = self.client_id))]
    pub async fn payment_methods(&self) -> Result<Vec<PaymentMethod>, BillingError> {
        let methods = self.billing.whmcs.get_pay_methods(self.client_id).await?;
        if methods.clientid.is_some_and(|id| id != self.client_id) {
            return Err(BillingError::Mapping(
                "GetPayMethods answered for another client".into(),
            ));
        }
        let default_id = methods.paymethods.first().map(|raw| raw.id);
        Ok(methods
            .paymethods
            .into_iter()
            .filter_map(|raw| match PaymentMethod::try_from(raw) {
                Ok(mut method) => {
                    method.is_default = Some(method.id) == default_id;
                    Some(method)
                }
                Err(error) => {
                    tracing::warn!(%error, "pay method left out");
                    None
                }
            })
            .collect())
    }

    /// Pays one of the customer's unpaid invoices, under the request's idempotency `attempt`: the capture is
    /// marked as an external effect before it goes out, and a retry after an outcome that stayed unknown
    /// answers a paid invoice as paid (that capture's outcome) rather than as not payable.
    #[tracing::instrument(name = "billing.pay", skip_all, fields(client_id = self.client_id, invoice_id))]
    pub async fn pay(
        &self,
        invoice_id: u64,
        request: &PaymentRequest,
        attempt: &Attempt,
    ) -> Result<PaymentResult, BillingError> {
        let invoice = self.invoice(invoice_id).await?;
        if !invoice.invoice.status.is_payable() {
            if attempt.claim().resumed()
                && matches!(request, PaymentRequest::Stored { .. })
                && invoice.invoice.status == InvoiceStatus::Paid
            {
                tracing::info!("an earlier capture under this key paid the invoice");
                return Ok(paid(invoice_id, Some(invoice)));
            }
            return Err(BillingError::NotPayable(invoice.invoice.status));
        }
        match request {
            PaymentRequest::Link {} => self.payment_link(invoice_id).await,
            PaymentRequest::Stored { pay_method_id } => {
                self.capture(invoice_id, *pay_method_id, attempt).await
            }
        }
    }

    async fn payment_link(&self, invoice_id: u64) -> Result<PaymentResult, BillingError> {
        let params = [
            param("client_id", self.client_id),
            param("destination", "sso:custom_redirect"),
            param("sso_redirect_path", invoice_page(invoice_id)),
        ];
        let token: raw::SsoToken = self.billing.whmcs.call("CreateSsoToken", &params).await?;
        let link = PaymentLink::try_from(token)
            .map_err(|error| BillingError::Mapping(error.to_string()))?;
        Ok(PaymentResult {
            invoice_id,
            method: PaymentKind::Link,
            status: PaymentStatus::Pending,
            invoice: None,
            payment_url: Some(link.url),
            expires_at: Some(link.expires_at),
        })
    }

    /// CapturePayment charges the client's default pay method: WHMCS takes no pay method there (only
    /// `invoiceid` and `cvv`), and UpdateInvoice's `paymentmethod` is a gateway, not a card, so another card
    /// cannot be chosen and is refused rather than silently charging the default. It is not idempotent at
    /// WHMCS, so it is sent once, and when its outcome is unknown (no answer, an unreadable one) the invoice
    /// is read again to find out.
    async fn capture(
        &self,
        invoice_id: u64,
        pay_method_id: u64,
        attempt: &Attempt,
    ) -> Result<PaymentResult, BillingError> {
        let method = self
            .payment_methods()
            .await?
            .into_iter()
            .find(|method| method.id == pay_method_id)
            .ok_or(BillingError::UnknownPayMethod)?;
        if method.kind != PaymentMethodType::Card {
            return Err(BillingError::UnsupportedPayMethod);
        }
        if !method.is_default {
            return Err(BillingError::NotDefaultPayMethod);
        }
        attempt
            .external_effect()
            .await
            .map_err(BillingError::Claim)?;
        match self.billing.whmcs.capture_payment(invoice_id, None).await {
            Ok(_) => {}
            Err(error) if rejected_with(&error, "payment_attempt_failed") => {
                return Err(BillingError::Declined);
            }
            Err(error) if rejected_with(&error, "invoice_not_found_or_not_unpaid") => {
                // Paid or cancelled since we looked: say which.
                let now = self.invoice(invoice_id).await?;
                return Err(BillingError::NotPayable(now.invoice.status));
            }
            Err(error @ ProviderError::Rejected { .. })
            | Err(error @ ProviderError::Auth { .. }) => {
                return Err(error.into());
            }
            Err(error) => {
                tracing::warn!(%error, "CapturePayment outcome unknown; reading the invoice");
                match self.invoice(invoice_id).await {
                    Ok(detail) if detail.invoice.status == InvoiceStatus::Paid => {
                        return Ok(paid(invoice_id, Some(detail)));
                    }
                    _ => return Err(error.into()),
                }
            }
        }
        // The charge went through; the invoice as it is now is a courtesy the answer can do without.
        let detail = match self.invoice(invoice_id).await {
            Ok(detail) => Some(detail),
            Err(error) => {
                tracing::warn!(%error, "invoice not re-read after a successful capture");
                None
            }
        };
        Ok(paid(invoice_id, detail))
    }
}

fn paid(invoice_id: u64, invoice: Option<InvoiceDetail>) -> PaymentResult {
    PaymentResult {
        invoice_id,
        method: PaymentKind::Stored,
        status: PaymentStatus::Paid,
        invoice,
        payment_url: None,
        expires_at: None,
    }
}
