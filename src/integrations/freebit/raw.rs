//! Freebit's answers as they arrive. Only the envelope (`resultCode`, `status`) and `authOem` are known
//! from public sources; the bodies below are our design, mirrored by the sandbox:
//!
//! - account detail (`/mvno/getDetail/`):
//!   `{"resultCode":"100","status":{..},"responseDatas":[{"kind":"MVNO","account":"08012345678",
//!   "iccid":"898110…","eid":"8904…"?,"planCode":"DATA_20GB","status":"active|suspended|cancelled|activating",
//!   "simKind":"E0","contractLine":"4G","startDate":"20260301","pendingPlanCode"?,"pendingRunTime"?}]}`
//! - traffic (`/mvno/getTrafficInfo/`): `{"resultCode":"100","account":"…","traffic":{"month":"202611",
//!   "usedMb":"7340","quotaMb":"20480","remainingMb":"13140","addedMb":"0"}}`, megabytes as strings or
//!   numbers
//! - eSIM activation (`/mvno/esim/addAcnt/`): `{"resultCode":"100","account":"080…","eid":"…",
//!   "accountStatus":"activating"}`

use serde::Deserialize;

use super::lenient;
use crate::telemetry::redact::Pii;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DetailResponse {
    #[serde(default, deserialize_with = "lenient::list")]
    pub response_datas: Vec<AccountDetail>,
}

/// One line. Its `account` is the MSISDN, a phone number, so [`Pii`]; the ICCID and EID identify the SIM card
/// and the device's chip rather than a person and stay plain, so support can match them in logs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDetail {
    #[serde(deserialize_with = "lenient::string")]
    pub account: Pii<String>,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub iccid: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub eid: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub plan_code: String,
    pub status: LineStatus,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub sim_kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub contract_line: Option<String>,
    /// `YYYYMMDD`.
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub start_date: Option<String>,
    /// A plan change scheduled for `pending_run_time` (`YYYYMMDD`).
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub pending_plan_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub pending_run_time: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineStatus {
    Active,
    Suspended,
    Cancelled,
    /// An eSIM whose profile has not been downloaded yet.
    Activating,
    /// A status this client does not know; kept so one new value does not break every read.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficInfo {
    #[serde(deserialize_with = "lenient::string")]
    pub account: Pii<String>,
    pub traffic: Traffic,
}

/// This month's data, in MB.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Traffic {
    /// `YYYYMM`.
    #[serde(deserialize_with = "lenient::string")]
    pub month: String,
    #[serde(deserialize_with = "lenient::megabytes")]
    pub used_mb: u64,
    /// The plan's quota plus top-ups.
    #[serde(deserialize_with = "lenient::megabytes")]
    pub quota_mb: u64,
    #[serde(deserialize_with = "lenient::megabytes")]
    pub remaining_mb: u64,
    #[serde(default, deserialize_with = "lenient::megabytes_or_zero")]
    pub added_mb: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EsimActivation {
    /// The line's MSISDN, a phone number: [`Pii`], like [`AccountDetail::account`].
    #[serde(deserialize_with = "lenient::string")]
    pub account: Pii<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub eid: String,
    /// `activating` until the profile is installed; activation is asynchronous at Freebit.
    pub account_status: LineStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_phone_number_but_not_the_sim() {
        let detail: AccountDetail = serde_json::from_value(serde_json::json!({
            "kind": "MVNO", "account": 8012345678_u64, "iccid": "8981100000000000001",
            "planCode": "DATA_20GB", "status": "active"
        }))
        .unwrap_or_else(|error| panic!("fixture: {error}"));
        let printed = format!("{detail:?}");
        assert!(!printed.contains("8012345678"), "{printed}");
        assert!(printed.contains("8981100000000000001"), "{printed}");
        assert_eq!(detail.account, "8012345678");
    }

    #[test]
    fn debug_hides_the_activated_number() {
        let activation: EsimActivation = serde_json::from_value(serde_json::json!({
            "resultCode": "100", "account": "08012345678", "eid": "89049032000000000000000000000001",
            "accountStatus": "activating"
        }))
        .unwrap_or_else(|error| panic!("fixture: {error}"));
        let printed = format!("{activation:?}");
        assert!(!printed.contains("08012345678"), "{printed}");
        assert!(
            printed.contains("89049032000000000000000000000001"),
            "{printed}"
        );
        assert_eq!(activation.account, "08012345678");
    }
}
