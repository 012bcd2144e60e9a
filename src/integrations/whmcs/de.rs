//! Tolerant readers for WHMCS payloads. The same field comes back as `"12"` from one action and `12` from
//! another, an empty list as `[]`, `""` or a missing key, a list of one sometimes as a bare object, and
//! amounts as `"15.95"` or `"¥2980.00 JPY"`. Use these with `#[serde(default, deserialize_with = …)]` on the
//! callers' raw types so a shape WHMCS really sends never fails, while a truly wrong payload still does
//! (and becomes `ProviderError::Malformed`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// `"12"`, `12`, `12.5`, `true` or `""` (→ `T::default()`), parsed with `T::from_str`. Works for any number
/// type and for `String` (so an id kept as text accepts an int too).
pub fn string_or_number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + Default,
    T::Err: fmt::Display,
{
    match deserializer.deserialize_any(ScalarText)? {
        None => Ok(T::default()),
        Some(text) => parse_text(&text),
    }
}

/// Text that may come as a string, a number or `null` (→ `""`), as a `String` or a
/// [`Pii<String>`](crate::telemetry::redact::Pii).
pub fn text<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    Ok(deserializer
        .deserialize_any(ScalarText)?
        .unwrap_or_default()
        .into())
}

/// Like [`string_or_number`], but `""` and `null` are `None`.
pub fn opt_string_or_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    deserializer
        .deserialize_any(ScalarText)?
        .map(|text| parse_text(&text))
        .transpose()
}

/// A reference to another record where WHMCS writes "none" as `0`, `"0"`, `""` or `null`.
pub fn opt_id<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(opt_string_or_number::<D, u64>(deserializer)?.filter(|id| *id != 0))
}

/// A boolean written as `true`, `"true"`, `1`, `"1"`, `"on"`, `"yes"`; `""`, `null`, `0`, `"false"`… are false.
pub fn flag<'de, D>(deserializer: D) -> Result<bool, D::Error>
where
    D: Deserializer<'de>,
{
    let text = deserializer
        .deserialize_any(ScalarText)?
        .unwrap_or_default();
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "" | "false" | "0" | "off" | "no" => Ok(false),
        _ => Err(de::Error::custom("expected a boolean flag")),
    }
}

/// A nested list such as `"invoices": {"invoice": [...]}`. Also accepts the list itself (`[...]`), a single
/// record in place of the list (`{"invoice": {...}}`), and the empty forms `[]`, `{}`, `""`, `null`.
pub fn list_or_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    list_from_value(value).map_err(de::Error::custom)
}

fn list_from_value<T: DeserializeOwned>(value: Value) -> Result<Vec<T>, String> {
    let items = |values: Vec<Value>| {
        values
            .into_iter()
            .map(|item| serde_json::from_value(item).map_err(|error| error.to_string()))
            .collect::<Result<Vec<T>, String>>()
    };
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(text) if text.trim().is_empty() => Ok(Vec::new()),
        Value::Array(values) => items(values),
        Value::Object(map) if map.is_empty() => Ok(Vec::new()),
        Value::Object(map) if map.len() == 1 => match map.into_iter().next() {
            Some((_, Value::Array(values))) => items(values),
            Some((_, Value::Null)) => Ok(Vec::new()),
            Some((_, Value::String(text))) if text.trim().is_empty() => Ok(Vec::new()),
            Some((_, Value::Object(record))) => items(vec![Value::Object(record)]),
            _ => Err("expected a list".to_owned()),
        },
        _ => Err("expected a list".to_owned()),
    }
}

/// An object keyed by name (product pricing per currency) that WHMCS sends as `[]` or `""` when empty.
pub fn map_or_empty<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: DeserializeOwned,
{
    match Value::deserialize(deserializer)? {
        Value::Object(map) => map
            .into_iter()
            .map(|(key, value)| {
                Ok((
                    key,
                    serde_json::from_value(value).map_err(de::Error::custom)?,
                ))
            })
            .collect(),
        Value::Null => Ok(BTreeMap::new()),
        Value::Array(values) if values.is_empty() => Ok(BTreeMap::new()),
        Value::String(text) if text.trim().is_empty() => Ok(BTreeMap::new()),
        _ => Err(de::Error::custom("expected an object")),
    }
}

/// Ids joined by commas (`"serviceids": "1,2"`), also accepted as one number or a JSON array.
pub fn comma_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    let texts: Vec<String> = match Value::deserialize(deserializer)? {
        Value::Null => Vec::new(),
        Value::String(text) => text.split(',').map(str::to_owned).collect(),
        Value::Number(number) => vec![number.to_string()],
        Value::Array(values) => values
            .into_iter()
            .map(|value| match value {
                Value::String(text) => Ok(text),
                Value::Number(number) => Ok(number.to_string()),
                _ => Err(de::Error::custom("expected ids")),
            })
            .collect::<Result<_, D::Error>>()?,
        _ => return Err(de::Error::custom("expected a comma-separated list")),
    };
    texts
        .iter()
        .map(|text| text.trim())
        .filter(|text| !text.is_empty())
        .map(parse_text)
        .collect()
}

