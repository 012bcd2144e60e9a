//! The support context's failures and how the API answers them.

use crate::errors::{ApiError, ErrorCode};
use crate::integrations::ProviderError;
use crate::integrations::salesforce::{has_error_code, is_not_found};

#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    /// No such case on the customer's account (it may exist on another: the answer is the same).
    #[error("case not found")]
    CaseNotFound,
    #[error("case is closed")]
    CaseClosed,
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<SupportError> for ApiError {
    fn from(error: SupportError) -> Self {
        match error {
            SupportError::CaseNotFound => case_not_found(),
            SupportError::CaseClosed => ApiError::new(ErrorCode::CaseClosed)
                .with_detail("This case is closed; open a new case to continue."),
            // The case was deleted between our look-up and the write.
            SupportError::Provider(error)
                if is_not_found(&error)
                    || has_error_code(&error, "NOT_FOUND")
                    || has_error_code(&error, "ENTITY_IS_DELETED")
                    || has_error_code(&error, "INVALID_CROSS_REFERENCE_KEY") =>
            {
                case_not_found()
            }
            SupportError::Provider(error) => error.into(),
            SupportError::Database(error) => error.into(),
        }
    }
}

pub fn case_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such support case on your account.")
}
