//! Salesforce answers failures with an array `[{"message","errorCode","fields"}]`. The array travels inside
//! `ProviderError::Rejected` (its message holds the array as JSON, its code the first `errorCode`), so every
//! caller keeps the one provider error type and can still match on the codes with [`salesforce_errors`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use serde::{Deserialize, Serialize};

use super::{SYSTEM, wire};
use crate::integrations::{ProviderError, RawResponse};
use crate::telemetry::redact;

const REQUEST_LIMIT_EXCEEDED: &str = "REQUEST_LIMIT_EXCEEDED";
const NOT_FOUND: &str = "NOT_FOUND";

/// One entry of a Salesforce error array. Save results spell the code `statusCode`; both are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesforceApiError {
    #[serde(rename = "errorCode", alias = "statusCode", default)]
    pub code: String,
    #[serde(default, deserialize_with = "wire::null_as_default")]
    pub message: String,
    #[serde(default, deserialize_with = "wire::null_as_default")]
    pub fields: Vec<String>,
}

/// The typed errors of a Salesforce rejection (empty for any other failure), e.g. to tell
/// `FIELD_CUSTOM_VALIDATION_EXCEPTION` from `INVALID_EMAIL_ADDRESS`.
pub fn salesforce_errors(error: &ProviderError) -> Vec<SalesforceApiError> {
    match error {
        ProviderError::Rejected {
            system: SYSTEM,
            code,
            message,
            ..
        } => serde_json::from_str(message).unwrap_or_else(|_| {
            vec![SalesforceApiError {
                code: code.clone(),
                message: message.clone(),
                fields: Vec::new(),
            }]
        }),
        _ => Vec::new(),
    }
}

pub fn has_error_code(error: &ProviderError, code: &str) -> bool {
    salesforce_errors(error)
        .iter()
        .any(|entry| entry.code == code)
}

/// A record or resource that does not exist (HTTP 404), for callers that answer their own 404.
pub fn is_not_found(error: &ProviderError) -> bool {
    matches!(
        error,
        ProviderError::Rejected {
            system: SYSTEM,
            status: Some(404),
            ..
        }
    )
}

/// Reads a data or CometD response. A 401 also raises `session_refused`, so the caller re-authenticates and
/// replays the call once.
pub(super) fn classify(
    response: RawResponse,
    session_refused: &AtomicBool,
) -> Result<RawResponse, ProviderError> {
    if response.status.is_success() {
        return Ok(response);
    }
    let status = response.status.as_u16();
    let errors = parse_errors(&response.body);
    let first_code = errors.first().map(|entry| entry.code.as_str());
    Err(match status {
        401 => {
            session_refused.store(true, Ordering::Relaxed);
            ProviderError::Auth {
                system: SYSTEM,
                message: summary(&errors, "INVALID_SESSION_ID"),
            }
        }
        429 => ProviderError::RateLimited {
            system: SYSTEM,
            retry_after: retry_after(&response),
        },
        403 if errors
            .iter()
            .any(|entry| entry.code == REQUEST_LIMIT_EXCEEDED) =>
        {
            ProviderError::RateLimited {
                system: SYSTEM,
                retry_after: retry_after(&response),
            }
        }
        408 | 500..=599 => ProviderError::Unavailable {
            system: SYSTEM,
            reason: match first_code {
                Some(code) => format!("HTTP {status} {code}"),
                None => format!("HTTP {status}"),
            },
        },
        _ => {
            let errors = if errors.is_empty() {
                let code = if status == 404 {
                    NOT_FOUND.to_owned()
                } else {
                    format!("HTTP_{status}")
                };
                vec![SalesforceApiError {
                    code,
                    message: response.text_snippet(),
                    fields: Vec::new(),
                }]
            } else {
                errors
            };
            rejection(Some(status), errors)
        }
    })
}

/// Builds the rejection for an error array found anywhere (a response, a composite subresponse, a save
/// result). Messages are scrubbed: they echo field values, which may be personal data, and a query error
/// (`MALFORMED_QUERY`, `INVALID_FIELD`) echoes the SOQL with its literals, so those are masked too.
pub(super) fn rejection(status: Option<u16>, errors: Vec<SalesforceApiError>) -> ProviderError {
    let errors: Vec<SalesforceApiError> = errors
        .into_iter()
        .map(|entry| SalesforceApiError {
            message: redact::scrub(&redact::soql_literals(&entry.message)),
            ..entry
        })
        .collect();
    let code = errors
        .first()
        .map_or_else(|| "UNKNOWN_ERROR".to_owned(), |entry| entry.code.clone());
    let message = serde_json::to_string(&errors).unwrap_or_default();
    ProviderError::Rejected {
        system: SYSTEM,
        status,
        code,
        message,
    }
}

/// Tolerates the shapes seen in the wild: the documented array, a lone error object, and OAuth's
/// `{"error","error_description"}`.
pub(super) fn parse_errors(body: &[u8]) -> Vec<SalesforceApiError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape {
        Many(Vec<SalesforceApiError>),
        One(SalesforceApiError),
        OAuth {
            error: String,
            #[serde(default)]
            error_description: Option<String>,
        },
    }
    match serde_json::from_slice::<Shape>(body) {
        Ok(Shape::Many(errors)) => errors
            .into_iter()
            .filter(|entry| !entry.code.is_empty())
            .collect(),
        Ok(Shape::One(error)) if !error.code.is_empty() => vec![error],
        Ok(Shape::OAuth {
            error,
            error_description,
        }) => vec![SalesforceApiError {
            code: error,
            message: error_description.unwrap_or_default(),
            fields: Vec::new(),
        }],
        _ => Vec::new(),
    }
}

fn summary(errors: &[SalesforceApiError], default_code: &str) -> String {
    match errors.first() {
        Some(entry) => redact::scrub(&format!("{}: {}", entry.code, entry.message)),
        None => default_code.to_owned(),
    }
}

pub(super) fn retry_after(response: &RawResponse) -> Option<Duration> {
    let value = response.headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}
