//! The steps of one top-up run, in order, each recorded in `sim_top_up_steps` before the next starts:
//! CreateInvoice (a `sent` marker first; a repeat looks for the invoice by its notes), CapturePayment with
//! the client's default card (the invoice's status is read first, so a repeat never charges a paid
//! invoice), then Freebit's top-up (a `sent` marker with the line's `added_mb` before it; a repeat reads the
//! line back and sends again only when the data is not there).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::repo::{self, TopUpRow};
use crate::integrations::ProviderError;
use crate::integrations::freebit::QuotaTopUp;
use crate::integrations::whmcs::{InvoiceQuery, NewInvoice, NewInvoiceLine, raw};
use crate::subscriptions::Subscriptions;

const STEP_INVOICE_SENT: &str = "whmcs_invoice_sent";
const STEP_INVOICE: &str = "whmcs_invoice";
const STEP_CAPTURED: &str = "whmcs_captured";
const STEP_FREEBIT_SENT: &str = "freebit_top_up_sent";
const STEP_FREEBIT: &str = "freebit_top_up";

/// How many of the client's newest invoices are searched for one an unanswered CreateInvoice made.
const INVOICE_SEARCH: u64 = 25;

/// Why a run stopped short of adding the data.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The charge was refused (declined card, no card): final, nothing reaches Freebit.
    #[error("{0}")]
    Declined(String),
    /// Freebit refused the top-up after the charge: final, support refunds.
    #[error("{0}")]
    Refused(String),
    /// Anything else: retried until the last attempt.
    #[error("{step}: {source}")]
    Failed {
        step: &'static str,
        #[source]
        source: anyhow::Error,
    },
}

