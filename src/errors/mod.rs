//! One RFC 9457 problem type for the whole API. Every error a client can see, from our handlers or from the
//! framework's extractors, is rendered here; internal causes are logged with their chain and never sent.

mod framework;
mod registry;
pub mod responses;
mod validation;

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub use framework::{
    default_not_found, json_config, method_not_allowed, path_config, payload_config, query_config,
};
pub use registry::{ErrorCode, PROBLEM_TYPE_BASE};
pub use validation::{field_errors, required_text, rule};

use crate::http::REQUEST_ID_HEADER;
use crate::http::request_context::{self, RequestContext};
use crate::telemetry::redact;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A relative URI naming the error code; `GET` it for a description.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path that produced the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Echoes the `X-Request-Id` response header, for support requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub code: ErrorCode,
    /// Present on validation problems: one entry per invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer–style path of the offending field, e.g. `items/0/quantity`.
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The error every handler returns. Contexts define their own `thiserror` enums and convert into this.
/// Boxed so `Result<T, ApiError>` stays one pointer wide on the happy path.
pub struct ApiError(Box<ApiErrorInner>);

pub struct ApiErrorInner {
    code: ErrorCode,
    detail: Option<String>,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
    source: Option<anyhow::Error>,
    /// Captured when the error is created inside a request, so the problem still names the request when
    /// actix renders it after our middleware has returned.
    context: Option<RequestContext>,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self(Box::new(ApiErrorInner {
            code,
            detail: None,
            errors: Vec::new(),
            retry_after_secs: None,
            source: None,
            context: request_context::current(),
        }))
    }

    pub fn in_context(mut self, context: RequestContext) -> Self {
        self.context = Some(context);
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_field_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_secs = Some(seconds);
        self
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::new(ErrorCode::ValidationFailed).with_field_errors(errors)
    }

    /// An unexpected failure: the client gets a bare 500 with the request id, the cause goes to the log.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut error = Self::new(ErrorCode::Internal);
        error.source = Some(source.into());
        error
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn problem(&self) -> Problem {
        let spec = self.code.spec();
        let context = self.context.clone().or_else(request_context::current);
        Problem {
            type_uri: self.code.type_uri(),
            title: spec.title.to_string(),
            status: spec.status.as_u16(),
            // Internal errors never carry a detail: it could leak SQL, hosts or provider payloads.
            detail: if self.code == ErrorCode::Internal {
                None
            } else {
                self.detail.clone()
            },
            instance: context.as_ref().map(|ctx| ctx.path.clone()),
            request_id: context.map(|ctx| ctx.request_id),
            code: self.code,
            errors: self.errors.clone(),
        }
    }
}

impl std::ops::Deref for ApiError {
    type Target = ApiErrorInner;

    fn deref(&self) -> &ApiErrorInner {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorInner {
        &mut self.0
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("code", &self.code)
            .field("detail", &self.detail)
            .field("source", &self.source.as_ref().map(|e| format!("{e:#}")))
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.spec().title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source:#}")?;
        }
        Ok(())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::internal(error)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => {
                let mut api = Self::new(ErrorCode::ServiceUnavailable).with_retry_after(1);
                api.source = Some(error.into());
                api
            }
            other => Self::internal(other),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.code.spec().status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(source) = &self.source {
            // `{:#}` prints the whole cause chain on one line.
            tracing::error!(code = self.code.spec().slug, error = %redact::scrub(&format!("{source:#}")), "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(context) = &self.context {
            response.insert_header((REQUEST_ID_HEADER, context.request_id.as_str()));
        }
        if let Some(seconds) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(self.problem())
    }
}
