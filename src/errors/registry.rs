//! The one table of error codes the API can answer with. Each code has a stable slug (the last segment of the
//! problem `type` URI), an HTTP status and a human title. Clients switch on the slug, never on the title.

use actix_web::http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    BadRequest,
    MalformedJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    InvalidPathParameter,
    InvalidQueryParameter,
    ValidationFailed,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    IdempotencyKeyReused,
    PaymentDeclined,
    RateLimited,
    RequestTimeout,
    ProviderError,
    ProviderUnavailable,
    ServiceUnavailable,
    Internal,
}

pub struct ErrorSpec {
    pub slug: &'static str,
    pub status: StatusCode,
    pub title: &'static str,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 20] = [
        ErrorCode::BadRequest,
        ErrorCode::MalformedJson,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::PayloadTooLarge,
        ErrorCode::InvalidPathParameter,
        ErrorCode::InvalidQueryParameter,
        ErrorCode::ValidationFailed,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::PaymentDeclined,
        ErrorCode::RateLimited,
        ErrorCode::RequestTimeout,
        ErrorCode::ProviderError,
        ErrorCode::ProviderUnavailable,
        ErrorCode::ServiceUnavailable,
        ErrorCode::Internal,
    ];

    pub fn spec(self) -> ErrorSpec {
        use ErrorCode::*;
        let (slug, status, title) = match self {
            BadRequest => (
                "bad-request",
                StatusCode::BAD_REQUEST,
                "The request is not valid",
            ),
            MalformedJson => (
                "malformed-json",
                StatusCode::BAD_REQUEST,
                "The request body is not valid JSON for this endpoint",
            ),
            UnsupportedMediaType => (
                "unsupported-media-type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "The request body has an unsupported content type",
            ),
            PayloadTooLarge => (
                "payload-too-large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large",
            ),
            InvalidPathParameter => (
                "invalid-path-parameter",
                StatusCode::BAD_REQUEST,
                "The resource identifier is not valid",
            ),
            InvalidQueryParameter => (
                "invalid-query-parameter",
                StatusCode::BAD_REQUEST,
                "A query parameter is not valid",
            ),
            ValidationFailed => (
                "validation-failed",
                StatusCode::UNPROCESSABLE_ENTITY,
                "The request did not pass validation",
            ),
            Unauthorized => (
                "unauthorized",
                StatusCode::UNAUTHORIZED,
                "Authentication is required",
            ),
            Forbidden => (
                "forbidden",
                StatusCode::FORBIDDEN,
                "You are not allowed to do this",
            ),
            NotFound => (
                "not-found",
                StatusCode::NOT_FOUND,
                "The resource was not found",
            ),
            MethodNotAllowed => (
                "method-not-allowed",
                StatusCode::METHOD_NOT_ALLOWED,
                "The method is not allowed on this resource",
            ),
            Conflict => (
                "conflict",
                StatusCode::CONFLICT,
                "The request conflicts with the current state",
            ),
            IdempotencyKeyReused => (
                "idempotency-key-reused",
                StatusCode::UNPROCESSABLE_ENTITY,
                "The idempotency key was already used with a different request",
            ),
            PaymentDeclined => (
                "payment-declined",
                StatusCode::PAYMENT_REQUIRED,
                "The payment was declined",
            ),
            RateLimited => (
                "rate-limited",
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
            ),
            RequestTimeout => (
                "request-timeout",
                StatusCode::GATEWAY_TIMEOUT,
                "The request took too long to process",
            ),
            ProviderError => (
                "provider-error",
                StatusCode::BAD_GATEWAY,
                "An upstream system answered with an error",
            ),
            ProviderUnavailable => (
                "provider-unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "An upstream system is unavailable",
            ),
            ServiceUnavailable => (
                "service-unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable",
            ),
            Internal => (
                "internal",
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error occurred",
            ),
        };
        ErrorSpec {
            slug,
            status,
            title,
        }
    }

    pub fn from_slug(slug: &str) -> Option<ErrorCode> {
        Self::ALL.into_iter().find(|code| code.spec().slug == slug)
    }

    /// The code for a bare status produced outside our handlers (a resource's 405, a library's 404).
    pub fn for_status(status: StatusCode) -> ErrorCode {
        match status.as_u16() {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::ServiceUnavailable,
            504 => ErrorCode::RequestTimeout,
            400..=499 => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        }
    }

    pub fn type_uri(self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.spec().slug)
    }
}

/// Problem types are relative references resolved against the API's own origin, where
/// `GET /problems/{slug}` describes each of them.
pub const PROBLEM_TYPE_BASE: &str = "/problems/";
