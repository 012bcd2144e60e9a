//! How to read a WHMCS answer. Business errors come back with HTTP 200 and `"result": "error"` (one
//! not-found path says `"status": "error"` instead), credential problems as "Authentication Failed" or
//! "Invalid IP …" with 200 or 403. Only transport-level failures (5xx, 408, 429) are transient: an error
//! WHMCS chose to send is final, so retrying it would only repeat it.

use serde::Deserialize;
use serde_json::Value;

use super::SYSTEM;
use crate::integrations::{ProviderError, RawResponse, classify_by_status};
use crate::telemetry::redact;

/// Messages meaning our credentials (or the address we call from) were refused.
const AUTH_MESSAGES: [&str; 4] = [
    "authentication failed",
    "invalid ip",
    "invalid access key",
    "invalid permissions",
];

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
}

enum Outcome {
    Success,
    Error(String),
    Unknown,
}

impl Envelope {
    fn outcome(&self) -> Outcome {
        let says = |field: &Option<Value>, word: &str| matches!(field, Some(Value::String(text)) if text.trim().eq_ignore_ascii_case(word));
        // `status` is also an ordinary field of clients and invoices ("Active", "Unpaid"): it decides only
        // when `result` is absent.
        if says(&self.result, "success") {
            Outcome::Success
        } else if says(&self.result, "error")
            || (self.result.is_none() && says(&self.status, "error"))
        {
            Outcome::Error(match &self.message {
                Some(Value::String(text)) => text.trim().to_owned(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            })
        } else {
            Outcome::Unknown
        }
    }
}

pub(super) fn classify(response: RawResponse) -> Result<RawResponse, ProviderError> {
    let status = response.status.as_u16();
    if matches!(status, 408 | 429 | 500..=599) {
        return classify_by_status(SYSTEM, response);
    }
    let credentials_refused = matches!(status, 401 | 403);
    let envelope = match serde_json::from_slice::<Envelope>(&response.body) {
        Ok(envelope) => envelope,
        Err(_) if credentials_refused || !response.status.is_success() => {
            return classify_by_status(SYSTEM, response);
        }
        Err(error) => {
            return Err(ProviderError::malformed(
                SYSTEM,
                format!("the answer is not a JSON object: {error}"),
            ));
        }
    };
    match envelope.outcome() {
        Outcome::Success if response.status.is_success() => Ok(response),
        Outcome::Error(message) if credentials_refused || is_auth_message(&message) => {
            Err(ProviderError::Auth {
                system: SYSTEM,
                message: redact::scrub(&message),
            })
        }
        // The message may echo what was sent (an e-mail, a phone number), and errors end up in logs: the
        // code is made of the words before the first masked one.
        Outcome::Error(message) => {
            let message = redact::scrub(&message);
            let unmasked: Vec<&str> = message
                .split_whitespace()
                .take_while(|word| !word.contains('*') && !word.contains("[redacted]"))
                .collect();
            Err(ProviderError::rejected(
                SYSTEM,
                Some(status),
                error_code(&unmasked.join(" ")),
                message,
            ))
        }
        Outcome::Success | Outcome::Unknown if !response.status.is_success() => {
            classify_by_status(SYSTEM, response)
        }
        Outcome::Success | Outcome::Unknown => Err(ProviderError::malformed(
            SYSTEM,
            "the answer says neither `result: success` nor `result: error`",
        )),
    }
}

fn is_auth_message(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    AUTH_MESSAGES.iter().any(|prefix| lower.starts_with(prefix))
}

/// A stable, matchable code for a WHMCS message: "Client Not Found" → `client_not_found`. WHMCS has no error
/// codes of its own, only these English messages, which have been stable across versions.
pub fn error_code(message: &str) -> String {
    let mut code = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c.to_ascii_lowercase());
        } else if !code.is_empty() && !code.ends_with('_') {
            code.push('_');
        }
    }
    let code = code.trim_end_matches('_');
    if code.is_empty() {
        "unknown_error".to_owned()
    } else {
        code.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_snake_case_slugs_of_the_message() {
        assert_eq!(error_code("Client Not Found"), "client_not_found");
        assert_eq!(
            error_code("Order ID not found or Status not Pending"),
            "order_id_not_found_or_status_not_pending"
        );
        assert_eq!(error_code("  "), "unknown_error");
    }
}
