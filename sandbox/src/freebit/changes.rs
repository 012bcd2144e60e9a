//! What changes a line: top-up, plan change, suspend and resume.

use actix_web::web;
use serde_json::json;

use super::accounts::{Account, LineStatus, plan_quota_mb};
use super::auth::authorized;
use super::wire::{
    self, ALREADY_SUSPENDED, INVALID_PARAMETER, NOT_IN_SERVICE, NOT_SUSPENDED, Payload,
    QUOTA_OUT_OF_RANGE, Rejection, Reply, UNKNOWN_ACCOUNT, UNKNOWN_PLAN,
};
use crate::SandboxState;

const MAX_TOP_UP_MB: u64 = 512_000;

/// Runs `change` on the request's account, brought up to date first.
fn with_account<T>(
    state: &SandboxState,
    payload: &Payload,
    change: impl FnOnce(&mut Account) -> Result<T, Rejection>,
) -> Result<T, Rejection> {
    let number = wire::text(payload, "account")?;
    let mut inner = state.freebit.lock();
    let account = inner
        .accounts
        .get_mut(&number)
        .ok_or_else(|| Rejection::new(UNKNOWN_ACCOUNT, "account not found"))?;
    account.catch_up();
    change(account)
}

fn in_service(account: &Account) -> Result<(), Rejection> {
    match account.status {
        LineStatus::Active | LineStatus::Suspended => Ok(()),
        LineStatus::Cancelled | LineStatus::Activating => {
            Err(Rejection::new(NOT_IN_SERVICE, "account not in service"))
        }
    }
}

/// `/master/addSpec/`: `{kind:"MVNO", account, quota:"<MB>", quotaCode?, expire?}`.
pub async fn top_up(state: web::Data<SandboxState>, body: web::Bytes) -> Reply {
    let payload = authorized(&state, &body)?;
    if let Some(kind) = wire::optional_text(&payload, "kind")?
        && kind != "MVNO"
    {
        return Err(Rejection::new(INVALID_PARAMETER, "kind must be MVNO"));
    }
    let quota: u64 = wire::text(&payload, "quota")?
        .parse()
        .map_err(|_| Rejection::new(INVALID_PARAMETER, "quota must be a number of MB"))?;
    if !(1..=MAX_TOP_UP_MB).contains(&quota) {
        return Err(Rejection::new(QUOTA_OUT_OF_RANGE, "quota out of range"));
    }
    wire::optional_date(&payload, "expire")?;
    with_account(&state, &payload, |account| {
        in_service(account)?;
        account.added_mb += quota;
        Ok(())
    })?;
    wire::ok(json!({}))
}

/// `/mvno/changePlan/`: `{account, planCode, runTime:"YYYYMMDD"}`.
pub async fn change_plan(state: web::Data<SandboxState>, body: web::Bytes) -> Reply {
    let payload = authorized(&state, &body)?;
    let plan = wire::text(&payload, "planCode")?;
    if plan_quota_mb(&plan).is_none() {
        return Err(Rejection::new(UNKNOWN_PLAN, "plan code invalid"));
    }
    let run_time = wire::date(&payload, "runTime")?;
    with_account(&state, &payload, |account| {
        if account.status == LineStatus::Cancelled {
            return Err(Rejection::new(NOT_IN_SERVICE, "account not in service"));
        }
        account.pending_plan = Some((plan, run_time));
        account.catch_up();
        Ok(())
    })?;
    wire::ok(json!({}))
}

pub async fn suspend(state: web::Data<SandboxState>, body: web::Bytes) -> Reply {
    let payload = authorized(&state, &body)?;
    with_account(&state, &payload, |account| match account.status {
        LineStatus::Active => {
            account.status = LineStatus::Suspended;
            Ok(())
        }
        LineStatus::Suspended => Err(Rejection::new(
            ALREADY_SUSPENDED,
            "account already suspended",
        )),
        LineStatus::Cancelled | LineStatus::Activating => {
            Err(Rejection::new(NOT_IN_SERVICE, "account not in service"))
        }
    })?;
    wire::ok(json!({}))
}

pub async fn resume(state: web::Data<SandboxState>, body: web::Bytes) -> Reply {
    let payload = authorized(&state, &body)?;
    with_account(&state, &payload, |account| match account.status {
        LineStatus::Suspended => {
            account.status = LineStatus::Active;
            Ok(())
        }
        LineStatus::Active => Err(Rejection::new(NOT_SUSPENDED, "account not suspended")),
        LineStatus::Cancelled | LineStatus::Activating => {
            Err(Rejection::new(NOT_IN_SERVICE, "account not in service"))
        }
    })?;
    wire::ok(json!({}))
}
