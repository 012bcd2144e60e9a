//! What a send must look like: a known channel, a recipient in that channel's format, a body.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::failure::Failure;

const CHANNELS: [&str; 5] = ["email", "sms", "whatsapp", "line", "push"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    pub channel: String,
    pub to: String,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    pub body: String,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

/// The draft and the JSON it came as (what an idempotency key is compared on).
pub fn parse(body: &[u8]) -> Result<(Draft, Value), Failure> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|error| Failure::invalid("invalid_json", format!("body is not JSON: {error}")))?;
    let draft: Draft = serde_json::from_value(json.clone())
        .map_err(|error| Failure::invalid("invalid_request", error.to_string()))?;
    validate(&draft)?;
    Ok((draft, json))
}

fn validate(draft: &Draft) -> Result<(), Failure> {
    if !CHANNELS.contains(&draft.channel.as_str()) {
        return Err(Failure::invalid(
            "invalid_channel",
            format!("channel must be one of {}", CHANNELS.join(", ")),
        ));
    }
    let to = draft.to.trim();
    let recipient_ok = match draft.channel.as_str() {
        "email" => is_email(to),
        "sms" | "whatsapp" => is_e164(to),
        _ => !to.is_empty(),
    };
    if !recipient_ok {
        let expected = match draft.channel.as_str() {
            "email" => "an e-mail address",
            "sms" | "whatsapp" => "an E.164 phone number (+819012345678)",
            _ => "a recipient id",
        };
        return Err(Failure::invalid(
            "invalid_recipient",
            format!("to must be {expected}"),
        ));
    }
    if draft.body.trim().is_empty() {
        return Err(Failure::invalid("empty_body", "body must not be empty"));
    }
    Ok(())
}

fn is_email(to: &str) -> bool {
    let Some((local, domain)) = to.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !to.chars().any(char::is_whitespace)
}

/// `+` then 8 to 15 digits, the first not 0.
fn is_e164(to: &str) -> bool {
    let Some(digits) = to.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_checked_in_their_channels_format() {
        assert!(is_email("demo@concierge.test"));
        assert!(!is_email("demo@localhost"));
        assert!(!is_email("de mo@concierge.test"));
        assert!(is_e164("+819012345678"));
        assert!(!is_e164("09012345678"));
        assert!(!is_e164("+0123456789"));
    }
}
