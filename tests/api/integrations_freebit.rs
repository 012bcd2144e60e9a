//! The freebit client against the sandbox and wiremock.

mod auth;
mod esim;
mod faults;
mod lines;
mod wire;

use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use concierge::config::Settings;
use concierge::integrations::ProviderError;
use concierge::integrations::freebit::raw::LineStatus;
use concierge::integrations::freebit::{
    AddKind, ContractLine, EsimOrder, FreebitClient, QuotaTopUp, SimKind,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{System, TestSandbox, settings_for_sandbox, spawn_sandbox, test_settings};

const DEMO_SIM: &str = "08012345678";
const DEMO_ESIM_EID: &str = "89049032000001000000000000000001";

fn client(sandbox: &TestSandbox) -> FreebitClient {
    FreebitClient::new(&settings_for_sandbox(sandbox).providers).unwrap()
}

fn client_with(sandbox: &TestSandbox, configure: impl FnOnce(&mut Settings)) -> FreebitClient {
    let mut settings = settings_for_sandbox(sandbox);
    configure(&mut settings);
    FreebitClient::new(&settings.providers).unwrap()
}

fn today_in_japan() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive()
}

fn esim_order(eid: &str) -> EsimOrder {
    EsimOrder {
        eid: eid.to_owned(),
        account: None,
        sim_kind: SimKind::DataE3,
        contract_line: ContractLine::FiveG,
        add_kind: AddKind::New,
        ship_date: today_in_japan(),
        plan_code: "DATA_10GB".into(),
    }
}

fn assert_rejected_with(error: ProviderError, expected_code: &str) -> String {
    match error {
        ProviderError::Rejected { code, message, .. } => {
            assert_eq!(code, expected_code, "{message}");
            message
        }
        other => panic!("expected a rejection {expected_code}, got {other:?}"),
    }
}
