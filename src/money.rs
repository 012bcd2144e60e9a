//! Money as the API shows it: an exact decimal amount (a string, never a float) with an ISO 4217 currency.

use std::fmt;

use serde::{Serialize, Serializer};
use utoipa::ToSchema;

/// Amounts are held in hundredths (what WHMCS and Salesforce price with); zero-decimal currencies such as
/// JPY are written without decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Money {
    /// Decimal string, e.g. `"2980"` (JPY) or `"15.95"` (USD).
    #[schema(value_type = String, example = "2980")]
    #[serde(serialize_with = "serialize_amount")]
    pub amount: Amount,
    /// ISO 4217 code, e.g. `JPY`.
    pub currency: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount {
    hundredths: i64,
    /// Decimal places to show: 0 for zero-decimal currencies, 2 otherwise.
    scale: u8,
}

const ZERO_DECIMAL: [&str; 6] = ["JPY", "KRW", "VND", "CLP", "ISK", "TWD"];

impl Money {
    pub fn from_hundredths(hundredths: i64, currency: &str) -> Self {
        let currency = currency.trim().to_ascii_uppercase();
        let scale = if ZERO_DECIMAL.contains(&currency.as_str()) {
            0
        } else {
            2
        };
        Money {
            amount: Amount { hundredths, scale },
            currency,
        }
    }

    /// A whole number of major units (e.g. a Salesforce `UnitPrice` of 2980 yen).
    pub fn from_units(units: i64, currency: &str) -> Self {
        Self::from_hundredths(units.saturating_mul(100), currency)
    }

    pub fn hundredths(&self) -> i64 {
        self.amount.hundredths
    }

    pub fn zero(currency: &str) -> Self {
        Self::from_hundredths(0, currency)
    }

    /// `None` when the currencies differ (never add yen to dollars).
    pub fn checked_add(&self, other: &Money) -> Option<Money> {
        (self.currency == other.currency).then(|| {
            Money::from_hundredths(
                self.amount
                    .hundredths
                    .saturating_add(other.amount.hundredths),
                &self.currency,
            )
        })
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.hundredths < 0 { "-" } else { "" };
        let absolute = self.hundredths.unsigned_abs();
        match self.scale {
            0 if absolute.is_multiple_of(100) => write!(f, "{sign}{}", absolute / 100),
            _ => write!(f, "{sign}{}.{:02}", absolute / 100, absolute % 100),
        }
    }
}

fn serialize_amount<S: Serializer>(amount: &Amount, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_decimal_strings() {
        assert_eq!(
            serde_json::to_value(Money::from_units(2980, "jpy")).ok(),
            Some(serde_json::json!({ "amount": "2980", "currency": "JPY" }))
        );
        assert_eq!(
            Money::from_hundredths(1595, "USD").amount.to_string(),
            "15.95"
        );
        assert_eq!(
            Money::from_hundredths(-5, "EUR").amount.to_string(),
            "-0.05"
        );
        assert_eq!(
            Money::from_hundredths(150, "JPY").amount.to_string(),
            "1.50",
            "never silently rounded"
        );
    }

    #[test]
    fn different_currencies_do_not_add_up() {
        assert!(
            Money::from_units(1, "JPY")
                .checked_add(&Money::from_units(1, "USD"))
                .is_none()
        );
        assert_eq!(
            Money::from_units(1, "JPY").checked_add(&Money::from_units(2, "JPY")),
            Some(Money::from_units(3, "JPY"))
        );
    }
}
