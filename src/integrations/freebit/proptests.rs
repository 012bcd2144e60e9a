//! Property tests: Freebit's answers with drifted fields are read or refused, never a panic.

use proptest::prelude::*;

use super::raw::{AccountDetail, EsimActivation};
use crate::testing::{config, mutated};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_drifted_account_detail_is_read_or_refused(body in mutated(serde_json::json!({
        "kind": "MVNO", "account": 8012345678_u64, "iccid": "8981100000000000001",
        "planCode": "DATA_20GB", "status": "active"
    }))) {
        let _ = serde_json::from_value::<AccountDetail>(body);
    }

    #[test]
    fn a_drifted_activation_is_read_or_refused(body in mutated(serde_json::json!({
        "resultCode": "100", "account": "08012345678", "eid": "89049032000000000000000000000001",
        "accountStatus": "activating"
    }))) {
        let _ = serde_json::from_value::<EsimActivation>(body);
    }
}
