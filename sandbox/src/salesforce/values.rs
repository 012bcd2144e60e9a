//! Field values as Salesforce puts them on the wire: numbers as JSON numbers (always doubles, so `101.0`),
//! booleans, dates as `YYYY-MM-DD`, datetimes as `2026-11-21T10:31:40.000+0000`. Incoming values are
//! accepted as tolerantly as the real API accepts them.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

use super::errors::SalesforceError;
use super::schema::{FieldDef, Kind};

pub fn format_datetime(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

pub fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn now() -> String {
    format_datetime(Utc::now())
}

/// Reads the datetime spellings clients send: RFC 3339 (`Z` or `+09:00`), Salesforce's own `+0000`, or a
/// bare date (midnight UTC).
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(at) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(at.and_utc());
    }
    parse_date(text).and_then(|d| d.and_hms_opt(0, 0, 0).map(|at| at.and_utc()))
}

pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

pub fn number_json(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

pub fn number_value(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

/// A JSON value as the stored value of `field`, or the error Salesforce gives for it.
pub fn coerce(field: &FieldDef, value: &Value) -> Result<Value, SalesforceError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let mismatch = || {
        let (token, shown) = match value {
            Value::String(s) => ("VALUE_STRING", s.clone()),
            Value::Number(n) => ("VALUE_NUMBER", n.to_string()),
            Value::Bool(b) => ("VALUE_BOOLEAN", b.to_string()),
            Value::Array(_) => ("START_ARRAY", "[".into()),
            Value::Object(_) => ("START_OBJECT", "{".into()),
            Value::Null => ("VALUE_NULL", "null".into()),
        };
        SalesforceError::json_parser(format!(
            "Cannot deserialize instance of {} from {token} value {shown} or request may be missing a required field",
            field.kind.soap_name()
        ))
        .with_fields(vec![field.name.to_owned()])
    };
    match field.kind {
        Kind::Id | Kind::Reference(_) | Kind::Text | Kind::Email => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(mismatch()),
            };
            if field.kind == Kind::Email && !text.is_empty() && !looks_like_email(&text) {
                return Err(SalesforceError::bad_request(
                    "INVALID_EMAIL_ADDRESS",
                    format!("{}: invalid email address: {text}", field.name),
                )
                .with_fields(vec![field.name.to_owned()]));
            }
            if let Some(allowed) = field.picklist
                && !allowed.contains(&text.as_str())
            {
                return Err(SalesforceError::bad_request(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!(
                        "{}: bad value for restricted picklist field: {text}",
                        field.name
                    ),
                )
                .with_fields(vec![field.name.to_owned()]));
            }
            Ok(if text.is_empty() {
                Value::Null
            } else {
                Value::String(text)
            })
        }
        Kind::Boolean => match value {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(mismatch()),
        },
        Kind::Number => number_value(value).map(number_json).ok_or_else(mismatch),
        Kind::Date => match value {
            Value::String(s) => parse_date(s)
                .or_else(|| parse_datetime(s).map(|at| at.date_naive()))
                .map(|d| Value::String(format_date(d)))
                .ok_or_else(mismatch),
            _ => Err(mismatch()),
        },
        Kind::DateTime => match value {
            Value::String(s) => parse_datetime(s)
                .map(|at| Value::String(format_datetime(at)))
                .ok_or_else(mismatch),
            _ => Err(mismatch()),
        },
    }
}

fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}
