//! The Freebit step: the eSIM line, when the customer chose an eSIM. A `sent` marker is recorded before
//! the activation goes out, so "EID already in use" is read as our own earlier activation only when an
//! earlier attempt got that far; otherwise the EID belongs to another line and the order fails for that reason.

use serde::{Deserialize, Serialize};

use super::steps::{ProvisionError, internal, record, step_error};
use crate::integrations::ProviderError;
use crate::integrations::freebit::{AddKind, ContractLine, EsimOrder, SimKind};
use crate::orders::Orders;
use crate::orders::domain::SimType;
use crate::orders::repo::{self, OrderRow};
use crate::telemetry::redact::Pii;

/// Freebit's answer when an EID already has a line.
const EID_IN_USE: &str = "400-501";
const STEP_ESIM: &str = "freebit_esim";
const STEP_ESIM_SENT: &str = "freebit_esim_sent";
/// Recorded when Freebit refused the EID as another line's, so a repeat fails the same way.
const STEP_ESIM_REFUSED: &str = "freebit_esim_refused";
/// The order's failure reason when the EID is another line's.
const EID_TAKEN_REASON: &str = "The eSIM's EID is already registered to another line at the network \
     operator; check the EID on the device, or contact support.";

/// The step's record in `order_steps`; the MSISDN stays [`Pii`] (the JSON is the bare number).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EsimLine {
    account: Option<Pii<String>>,
}

/// One eSIM line for the order's EID (the first SIM line), when the customer chose an eSIM.
pub(super) async fn activate_esim(orders: &Orders, order: &OrderRow) -> Result<(), ProvisionError> {
    const STEP: &str = STEP_ESIM;
    let Some(sim) = order.sim.as_ref().map(|json| &json.0) else {
        return Ok(());
    };
    let (SimType::Esim, Some(eid)) = (sim.kind, sim.eid.as_deref()) else {
        return Ok(());
    };
    let Some(plan_code) = order
        .items
        .0
        .iter()
        .find_map(|item| item.sim_plan_code.clone().filter(|code| !code.is_empty()))
    else {
        return Ok(());
    };
    if repo::step::<EsimLine>(&orders.db, order.id, STEP)
        .await
        .map_err(internal(STEP))?
        .is_some()
    {
        return Ok(());
    }
    if recorded(orders, order, STEP_ESIM_REFUSED).await? {
        return Err(eid_taken());
    }
    // Read before this attempt records its own marker: only an earlier attempt may explain "in use".
    let sent_before = recorded(orders, order, STEP_ESIM_SENT).await?;
    let sim_kind = if plan_code.starts_with("VOICE") {
        SimKind::VoiceE0
    } else {
        SimKind::DataE2
    };
    let request = EsimOrder {
        eid: eid.to_owned(),
        account: None,
        sim_kind,
        contract_line: ContractLine::Lte,
        add_kind: AddKind::New,
        ship_date: chrono::Utc::now().date_naive(),
        plan_code,
    };
    record(orders, order.id, STEP_ESIM_SENT, &serde_json::json!({})).await?;
    let line = match orders.freebit.activate_esim(&request).await {
        Ok(activation) => EsimLine {
            account: Some(activation.account),
        },
        // An earlier attempt went out and its answer was lost: that attempt activated the line.
        Err(ProviderError::Rejected { code, .. }) if code == EID_IN_USE && sent_before => {
            EsimLine { account: None }
        }
        Err(ProviderError::Rejected { code, .. }) if code == EID_IN_USE => {
            tracing::warn!(order_id = %order.id, "the order's EID belongs to another line at Freebit");
            record(orders, order.id, STEP_ESIM_REFUSED, &serde_json::json!({})).await?;
            return Err(eid_taken());
        }
        // Freebit answered and refused (or the request never went out): nothing of ours was activated, so
        // this attempt's marker must not make a later "in use" look like our line.
        Err(
            error @ (ProviderError::Rejected { .. }
            | ProviderError::Auth { .. }
            | ProviderError::RateLimited { .. }),
        ) => {
            if !sent_before {
                repo::forget_step(&orders.db, order.id, STEP_ESIM_SENT)
                    .await
                    .map_err(internal(STEP))?;
            }
            return Err(step_error(STEP)(error));
        }
        Err(error) => return Err(step_error(STEP)(error)),
    };
    record(orders, order.id, STEP, &line).await
}

async fn recorded(
    orders: &Orders,
    order: &OrderRow,
    step: &'static str,
) -> Result<bool, ProvisionError> {
    Ok(repo::step::<serde_json::Value>(&orders.db, order.id, step)
        .await
        .map_err(internal(step))?
        .is_some())
}

fn eid_taken() -> ProvisionError {
    ProvisionError::Refused {
        step: STEP_ESIM,
        reason: EID_TAKEN_REASON,
    }
}
