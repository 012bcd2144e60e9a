//! Reading and changing a line: detail, traffic, top-up, plan change, suspend and resume.

use super::*;

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

    assert!(sandbox.paths(System::Freebit).is_empty());
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
async fn an_unknown_account_is_rejected_and_not_retried() {
    let sandbox = spawn_sandbox().await;

    let error = client(&sandbox)
        .account_detail("08000000000")
        .await
        .unwrap_err();

    assert_rejected_with(error, "400-101");
    assert_eq!(sandbox.count_path(System::Freebit, "getDetail"), 1);
}
