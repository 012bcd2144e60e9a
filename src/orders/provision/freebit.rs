//! The Freebit step: the eSIM line, when the customer chose an eSIM.

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
    let line = match orders.freebit.activate_esim(&request).await {
        Ok(activation) => EsimLine {
            account: Some(activation.account),
        },
        // The EID already has a line: an earlier attempt activated it (EIDs are checked at order time).
        Err(ProviderError::Rejected { code, .. }) if code == EID_IN_USE => {
            EsimLine { account: None }
        }
        Err(error) => return Err(step_error(STEP)(error)),
    };
    record(orders, order.id, STEP, &line).await
}
