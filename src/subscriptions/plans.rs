//! The plan codes the portal accepts for a plan change (the network's codes, as the catalog sells them).

use validator::ValidationError;

use crate::errors::rule;

/// Plan code and monthly quota in MB.
pub const PLANS: [(&str, u64); 8] = [
    ("DATA_1GB", 1_024),
    ("DATA_3GB", 3_072),
    ("DATA_10GB", 10_240),
    ("DATA_20GB", 20_480),
    ("DATA_50GB", 51_200),
    ("VOICE_5GB", 5_120),
    ("VOICE_20GB", 20_480),
    ("VOICE_UNLIMITED", 307_200),
];

/// The longest plan code accepted (longer input is refused before it is looked up).
pub const MAX_CODE_LENGTH: usize = 64;

pub fn is_known(plan_code: &str) -> bool {
    PLANS.iter().any(|(code, _)| *code == plan_code)
}

/// The `validator` rule for a plan code field (surrounding whitespace ignored): `required` when empty,
/// `unknown` when it is not one of [`PLANS`].
pub fn check(plan_code: &str) -> Result<(), ValidationError> {
    let plan_code = plan_code.trim();
    if plan_code.is_empty() {
        Err(rule("required", "Choose a plan."))
    } else if plan_code.len() > MAX_CODE_LENGTH || !is_known(plan_code) {
        Err(rule(
            "unknown",
            "No such plan; use one of the catalog's plan codes.",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_codes_are_case_sensitive_and_exact() {
        assert!(is_known("DATA_20GB"));
        assert!(!is_known("data_20gb"));
        assert!(!is_known("DATA_2GB"));
    }

    #[test]
    fn the_plan_code_rule_trims_and_refuses_unknown_codes() {
        let code = |value: &str| check(value).err().map(|error| error.code.into_owned());
        assert_eq!(code(" DATA_20GB "), None);
        assert_eq!(code("  ").as_deref(), Some("required"));
        for unknown in [
            "data_20gb",
            "DATA_2GB",
            "ＤＡＴＡ_20GB",
            "DATA_20GB\u{0}",
            &"D".repeat(65),
        ] {
            assert_eq!(code(unknown).as_deref(), Some("unknown"), "{unknown:?}");
        }
    }
}
