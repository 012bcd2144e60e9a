//! `/mvno/esim/addAcnt/`: a new eSIM line.

use actix_web::web;
use serde_json::json;

use super::accounts::{Account, LineStatus, plan_quota_mb};
use super::auth::authorized;
use super::wire::{
    self, ACCOUNT_EXISTS, EID_IN_USE, INVALID_PARAMETER, Rejection, Reply, UNKNOWN_PLAN,
};
use crate::SandboxState;

pub async fn add_account(state: web::Data<SandboxState>, body: web::Bytes) -> Reply {
    let payload = authorized(&state, &body)?;
    wire::choice(&payload, "createType", &["new"])?;
    let eid = wire::text(&payload, "eid")?;
    if eid.len() != 32 || !eid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::new(INVALID_PARAMETER, "eid must be 32 digits"));
    }
    let sim_kind = wire::choice(&payload, "simKind", &["E0", "E2", "E3"])?;
    let contract_line = wire::choice(&payload, "contractLine", &["4G", "5G"])?;
    wire::choice(&payload, "addKind", &["N", "M", "R"])?;
    wire::date(&payload, "shipDate")?;
    let plan = wire::text(&payload, "planCode")?;
    if plan_quota_mb(&plan).is_none() {
        return Err(Rejection::new(UNKNOWN_PLAN, "plan code invalid"));
    }
    let requested = wire::optional_text(&payload, "account")?;

    let mut inner = state.freebit.lock();
    let eid_in_use = inner.accounts.values().any(|account| {
        account.eid.as_deref() == Some(eid.as_str()) && account.status != LineStatus::Cancelled
    });
    if eid_in_use {
        return Err(Rejection::new(EID_IN_USE, "eid already registered"));
    }
    let number = match requested {
        Some(number) if inner.accounts.contains_key(&number) => {
            return Err(Rejection::new(ACCOUNT_EXISTS, "account already exists"));
        }
        Some(number) => number,
        None => (10_000_001_u64..)
            .map(|n| format!("080{n:08}"))
            .find(|number| !inner.accounts.contains_key(number))
            .unwrap_or_default(),
    };
    let mut account = Account::new(number.clone(), plan, sim_kind);
    account.eid = Some(eid.clone());
    account.contract_line = contract_line;
    account.status = LineStatus::Activating;
    inner.accounts.insert(number.clone(), account);
    wire::ok(json!({ "account": number, "eid": eid, "accountStatus": LineStatus::Activating }))
}
