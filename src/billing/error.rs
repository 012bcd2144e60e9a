//! What can go wrong in billing, and how each failure reaches the client.

use super::domain::InvoiceStatus;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::integrations::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// Absent, a draft, or another customer's: one answer for all three.
    #[error("invoice not found")]
    InvoiceNotFound,
    #[error("the invoice is {0:?}, not payable")]
    NotPayable(InvoiceStatus),
    #[error("the pay method is not the customer's")]
    UnknownPayMethod,
    #[error("the pay method cannot be charged directly")]
    UnsupportedPayMethod,
    /// WHMCS charges only the client's default pay method.
    #[error("the pay method is not the customer's default")]
    NotDefaultPayMethod,
    #[error("the payment was declined")]
    Declined,
    /// A replayed payment link that can no longer be opened.
    #[error("the payment link expired")]
    LinkExpired,
    /// WHMCS answered with something the mappers refuse.
    #[error("WHMCS sent data that cannot be used: {0}")]
    Mapping(String),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The idempotency claim could not be held (taken over by a retry that now does the work).
    #[error("the idempotency claim was lost")]
    Claim(ApiError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<BillingError> for ApiError {
    fn from(error: BillingError) -> Self {
        match error {
            BillingError::InvoiceNotFound => ApiError::not_found().with_detail("No such invoice."),
            BillingError::NotPayable(status) => {
                let state = match status {
                    InvoiceStatus::Paid => "already paid",
                    InvoiceStatus::Cancelled => "cancelled",
                    InvoiceStatus::Refunded => "refunded",
                    InvoiceStatus::Collections => "with a collections agency",
                    InvoiceStatus::PaymentPending => "awaiting a payment confirmation",
                    InvoiceStatus::Unpaid | InvoiceStatus::Overdue => "not payable",
                };
                ApiError::new(ErrorCode::InvoiceNotPayable)
                    .with_detail(format!("This invoice is {state}; there is nothing to pay."))
            }
            BillingError::UnknownPayMethod => ApiError::validation(vec![FieldError::new(
                "pay_method_id",
                "unknown",
                "No such payment method on your account.",
            )]),
            BillingError::UnsupportedPayMethod => ApiError::validation(vec![FieldError::new(
                "pay_method_id",
                "unsupported",
                "Only a stored card can be charged directly; pay by link instead.",
            )]),
            BillingError::NotDefaultPayMethod => ApiError::validation(vec![FieldError::new(
                "pay_method_id",
                "not_default",
                "Only your default card can be charged here; use it, or pay by link to choose another.",
            )]),
            BillingError::Declined => ApiError::new(ErrorCode::PaymentDeclined).with_detail(
                "The payment was declined. Try another card, or pay by link (use a new Idempotency-Key).",
            ),
            BillingError::LinkExpired => ApiError::new(ErrorCode::PaymentLinkExpired).with_detail(
                "The payment link made for this Idempotency-Key has expired. Ask for a new link with a new \
                 Idempotency-Key.",
            ),
            BillingError::Mapping(detail) => {
                ProviderError::malformed("whmcs", detail).into()
            }
            BillingError::Provider(error) => error.into(),
            BillingError::Claim(error) => error,
            BillingError::Unexpected(error) => ApiError::internal(error),
        }
    }
}
