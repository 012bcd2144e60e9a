//! An ISO 4217 currency code, as the providers send it: three ASCII letters, upper-cased.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::ValidationError;

use crate::errors::rule;

/// E.g. `JPY`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, pattern = "^[A-Z]{3}$", example = "JPY")]
pub struct Currency(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Use an ISO 4217 currency code, e.g. JPY.")]
pub struct InvalidCurrency;

impl Currency {
    /// Surrounding whitespace is ignored and letters are upper-cased (`" jpy"` is `JPY`).
    pub fn parse(raw: &str) -> Option<Currency> {
        let code = raw.trim();
        (code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()))
            .then(|| Currency(code.to_ascii_uppercase()))
    }

    /// The `validator` rule for a currency field: `invalid_currency`.
    pub fn check(raw: &str) -> Result<(), ValidationError> {
        match Self::parse(raw) {
            Some(_) => Ok(()),
            None => Err(rule("invalid_currency", InvalidCurrency.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for Currency {
    type Err = InvalidCurrency;

    fn from_str(raw: &str) -> Result<Self, InvalidCurrency> {
        Self::parse(raw).ok_or(InvalidCurrency)
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidCurrency;

    fn try_from(raw: String) -> Result<Self, InvalidCurrency> {
        raw.parse()
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_letters_upper_cased() {
        assert_eq!(
            Currency::parse(" jpy ")
                .map(Currency::into_string)
                .as_deref(),
            Some("JPY")
        );
        assert_eq!(
            Currency::parse("USD").map(|c| c.to_string()).as_deref(),
            Some("USD")
        );
        for bad in ["", "   ", "JP", "JPYY", "J1Y", "€", "円円円", "ÿen", "J Y"] {
            assert_eq!(Currency::parse(bad), None, "{bad:?}");
            assert!(Currency::check(bad).is_err(), "{bad:?}");
        }
    }
}
