//! Property tests: the password policy answers any password and any email without a panic.

use proptest::prelude::*;

use super::passwords::check_policy;
use crate::testing::{config, hostile_text};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_password_is_accepted_or_refused_with_a_reason(password in hostile_text(), email in prop::option::of(hostile_text())) {
        match check_policy("password", &password, email.as_deref()) {
            Ok(()) => prop_assert!((8..=128).contains(&password.chars().count())),
            Err(error) => prop_assert_eq!(error.field.as_str(), "password"),
        }
    }
}
