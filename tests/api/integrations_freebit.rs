//! The freebit client against the sandbox and wiremock.

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

use crate::helpers::{TestSandbox, settings_for_sandbox, spawn_sandbox, test_settings};

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

/// Paths of the Freebit requests the sandbox received, oldest first.
async fn requests(sandbox: &TestSandbox) -> Vec<String> {
    let log: Vec<Value> =
        reqwest::get(format!("{}/__sandbox/requests?system=freebit", sandbox.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    log.iter()
        .map(|entry| entry["path"].as_str().unwrap().to_owned())
        .collect()
}

async fn count_requests(sandbox: &TestSandbox, fragment: &str) -> usize {
    requests(sandbox)
        .await
        .iter()
        .filter(|path| path.contains(fragment))
        .count()
}

async fn clear_requests(sandbox: &TestSandbox) {
    reqwest::Client::new()
        .delete(format!("{}/__sandbox/requests", sandbox.url))
        .send()
        .await
        .unwrap();
}

async fn inject_fault(sandbox: &TestSandbox, fault: Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/__sandbox/faults/freebit", sandbox.url))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

async fn expire_auth(sandbox: &TestSandbox) {
    let response = reqwest::Client::new()
        .post(format!("{}/__sandbox/freebit/expire-auth", sandbox.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

async fn sandbox_accounts(sandbox: &TestSandbox) -> Vec<Value> {
    reqwest::get(format!("{}/__sandbox/freebit/accounts", sandbox.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
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

#[tokio::test]
async fn the_auth_key_is_obtained_once_and_reused_by_later_calls() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);

    freebit.account_detail(DEMO_SIM).await.unwrap();
    freebit.traffic_info(DEMO_SIM).await.unwrap();
    freebit.clone().account_detail(DEMO_SIM).await.unwrap();

    assert_eq!(count_requests(&sandbox, "authOem").await, 1);
    assert_eq!(requests(&sandbox).await.len(), 4);
}

#[tokio::test]
async fn an_expired_auth_key_is_renewed_and_the_call_retried_transparently() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.account_detail(DEMO_SIM).await.unwrap();

    expire_auth(&sandbox).await;
    let detail = freebit.account_detail(DEMO_SIM).await.unwrap();

    assert_eq!(detail.account, DEMO_SIM);
    assert_eq!(
        requests(&sandbox).await,
        [
            "/emptool/api/authOem/",
            "/emptool/api/mvno/getDetail/",
            "/emptool/api/mvno/getDetail/",
            "/emptool/api/authOem/",
            "/emptool/api/mvno/getDetail/",
        ]
    );
}

#[tokio::test]
async fn calls_that_find_the_auth_key_expired_together_share_one_login() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.account_detail(DEMO_SIM).await.unwrap();
    expire_auth(&sandbox).await;

    let calls = (0..5).map(|_| freebit.traffic_info(DEMO_SIM));
    let results = futures::future::join_all(calls).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(count_requests(&sandbox, "authOem").await, 2);
}

#[tokio::test]
async fn wrong_oem_credentials_are_an_auth_error_tried_once() {
    let sandbox = spawn_sandbox().await;
    let freebit = client_with(&sandbox, |settings| {
        settings.providers.freebit.oem_key = "not-the-key".to_owned().into();
    });

    let error = freebit.account_detail(DEMO_SIM).await.unwrap_err();

    assert!(matches!(error, ProviderError::Auth { .. }), "{error:?}");
    assert!(!error.to_string().contains("not-the-key"), "{error}");
    assert_eq!(requests(&sandbox).await, ["/emptool/api/authOem/"]);
}

#[tokio::test]
async fn the_demo_sim_detail_matches_the_demo_data() {
    let sandbox = spawn_sandbox().await;

    let detail = client(&sandbox).account_detail(DEMO_SIM).await.unwrap();

    assert_eq!(detail.plan_code, "DATA_20GB");
    assert_eq!(detail.status, LineStatus::Active);
    assert_eq!(detail.iccid.as_deref(), Some("8981100000000000001"));
    assert_eq!(detail.eid, None);
    assert_eq!(detail.start_date.as_deref(), Some("20260301"));
    assert_eq!(detail.pending_plan_code, None);
}

#[tokio::test]
async fn the_demo_sim_traffic_counts_used_data_against_its_plan_quota() {
    let sandbox = spawn_sandbox().await;

    let traffic = client(&sandbox).traffic_info(DEMO_SIM).await.unwrap();

    assert_eq!(traffic.account, DEMO_SIM);
    assert_eq!(traffic.traffic.used_mb, 7_340);
    assert_eq!(traffic.traffic.quota_mb, 20_480);
    assert_eq!(traffic.traffic.remaining_mb, 13_140);
    assert_eq!(traffic.traffic.added_mb, 0);
    assert_eq!(
        traffic.traffic.month,
        today_in_japan().format("%Y%m").to_string()
    );
}

#[tokio::test]
async fn a_top_up_adds_to_this_months_quota() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);

    freebit
        .top_up(&QuotaTopUp {
            account: DEMO_SIM.into(),
            quota_mb: 1_024,
            quota_code: Some("TOPUP_1GB".into()),
            expire: today_in_japan().checked_add_days(Days::new(30)),
        })
        .await
        .unwrap();

    let traffic = freebit.traffic_info(DEMO_SIM).await.unwrap().traffic;
    assert_eq!(traffic.added_mb, 1_024);
    assert_eq!(traffic.quota_mb, 21_504);
    assert_eq!(traffic.remaining_mb, 14_164);
}

#[tokio::test]
async fn top_ups_outside_1_to_512000_mb_are_refused_without_calling_freebit() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);

    for quota_mb in [0, 512_001] {
        let error = freebit
            .top_up(&QuotaTopUp {
                account: DEMO_SIM.into(),
                quota_mb,
                quota_code: None,
                expire: None,
            })
            .await
            .unwrap_err();
        assert_rejected_with(error, "invalid_request");
    }

    assert!(requests(&sandbox).await.is_empty());
}

#[tokio::test]
async fn the_largest_allowed_top_up_is_accepted() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);

    let outcome = freebit
        .top_up(&QuotaTopUp {
            account: DEMO_SIM.into(),
            quota_mb: 512_000,
            quota_code: None,
            expire: None,
        })
        .await;

    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn a_plan_change_for_today_applies_at_once() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);

    freebit
        .change_plan(DEMO_SIM, "DATA_50GB", today_in_japan())
        .await
        .unwrap();

    let detail = freebit.account_detail(DEMO_SIM).await.unwrap();
    assert_eq!(detail.plan_code, "DATA_50GB");
    assert_eq!(detail.pending_plan_code, None);
    let traffic = freebit.traffic_info(DEMO_SIM).await.unwrap().traffic;
    assert_eq!(traffic.quota_mb, 51_200);
}

