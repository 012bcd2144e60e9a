//! eSIM activation.

use super::*;

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
    let accounts = sandbox.freebit_accounts().await;
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

    assert!(sandbox.paths(System::Freebit).is_empty());
}
