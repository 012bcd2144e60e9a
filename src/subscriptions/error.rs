//! What can go wrong with subscriptions and SIM changes, and how each failure reaches the client.

use super::domain::SubscriptionStatus;
use super::plans::NotAllowed;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::integrations::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    /// Absent or another customer's: one answer for both.
    #[error("subscription not found")]
    NotFound,
    /// The subscription exists but is not a SIM service.
    #[error("the subscription has no SIM")]
    NotSim,
    #[error("the subscription is {0:?} and takes no changes")]
    Closed(SubscriptionStatus),
    /// Pending or Suspended at WHMCS: nothing changes until billing makes it Active.
    #[error("the subscription is {0:?} in billing and takes no changes")]
    NotActive(SubscriptionStatus),
    /// A resume of a suspension the customer did not make (support's, billing's, the network's).
    #[error("the SIM line was not suspended by the customer")]
    NotCustomerSuspension,
    /// The plan is not one the service's WHMCS product may move to.
    #[error("the plan is not offered for this service")]
    PlanNotAllowed(NotAllowed),
    /// WHMCS refused the upgrade's quote (its message).
    #[error("the billing system refused the upgrade: {0}")]
    UpgradeRefused(String),
    /// The account's default payment method is not a card (or there is none): a top-up cannot be charged.
    #[error("no card to charge")]
    NoCard,
    /// The line's monthly top-up cap would be passed.
    #[error("the monthly top-up cap leaves {remaining_mb} MB")]
    TopUpCap { remaining_mb: i64, cap_mb: u32 },
    /// The charge was refused: nothing was added.
    #[error("the top-up was not paid: {0}")]
    Declined(String),
    /// A paid top-up or a billed plan change gave up part-way (support is alerted).
    #[error("the change could not be completed: {0}")]
    ChangeFailed(String),
    /// A top-up or plan change still running after the request's wait.
    #[error("the change is still being processed")]
    ChangeInProgress,
    /// The line's state forbids the change (already suspended, not suspended, not in service); the text
    /// is the detail for the customer.
    #[error("{1}")]
    LineState(LineConflict, &'static str),
    /// The network refused a field's value (a plan code, a quota) after our own checks let it through.
    #[error("the network refused {field}: {message}")]
    Refused {
        field: &'static str,
        message: &'static str,
    },
    /// A provider answered with something the mappers refuse.
    #[error("{system} sent data that cannot be used: {detail}")]
    Mapping {
        system: &'static str,
        detail: String,
    },
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Which state of the SIM line forbids a change: each is its own problem code, so a client can branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineConflict {
    AlreadySuspended,
    NotSuspended,
    /// Still being activated: the change may be retried once the line is active.
    Activating,
    /// Cancelled, or in a state that takes no changes.
    NotInService,
}

impl SubscriptionError {
    pub fn mapping(system: &'static str, error: impl std::fmt::Display) -> Self {
        SubscriptionError::Mapping {
            system,
            detail: error.to_string(),
        }
    }
}

impl From<SubscriptionError> for ApiError {
    fn from(error: SubscriptionError) -> Self {
        match error {
            SubscriptionError::NotFound => {
                ApiError::not_found().with_detail("No such subscription.")
            }
            SubscriptionError::NotSim => {
                ApiError::not_found().with_detail("This subscription has no SIM.")
            }
            SubscriptionError::Closed(status) => {
                let state = match status {
                    SubscriptionStatus::Terminated => "terminated",
                    _ => "cancelled",
                };
                ApiError::new(ErrorCode::SubscriptionClosed).with_detail(format!(
                    "This subscription is {state}; it cannot be changed."
                ))
            }
            SubscriptionError::NotActive(status) => {
                let state = match status {
                    SubscriptionStatus::Pending => "still pending",
                    _ => "suspended",
                };
                ApiError::new(ErrorCode::SubscriptionNotActive).with_detail(format!(
                    "This subscription is {state} in billing; it cannot be changed until it is active."
                ))
            }
            SubscriptionError::NotCustomerSuspension => ApiError::new(
                ErrorCode::SimSuspendedByOperator,
            )
            .with_detail(
                "This SIM line was not suspended by you; contact support to lift the suspension.",
            ),
            SubscriptionError::PlanNotAllowed(reason) => {
                let (code, message) = match reason {
                    NotAllowed::Current => ("unchanged", "The line is on this plan already."),
                    NotAllowed::Product => (
                        "not_allowed",
                        "This subscription's product takes no plan changes; contact support.",
                    ),
                    NotAllowed::Plan => (
                        "not_allowed",
                        "This plan is not offered for this subscription's product.",
                    ),
                };
                ApiError::validation(vec![FieldError::new("plan_code", code, message)])
            }
            SubscriptionError::UpgradeRefused(_) => ApiError::validation(vec![FieldError::new(
                "plan_code",
                "refused",
                "The billing system does not allow this plan change for your subscription.",
            )]),
            SubscriptionError::NoCard => ApiError::new(ErrorCode::NoPaymentMethod).with_detail(
                "Your default payment method must be a card to pay for a top-up; add one in billing.",
            ),
            SubscriptionError::TopUpCap {
                remaining_mb,
                cap_mb,
            } => ApiError::new(ErrorCode::TopUpLimitReached).with_detail(format!(
                "A line takes at most {cap_mb} MB of top-ups a month; {remaining_mb} MB are left this month."
            )),
            SubscriptionError::Declined(_) => ApiError::new(ErrorCode::PaymentDeclined).with_detail(
                "The payment was declined and no data was added. Check your card, then try again with a new Idempotency-Key.",
            ),
            SubscriptionError::ChangeFailed(_) => ApiError::new(ErrorCode::ProviderError).with_detail(
                "The change could not be completed; support has been told and will sort out any charge.",
            ),
            SubscriptionError::ChangeInProgress => ApiError::new(ErrorCode::ChangeInProgress)
                .with_detail("The change is still being processed; repeat the request with the same Idempotency-Key to see its outcome."),
            SubscriptionError::LineState(conflict, detail) => {
                let code = match conflict {
                    LineConflict::AlreadySuspended => ErrorCode::SimAlreadySuspended,
                    LineConflict::NotSuspended => ErrorCode::SimNotSuspended,
                    LineConflict::Activating => ErrorCode::SimActivating,
                    LineConflict::NotInService => ErrorCode::SimNotInService,
                };
                ApiError::new(code).with_detail(detail)
            }
            SubscriptionError::Refused { field, message } => {
                ApiError::validation(vec![FieldError::new(field, "refused", message)])
            }
            SubscriptionError::Mapping { system, detail } => {
                ProviderError::malformed(system, detail).into()
            }
            SubscriptionError::Provider(error) => error.into(),
            SubscriptionError::Unexpected(error) => ApiError::internal(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;

    use super::*;

    #[test]
    fn each_failure_has_its_status() {
        let status = |error: SubscriptionError| ApiError::from(error).status_code();
        assert_eq!(status(SubscriptionError::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(status(SubscriptionError::NotSim), StatusCode::NOT_FOUND);
        assert_eq!(
            status(SubscriptionError::Closed(SubscriptionStatus::Cancelled)),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(SubscriptionError::Closed(SubscriptionStatus::Terminated)),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(SubscriptionError::NotActive(SubscriptionStatus::Pending)),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(SubscriptionError::NotCustomerSuspension),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(SubscriptionError::LineState(
                LineConflict::AlreadySuspended,
                "already suspended"
            )),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(SubscriptionError::Refused {
                field: "plan_code",
                message: "no"
            }),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status(SubscriptionError::mapping("freebit", "bad month")),
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            status(SubscriptionError::Provider(ProviderError::Unavailable {
                system: "freebit",
                reason: "timeout".into()
            })),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