#[tokio::test]
async fn a_plan_change_for_a_later_day_waits_as_pending() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    let next_week = today_in_japan().checked_add_days(Days::new(7)).unwrap();

    freebit
        .change_plan(DEMO_SIM, "DATA_3GB", next_week)
        .await
        .unwrap();

    let detail = freebit.account_detail(DEMO_SIM).await.unwrap();
    assert_eq!(detail.plan_code, "DATA_20GB");
    assert_eq!(detail.pending_plan_code.as_deref(), Some("DATA_3GB"));
    assert_eq!(
        detail.pending_run_time,
        Some(next_week.format("%Y%m%d").to_string())
    );
}

#[tokio::test]
async fn an_unknown_plan_code_is_rejected_with_a_readable_message() {
    let sandbox = spawn_sandbox().await;

    let error = client(&sandbox)
        .change_plan(DEMO_SIM, "GOLD_PLAN", today_in_japan())
        .await
        .unwrap_err();

    let message = assert_rejected_with(error, "400-210");
    assert_eq!(message, "the plan code is not valid");
}

#[tokio::test]
async fn a_line_can_be_suspended_then_resumed() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);

    freebit.suspend(DEMO_SIM).await.unwrap();
    let suspended = freebit.account_detail(DEMO_SIM).await.unwrap();
    freebit.resume(DEMO_SIM).await.unwrap();
    let resumed = freebit.account_detail(DEMO_SIM).await.unwrap();

    assert_eq!(suspended.status, LineStatus::Suspended);
    assert_eq!(resumed.status, LineStatus::Active);
}

#[tokio::test]
async fn suspending_a_suspended_line_is_rejected() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.suspend(DEMO_SIM).await.unwrap();

    let error = freebit.suspend(DEMO_SIM).await.unwrap_err();

    assert_rejected_with(error, "400-401");
}

#[tokio::test]
async fn resuming_an_active_line_is_rejected() {
    let sandbox = spawn_sandbox().await;

    let error = client(&sandbox).resume(DEMO_SIM).await.unwrap_err();

    assert_rejected_with(error, "400-402");
}

