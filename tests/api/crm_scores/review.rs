//! Review of issue 12: hostile but valid rules and odd data must never fail an event or the nightly run.

use serde_json::json;

use super::{clock, default_rules, event, nightly, put_rules, scores_of, send};
use crate::helpers::{marketer_token, spawn_app};

#[tokio::test]
async fn a_short_half_life_over_a_long_window_fails_no_event_and_no_nightly_run() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    // Both within their documented ranges: 1 day and 1,830 days.
    let mut rules = default_rules();
    rules["engagement"]["half_life_days"] = json!(1.0);
    rules["engagement"]["window_days"] = json!(1830);
    let (status, body) = put_rules(&app, &token, "maison", &rules).await;
    assert_eq!(status, 200, "{body}");
    clock(&app, "2026-06-01T12:00:00Z");
    // 1,157 days old, inside the window: 0.5^1157 is below the smallest float8, which PostgreSQL's
    // power() refuses ("value out of range: underflow") instead of answering 0.
    let old = event(
        "pv-old",
        "page_view",
        "jane@example.com",
        "2023-04-01T12:00:00Z",
        json!({"url": "https://maison.example/bags"}),
    );
    let jane = send(&app, &token, vec![old]).await;
    let scores = scores_of(&app, &token, &jane).await;
    assert_eq!(scores["engagement"]["value"], 0, "{scores}");
    // Nor does it stop the nightly run (for every brand).
    clock(&app, "2026-06-02T12:00:00Z");
    let summary = nightly(&app).await;
    assert!(summary.profiles >= 1);
}

#[tokio::test]
async fn the_nightly_run_never_overwrites_a_newer_events_scores_with_its_older_instant() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    clock(&app, "2026-06-01T12:00:00Z");
    let view = |id: &str, email: &str| {
        event(
            id,
            "page_view",
            email,
            "2026-06-01T11:00:00Z",
            json!({"url": "https://maison.example/bags"}),
        )
    };
    // Anna's profile comes first in the run's order (ids are time-ordered), Jane's after.
    let anna = send(&app, &token, vec![view("pv-a", "anna@example.com")]).await;
    let jane = send(&app, &token, vec![view("pv-j", "jane@example.com")]).await;
    let anna: uuid::Uuid = anna.parse().unwrap();

    // The run starts at 12:00 and is held on Anna (as a long run is busy with earlier profiles) …
    let mut holder = app.db.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM crm_scores WHERE profile_id = $1 FOR UPDATE")
        .bind(anna)
        .execute(&mut *holder)
        .await
        .unwrap();
    let run = tokio::spawn({
        let db = app.db.clone();
        let clock = app.state.crm.scores().clock().clone();
        async move { concierge::crm::scores::nightly::recompute_all(&db, &clock, 1).await }
    });
    crate::helpers::eventually(20, "the run waiting on Anna", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        (waiting > 0).then_some(())
    })
    .await;
    // … while, two hours later, Jane opens a support case: her event scores it as of 14:00.
    clock(&app, "2026-06-01T14:00:00Z");
    send(
        &app,
        &token,
        vec![event(
            "s-j",
            "support_case_opened",
            "jane@example.com",
            "2026-06-01T13:00:00Z",
            json!({"case_id": "c-1"}),
        )],
    )
    .await;
    let after_event = scores_of(&app, &token, &jane).await["churn_risk"].clone();
    assert_eq!(after_event["value"], 8, "{after_event}");
    holder.rollback().await.unwrap();
    run.await.unwrap().unwrap();

    // The run reached Jane after her event: it must not put back a score as of 12:00 that ignores it.
    let churn = scores_of(&app, &token, &jane).await["churn_risk"].clone();
    assert_eq!(churn["value"], 8, "{churn}");
    assert_eq!(churn["computed_at"], "2026-06-01T14:00:00Z");
}

#[tokio::test]
async fn a_lapsed_profile_whose_score_stays_put_gains_no_history_row_each_night() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    clock(&app, "2026-01-01T12:00:00Z");
    let jane = send(
        &app,
        &token,
        vec![event(
            "pv-1",
            "page_view",
            "jane@example.com",
            "2026-01-01T12:00:00Z",
            json!({"url": "https://maison.example/bags"}),
        )],
    )
    .await;
    let id: uuid::Uuid = jane.parse().unwrap();
    let rows = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM crm_score_history WHERE profile_id = $1 AND score = 'churn_risk'",
        )
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    // Five months on, recency weighs in full: churn risk 70 (50 recency, 20 frequency).
    clock(&app, "2026-06-01T12:00:00Z");
    nightly(&app).await;
    let churn = scores_of(&app, &token, &jane).await["churn_risk"].clone();
    assert_eq!(churn["value"], 70, "{churn}");
    let before = rows().await;
    // Night after night nothing changes but the day count in a reason: at a million lapsed profiles that
    // was a million history rows a night, for ever, each saying "70, was 70".
    for night in ["2026-06-02T12:00:00Z", "2026-06-03T12:00:00Z"] {
        clock(&app, night);
        nightly(&app).await;
    }
    assert_eq!(rows().await, before, "no change of value or contributions");
    // The current score still shows today's figures.
    let churn = scores_of(&app, &token, &jane).await["churn_risk"].clone();
    assert_eq!(churn["value"], 70);
    assert_eq!(churn["computed_at"], "2026-06-03T12:00:00Z");
    assert_eq!(churn["reasons"][0]["factor"], "days_since_last_activity");
    assert_eq!(churn["reasons"][0]["value"], 153.0);
}
