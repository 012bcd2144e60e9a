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

/// Which plans a line may move to, by the service's WHMCS product: a WHMCS product per plan code, grouped as
/// WHMCS's upgrade options group them (data SIMs with data SIMs, voice with voice, an eSIM with eSIMs). A plan
/// change moves the service to the target product in WHMCS (UpgradeProduct) and the line at Freebit.
/// (WHMCS product id, plan code, group.)
pub const PLAN_PRODUCTS: [(u64, &str, &str); 8] = [
    (101, "DATA_3GB", "sim-data"),
    (102, "DATA_10GB", "sim-data"),
    (103, "DATA_20GB", "sim-data"),
    (104, "DATA_50GB", "sim-data"),
    (105, "VOICE_5GB", "sim-voice"),
    (106, "VOICE_20GB", "sim-voice"),
    (107, "VOICE_UNLIMITED", "sim-voice"),
    (108, "DATA_20GB", "esim-data"),
];

/// Why a plan is not offered to a service's product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAllowed {
    /// The service's product takes no plan changes (not a plan product).
    Product,
    /// Another group's plan (e.g. voice for a data SIM), or a code no product of the group sells.
    Plan,
    /// The service is on this plan already.
    Current,
}

/// The WHMCS product a service on `current_product` moves to for `plan_code`.
pub fn target_product(current_product: u64, plan_code: &str) -> Result<u64, NotAllowed> {
    let (_, current_code, group) = PLAN_PRODUCTS
        .iter()
        .find(|(pid, _, _)| *pid == current_product)
        .ok_or(NotAllowed::Product)?;
    if *current_code == plan_code {
        return Err(NotAllowed::Current);
    }
    PLAN_PRODUCTS
        .iter()
        .find(|(_, code, g)| g == group && *code == plan_code)
        .map(|(pid, _, _)| *pid)
        .ok_or(NotAllowed::Plan)
}

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
    fn a_plan_change_stays_within_the_products_group() {
        assert_eq!(target_product(103, "DATA_50GB"), Ok(104));
        assert_eq!(target_product(104, "DATA_3GB"), Ok(101));
        assert_eq!(target_product(105, "VOICE_UNLIMITED"), Ok(107));
        assert_eq!(target_product(103, "VOICE_5GB"), Err(NotAllowed::Plan));
        assert_eq!(target_product(105, "DATA_20GB"), Err(NotAllowed::Plan));
        assert_eq!(target_product(103, "DATA_1GB"), Err(NotAllowed::Plan));
        assert_eq!(target_product(108, "DATA_50GB"), Err(NotAllowed::Plan));
        assert_eq!(target_product(103, "DATA_20GB"), Err(NotAllowed::Current));
        assert_eq!(target_product(301, "DATA_20GB"), Err(NotAllowed::Product));
    }

    #[test]
    fn every_plan_product_sells_a_known_plan() {
        assert!(PLAN_PRODUCTS.iter().all(|(_, code, _)| is_known(code)));
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