#[tokio::test]
async fn an_esim_activation_creates_a_line_that_becomes_active() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    let eid = "89049032000001000000000000000777";

    let activation = freebit.activate_esim(&esim_order(eid)).await.unwrap();

    assert!(activation.account.starts_with("080"), "{activation:?}");
    assert_eq!(activation.account.len(), 11);
    assert_eq!(activation.eid, eid);
    assert_eq!(activation.account_status, LineStatus::Activating);
    let first_look = freebit.account_detail(&activation.account).await.unwrap();
    let second_look = freebit.account_detail(&activation.account).await.unwrap();
    assert_eq!(first_look.status, LineStatus::Activating);
    assert_eq!(second_look.status, LineStatus::Active);
    assert_eq!(second_look.plan_code, "DATA_10GB");
    assert_eq!(second_look.sim_kind.as_deref(), Some("E3"));
    assert_eq!(second_look.contract_line.as_deref(), Some("5G"));
    let accounts = sandbox_accounts(&sandbox).await;
    assert!(
        accounts
            .iter()
            .any(|account| account["account"] == activation.account.as_str())
    );
}

#[tokio::test]
async fn an_esim_activation_keeps_the_number_asked_for() {
    let sandbox = spawn_sandbox().await;
    let mut order = esim_order("89049032000001000000000000000778");
    order.account = Some("08055550001".into());

    let activation = client(&sandbox).activate_esim(&order).await.unwrap();

    assert_eq!(activation.account, "08055550001");
}

#[tokio::test]
async fn a_second_activation_with_the_same_eid_is_rejected() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    let eid = "89049032000001000000000000000779";
    freebit.activate_esim(&esim_order(eid)).await.unwrap();

    let again = freebit.activate_esim(&esim_order(eid)).await.unwrap_err();
    let demo_eid = freebit
        .activate_esim(&esim_order(DEMO_ESIM_EID))
        .await
        .unwrap_err();

    assert_rejected_with(again, "400-501");
    assert_rejected_with(demo_eid, "400-501");
}

#[tokio::test]
async fn an_eid_that_is_not_32_digits_is_refused_without_calling_freebit() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);

    for eid in [
        "8904903200000100000000000000077",
        "8904903200000100000000000000077X",
    ] {
        let error = freebit.activate_esim(&esim_order(eid)).await.unwrap_err();
        assert_rejected_with(error, "invalid_request");
    }

    assert!(requests(&sandbox).await.is_empty());
}

#[tokio::test]
async fn an_unknown_account_is_rejected_and_not_retried() {
    let sandbox = spawn_sandbox().await;

    let error = client(&sandbox)
        .account_detail("08000000000")
        .await
        .unwrap_err();

    assert_rejected_with(error, "400-101");
    assert_eq!(count_requests(&sandbox, "getDetail").await, 1);
}

#[tokio::test]
async fn a_server_error_is_retried_then_succeeds() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.account_detail(DEMO_SIM).await.unwrap();
    clear_requests(&sandbox).await;
    inject_fault(&sandbox, json!({ "status": 500, "times": 1 })).await;

    let detail = freebit.account_detail(DEMO_SIM).await;

    assert!(detail.is_ok(), "{detail:?}");
    assert_eq!(count_requests(&sandbox, "getDetail").await, 2);
}

#[tokio::test]
async fn an_error_result_code_is_rejected_without_retry() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.account_detail(DEMO_SIM).await.unwrap();
    clear_requests(&sandbox).await;
    inject_fault(&sandbox, json!({ "error_code": "500-001" })).await;

    let error = freebit.traffic_info(DEMO_SIM).await.unwrap_err();

    let message = assert_rejected_with(error, "500-001");
    assert_eq!(message, "NG", "an unknown code keeps Freebit's own message");
    assert_eq!(requests(&sandbox).await.len(), 1);
}

