//! Engagement on known data: points, per-day and per-type caps, decay over (stopped-clock) time, the
//! window, and the history each change leaves.

use serde_json::{Value, json};

use super::{clock, event, nightly, purchase, reasons, scores_of, send};
use crate::crm_events::ingest;
use crate::helpers::{get_as, marketer_token, spawn_app};

#[tokio::test]
async fn engagement_sums_points_capped_per_day_with_its_reasons_also_in_the_profile_view() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    clock(&app, "2026-10-10T12:00:00Z");
    let jane = send(
        &app,
        &token,
        vec![
            purchase("p-1", "jane@example.com", "2026-10-10T09:00:00Z", "100.00"),
            purchase("p-2", "jane@example.com", "2026-10-10T10:00:00Z", "100.00"),
            purchase("p-3", "jane@example.com", "2026-10-10T11:00:00Z", "100.00"),
            event(
                "v-1",
                "page_view",
                "jane@example.com",
                "2026-10-10T10:00:00Z",
                json!({"url": "https://maison.example/bags"}),
            ),
        ],
    )
    .await;
    let scores = scores_of(&app, &token, &jane).await;
    // Two purchases a day count (25 points each, an hour old), the third does not; one fresh page view.
    assert_eq!(scores["engagement"]["value"], 51, "{scores}");
    assert_eq!(
        reasons(&scores["engagement"]),
        [
            ("purchase".to_owned(), 2.0, 50),
            ("page_view".to_owned(), 1.0, 1)
        ]
    );
    assert_eq!(scores["engagement"]["rules_version"], 0);
    assert_eq!(scores["engagement"]["computed_at"], "2026-10-10T12:00:00Z");
    // All on one day an hour ago: nothing to fear yet.
    assert_eq!(scores["churn_risk"]["value"], 0, "{scores}");

    let profile: Value = get_as(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/profiles/{jane}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(profile["id"], jane.as_str());
    assert_eq!(
        profile["scores"], scores,
        "the profile view carries the same scores"
    );
}

#[tokio::test]
async fn a_type_gives_at_most_its_cap_however_many_days_it_occurs() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    clock(&app, "2026-09-02T12:00:00Z");
    let mut opens = Vec::new();
    for day in ["2026-09-01", "2026-09-02"] {
        for hour in 1..=5 {
            opens.push(event(
                &format!("o-{day}-{hour}"),
                "email_opened",
                "jane@example.com",
                &format!("{day}T0{hour}:00:00Z"),
                json!({"campaign_id": "c-1"}),
            ));
        }
    }
    let jane = send(&app, &token, opens).await;
    let scores = scores_of(&app, &token, &jane).await;
    // Three opens a day count (6 in all, 2 points each, ~11.6 decayed): the type's cap is 10.
    assert_eq!(
        reasons(&scores["engagement"]),
        [("email_opened".to_owned(), 6.0, 10)]
    );
    assert_eq!(scores["engagement"]["value"], 10);
}

#[tokio::test]
async fn engagement_halves_every_half_life_and_leaves_with_the_window_and_history_says_why() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    clock(&app, "2026-01-01T12:00:00Z");
    let jane = send(
        &app,
        &token,
        vec![purchase(
            "p-1",
            "jane@example.com",
            "2026-01-01T12:00:00Z",
            "80.00",
        )],
    )
    .await;
    assert_eq!(
        scores_of(&app, &token, &jane).await["engagement"]["value"],
        25
    );

    let mut seen = vec![25];
    for (when, expected) in [
        ("2026-01-31T12:00:00Z", 13), // 12.5
        ("2026-03-02T12:00:00Z", 6),  // 6.25
        ("2027-01-02T12:00:00Z", 0),  // out of the 365-day window
    ] {
        clock(&app, when);
        let summary = nightly(&app).await;
        assert!(summary.profiles >= 1);
        let scores = scores_of(&app, &token, &jane).await;
        assert_eq!(
            scores["engagement"]["value"], expected,
            "at {when}: {scores}"
        );
        assert_eq!(scores["engagement"]["computed_at"], when);
        seen.push(expected);
    }
    assert_eq!(
        reasons(&scores_of(&app, &token, &jane).await["engagement"]),
        [],
        "nothing contributes any more"
    );
    // Nothing changed since: another run writes no history.
    nightly(&app).await;

    let path = format!(
        "/api/v1/brands/maison/crm/profiles/{jane}/scores/history?score=engagement&limit=3"
    );
    let page: Value = get_as(&app, &token, &path).await.json().await.unwrap();
    let values: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["value"].as_i64().unwrap())
        .collect();
    assert_eq!(values, [0, 6, 13], "newest first: {page}");
    assert_eq!(page["items"][0]["previous"], 6);
    assert_eq!(page["items"][0]["cause"], "nightly");
    assert_eq!(page["profile_id"], jane.as_str());
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let rest: Value = get_as(&app, &token, &format!("{path}&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(rest["items"][0]["value"], 25);
    assert_eq!(rest["items"][0]["previous"], Value::Null);
    assert_eq!(rest["items"][0]["cause"], "event");
    assert_eq!(
        reasons(&rest["items"][0]),
        [("purchase".to_owned(), 1.0, 25)]
    );
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(seen, [25, 13, 6, 0]);

    // Both scores, when not filtered.
    let all: Value = get_as(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/profiles/{jane}/scores/history?limit=100"),
    )
    .await
    .json()
    .await
    .unwrap();
    let kinds: std::collections::BTreeSet<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["score"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["churn_risk", "engagement"]
    );
}

#[tokio::test]
async fn a_replayed_event_changes_no_score_and_writes_no_history() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    clock(&app, "2026-05-01T12:00:00Z");
    let batch = json!([purchase(
        "p-1",
        "jane@example.com",
        "2026-05-01T10:00:00Z",
        "10.00"
    )]);
    let answer = ingest(&app, &token, "maison", &batch).await;
    let jane = answer["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let count = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM crm_score_history WHERE profile_id = $1::uuid",
        )
        .bind(&jane)
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    let before = count().await;
    assert_eq!(before, 2, "one row per score");
    clock(&app, "2026-05-20T12:00:00Z");
    let replay = ingest(&app, &token, "maison", &batch).await;
    assert_eq!(replay["results"][0]["status"], "duplicate");
    assert_eq!(count().await, before);
    assert_eq!(
        scores_of(&app, &token, &jane).await["engagement"]["computed_at"],
        "2026-05-01T12:00:00Z"
    );
}