/// `"2026-01-08"` or `"2026-01-08 13:59:35"`; WHMCS's "no date" (`"0000-00-00"`, `""`, `null`) is `None`.
pub fn opt_date<'de, D>(deserializer: D) -> Result<Option<NaiveDate>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(opt_datetime(deserializer)?.map(|datetime| datetime.date()))
}

/// `"2026-09-23 13:59:35"` or a bare date (midnight); the zero date, `""` and `null` are `None`.
pub fn opt_datetime<'de, D>(deserializer: D) -> Result<Option<NaiveDateTime>, D::Error>
where
    D: Deserializer<'de>,
{
    let Some(text) = deserializer.deserialize_any(ScalarText)? else {
        return Ok(None);
    };
    if text.starts_with("0000-00-00") {
        return Ok(None);
    }
    if let Ok(datetime) = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S") {
        return Ok(Some(datetime));
    }
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map(|date| Some(date.and_time(NaiveTime::MIN)))
        .map_err(|_| de::Error::custom("expected a date as YYYY-MM-DD[ HH:MM:SS]"))
}

fn parse_text<T, E>(text: &str) -> Result<T, E>
where
    T: FromStr,
    T::Err: fmt::Display,
    E: de::Error,
{
    // The value itself stays out of the message: it may be personal data sent in the wrong field.
    text.trim()
        .parse()
        .map_err(|error| E::custom(format!("unexpected value: {error}")))
}

/// Reads any JSON scalar as text; `""` and `null` are `None`.
struct ScalarText;

impl<'de> Visitor<'de> for ScalarText {
    type Value = Option<String>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string, a number, a boolean or null")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        let trimmed = value.trim();
        Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A money amount read exactly (no floating point) in hundredths of the currency unit, from `"15.95"`,
/// `15.95`, `"2,980.00"`, `"-1.00"` or a display string like `"$0.00 USD"` / `"¥2980.00 JPY"`; `""` and `null`
/// are zero. Assumes `.` as the decimal mark and `,` for thousands (WHMCS's default currency formats 1 and 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount {
    hundredths: i64,
}

impl Amount {
    pub const ZERO: Amount = Amount { hundredths: 0 };

    pub fn from_hundredths(hundredths: i64) -> Self {
        Self { hundredths }
    }

    pub fn from_units(units: i64) -> Self {
        Self {
            hundredths: units.saturating_mul(100),
        }
    }

    pub fn hundredths(self) -> i64 {
        self.hundredths
    }

    pub fn is_negative(self) -> bool {
        self.hundredths < 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an amount: {0}")]
pub struct AmountError(&'static str);

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let Some(first_digit) = text.find(|c: char| c.is_ascii_digit()) else {
            return if text.is_empty() {
                Ok(Amount::ZERO)
            } else {
                Err(AmountError("no digits"))
            };
        };
        let last_digit = text
            .rfind(|c: char| c.is_ascii_digit())
            .unwrap_or(first_digit);
        let start = if text[..first_digit].ends_with('.') {
            first_digit - 1
        } else {
            first_digit
        };
        // A currency prefix may stand between the sign and the number: "-$5.00".
        let negative = text[..start].contains('-');
        let number: String = text[start..=last_digit]
            .chars()
            .filter(|c| *c != ',')
            .collect();
        let (units, fraction) = number.split_once('.').unwrap_or((&number, ""));
        let digits = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
        if !(units.is_empty() || digits(units)) || !(fraction.is_empty() || digits(fraction)) {
            return Err(AmountError("unexpected characters"));
        }
        let (cents, rest) = fraction.split_at(fraction.len().min(2));
        if rest.chars().any(|c| c != '0') {
            return Err(AmountError("more than two decimals"));
        }
        let units: i64 = if units.is_empty() {
            0
        } else {
            units.parse().map_err(|_| AmountError("too large"))?
        };
        let cents: i64 = format!("{cents:0<2}")
            .parse()
            .map_err(|_| AmountError("unexpected characters"))?;
        let hundredths = units
            .checked_mul(100)
            .and_then(|value| value.checked_add(cents))
            .ok_or(AmountError("too large"))?;
        Ok(Amount {
            hundredths: if negative { -hundredths } else { hundredths },
        })
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.hundredths < 0 { "-" } else { "" };
        let absolute = self.hundredths.unsigned_abs();
        write!(f, "{sign}{}.{:02}", absolute / 100, absolute % 100)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        string_or_number(deserializer)
    }
}

/// Written back the way WHMCS expects amounts in requests: `"15.95"`.
impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly_from_every_format_whmcs_uses() {
        let cases = [
            ("15.95", 1595),
            ("2980", 298_000),
            ("2,980.00", 298_000),
            ("-1.00", -100),
            ("$0.00 USD", 0),
            ("¥2980.00 JPY", 298_000),
            ("-$5.5", -550),
            ("1.50000", 150),
            ("", 0),
        ];
        for (text, hundredths) in cases {
            assert_eq!(
                text.parse::<Amount>(),
                Ok(Amount::from_hundredths(hundredths)),
                "{text}"
            );
        }
        assert!("abc".parse::<Amount>().is_err());
        assert!("1.234".parse::<Amount>().is_err());
    }

    #[test]
    fn amounts_print_with_two_decimals() {
        assert_eq!(Amount::from_hundredths(-1595).to_string(), "-15.95");
        assert_eq!(Amount::from_units(2980).to_string(), "2980.00");
    }
}