#[tokio::test]
async fn a_malformed_answer_is_a_malformed_error() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.account_detail(DEMO_SIM).await.unwrap();
    inject_fault(&sandbox, json!({ "malformed": true, "times": 1 })).await;

    let error = freebit.account_detail(DEMO_SIM).await.unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_truncated_answer_is_a_malformed_error() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.account_detail(DEMO_SIM).await.unwrap();
    inject_fault(&sandbox, json!({ "truncated": true, "times": 1 })).await;

    let error = freebit.traffic_info(DEMO_SIM).await.unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_freebit_that_never_answers_is_unavailable_after_the_timeout() {
    let sandbox = spawn_sandbox().await;
    let freebit = client_with(&sandbox, |settings| {
        settings.providers.timeout_ms = 300;
        settings.providers.max_retries = 1;
    });
    freebit.account_detail(DEMO_SIM).await.unwrap();
    inject_fault(&sandbox, json!({ "hang": true })).await;
    let started = Instant::now();

    let error = freebit.account_detail(DEMO_SIM).await.unwrap_err();

    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_request_without_the_json_field_gets_a_parse_error() {
    let sandbox = spawn_sandbox().await;

    let answer: Value = reqwest::Client::new()
        .post(format!("{}/emptool/api/mvno/getDetail/", sandbox.url))
        .form(&[("jsn", "{}")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let garbled: Value = reqwest::Client::new()
        .post(format!("{}/emptool/api/authOem/", sandbox.url))
        .form(&[("json", "{\"oemId\":")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let parse_error = json!({
        "resultCode": "400-001",
        "status": { "message": "json parse error", "statusCode": "400" },
    });
    assert_eq!(answer, parse_error);
    assert_eq!(garbled, parse_error);
}

async fn freebit_mock(auth_key_answer: Value) -> (MockServer, FreebitClient) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emptool/api/authOem/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(auth_key_answer))
        .mount(&server)
        .await;
    let mut settings = test_settings("unused");
    settings.providers.freebit.base_url = server.uri();
    let client = FreebitClient::new(&settings.providers).unwrap();
    (server, client)
}

#[tokio::test]
async fn a_numeric_result_code_and_numeric_megabytes_are_understood() {
    let (server, freebit) = freebit_mock(json!({ "resultCode": 100, "authKey": "k-1" })).await;
    Mock::given(method("POST"))
        .and(path("/emptool/api/mvno/getTrafficInfo/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "resultCode": 100,
            "account": 8012345678_u64,
            "traffic": { "month": 202611, "usedMb": 100, "quotaMb": "3072", "remainingMb": 2972.0, "addedMb": "" },
        })))
        .mount(&server)
        .await;

    let traffic = freebit.traffic_info("8012345678").await.unwrap();

    assert_eq!(traffic.account, "8012345678");
    assert_eq!(traffic.traffic.month, "202611");
    assert_eq!(traffic.traffic.used_mb, 100);
    assert_eq!(traffic.traffic.quota_mb, 3_072);
    assert_eq!(traffic.traffic.remaining_mb, 2_972);
    assert_eq!(traffic.traffic.added_mb, 0);
}

#[tokio::test]
async fn a_200_answer_that_is_not_json_is_malformed_and_not_retried() {
    let (server, freebit) = freebit_mock(json!({ "resultCode": "100", "authKey": "k-1" })).await;
    Mock::given(method("POST"))
        .and(path("/emptool/api/mvno/getDetail/"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body>メンテナンス中</body></html>"),
        )
        .expect(1)
        .mount(&server)
        .await;

    let error = freebit.account_detail(DEMO_SIM).await.unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn requests_are_form_encoded_with_the_auth_key_inside_the_json_field() {
    let (server, freebit) = freebit_mock(json!({ "resultCode": "100", "authKey": "k-42" })).await;
    Mock::given(method("POST"))
        .and(path("/emptool/api/mvno/suspend/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "resultCode": "100", "status": { "message": "OK", "statusCode": "200" } }),
        ))
        .mount(&server)
        .await;

    freebit.suspend(DEMO_SIM).await.unwrap();

    let received = server.received_requests().await.unwrap();
    let suspend = received
        .iter()
        .find(|request| request.url.path() == "/emptool/api/mvno/suspend/")
        .unwrap();
    assert_eq!(
        suspend.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&suspend.body).unwrap();
    assert_eq!(form.len(), 1);
    assert_eq!(form[0].0, "json");
    let payload: Value = serde_json::from_str(&form[0].1).unwrap();
    assert_eq!(payload, json!({ "authKey": "k-42", "account": DEMO_SIM }));
}

#[tokio::test]
async fn an_answer_without_the_account_asked_for_is_malformed() {
    let (server, freebit) = freebit_mock(json!({ "resultCode": "100", "authKey": "k-1" })).await;
    Mock::given(method("POST"))
        .and(path("/emptool/api/mvno/getDetail/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "resultCode": "100", "responseDatas": "" })),
        )
        .mount(&server)
        .await;

    let error = freebit.account_detail(DEMO_SIM).await.unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}
