//! Freebit is not consistent about types: numbers arrive as strings or numbers, absent values as `""` or
//! `null`. These deserializers accept every spelling of a value and refuse only what cannot be one.

use serde::de::DeserializeOwned;
use serde::de::Error;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A string or a number as text, as a `String` or a [`Pii<String>`](crate::telemetry::redact::Pii).
pub fn string<'de, D: Deserializer<'de>, T: From<String>>(deserializer: D) -> Result<T, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text.into()),
        Value::Number(number) => Ok(number.to_string().into()),
        other => Err(D::Error::custom(format!(
            "expected a string, found {}",
            kind(&other)
        ))),
    }
}

/// `null`, `""` and an absent field (with `#[serde(default)]`) are all `None`.
pub fn optional_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::String(text) if text.trim().is_empty() => Ok(None),
        Value::String(text) => Ok(Some(text)),
        Value::Number(number) => Ok(Some(number.to_string())),
        other => Err(D::Error::custom(format!(
            "expected a string, found {}",
            kind(&other)
        ))),
    }
}

/// A non-negative whole number written as a number (`7340`, `7340.0`) or a string (`"7340"`).
pub fn megabytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let parsed = match &value {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(text) => {
            let text = text.trim();
            text.parse::<u64>().ok().or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
        }
        _ => None,
    };
    parsed.ok_or_else(|| D::Error::custom(format!("expected megabytes, found {}", kind(&value))))
}

/// Like [`megabytes`], with `null`, `""` and an absent field read as zero.
pub fn megabytes_or_zero<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(0),
        Value::String(text) if text.trim().is_empty() => Ok(0),
        value => megabytes(value).map_err(D::Error::custom),
    }
}

/// A list that may also arrive empty as `""` or `null`, or as a lone object instead of a list of one.
pub fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    let items = match Value::deserialize(deserializer)? {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        Value::String(text) if text.trim().is_empty() => Vec::new(),
        object @ Value::Object(_) => vec![object],
        other => {
            return Err(D::Error::custom(format!(
                "expected a list, found {}",
                kind(&other)
            )));
        }
    };
    items
        .into_iter()
        .map(|item| serde_json::from_value(item).map_err(D::Error::custom))
        .collect()
}

/// The kind of a value, for error messages that must not quote provider data (it holds phone numbers).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
