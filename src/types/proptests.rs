//! Property tests: every value type parses any text without a panic, and what it accepts is what it says.

use std::str::FromStr;

use proptest::prelude::*;

use super::{CaseId, Currency, Email, InvoiceId, OrderId, Sku, SubscriptionId};
use crate::testing::{config, hostile_text};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_email_is_parsed_or_refused_and_a_parsed_one_is_normal(raw in prop_oneof![hostile_text(), "\\PC{0,20}@\\PC{0,20}"]) {
        if let Ok(email) = Email::parse(&raw) {
            prop_assert_eq!(Email::normalize(email.as_str()), email.as_str());
            let again = Email::parse(email.as_str()).ok().map(|again| again.as_str().to_owned());
            prop_assert_eq!(again, Some(email.as_str().to_owned()));
            prop_assert!(email.as_str().contains('@'));
        }
        let _ = Email::check(&raw);
    }

    #[test]
    fn a_currency_is_three_capital_letters(raw in prop_oneof![hostile_text(), "[A-Za-z]{3}"]) {
        if let Some(currency) = Currency::parse(&raw) {
            prop_assert!(currency.as_str().len() == 3 && currency.as_str().bytes().all(|b| b.is_ascii_uppercase()));
        }
        let _ = Currency::check(&raw);
    }

    #[test]
    fn path_ids_parse_or_are_refused(raw in prop_oneof![hostile_text(), "[0-9]{1,25}", "[0-9A-Za-z]{15,18}"]) {
        if let Ok(id) = InvoiceId::from_str(&raw) {
            prop_assert!(id.get() > 0);
            prop_assert_eq!(id.to_string(), raw.trim_start_matches('0'));
        }
        let _ = SubscriptionId::from_str(&raw);
        let _ = OrderId::from_str(&raw);
        if let Ok(case) = CaseId::from_str(&raw) {
            prop_assert!(case.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        if let Ok(sku) = Sku::from_str(&raw) {
            prop_assert!(Sku::is_valid(sku.as_str()));
        }
    }
}
