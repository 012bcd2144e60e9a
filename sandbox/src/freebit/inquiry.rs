//! Account detail and traffic.

use actix_web::web;
use serde_json::{Value, json};

use super::accounts::LineStatus;
use super::auth::authorized;
use super::wire::{self, MISSING_PARAMETER, Rejection, Reply, UNKNOWN_ACCOUNT};
use crate::SandboxState;

/// `{version:"2", requestDatas:[{kind:"MVNO", account}]}`; `version` is not checked.
pub async fn detail(state: web::Data<SandboxState>, body: web::Bytes) -> Reply {
    let payload = authorized(&state, &body)?;
    let wanted: Vec<String> = match payload.get("requestDatas") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::Object(item) => wire::text(item, "account"),
                _ => Err(Rejection::new(
                    MISSING_PARAMETER,
                    "requestDatas[].account is required",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(Rejection::new(
                MISSING_PARAMETER,
                "requestDatas is required",
            ));
        }
    };
    let mut inner = state.freebit.lock();
    let mut details = Vec::with_capacity(wanted.len());
    for number in &wanted {
        let account = inner
            .accounts
            .get_mut(number)
            .ok_or_else(|| Rejection::new(UNKNOWN_ACCOUNT, "account not found"))?;
        account.catch_up();
        details.push(account.detail());
        // The eSIM profile "installs" once someone has seen it activating.
        if account.status == LineStatus::Activating {
            account.status = LineStatus::Active;
        }
    }
    wire::ok(json!({ "responseDatas": details }))
}

pub async fn traffic(state: web::Data<SandboxState>, body: web::Bytes) -> Reply {
    let payload = authorized(&state, &body)?;
    let number = wire::text(&payload, "account")?;
    let mut inner = state.freebit.lock();
    let account = inner
        .accounts
        .get_mut(&number)
        .ok_or_else(|| Rejection::new(UNKNOWN_ACCOUNT, "account not found"))?;
    account.catch_up();
    wire::ok(json!({ "account": account.account, "traffic": account.traffic() }))
}
