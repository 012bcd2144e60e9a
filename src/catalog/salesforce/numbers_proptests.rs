//! Property tests: Salesforce numbers are read exactly or refused, never with a panic or an overflow.

use proptest::prelude::*;
use serde_json::Value;

use super::{hundredths, whole_number};
use crate::testing::{any_json, config, hostile_text};

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[+-]?[0-9]{0,22}(\\.[0-9]{0,6})?([eE][+-]?[0-9]{1,11})?",
        hostile_text(),
        Just("1e-2147483648".to_owned()),
        Just("1e2147483647".to_owned()),
        Just("0.5e-2147483647".to_owned()),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_number_as_text_is_read_exactly_or_refused(text in number_text()) {
        let value = Value::String(text.clone());
        if let Ok(hundredths) = hundredths(Some(&value)) {
            // Exact: reading its own rendering gives it back.
            let rendered = format!("{}.{:02}", hundredths / 100, (hundredths % 100).abs());
            let rendered = if hundredths < 0 && hundredths > -100 { format!("-{rendered}") } else { rendered };
            prop_assert_eq!(super::hundredths(Some(&Value::String(rendered))), Ok(hundredths), "{}", text);
        }
        let _ = whole_number(Some(&value));
    }

    #[test]
    fn any_json_number_is_read_or_refused(value in any_json(), float in any::<f64>(), int in any::<i64>()) {
        let _ = hundredths(Some(&value));
        let _ = hundredths(Some(&Value::from(float)));
        let _ = whole_number(Some(&Value::from(int)));
    }
}
