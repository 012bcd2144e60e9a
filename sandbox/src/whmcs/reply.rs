//! How the stand-in answers: always HTTP 200 with JSON, `"result": "success"` merged into the body or
//! `{"result":"error","message":…}`, as WHMCS does.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

/// A handler's answer: the success body, or the error body to send as is.
pub type Answer = Result<Value, Value>;

pub fn success(body: Value) -> Answer {
    let mut body = match body {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    body.insert("result".into(), json!("success"));
    Ok(Value::Object(body))
}

pub fn error(message: &str) -> Value {
    json!({ "result": "error", "message": message })
}

/// `12345` hundredths → `"123.45"`, the way WHMCS writes amounts.
pub fn money(hundredths: i64) -> String {
    let sign = if hundredths < 0 { "-" } else { "" };
    let absolute = hundredths.unsigned_abs();
    format!("{sign}{}.{:02}", absolute / 100, absolute % 100)
}

/// An amount formatted for display in the client's currency, as GetClientsDetails `stats` shows it.
pub fn display_money(hundredths: i64) -> String {
    format!("{CURRENCY_PREFIX}{} {CURRENCY_CODE}", money(hundredths))
}

/// The sandbox's only currency (id 1), the one every demo customer uses.
pub const CURRENCY_ID: u64 = 1;
pub const CURRENCY_CODE: &str = "JPY";
pub const CURRENCY_PREFIX: &str = "¥";

pub const ZERO_DATETIME: &str = "0000-00-00 00:00:00";

pub fn date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn datetime(datetime: Option<NaiveDateTime>) -> String {
    datetime.map_or_else(
        || ZERO_DATETIME.to_owned(),
        |datetime| datetime.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// A nested list the WHMCS way: `{"invoice": [...]}`, or `[]` when there is nothing.
pub fn nested(key: &str, items: Vec<Value>) -> Value {
    if items.is_empty() {
        json!([])
    } else {
        json!({ key: items })
    }
}
