//! Faults injected by the sandbox: which are retried, which are not, and how they surface.

use super::*;

#[tokio::test]
async fn a_server_error_is_retried_then_succeeds() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.account_detail(DEMO_SIM).await.unwrap();
    sandbox.clear_requests();
    sandbox.inject_fault(System::Freebit, json!({ "status": 500, "times": 1 }));

    let detail = freebit.account_detail(DEMO_SIM).await;

    assert!(detail.is_ok(), "{detail:?}");
    assert_eq!(sandbox.count_path(System::Freebit, "getDetail"), 2);
}

#[tokio::test]
async fn an_error_result_code_is_rejected_without_retry() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.account_detail(DEMO_SIM).await.unwrap();
    sandbox.clear_requests();
    sandbox.inject_fault(System::Freebit, json!({ "error_code": "500-001" }));

    let error = freebit.traffic_info(DEMO_SIM).await.unwrap_err();

    let message = assert_rejected_with(error, "500-001");
    assert_eq!(message, "NG", "an unknown code keeps Freebit's own message");
    assert_eq!(sandbox.paths(System::Freebit).len(), 1);
}

#[tokio::test]
async fn a_malformed_answer_is_a_malformed_error() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.account_detail(DEMO_SIM).await.unwrap();
    sandbox.inject_fault(System::Freebit, json!({ "malformed": true, "times": 1 }));

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
    sandbox.inject_fault(System::Freebit, json!({ "truncated": true, "times": 1 }));

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
    sandbox.inject_fault(System::Freebit, json!({ "hang": true }));
    let started = Instant::now();

    let error = freebit.account_detail(DEMO_SIM).await.unwrap_err();

    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_top_up_whose_answer_was_lost_is_not_repeated() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.account_detail(DEMO_SIM).await.unwrap();
    sandbox.inject_fault(
        System::Freebit,
        json!({ "status": 503, "times": 1, "phase": "after", "operation": "addSpec" }),
    );

    let error = freebit
        .top_up(&QuotaTopUp {
            account: DEMO_SIM.into(),
            quota_mb: 1_024,
            quota_code: None,
            expire: None,
        })
        .await
        .unwrap_err();

    assert!(
        matches!(error, ProviderError::Unavailable { .. }),
        "{error:?}"
    );
    assert_eq!(sandbox.count_path(System::Freebit, "addSpec"), 1);
    let traffic = freebit.traffic_info(DEMO_SIM).await.unwrap().traffic;
    assert_eq!(traffic.added_mb, 1_024, "applied once, as Freebit did");
}
