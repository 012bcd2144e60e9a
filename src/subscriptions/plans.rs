//! The plan codes the portal accepts for a plan change (the network's codes, as the catalog sells them).

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

pub fn is_known(plan_code: &str) -> bool {
    PLANS.iter().any(|(code, _)| *code == plan_code)
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
}
