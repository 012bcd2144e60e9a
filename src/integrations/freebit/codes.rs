//! Freebit result codes. Only `"100"` (success) and the `NNN-NNN` shape (e.g. `"400-356"`) are known from
//! public sources; the meanings below are partly guessed and match what the sandbox answers, so the
//! portal shows something readable. An unknown code falls back to the message Freebit sent with it.

use serde_json::Value;

use super::SYSTEM;
use crate::integrations::{ProviderError, RawResponse};
use crate::telemetry::redact;

pub const OK: &str = "100";

/// Our choice (the real code is undocumented): the authKey expired or was never issued. The client logs in
/// again and retries once when it sees it.
pub const AUTH_KEY_INVALID: &str = "900";

/// The code of a request the client refused to send because it breaks one of Freebit's hard limits.
pub const INVALID_REQUEST: &str = "invalid_request";

const KNOWN: [(&str, &str); 13] = [
    ("400-001", "the request JSON could not be parsed"),
    ("400-002", "a required parameter is missing"),
    ("400-003", "a parameter has an invalid format"),
    ("400-101", "the account does not exist"),
    ("400-210", "the plan code is not valid"),
    ("400-301", "the quota is out of range (1-512000 MB)"),
    (
        "400-356",
        "the account is not in service (cancelled or still activating)",
    ),
    ("400-401", "the account is already suspended"),
    ("400-402", "the account is not suspended"),
    ("400-501", "the EID is already registered"),
    ("400-502", "the account already exists"),
    ("401-001", "the OEM id or key was refused"),
    (AUTH_KEY_INVALID, "the authKey is invalid or expired"),
];

/// A readable message for `code`: ours when we know the code, else the provider's own (scrubbed).
pub fn describe(code: &str, provider_message: Option<&str>) -> String {
    if let Some((_, message)) = KNOWN.iter().find(|(known, _)| *known == code) {
        return (*message).to_owned();
    }
    match provider_message.map(str::trim) {
        Some(message) if !message.is_empty() => redact::scrub(message),
        _ => format!("unknown result code {code}"),
    }
}

/// The `resultCode` and `status.message` of a response; a body without a result code is malformed.
pub fn result_of(response: &RawResponse) -> Result<(String, Option<String>), ProviderError> {
    let body: Value = response.json(SYSTEM)?;
    let code = match body.get("resultCode") {
        Some(Value::String(code)) => code.trim().to_owned(),
        Some(Value::Number(code)) => code.to_string(),
        _ => {
            return Err(ProviderError::malformed(
                SYSTEM,
                format!("no resultCode in {}", response.text_snippet()),
            ));
        }
    };
    let message = body
        .pointer("/status/message")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_read_as_our_message_and_unknown_ones_as_the_providers() {
        assert_eq!(
            describe("400-210", Some("NG")),
            "the plan code is not valid"
        );
        assert_eq!(describe("123-456", Some("busy")), "busy");
        assert_eq!(describe("123-456", None), "unknown result code 123-456");
    }
}
