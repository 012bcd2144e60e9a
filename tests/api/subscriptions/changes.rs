//! SIM changes: top-up, plan change, suspend and resume; their validation, idempotency and audit trail.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::{audit_rows, get_json, post_sim, with_demo_customer};
use crate::helpers::{System, problem};

fn field_errors(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_top_up_adds_to_this_months_quota_and_is_audited() {
    let (app, token) = with_demo_customer().await;

    let response = post_sim(
        &app,
        &token,
        "501",
        "top-ups",
        Some("top-up-1"),
        Some(json!({ "quota_mb": 1024 })),
    )
    .await;

    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.expect("json");
    assert_eq!(result["action"], "top_up");
    assert_eq!(result["outcome"], "applied");
    assert_eq!(result["subscription_id"], 501);
    assert_eq!(result["parameters"], json!({ "quota_mb": 1024 }));
    assert!(result["action_id"].as_i64().is_some());
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["data"]["quota_mb"], 20480 + 1024);
    assert_eq!(sim["data"]["remaining_mb"], 13140 + 1024);
    assert_eq!(sim["data"]["added_mb"], 1024);
    let rows = audit_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, 501);
    assert_eq!(rows[0].1, "top_up");
    assert_eq!(rows[0].2, "succeeded");
    assert_eq!(rows[0].3, json!({ "quota_mb": 1024 }));
    app.stop().await;
}

