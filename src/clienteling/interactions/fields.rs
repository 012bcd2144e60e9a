//! Reading a context's metadata object field by field, so every error names its path
//! (`metadata.skus[1]`) and unknown fields are refused like anywhere else in the API.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use crate::errors::FieldError;

pub struct Fields<'a> {
    object: Map<String, Value>,
    errors: &'a mut Vec<FieldError>,
}

fn clean(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    (!text.is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control))
        .then(|| text.to_owned())
}

/// A SKU: 1–40 letters, digits, `-`, `_` or `.`.
pub fn is_sku(sku: &str) -> bool {
    (1..=40).contains(&sku.len())
        && sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl<'a> Fields<'a> {
    /// `None` (with an error) when `metadata` is not an object.
    pub fn of(metadata: &Value, errors: &'a mut Vec<FieldError>) -> Option<Fields<'a>> {
        match metadata {
            Value::Object(object) => Some(Fields {
                object: object.clone(),
                errors,
            }),
            _ => {
                errors.push(FieldError::new("metadata", "invalid", "An object."));
                None
            }
        }
    }

    /// A rule across fields, checked by the processor itself.
    pub fn fail_public(&mut self, field: &str, code: &str, message: &str) {
        self.fail(field, code, message);
    }

    fn fail(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(
            format!("metadata.{field}"),
            code,
            message.into(),
        ));
    }

    fn take(&mut self, field: &str, required: bool) -> Option<Value> {
        match self.object.remove(field) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(field, "required", "Required.");
                }
                None
            }
            Some(value) => Some(value),
        }
    }

    pub fn text(&mut self, field: &str, required: bool, max: usize) -> Option<String> {
        let value = self.take(field, required)?;
        match value.as_str().and_then(|text| clean(text, max)) {
            Some(text) => Some(text),
            None => {
                self.fail(
                    field,
                    "invalid",
                    format!("1–{max} characters, without control characters."),
                );
                None
            }
        }
    }

    pub fn one_of(&mut self, field: &str, required: bool, allowed: &[&str]) -> Option<String> {
        let value = self.take(field, required)?;
        match value.as_str().filter(|v| allowed.contains(v)) {
            Some(value) => Some(value.to_owned()),
            None => {
                self.fail(field, "invalid", format!("One of {}.", allowed.join(", ")));
                None
            }
        }
    }

    pub fn sku(&mut self, field: &str, required: bool) -> Option<String> {
        let value = self.take(field, required)?;
        match value.as_str().filter(|sku| is_sku(sku)) {
            Some(sku) => Some(sku.to_owned()),
            None => {
                self.fail(
                    field,
                    "invalid_sku",
                    "A SKU: 1–40 letters, digits, -, _ or .",
                );
                None
            }
        }
    }

    /// 1–`max` distinct SKUs.
    pub fn skus(&mut self, field: &str, required: bool, max: usize) -> Vec<String> {
        let Some(value) = self.take(field, required) else {
            return Vec::new();
        };
        let Value::Array(items) = value else {
            self.fail(field, "invalid", format!("A list of 1–{max} SKUs."));
            return Vec::new();
        };
        if items.is_empty() || items.len() > max {
            self.fail(field, "invalid", format!("A list of 1–{max} SKUs."));
            return Vec::new();
        }
        let mut skus: Vec<String> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item.as_str().filter(|sku| is_sku(sku)) {
                Some(sku) if skus.iter().any(|seen| seen == sku) => {
                    self.fail(&format!("{field}[{index}]"), "duplicate", "Each SKU once.");
                }
                Some(sku) => skus.push(sku.to_owned()),
                None => self.fail(
                    &format!("{field}[{index}]"),
                    "invalid_sku",
                    "A SKU: 1–40 letters, digits, -, _ or .",
                ),
            }
        }
        skus
    }

    /// A non-negative decimal amount as a string with at most two decimals (`"1250.00"`).
    pub fn amount(&mut self, field: &str, required: bool) -> Option<String> {
        let value = self.take(field, required)?;
        let valid = value.as_str().filter(|amount| {
            let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
            (1..=12).contains(&whole.len())
                && whole.chars().all(|c| c.is_ascii_digit())
                && fraction.len() <= 2
                && fraction.chars().all(|c| c.is_ascii_digit())
                && !(amount.contains('.') && fraction.is_empty())
        });
        match valid {
            Some(amount) => Some(amount.to_owned()),
            None => {
                self.fail(
                    field,
                    "invalid_amount",
                    "A decimal string, e.g. \"1250.00\".",
                );
                None
            }
        }
    }

    pub fn currency(&mut self, field: &str, required: bool) -> Option<String> {
        let value = self.take(field, required)?;
        match value
            .as_str()
            .filter(|code| code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()))
        {
            Some(code) => Some(code.to_owned()),
            None => {
                self.fail(field, "invalid_currency", "An ISO 4217 code, e.g. EUR.");
                None
            }
        }
    }

    pub fn date(&mut self, field: &str, required: bool) -> Option<NaiveDate> {
        let value = self.take(field, required)?;
        match value
            .as_str()
            .and_then(|text| text.parse::<NaiveDate>().ok())
        {
            Some(date) => Some(date),
            None => {
                self.fail(field, "invalid_date", "A date, e.g. 2026-12-24.");
                None
            }
        }
    }

    pub fn timestamp(&mut self, field: &str, required: bool) -> Option<DateTime<Utc>> {
        let value = self.take(field, required)?;
        match value
            .as_str()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        {
            Some(at) => Some(at.with_timezone(&Utc)),
            None => {
                self.fail(
                    field,
                    "invalid_timestamp",
                    "An RFC 3339 time, e.g. 2026-12-24T10:00:00Z.",
                );
                None
            }
        }
    }

    pub fn whole(
        &mut self,
        field: &str,
        required: bool,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        let value = self.take(field, required)?;
        match value.as_i64().filter(|n| range.contains(n)) {
            Some(n) => Some(n),
            None => {
                self.fail(
                    field,
                    "out_of_range",
                    format!("A whole number, {}–{}.", range.start(), range.end()),
                );
                None
            }
        }
    }

    pub fn flag(&mut self, field: &str) -> Option<bool> {
        let value = self.take(field, false)?;
        match value.as_bool() {
            Some(flag) => Some(flag),
            None => {
                self.fail(field, "invalid", "true or false.");
                None
            }
        }
    }

    /// A map of names to positive numbers (measurements in centimetres), 1–`max` entries.
    pub fn measures(
        &mut self,
        field: &str,
        required: bool,
        max: usize,
    ) -> Option<Map<String, Value>> {
        let value = self.take(field, required)?;
        let valid = value.as_object().filter(|map| {
            !map.is_empty()
                && map.len() <= max
                && map.iter().all(|(name, n)| {
                    clean(name, 40).is_some() && n.as_f64().is_some_and(|n| n > 0.0 && n < 1000.0)
                })
        });
        match valid {
            Some(map) => Some(map.clone()),
            None => {
                self.fail(
                    field,
                    "invalid",
                    format!("1–{max} measurements: names of 1–40 characters, numbers of centimetres above 0 and below 1000."),
                );
                None
            }
        }
    }

    /// Refuses whatever field was not read.
    pub fn finish(self) {
        let Fields { object, errors } = self;
        for field in object.keys() {
            errors.push(FieldError::new(
                format!("metadata.{field}"),
                "unknown_field",
                "Not a field of this context.",
            ));
        }
    }
}
