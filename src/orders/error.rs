//! What can go wrong when placing an order, and how each failure reaches the client.

use crate::catalog::CatalogError;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::integrations::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// The request, or its items against the catalog, did not pass validation: one entry per field.
    #[error("the order is invalid")]
    Invalid(Vec<FieldError>),
    /// WHMCS has no pay method for the customer, so the order could never be charged.
    #[error("the customer has no payment method")]
    NoPaymentMethod,
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The idempotency claim could not be held (taken over by a retry that now does the work).
    #[error("the idempotency claim was lost")]
    Claim(ApiError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Invalid(errors) => ApiError::validation(errors),
            OrderError::NoPaymentMethod => ApiError::new(ErrorCode::NoPaymentMethod).with_detail(
                "Your account has no payment method. Add a card or bank account in billing, then order again.",
            ),
            OrderError::Catalog(error) => error.into(),
            OrderError::Provider(error) => error.into(),
            OrderError::Database(error) => error.into(),
            OrderError::Claim(error) => error,
            OrderError::Unexpected(error) => ApiError::internal(error),
        }
    }
}
