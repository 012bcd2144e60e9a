//! Property tests: WHMCS services and Freebit lines with drifted fields map or are refused, never a panic.

use proptest::prelude::*;
use serde_json::json;

use super::domain::{SimLine, Subscription};
use super::freebit::FreebitLine;
use super::whmcs::ServiceInCurrency;
use crate::integrations::freebit::raw::{AccountDetail, TrafficInfo};
use crate::integrations::whmcs::raw::ClientProduct;
use crate::testing::{config, hostile_text, mutated};

fn service() -> serde_json::Value {
    json!({
        "id": "501", "clientid": "1", "orderid": "9", "pid": "103", "regdate": "2026-01-10",
        "name": "Data SIM 20 GB", "groupname": "SIM", "domain": "", "firstpaymentamount": "2980.00",
        "recurringamount": "2980.00", "paymentmethod": "stripe", "billingcycle": "Monthly",
        "nextduedate": "2026-12-10", "status": "Active",
        "customfields": { "customfield": [ { "id": "1", "name": "MSISDN", "value": "08012345678" } ] },
        "configoptions": { "configoption": [ { "id": "1", "option": "SIM type", "type": "dropdown", "value": "eSIM" } ] }
    })
}

fn detail() -> serde_json::Value {
    json!({ "account": "08012345678", "iccid": "8981100000000000001", "planCode": "DATA_20GB",
            "status": "active", "pendingPlanCode": "DATA_50GB", "pendingRunTime": "20261201" })
}

fn traffic() -> serde_json::Value {
    json!({ "account": "08012345678", "traffic": { "month": "202611", "usedMb": "7340",
            "quotaMb": "20480", "remainingMb": "13140", "addedMb": "0" } })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_drifted_whmcs_service_maps_or_is_refused(body in mutated(service()), currency in hostile_text()) {
        if let Ok(raw) = serde_json::from_value::<ClientProduct>(body) {
            let _ = Subscription::try_from(ServiceInCurrency { raw, currency });
        }
    }

    #[test]
    fn a_drifted_freebit_line_maps_or_is_refused(
        detail in mutated(detail()),
        traffic in mutated(traffic()),
        month in prop_oneof![hostile_text(), "[0-9]{6}", "[0-9０-９]{6}"],
    ) {
        let mut traffic = traffic;
        if let Some(usage) = traffic.get_mut("traffic").and_then(|t| t.as_object_mut()) {
            usage.insert("month".into(), json!(month));
        }
        if let (Ok(detail), Ok(traffic)) = (
            serde_json::from_value::<AccountDetail>(detail),
            serde_json::from_value::<TrafficInfo>(traffic),
        ) {
            let _ = SimLine::try_from(FreebitLine { subscription_id: 501, detail, traffic });
        }
    }
}

#[test]
fn the_samples_map() {
    let raw: ClientProduct = serde_json::from_value(service()).unwrap_or_else(|e| panic!("{e}"));
    let mapped = Subscription::try_from(ServiceInCurrency {
        raw,
        currency: "JPY".into(),
    });
    assert!(mapped.is_ok(), "{mapped:?}");
    let line = FreebitLine {
        subscription_id: 501,
        detail: serde_json::from_value(detail()).unwrap_or_else(|e| panic!("{e}")),
        traffic: serde_json::from_value(traffic()).unwrap_or_else(|e| panic!("{e}")),
    };
    assert!(SimLine::try_from(line).is_ok());
}
