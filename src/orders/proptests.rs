//! Property tests: an order body with drifted fields is accepted or refused with field errors, never a panic.

use chrono::Utc;
use proptest::prelude::*;
use serde_json::json;

use super::domain::CreateOrderRequest;
use super::error::OrderError;
use crate::testing::{any_json, config, mutated};

fn order() -> serde_json::Value {
    json!({
        "items": [ { "sku": "ESIM-DATA-20GB", "quantity": 1 }, { "sku": "SIM-VOICE", "quantity": 10 } ],
        "activation": { "type": "scheduled", "scheduled_at": "2027-01-15T09:00:00Z" },
        "sim": { "type": "esim", "eid": "89049032000000000000000000000001" }
    })
}

fn checked(body: serde_json::Value) -> Result<(), TestCaseError> {
    if let Ok(request) = serde_json::from_value::<CreateOrderRequest>(body) {
        match request.check(Utc::now()) {
            Ok(()) => {}
            Err(OrderError::Invalid(errors)) => prop_assert!(!errors.is_empty()),
            Err(other) => prop_assert!(false, "not a validation error: {other:?}"),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_drifted_order_is_accepted_or_refused_field_by_field(body in mutated(order())) {
        checked(body)?;
    }

    #[test]
    fn any_json_is_not_an_order_or_is_checked(body in any_json()) {
        checked(body)?;
    }
}
