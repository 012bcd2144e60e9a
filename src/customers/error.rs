//! What can go wrong with a customer's links and profile, and how each failure reaches the client.

use super::domain::{SystemStatuses, SystemUpdateStatus};
use crate::errors::{ApiError, ErrorCode};
use crate::integrations::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    /// The customer has not proved control of their email yet, so nothing is linked to them.
    #[error("the customer's email is not verified")]
    EmailUnverified,
    /// The accounts in WHMCS and Salesforce are still being found or created (a system was down at sign-up).
    #[error("the customer's links are still being set up")]
    Linking,
    /// A portal account without customer records (staff).
    #[error("the account has no customer records")]
    NotACustomer,
    /// The portal user was deleted while their token was still valid.
    #[error("the portal account is gone")]
    AccountGone,
    /// A system refused the profile change; what each system has now.
    #[error("the profile change was refused")]
    Refused(SystemStatuses),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<CustomerError> for ApiError {
    fn from(error: CustomerError) -> Self {
        match error {
            CustomerError::EmailUnverified => ApiError::new(ErrorCode::EmailUnverified)
                .with_detail(
                    "Confirm your email address with the link we sent you first (or ask for a new one).",
                ),
            CustomerError::Linking => ApiError::new(ErrorCode::AccountLinking)
                .with_detail("Your account is still being set up; try again in a minute.")
                .with_retry_after(30),
            CustomerError::NotACustomer => ApiError::new(ErrorCode::Forbidden)
                .with_detail("This account has no customer records."),
            CustomerError::AccountGone => {
                ApiError::new(ErrorCode::Unauthorized).with_detail("The account is gone.")
            }
            CustomerError::Refused(systems) => refused(systems),
            CustomerError::Provider(error) => error.into(),
            CustomerError::Database(error) => error.into(),
            CustomerError::Unexpected(error) => ApiError::internal(error),
        }
    }
}

fn refused(systems: SystemStatuses) -> ApiError {
    let describe = |name: &str, status: SystemUpdateStatus| match status {
        SystemUpdateStatus::Applied => format!("{name} has the change"),
        SystemUpdateStatus::Retrying => format!("{name} is being retried"),
        SystemUpdateStatus::Failed => format!("{name} refused the change"),
    };
    ApiError::new(ErrorCode::ProviderError).with_detail(format!(
        "The profile change was not fully applied: {}; {}. Please contact support.",
        describe("the billing system (WHMCS)", systems.whmcs),
        describe("the CRM (Salesforce)", systems.salesforce),
    ))
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;

    use super::*;

    #[test]
    fn an_unverified_email_is_its_own_conflict() {
        let error = ApiError::from(CustomerError::EmailUnverified);
        assert_eq!(error.code(), ErrorCode::EmailUnverified);
        assert_eq!(error.status_code(), StatusCode::CONFLICT);
        assert!(
            error
                .error_response()
                .headers()
                .get("retry-after")
                .is_none()
        );
    }

    #[test]
    fn linking_is_its_own_conflict_with_a_retry_after() {
        let error = ApiError::from(CustomerError::Linking);
        assert_eq!(error.code(), ErrorCode::AccountLinking);
        assert_eq!(error.status_code(), StatusCode::CONFLICT);
        assert_eq!(
            error
                .error_response()
                .headers()
                .get("retry-after")
                .map(|v| v.as_bytes()),
            Some(&b"30"[..])
        );
    }
}
