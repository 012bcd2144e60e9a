//! Freebit accounts (lines), seeded from the demo SIM services so WHMCS and Freebit agree on numbers.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};

use super::wire::{format_date, today};
use crate::demo;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LineStatus {
    Active,
    Suspended,
    Cancelled,
    Activating,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub account: String,
    pub iccid: Option<String>,
    pub eid: Option<String>,
    pub plan_code: String,
    pub pending_plan: Option<(String, NaiveDate)>,
    pub status: LineStatus,
    pub sim_kind: String,
    pub contract_line: String,
    pub start_date: NaiveDate,
    /// The month `used_mb` and `added_mb` count (`YYYYMM`).
    pub month: String,
    pub used_mb: u64,
    pub added_mb: u64,
}

pub fn plan_quota_mb(plan_code: &str) -> Option<u64> {
    demo::PLANS
        .iter()
        .find(|(code, _)| *code == plan_code)
        .map(|(_, quota)| *quota)
}

fn current_month() -> String {
    today().format("%Y%m").to_string()
}

impl Account {
    pub fn new(account: String, plan_code: String, sim_kind: String) -> Self {
        Self {
            account,
            iccid: None,
            eid: None,
            plan_code,
            pending_plan: None,
            status: LineStatus::Active,
            sim_kind,
            contract_line: "4G".into(),
            start_date: today(),
            month: current_month(),
            used_mb: 0,
            added_mb: 0,
        }
    }

    /// Applies what time has done since the last look: a scheduled plan change now due, a new month.
    pub fn catch_up(&mut self) {
        let today = today();
        if let Some((plan, run_time)) = self.pending_plan.take() {
            if run_time <= today {
                self.plan_code = plan;
            } else {
                self.pending_plan = Some((plan, run_time));
            }
        }
        let month = current_month();
        if self.month != month {
            self.month = month;
            self.used_mb = 0;
            self.added_mb = 0;
        }
    }

    pub fn quota_mb(&self) -> u64 {
        plan_quota_mb(&self.plan_code).unwrap_or(0) + self.added_mb
    }

    pub fn detail(&self) -> Value {
        json!({
            "kind": "MVNO",
            "account": self.account,
            "iccid": self.iccid.clone().unwrap_or_default(),
            "eid": self.eid.clone().unwrap_or_default(),
            "planCode": self.plan_code,
            "status": self.status,
            "simKind": self.sim_kind,
            "contractLine": self.contract_line,
            "startDate": format_date(self.start_date),
            "pendingPlanCode": self.pending_plan.as_ref().map(|(plan, _)| plan.clone()).unwrap_or_default(),
            "pendingRunTime": self.pending_plan.as_ref().map(|(_, date)| format_date(*date)).unwrap_or_default(),
        })
    }

    /// Megabytes as strings, the way Freebit writes numbers.
    pub fn traffic(&self) -> Value {
        let quota = self.quota_mb();
        json!({
            "month": self.month,
            "usedMb": self.used_mb.to_string(),
            "quotaMb": quota.to_string(),
            "remainingMb": quota.saturating_sub(self.used_mb).to_string(),
            "addedMb": self.added_mb.to_string(),
        })
    }

    /// Everything, for `GET /__sandbox/freebit/accounts`.
    pub fn dump(&self) -> Value {
        let mut dump = self.detail();
        if let Value::Object(fields) = &mut dump {
            fields.insert("traffic".into(), self.traffic());
        }
        dump
    }
}

pub fn seeded() -> BTreeMap<String, Account> {
    demo::SERVICES
        .iter()
        .filter_map(|service| {
            let number = service.msisdn?;
            let plan = demo::PRODUCTS
                .iter()
                .find(|product| product.whmcs_pid == service.pid)
                .and_then(|product| product.plan_code)?;
            let voice = plan.starts_with("VOICE");
            // eSIM kinds are Freebit's (E0 voice, E3 data); the physical ones (P0, P3) are ours.
            let sim_kind = match (service.eid.is_some(), voice) {
                (true, true) => "E0",
                (true, false) => "E3",
                (false, true) => "P0",
                (false, false) => "P3",
            };
            let mut account = Account::new(number.to_owned(), plan.to_owned(), sim_kind.into());
            account.iccid = service.iccid.map(str::to_owned);
            account.eid = service.eid.map(str::to_owned);
            account.status = match service.status {
                "Suspended" => LineStatus::Suspended,
                "Cancelled" => LineStatus::Cancelled,
                _ => LineStatus::Active,
            };
            account.start_date = NaiveDate::parse_from_str(service.reg_date, "%Y-%m-%d")
                .unwrap_or(account.start_date);
            account.used_mb = service.used_mb;
            Some((account.account.clone(), account))
        })
        .collect()
}