#[tokio::test]
async fn top_ups_are_validated_before_anything_is_sent() {
    let (app, token) = with_demo_customer().await;

    for (n, quota) in [0, 512_001, -5].into_iter().enumerate() {
        let response = post_sim(
            &app,
            &token,
            "501",
            "top-ups",
            Some(&format!("bad-{n}")),
            Some(json!({ "quota_mb": quota })),
        )
        .await;
        assert_eq!(response.status(), 422, "quota {quota}");
        assert_eq!(field_errors(&problem(response).await), vec!["quota_mb"]);
    }
    let unknown_field = post_sim(
        &app,
        &token,
        "501",
        "top-ups",
        Some("bad-field"),
        Some(json!({ "quota_mb": 10, "free": true })),
    )
    .await;
    assert!(
        unknown_field.status().is_client_error(),
        "{}",
        unknown_field.status()
    );
    problem(unknown_field).await;
    let no_key = post_sim(
        &app,
        &token,
        "501",
        "top-ups",
        None,
        Some(json!({ "quota_mb": 10 })),
    )
    .await;
    assert_eq!(no_key.status(), 400);
    problem(no_key).await;
    // Valid for Freebit, but past the line's monthly cap (30720 MB in the test settings): nothing charged.
    let largest = post_sim(
        &app,
        &token,
        "501",
        "top-ups",
        Some("largest"),
        Some(json!({ "quota_mb": 512_000 })),
    )
    .await;
    assert_eq!(largest.status(), 409);
    assert_eq!(problem(largest).await["code"], "top-up-limit-reached");

    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 0);
    assert_eq!(app.sandbox().whmcs_calls("CreateInvoice"), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_plan_change_is_scheduled_or_applied_and_unknown_plans_or_past_dates_are_refused() {
    let (app, token) = with_demo_customer().await;
    let today = Utc::now().date_naive();
    let later = (today + Duration::days(10)).to_string();

    let scheduled = post_sim(
        &app,
        &token,
        "501",
        "plan-changes",
        Some("plan-1"),
        Some(json!({ "plan_code": "DATA_50GB", "effective_date": later })),
    )
    .await;
    assert_eq!(scheduled.status(), 200);
    let result: Value = scheduled.json().await.expect("json");
    assert_eq!(result["outcome"], "scheduled");
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["plan_code"], "DATA_20GB");
    assert_eq!(
        sim["pending_plan_change"],
        json!({ "plan_code": "DATA_50GB", "effective_date": later })
    );

    let now = post_sim(
        &app,
        &token,
        "501",
        "plan-changes",
        Some("plan-2"),
        Some(json!({ "plan_code": "DATA_10GB", "effective_date": today.to_string() })),
    )
    .await;
    assert_eq!(now.status(), 200);
    let result: Value = now.json().await.expect("json");
    assert_eq!(result["outcome"], "applied");
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["plan_code"], "DATA_10GB");

    let yesterday = (today - Duration::days(1)).to_string();
    for (n, body, field) in [
        (
            0,
            json!({ "plan_code": "DATA_2GB", "effective_date": later }),
            "plan_code",
        ),
        (
            1,
            json!({ "plan_code": "DATA_50GB", "effective_date": yesterday }),
            "effective_date",
        ),
        (
            2,
            json!({ "plan_code": "DATA_50GB", "effective_date": "1 December" }),
            "effective_date",
        ),
    ] {
        let response = post_sim(
            &app,
            &token,
            "501",
            "plan-changes",
            Some(&format!("bad-plan-{n}")),
            Some(body),
        )
        .await;
        assert_eq!(response.status(), 422, "{field}");
        assert_eq!(field_errors(&problem(response).await), vec![field]);
    }
    assert_eq!(app.sandbox().count_path(System::Freebit, "changePlan"), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_line_is_suspended_then_resumed_and_repeats_are_conflicts() {
    let (app, token) = with_demo_customer().await;

    let suspended = post_sim(&app, &token, "501", "suspend", Some("s-1"), None).await;
    assert_eq!(suspended.status(), 200);
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["status"], "suspended");

    let again = post_sim(&app, &token, "501", "suspend", Some("s-2"), None).await;
    assert_eq!(again.status(), 409);
    let body = problem(again).await;
    assert_eq!(body["detail"], "The SIM line is already suspended.");
    assert_eq!(body["code"], "sim-already-suspended");

    let resumed = post_sim(&app, &token, "501", "resume", Some("r-1"), None).await;
    assert_eq!(resumed.status(), 200);
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["status"], "active");
    let not_suspended = post_sim(&app, &token, "501", "resume", Some("r-2"), None).await;
    assert_eq!(not_suspended.status(), 409);
    assert_eq!(problem(not_suspended).await["code"], "sim-not-suspended");

    let rows = audit_rows(&app).await;
    let trail: Vec<(&str, &str)> = rows
        .iter()
        .map(|row| (row.1.as_str(), row.2.as_str()))
        .collect();
    assert_eq!(
        trail,
        vec![
            ("suspend", "succeeded"),
            ("suspend", "rejected"),
            ("resume", "succeeded"),
            ("resume", "rejected"),
        ]
    );
    assert_eq!(
        rows[1].5.as_deref(),
        Some("The SIM line is already suspended.")
    );
    // Refused before reaching Freebit: one suspend and one resume were sent.
    assert_eq!(app.sandbox().count_path(System::Freebit, "mvno/suspend"), 1);
    assert_eq!(app.sandbox().count_path(System::Freebit, "mvno/resume"), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_repeated_key_replays_the_answer_and_another_body_under_it_is_refused() {
    let (app, token) = with_demo_customer().await;
    let body = json!({ "quota_mb": 500 });

    let first = post_sim(
        &app,
        &token,
        "501",
        "top-ups",
        Some("same"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.expect("json");
    let repeat = post_sim(&app, &token, "501", "top-ups", Some("same"), Some(body)).await;
    assert_eq!(repeat.status(), 200);
    assert_eq!(
        repeat
            .headers()
            .get("Idempotent-Replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let repeat: Value = repeat.json().await.expect("json");
    assert_eq!(repeat, first);
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 1);
    let sim = get_json(&app, &token, "/api/v1/subscriptions/501/sim").await;
    assert_eq!(sim["data"]["added_mb"], 500);

    let other = post_sim(
        &app,
        &token,
        "501",
        "top-ups",
        Some("same"),
        Some(json!({ "quota_mb": 600 })),
    )
    .await;
    assert_eq!(other.status(), 422);
    let body = problem(other).await;
    assert_eq!(body["code"], "idempotency-key-reused");
    let suspend_same_key = post_sim(&app, &token, "501", "suspend", Some("same"), None).await;
    assert_eq!(suspend_same_key.status(), 422);
    assert_eq!(app.sandbox().count_path(System::Freebit, "addSpec"), 1);
    assert_eq!(audit_rows(&app).await.len(), 1);
    app.stop().await;
}
