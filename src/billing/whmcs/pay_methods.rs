//! WHMCS stored pay methods (GetPayMethods) → [`PaymentMethod`]. Only what the customer recognises crosses:
//! no gateway, no remote token, never more than the last four digits.

use crate::billing::domain::{PaymentMethod, PaymentMethodType};
use crate::integrations::whmcs::raw;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayMethodMapError {
    #[error("pay method {id} has an unknown type {kind:?}")]
    UnknownType { id: u64, kind: String },
}

fn kind(id: u64, raw: &str) -> Result<PaymentMethodType, PayMethodMapError> {
    match raw.trim() {
        "CreditCard" | "RemoteCreditCard" => Ok(PaymentMethodType::Card),
        "BankAccount" | "RemoteBankAccount" => Ok(PaymentMethodType::BankAccount),
        other => Err(PayMethodMapError::UnknownType {
            id,
            kind: other.to_owned(),
        }),
    }
}

fn text(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.chars().take(100).collect())
}

/// The last four digits, whatever WHMCS holds (a masked or, misconfigured, a full number).
fn last_four(value: &str) -> Option<String> {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 4).then(|| digits[digits.len() - 4..].iter().collect())
}

/// `MM/YY` (WHMCS also writes `MMYY`).
fn expiry(value: &str) -> Option<String> {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let month: u32 = digits.get(..2)?.parse().ok()?;
    ((1..=12).contains(&month) && digits.len() == 4)
        .then(|| format!("{}/{}", &digits[..2], &digits[2..]))
}

impl TryFrom<raw::PayMethod> for PaymentMethod {
    type Error = PayMethodMapError;

    fn try_from(raw: raw::PayMethod) -> Result<Self, Self::Error> {
        let kind = kind(raw.id, &raw.kind)?;
        let (brand, expiry) = match kind {
            PaymentMethodType::Card => (text(&raw.card_type), expiry(&raw.expiry_date)),
            PaymentMethodType::BankAccount => (text(&raw.bank_name), None),
        };
        Ok(PaymentMethod {
            id: raw.id,
            kind,
            brand,
            last_four: last_four(&raw.card_last_four),
            expiry,
            description: text(&raw.description),
            is_default: false,
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_card_shows_brand_last_four_and_expiry_only() {
        let raw: raw::PayMethod = serde_json::from_value(serde_json::json!({
            "id": 7, "type": "RemoteCreditCard", "description": "", "gateway_name": "stripe",
            "card_last_four": "4242424242424242", "expiry_date": "0228", "card_type": "Visa",
            "remote_token": "cus_secret|pm_secret",
        }))
        .expect("raw pay method");
        let method = PaymentMethod::try_from(raw).expect("maps");
        assert_eq!(method.kind, PaymentMethodType::Card);
        assert_eq!(method.brand.as_deref(), Some("Visa"));
        assert_eq!(method.last_four.as_deref(), Some("4242"));
        assert_eq!(method.expiry.as_deref(), Some("02/28"));
        let json = serde_json::to_string(&method).expect("json");
        assert!(
            !json.contains("stripe") && !json.contains("secret"),
            "{json}"
        );
    }

    #[test]
    fn unknown_types_are_refused() {
        let raw: raw::PayMethod =
            serde_json::from_value(serde_json::json!({ "id": 1, "type": "Cheque" })).expect("raw");
        assert!(PaymentMethod::try_from(raw).is_err());
    }
}
