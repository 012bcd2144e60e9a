//! Safe SOQL literals, so no caller ever interpolates raw input into a query:
//! `format!("SELECT Id FROM Contact WHERE Email = {}", soql::quote(email))`.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// A quoted string literal: `O'Brien` → `'O\'Brien'`.
pub fn quote(value: &str) -> String {
    format!("'{}'", escape(value))
}

/// The inside of a string literal, using SOQL's escape sequences. Other control characters cannot appear in
/// a SOQL literal at all and are dropped.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Like [`escape`], and the LIKE wildcards `%` and `_` in the value match only themselves.
pub fn escape_like(value: &str) -> String {
    escape(value).replace('%', "\\%").replace('_', "\\_")
}

/// A LIKE pattern matching values that contain `value`: `'%smith%'`.
pub fn quote_like_contains(value: &str) -> String {
    format!("'%{}%'", escape_like(value))
}

/// A LIKE pattern matching values that start with `value`: `'smith%'`.
pub fn quote_like_prefix(value: &str) -> String {
    format!("'{}%'", escape_like(value))
}

/// An `IN` list: `('a','b')`. An empty list becomes `('')`, which matches nothing instead of being a syntax
/// error.
pub fn quote_list<I, S>(values: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let quoted: Vec<String> = values
        .into_iter()
        .map(|value| quote(value.as_ref()))
        .collect();
    if quoted.is_empty() {
        "('')".to_owned()
    } else {
        format!("({})", quoted.join(","))
    }
}

/// Whether `value` has the shape of a record id (15 or 18 letters and digits). Ids that come from outside
/// should pass this before they are used in a path or a query.
pub fn is_id(value: &str) -> bool {
    matches!(value.len(), 15 | 18) && value.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A date literal (unquoted in SOQL): `2026-11-21`.
pub fn date(value: NaiveDate) -> String {
    value.format("%Y-%m-%d").to_string()
}

/// A dateTime literal (unquoted in SOQL): `2026-11-21T10:31:40Z`.
pub fn datetime(value: DateTime<Utc>) -> String {
    value.to_rfc3339_opts(SecondsFormat::Secs, true)
}
