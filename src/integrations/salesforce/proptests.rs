//! Property tests: whatever Salesforce answers with, its errors are read or ignored, never a panic.

use proptest::prelude::*;

use super::error::parse_errors;
use crate::testing::{any_json, config, mutated};

fn errors() -> serde_json::Value {
    serde_json::json!([{ "message": "Required fields are missing: [LastName]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"] }])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_error_body_is_read_or_ignored(body in any_json(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_errors(body.to_string().as_bytes());
        let _ = parse_errors(&bytes);
    }

    #[test]
    fn a_drifted_error_list_keeps_only_coded_errors(body in mutated(errors())) {
        for error in parse_errors(body.to_string().as_bytes()) {
            prop_assert!(!error.code.is_empty());
        }
    }
}
