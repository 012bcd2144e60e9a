//! What can go wrong in sign-up, sign-in, sessions, passwords and staff administration, and how each failure
//! reaches the client.

use std::time::Duration;

use super::service::RefreshError;
use crate::errors::{ApiError, ErrorCode, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No usable access token, or its session has ended; the text is the detail for the client.
    #[error("not signed in: {0}")]
    Unauthenticated(&'static str),
    /// Signed in, but this kind of account (or role) may not use the resource.
    #[error("not allowed")]
    NotAllowed,
    /// Wrong email or password at sign-in (one answer for both).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The current password sent to change it is wrong.
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("too many failed sign-in attempts")]
    RateLimited { retry_after: Duration },
    /// Too many requests of one kind (register, reset, …) from this address or for this account.
    #[error("too many requests")]
    TooManyRequests { retry_after: Duration },
    #[error("the email is taken")]
    EmailTaken,
    #[error("no refresh token was sent")]
    NoRefreshToken,
    /// Unknown, expired or revoked; reuse outside the grace window has revoked the family.
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    #[error("the password reset token is unknown, used or expired")]
    InvalidResetToken,
    #[error("the email verification token is unknown, used, expired or another account's")]
    InvalidVerificationToken,
    /// WHMCS did not accept the password for the account's email (or needs a second factor).
    #[error("WHMCS did not accept the password")]
    WrongWhmcsPassword,
    #[error("the email is already verified")]
    AlreadyVerified,
    #[error("the request is invalid")]
    Invalid(Vec<FieldError>),
    #[error("no such session")]
    SessionNotFound,
    #[error("no such staff account")]
    StaffNotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<RefreshError> for AuthError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::Invalid => AuthError::InvalidRefreshToken,
            RefreshError::Unexpected(error) => AuthError::Unexpected(error),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unauthenticated(detail) => {
                ApiError::new(ErrorCode::Unauthorized).with_detail(detail)
            }
            AuthError::NotAllowed => ApiError::new(ErrorCode::Forbidden)
                .with_detail("Your account may not use this resource."),
            AuthError::InvalidCredentials => ApiError::new(ErrorCode::InvalidCredentials)
                .with_detail("The email or password is incorrect."),
            AuthError::WrongCurrentPassword => ApiError::new(ErrorCode::InvalidCredentials)
                .with_detail("The current password is incorrect."),
            AuthError::RateLimited { retry_after } => ApiError::new(ErrorCode::RateLimited)
                .with_detail("Too many failed sign-in attempts; try again later.")
                .with_retry_after(whole_seconds(retry_after)),
            AuthError::TooManyRequests { retry_after } => ApiError::new(ErrorCode::RateLimited)
                .with_detail("Too many requests of this kind; try again later.")
                .with_retry_after(whole_seconds(retry_after)),
            AuthError::EmailTaken => ApiError::new(ErrorCode::EmailTaken)
                .with_detail("An account with this email already exists."),
            AuthError::NoRefreshToken => {
                ApiError::new(ErrorCode::Unauthorized).with_detail("No refresh token was sent.")
            }
            AuthError::InvalidRefreshToken => ApiError::new(ErrorCode::Unauthorized)
                .with_detail("The refresh token is invalid, expired or revoked; sign in again."),
            AuthError::InvalidResetToken => ApiError::new(ErrorCode::InvalidResetToken)
                .with_detail(
                    "This reset link is invalid, already used or expired; ask for a new one.",
                ),
            AuthError::InvalidVerificationToken => ApiError::new(ErrorCode::InvalidVerificationToken)
                .with_detail(
                    "This verification link is invalid, already used, expired or for another account; sign in as the account it was sent to, or ask for a new one.",
                ),
            AuthError::WrongWhmcsPassword => ApiError::new(ErrorCode::InvalidCredentials)
                .with_detail(
                    "The billing account did not accept this password for your email (or it needs a second factor); use the link in the email we sent instead.",
                ),
            AuthError::AlreadyVerified => ApiError::new(ErrorCode::EmailAlreadyVerified)
                .with_detail("Your email address is already verified."),
            AuthError::Invalid(errors) => ApiError::validation(errors),
            AuthError::SessionNotFound => {
                ApiError::not_found().with_detail("No active session of yours has this id.")
            }
            AuthError::StaffNotFound => {
                ApiError::not_found().with_detail("No staff account has this id.")
            }
            AuthError::Database(error) => error.into(),
            AuthError::Unexpected(error) => ApiError::internal(error),
        }
    }
}

/// Rounded up, so a client that waits as told is not refused again.
fn whole_seconds(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis().div_ceil(1000))
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;

    use super::*;

    #[test]
    fn each_failure_keeps_its_status() {
        let status = |error: AuthError| ApiError::from(error).status_code();
        assert_eq!(
            status(AuthError::InvalidCredentials),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(AuthError::WrongCurrentPassword),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(AuthError::InvalidRefreshToken),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(status(AuthError::NotAllowed), StatusCode::FORBIDDEN);
        assert_eq!(status(AuthError::EmailTaken), StatusCode::CONFLICT);
        assert_eq!(
            status(AuthError::InvalidResetToken),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(AuthError::RateLimited {
                retry_after: Duration::from_millis(10)
            }),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            status(AuthError::TooManyRequests {
                retry_after: Duration::from_secs(5)
            }),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(status(AuthError::StaffNotFound), StatusCode::NOT_FOUND);
    }
}
