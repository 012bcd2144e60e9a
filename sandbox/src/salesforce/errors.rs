//! Salesforce's error shapes: the REST API answers `[{"message","errorCode","fields"}]` with an HTTP status;
//! sObject Collections put `{"statusCode","message","fields"}` inside each result instead.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct SalesforceError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
}

impl SalesforceError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn with_fields(mut self, fields: Vec<String>) -> Self {
        self.fields = fields;
        self
    }

    pub fn invalid_session() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    pub fn json_parser(detail: impl std::fmt::Display) -> Self {
        Self::bad_request("JSON_PARSER_ERROR", format!("{detail}"))
    }

    pub fn invalid_field(object: &str, field: &str) -> Self {
        Self::bad_request(
            "INVALID_FIELD",
            format!("No such column '{field}' on sobject of type {object}"),
        )
        .with_fields(vec![field.to_owned()])
    }

    pub fn field_integrity(message: impl Into<String>) -> Self {
        Self::bad_request("FIELD_INTEGRITY_EXCEPTION", message)
    }

    /// The error array the REST API answers with.
    pub fn body(&self) -> Value {
        json!([{ "message": self.message, "errorCode": self.code, "fields": self.fields }])
    }

    /// One entry of a Collections result's `errors`.
    pub fn collection_entry(&self) -> Value {
        json!({ "statusCode": self.code, "message": self.message, "fields": self.fields })
    }
}

impl std::fmt::Display for SalesforceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for SalesforceError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(self.body())
    }
}

/// The OAuth endpoint's own error shape: `{"error","error_description"}`, always HTTP 400 here.
#[derive(Debug)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: &'static str,
}

impl OAuthError {
    pub const fn new(error: &'static str, description: &'static str) -> Self {
        Self { error, description }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::BadRequest()
            .json(json!({ "error": self.error, "error_description": self.description }))
    }
}
