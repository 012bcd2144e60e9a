//! Mapper: Freebit account detail + this month's traffic → [`SimLine`].

use chrono::NaiveDate;

use super::domain::{DataUsage, PendingPlanChange, SimLine, SimStatus};
use crate::integrations::freebit::raw::{AccountDetail, LineStatus, TrafficInfo};

/// The two Freebit reads of one line, for the subscription they belong to.
pub struct FreebitLine {
    pub subscription_id: u64,
    pub detail: AccountDetail,
    pub traffic: TrafficInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimLineMapError {
    #[error("the traffic belongs to another account than the detail")]
    AccountMismatch,
    #[error("the line has no plan code")]
    MissingPlan,
    #[error("the traffic month {0:?} is not YYYYMM")]
    InvalidMonth(String),
    #[error("the pending plan change date {0:?} is not YYYYMMDD")]
    InvalidRunTime(String),
}

pub fn sim_status(status: LineStatus) -> SimStatus {
    match status {
        LineStatus::Active => SimStatus::Active,
        LineStatus::Suspended => SimStatus::Suspended,
        LineStatus::Cancelled => SimStatus::Cancelled,
        LineStatus::Activating => SimStatus::Activating,
        LineStatus::Unknown => SimStatus::Unknown,
    }
}

fn month(text: &str) -> Result<String, SimLineMapError> {
    let valid = text.len() == 6
        && text.bytes().all(|b| b.is_ascii_digit())
        && matches!(text[4..].parse::<u8>(), Ok(1..=12));
    if valid {
        Ok(format!("{}-{}", &text[..4], &text[4..]))
    } else {
        Err(SimLineMapError::InvalidMonth(text.to_owned()))
    }
}

fn pending(detail: &AccountDetail) -> Result<Option<PendingPlanChange>, SimLineMapError> {
    match (&detail.pending_plan_code, &detail.pending_run_time) {
        (Some(plan_code), Some(run_time)) => {
            let effective_date = NaiveDate::parse_from_str(run_time, "%Y%m%d")
                .map_err(|_| SimLineMapError::InvalidRunTime(run_time.clone()))?;
            Ok(Some(PendingPlanChange {
                plan_code: plan_code.clone(),
                effective_date,
            }))
        }
        _ => Ok(None),
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

impl TryFrom<FreebitLine> for SimLine {
    type Error = SimLineMapError;

    fn try_from(line: FreebitLine) -> Result<Self, Self::Error> {
        let FreebitLine {
            subscription_id,
            detail,
            traffic,
        } = line;
        if traffic.account != detail.account {
            return Err(SimLineMapError::AccountMismatch);
        }
        let plan_code = detail.plan_code.trim().to_owned();
        if plan_code.is_empty() {
            return Err(SimLineMapError::MissingPlan);
        }
        let pending_plan_change = pending(&detail)?;
        let usage = traffic.traffic;
        Ok(SimLine {
            subscription_id,
            phone_number: detail.account.into_inner(),
            iccid: non_empty(detail.iccid),
            eid: non_empty(detail.eid),
            plan_code,
            status: sim_status(detail.status),
            pending_plan_change,
            data: DataUsage {
                month: month(&usage.month)?,
                used_mb: usage.used_mb,
                quota_mb: usage.quota_mb,
                remaining_mb: usage.remaining_mb,
                added_mb: usage.added_mb,
            },
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn line(detail: serde_json::Value, traffic: serde_json::Value) -> FreebitLine {
        FreebitLine {
            subscription_id: 501,
            detail: serde_json::from_value(detail).expect("detail"),
            traffic: serde_json::from_value(traffic).expect("traffic"),
        }
    }

    fn detail() -> serde_json::Value {
        json!({ "account": "08012345678", "iccid": "8981100000000000001", "planCode": "DATA_20GB",
                "status": "active", "pendingPlanCode": "DATA_50GB", "pendingRunTime": "20261201" })
    }

    fn traffic(account: &str) -> serde_json::Value {
        json!({ "account": account, "traffic": { "month": "202611", "usedMb": "7340",
                "quotaMb": "20480", "remainingMb": "13140", "addedMb": "0" } })
    }

    #[test]
    fn detail_and_traffic_make_a_line() {
        let sim = SimLine::try_from(line(detail(), traffic("08012345678"))).expect("maps");
        assert_eq!(sim.status, SimStatus::Active);
        assert_eq!(sim.data.month, "2026-11");
        assert_eq!(sim.data.used_mb, 7340);
        assert_eq!(sim.data.remaining_mb, 13140);
        assert_eq!(sim.eid, None);
        let pending = sim.pending_plan_change.expect("pending");
        assert_eq!(pending.plan_code, "DATA_50GB");
    }

    #[test]
    fn inconsistent_reads_are_refused() {
        assert_eq!(
            SimLine::try_from(line(detail(), traffic("08000000000"))),
            Err(SimLineMapError::AccountMismatch)
        );
        let mut bad_month = traffic("08012345678");
        bad_month["traffic"]["month"] = json!("2026-11");
        assert!(SimLine::try_from(line(detail(), bad_month)).is_err());
        let mut bad_date = detail();
        bad_date["pendingRunTime"] = json!("soon");
        assert!(SimLine::try_from(line(bad_date, traffic("08012345678"))).is_err());
    }
}
