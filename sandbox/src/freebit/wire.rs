//! Freebit's wire format on the sandbox side: the `json` form field in, the `resultCode` envelope out.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use chrono::NaiveDate;
use serde_json::{Map, Value, json};

pub const JSON_PARSE_ERROR: &str = "400-001";
pub const MISSING_PARAMETER: &str = "400-002";
pub const INVALID_PARAMETER: &str = "400-003";
pub const UNKNOWN_ACCOUNT: &str = "400-101";
pub const UNKNOWN_PLAN: &str = "400-210";
pub const QUOTA_OUT_OF_RANGE: &str = "400-301";
pub const NOT_IN_SERVICE: &str = "400-356";
pub const ALREADY_SUSPENDED: &str = "400-401";
pub const NOT_SUSPENDED: &str = "400-402";
pub const EID_IN_USE: &str = "400-501";
pub const ACCOUNT_EXISTS: &str = "400-502";
pub const OEM_REFUSED: &str = "401-001";
pub const AUTH_KEY_INVALID: &str = "900";

pub type Payload = Map<String, Value>;

/// A refused request: Freebit still answers HTTP 200, with the code in the body.
#[derive(Debug)]
pub struct Rejection {
    code: &'static str,
    message: String,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The HTTP-like family Freebit repeats inside `status.statusCode`.
    fn status_family(&self) -> &'static str {
        match self.code.split_once('-').map(|(family, _)| family) {
            Some("400") => "400",
            Some("401") => "401",
            _ if self.code == AUTH_KEY_INVALID => "401",
            _ => "500",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::OK
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::Ok().json(json!({
            "resultCode": self.code,
            "status": { "message": self.message, "statusCode": self.status_family() },
        }))
    }
}

pub type Reply = Result<HttpResponse, Rejection>;

/// Success: the envelope plus `fields` at the top level.
pub fn ok(fields: Value) -> Reply {
    let mut body = json!({
        "resultCode": "100",
        "status": { "message": "OK", "statusCode": "200" },
    });
    if let (Value::Object(body), Value::Object(fields)) = (&mut body, fields) {
        body.extend(fields);
    }
    Ok(HttpResponse::Ok().json(body))
}

/// The JSON object in the form field `json`.
pub fn payload(body: &[u8]) -> Result<Payload, Rejection> {
    let parse_error = || Rejection::new(JSON_PARSE_ERROR, "json parse error");
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| parse_error())?;
    let json = fields
        .into_iter()
        .find_map(|(name, value)| (name == "json").then_some(value))
        .ok_or_else(parse_error)?;
    match serde_json::from_str(&json) {
        Ok(Value::Object(payload)) => Ok(payload),
        _ => Err(parse_error()),
    }
}

/// A string parameter; numbers are accepted as their digits, as Freebit does.
pub fn text(payload: &Payload, name: &str) -> Result<String, Rejection> {
    optional_text(payload, name)?
        .ok_or_else(|| Rejection::new(MISSING_PARAMETER, format!("{name} is required")))
}

pub fn optional_text(payload: &Payload, name: &str) -> Result<Option<String>, Rejection> {
    match payload.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.trim().to_owned())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(Rejection::new(
            INVALID_PARAMETER,
            format!("{name} must be a string"),
        )),
    }
}

/// `YYYYMMDD`.
pub fn optional_date(payload: &Payload, name: &str) -> Result<Option<NaiveDate>, Rejection> {
    optional_text(payload, name)?
        .map(|text| {
            NaiveDate::parse_from_str(&text, "%Y%m%d")
                .map_err(|_| Rejection::new(INVALID_PARAMETER, format!("{name} must be YYYYMMDD")))
        })
        .transpose()
}

pub fn date(payload: &Payload, name: &str) -> Result<NaiveDate, Rejection> {
    optional_date(payload, name)?
        .ok_or_else(|| Rejection::new(MISSING_PARAMETER, format!("{name} is required")))
}

/// One of `allowed`, e.g. `simKind` in `E0`, `E2`, `E3`.
pub fn choice(payload: &Payload, name: &str, allowed: &[&str]) -> Result<String, Rejection> {
    let value = text(payload, name)?;
    if allowed.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(Rejection::new(
            INVALID_PARAMETER,
            format!("{name} must be one of {}", allowed.join(", ")),
        ))
    }
}

pub fn format_date(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// Freebit lives in Japan: `runTime` "today" is a JST date.
pub fn today() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive()
}
