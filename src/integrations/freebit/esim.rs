//! eSIM activation (`/mvno/esim/addAcnt/`). Asynchronous at Freebit: the answer says `activating`, the
//! account detail says `active` once the profile is installed. MNP transfers (`mnp`) are not supported.

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::raw::EsimActivation;
use super::{DATE_FORMAT, FreebitClient, SYSTEM, invalid_request};
use crate::integrations::ProviderError;
use crate::telemetry::redact::Pii;

/// Freebit's `simKind` for eSIMs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimKind {
    /// `E0`: voice and data.
    VoiceE0,
    /// `E2`: data only.
    DataE2,
    /// `E3`: data only (the other data variant; the difference is not documented publicly).
    DataE3,
}

impl SimKind {
    pub fn code(self) -> &'static str {
        match self {
            SimKind::VoiceE0 => "E0",
            SimKind::DataE2 => "E2",
            SimKind::DataE3 => "E3",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractLine {
    Lte,
    FiveG,
}

impl ContractLine {
    pub fn code(self) -> &'static str {
        match self {
            ContractLine::Lte => "4G",
            ContractLine::FiveG => "5G",
        }
    }
}

/// Freebit's `addKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddKind {
    /// `N`: a new number.
    New,
    /// `M`: a number ported in (MNP).
    PortIn,
    /// `R`: a reissued profile for an existing number.
    Reissue,
}

impl AddKind {
    pub fn code(self) -> &'static str {
        match self {
            AddKind::New => "N",
            AddKind::PortIn => "M",
            AddKind::Reissue => "R",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsimOrder {
    /// The device's eUICC id: 32 digits.
    pub eid: String,
    /// The number (MSISDN) to activate; Freebit assigns one when absent.
    pub account: Option<Pii<String>>,
    pub sim_kind: SimKind,
    pub contract_line: ContractLine,
    pub add_kind: AddKind,
    pub ship_date: NaiveDate,
    pub plan_code: String,
}

pub const EID_DIGITS: usize = 32;

impl FreebitClient {
    #[tracing::instrument(skip_all, fields(system = SYSTEM, plan_code = %order.plan_code))]
    pub async fn activate_esim(&self, order: &EsimOrder) -> Result<EsimActivation, ProviderError> {
        if order.eid.len() != EID_DIGITS || !order.eid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid_request(format!(
                "an EID is exactly {EID_DIGITS} digits"
            )));
        }
        if order.plan_code.trim().is_empty() {
            return Err(invalid_request("a plan code is required"));
        }
        let mut payload = json!({
            "createType": "new",
            "eid": order.eid,
            "simKind": order.sim_kind.code(),
            "contractLine": order.contract_line.code(),
            "addKind": order.add_kind.code(),
            "shipDate": order.ship_date.format(DATE_FORMAT).to_string(),
            "planCode": order.plan_code,
        });
        if let (Some(account), Value::Object(fields)) = (&order.account, &mut payload) {
            fields.insert("account".into(), Value::String(account.expose().clone()));
        }
        let response = self
            .call_once("esimAddAcnt", "mvno/esim/addAcnt", payload)
            .await?;
        response.json(SYSTEM)
    }
}