fn failed<E: Into<anyhow::Error>>(step: &'static str) -> impl FnOnce(E) -> StepError {
    move |error| StepError::Failed {
        step,
        source: error.into(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Invoiced {
    invoice_id: u64,
}

/// The line before our top-up was sent: its month and what top-ups had added so far.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LineBefore {
    month: String,
    added_mb: u64,
}

fn client_id(row: &TopUpRow) -> u64 {
    u64::try_from(row.whmcs_client_id).unwrap_or_default()
}

/// Charges the top-up in WHMCS: the invoice, then its capture. Returns the paid invoice's id.
pub async fn charge(subs: &Subscriptions, row: &TopUpRow) -> Result<u64, StepError> {
    if let Some(done) = repo::step::<Invoiced>(&subs.db, row.id, STEP_CAPTURED)
        .await
        .map_err(failed(STEP_CAPTURED))?
    {
        return Ok(done.invoice_id);
    }
    let invoice_id = invoice(subs, row).await?;
    capture(subs, row, invoice_id).await?;
    Ok(invoice_id)
}

async fn invoice(subs: &Subscriptions, row: &TopUpRow) -> Result<u64, StepError> {
    const STEP: &str = STEP_INVOICE;
    if let Some(done) = repo::step::<Invoiced>(&subs.db, row.id, STEP)
        .await
        .map_err(failed(STEP))?
    {
        return Ok(done.invoice_id);
    }
    let sent = repo::step::<serde_json::Value>(&subs.db, row.id, STEP_INVOICE_SENT)
        .await
        .map_err(failed(STEP))?
        .is_some();
    if sent && let Some(invoice_id) = find_invoice(subs, row).await? {
        record(subs, row.id, STEP, &Invoiced { invoice_id }).await?;
        return Ok(invoice_id);
    }
    let gateway = default_card_gateway(subs, row).await?;
    let new_invoice = NewInvoice {
        userid: client_id(row),
        paymentmethod: gateway,
        lines: vec![NewInvoiceLine {
            description: format!("SIM data top-up {} MB", row.quota_mb),
            amount: raw::Amount::from_hundredths(row.amount_hundredths),
            taxed: false,
        }],
        notes: row.reference(),
    };
    // Recorded before the request goes out: from now on a repeat looks for the invoice first.
    record(subs, row.id, STEP_INVOICE_SENT, &serde_json::json!({})).await?;
    let created = subs
        .whmcs
        .create_invoice(&new_invoice)
        .await
        .map_err(failed(STEP))?;
    record(
        subs,
        row.id,
        STEP,
        &Invoiced {
            invoice_id: created.invoiceid,
        },
    )
    .await?;
    Ok(created.invoiceid)
}

/// The gateway of the client's default pay method, which must be a card: CapturePayment charges only it.
async fn default_card_gateway(subs: &Subscriptions, row: &TopUpRow) -> Result<String, StepError> {
    let methods = subs
        .whmcs
        .get_pay_methods(client_id(row))
        .await
        .map_err(failed(STEP_INVOICE))?;
    match methods.paymethods.first() {
        Some(method) if method.kind.ends_with("CreditCard") => {
            let gateway = method.gateway_name.trim();
            Ok(if gateway.is_empty() {
                "stripe"
            } else {
                gateway
            }
            .to_owned())
        }
        _ => Err(StepError::Declined(
            "the account's default payment method is not a card".into(),
        )),
    }
}

/// The client's invoice carrying this top-up's reference, if an unanswered CreateInvoice made one.
async fn find_invoice(subs: &Subscriptions, row: &TopUpRow) -> Result<Option<u64>, StepError> {
    const STEP: &str = STEP_INVOICE;
    let list = subs
        .whmcs
        .get_invoices(&InvoiceQuery {
            userid: Some(client_id(row)),
            limitnum: Some(INVOICE_SEARCH),
            orderby: Some("id".into()),
            order: Some("desc".into()),
            ..Default::default()
        })
        .await
        .map_err(failed(STEP))?;
    let since = row.created_at.date_naive().pred_opt().unwrap_or_default();
    let reference = row.reference();
    for summary in list.invoices {
        if summary.userid != client_id(row) || summary.date.is_some_and(|date| date < since) {
            continue;
        }
        let invoice = subs
            .whmcs
            .get_invoice(summary.id)
            .await
            .map_err(failed(STEP))?;
        if invoice.userid == client_id(row) && invoice.notes.contains(&reference) {
            return Ok(Some(invoice.invoiceid));
        }
    }
    Ok(None)
}

/// After the last attempt failed before the charge was recorded: the top-up's invoice, if one was made and it
/// is still Unpaid, is cancelled. Left Unpaid it would be asked for (and collected from the card by WHMCS's
/// own capture run) for data that is never added. A paid one is left for support to refund.
pub async fn abandon_charge(subs: &Subscriptions, row: &TopUpRow) -> Result<(), StepError> {
    if repo::step::<Invoiced>(&subs.db, row.id, STEP_CAPTURED)
        .await
        .map_err(failed(STEP_CAPTURED))?
        .is_some()
    {
        return Ok(());
    }
    let recorded = repo::step::<Invoiced>(&subs.db, row.id, STEP_INVOICE)
        .await
        .map_err(failed(STEP_INVOICE))?
        .map(|done| done.invoice_id);
    let invoice_id = match recorded {
        Some(invoice_id) => Some(invoice_id),
        None => {
            let sent = repo::step::<serde_json::Value>(&subs.db, row.id, STEP_INVOICE_SENT)
                .await
                .map_err(failed(STEP_INVOICE))?
                .is_some();
            if sent {
                find_invoice(subs, row).await?
            } else {
                None
            }
        }
    };
    let Some(invoice_id) = invoice_id else {
        return Ok(());
    };
    match invoice_status(subs, row, invoice_id).await?.as_str() {
        "Unpaid" => subs
            .whmcs
            .set_invoice_status(invoice_id, "Cancelled")
            .await
            .map(|_| ())
            .map_err(failed(STEP_CAPTURED)),
        "Paid" => {
            tracing::error!(top_up_id = %row.id, invoice_id, "a failed top-up's invoice is paid; refund it");
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn capture(subs: &Subscriptions, row: &TopUpRow, invoice_id: u64) -> Result<(), StepError> {
    const STEP: &str = STEP_CAPTURED;
    let paid = Invoiced { invoice_id };
    match invoice_status(subs, row, invoice_id).await?.as_str() {
        "Paid" => return record(subs, row.id, STEP, &paid).await,
        "Unpaid" => {}
        other => {
            return Err(StepError::Declined(format!(
                "the top-up's invoice is {other}"
            )));
        }
    }
    match subs.whmcs.capture_payment(invoice_id, None).await {
        Ok(_) => record(subs, row.id, STEP, &paid).await,
        Err(error) if rejected_with(&error, "payment_attempt_failed") => {
            // Nothing is owed for a top-up that will not happen.
            if let Err(error) = subs.whmcs.set_invoice_status(invoice_id, "Cancelled").await {
                tracing::warn!(%error, invoice_id, "a declined top-up's invoice stays unpaid");
            }
            Err(StepError::Declined("the card was declined".into()))
        }
        Err(error) => {
            // Sent once: an unknown outcome is read from the invoice, and a repeat captures only if unpaid.
            tracing::warn!(%error, invoice_id, "CapturePayment outcome unknown; reading the invoice");
            if invoice_status(subs, row, invoice_id).await? == "Paid" {
                return record(subs, row.id, STEP, &paid).await;
            }
            Err(failed(STEP)(error))
        }
    }
}

async fn invoice_status(
    subs: &Subscriptions,
    row: &TopUpRow,
    invoice_id: u64,
) -> Result<String, StepError> {
    let invoice = subs
        .whmcs
        .get_invoice(invoice_id)
        .await
        .map_err(failed(STEP_CAPTURED))?;
    if invoice.userid != client_id(row) {
        return Err(failed(STEP_CAPTURED)(anyhow::anyhow!(
            "invoice {invoice_id} belongs to another client"
        )));
    }
    Ok(invoice.status.trim().to_owned())
}

fn rejected_with(error: &ProviderError, code: &str) -> bool {
    matches!(error, ProviderError::Rejected { code: c, .. } if c == code)
}

/// Adds the paid data at Freebit, once: Freebit does not de-duplicate top-ups, so the call is never
/// retried blindly; a repeat reads the line's `added_mb` against the value before our call.
pub async fn add_data(subs: &Subscriptions, row: &TopUpRow) -> Result<(), StepError> {
    const STEP: &str = STEP_FREEBIT;
    if repo::step::<serde_json::Value>(&subs.db, row.id, STEP)
        .await
        .map_err(failed(STEP))?
        .is_some()
    {
        return Ok(());
    }
    let quota_mb = u32::try_from(row.quota_mb).map_err(failed(STEP))?;
    if let Some(before) = repo::step::<LineBefore>(&subs.db, row.id, STEP_FREEBIT_SENT)
        .await
        .map_err(failed(STEP))?
        && applied(subs, row, &before, quota_mb).await?
    {
        return record(
            subs,
            row.id,
            STEP,
            &serde_json::json!({ "reconciled": true }),
        )
        .await;
    }
    let traffic = subs
        .freebit
        .traffic_info(&row.msisdn)
        .await
        .map_err(failed(STEP))?;
    let before = LineBefore {
        month: traffic.traffic.month,
        added_mb: traffic.traffic.added_mb,
    };
    repo::record_step(&subs.db, row.id, STEP_FREEBIT_SENT, &before, true)
        .await
        .map_err(failed(STEP))?;
    let sent = subs
        .freebit
        .top_up(&QuotaTopUp {
            account: row.msisdn.clone().into(),
            quota_mb,
            quota_code: None,
            expire: None,
        })
        .await;
    match sent {
        Ok(()) => record(subs, row.id, STEP, &serde_json::json!({})).await,
        Err(error @ ProviderError::Rejected { .. }) => Err(StepError::Refused(format!(
            "Freebit refused the top-up: {error}"
        ))),
        Err(error) => {
            tracing::warn!(%error, "Freebit top-up outcome unknown; reading the line back");
            if applied(subs, row, &before, quota_mb).await? {
                return record(
                    subs,
                    row.id,
                    STEP,
                    &serde_json::json!({ "reconciled": true }),
                )
                .await;
            }
            Err(failed(STEP)(error))
        }
    }
}

/// Whether the line shows our top-up: the same month, and `added_mb` grown by at least its quota.
async fn applied(
    subs: &Subscriptions,
    row: &TopUpRow,
    before: &LineBefore,
    quota_mb: u32,
) -> Result<bool, StepError> {
    let after = subs
        .freebit
        .traffic_info(&row.msisdn)
        .await
        .map_err(failed(STEP_FREEBIT))?;
    Ok(after.traffic.month == before.month
        && after.traffic.added_mb >= before.added_mb + u64::from(quota_mb))
}

async fn record<T: Serialize>(
    subs: &Subscriptions,
    id: Uuid,
    step: &'static str,
    result: &T,
) -> Result<(), StepError> {
    repo::record_step(&subs.db, id, step, result, false)
        .await
        .map_err(failed(step))
}
