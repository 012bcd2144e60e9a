//! authOem: one login, shared and renewed when Freebit stops accepting the key.

use super::*;

#[tokio::test]
async fn the_auth_key_is_obtained_once_and_reused_by_later_calls() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);

    freebit.account_detail(DEMO_SIM).await.unwrap();
    freebit.traffic_info(DEMO_SIM).await.unwrap();
    freebit.clone().account_detail(DEMO_SIM).await.unwrap();

    assert_eq!(sandbox.count_path(System::Freebit, "authOem"), 1);
    assert_eq!(sandbox.paths(System::Freebit).len(), 4);
}

#[tokio::test]
async fn an_expired_auth_key_is_renewed_and_the_call_retried_transparently() {
    let sandbox = spawn_sandbox().await;
    let freebit = client(&sandbox);
    freebit.account_detail(DEMO_SIM).await.unwrap();

    sandbox.expire_freebit_auth().await;
    let detail = freebit.account_detail(DEMO_SIM).await.unwrap();

    assert_eq!(detail.account, DEMO_SIM);
    assert_eq!(
        sandbox.paths(System::Freebit),
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
    sandbox.expire_freebit_auth().await;

    let calls = (0..5).map(|_| freebit.traffic_info(DEMO_SIM));
    let results = futures::future::join_all(calls).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(sandbox.count_path(System::Freebit, "authOem"), 2);
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
    assert_eq!(sandbox.paths(System::Freebit), ["/emptool/api/authOem/"]);
}
