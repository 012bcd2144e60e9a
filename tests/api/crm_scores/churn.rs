//! Churn risk on known data and the crossing rule: `crm.churn.risk.high` once per crossing above 80, not
//! while it stays above, and again after it fell and crossed once more.

use serde_json::json;

use super::{
    clock, default_rules, event, high_risk_events, nightly, purchase, put_rules, reasons,
    scores_of, send,
};
use crate::helpers::{marketer_token, spawn_app};

fn page_view(id: &str, when: &str) -> serde_json::Value {
    event(
        id,
        "page_view",
        "jane@example.com",
        when,
        json!({"url": "https://maison.example/bags"}),
    )
}

#[tokio::test]
async fn churn_risk_weighs_spend_negative_signals_and_opt_outs_on_known_data() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    // Sent as they happen, each scored at its own time (a backfill in one batch scores every step of the
    // way, and may cross on the way).
    let mut jane = String::new();
    for event in [
        purchase("p-1", "jane@example.com", "2026-04-03T12:00:00Z", "300.00"),
        purchase("p-2", "jane@example.com", "2026-04-23T12:00:00Z", "100.00"),
        purchase("p-3", "jane@example.com", "2026-07-22T12:00:00Z", "100.00"),
        event(
            "s-1",
            "support_case_opened",
            "jane@example.com",
            "2026-07-27T12:00:00Z",
            json!({"case_id": "c-1"}),
        ),
    ] {
        clock(&app, event["occurred_at"].as_str().unwrap());
        jane = send(&app, &token, vec![event]).await;
    }
    clock(&app, "2026-08-01T12:00:00Z");
    let response = app
        .client
        .put(app.url(&format!(
            "/api/v1/brands/maison/crm/profiles/{jane}/consents/email/marketing"
        )))
        .bearer_auth(&token)
        .json(&json!({"status": "denied", "source": "preference_center",
                      "captured_at": "2026-07-29T12:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The opt-out is no event, yet it is taken in at once: the consent change recomputes her scores.
    let churn = scores_of(&app, &token, &jane).await["churn_risk"].clone();
    // Spend fell from 400 to 100 in the last 90 days (75 % of 15), one opt-out (10), one case (8); the
    // activity count did not fall (2 and 2) and the last activity is 5 days old against a usual gap of 38.
    assert_eq!(churn["value"], 29, "{churn}");
    assert_eq!(
        reasons(&churn),
        [
            ("spend_change_percent".to_owned(), -75.0, 11),
            ("opt_outs_recent".to_owned(), 1.0, 10),
            ("support_case_opened_recent".to_owned(), 1.0, 8),
        ]
    );
    assert!(high_risk_events(&app, &jane).await.is_empty());
}

#[tokio::test]
async fn crossing_above_80_emits_once_staying_above_does_not_and_crossing_again_does() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let mut rules = default_rules();
    rules["churn"]["recency_weight"] = json!(90);
    rules["churn"]["recency_full_ratio"] = json!(2);
    rules["churn"]["frequency_weight"] = json!(0);
    rules["churn"]["spend_weight"] = json!(0);
    let (status, body) = put_rules(&app, &token, "maison", &rules).await;
    assert_eq!(status, 200, "{body}");

    clock(&app, "2026-02-21T12:00:00Z");
    let jane = send(
        &app,
        &token,
        vec![
            page_view("v-0", "2026-02-01T12:00:00Z"),
            page_view("v-10", "2026-02-11T12:00:00Z"),
            page_view("v-20", "2026-02-21T12:00:00Z"),
        ],
    )
    .await;
    assert_eq!(
        scores_of(&app, &token, &jane).await["churn_risk"]["value"],
        0
    );

    // Forty days of silence against a usual gap of ten: the whole recency weight.
    clock(&app, "2026-04-02T12:00:00Z");
    let summary = nightly(&app).await;
    assert_eq!(summary.crossed, 1);
    let churn = scores_of(&app, &token, &jane).await["churn_risk"].clone();
    assert_eq!(churn["value"], 90);
    assert_eq!(
        reasons(&churn),
        [("days_since_last_activity".to_owned(), 40.0, 90)]
    );
    let events = high_risk_events(&app, &jane).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["value"], 90);
    assert_eq!(events[0]["previous"], 0);
    assert_eq!(events[0]["profile_id"], jane.as_str());
    assert_eq!(events[0]["cause"], "nightly");
    assert_eq!(events[0]["rules_version"], 1);
    assert_eq!(
        events[0]["reasons"][0]["factor"],
        "days_since_last_activity"
    );

    // Still above the next night: nothing more.
    clock(&app, "2026-04-03T12:00:00Z");
    assert_eq!(nightly(&app).await.crossed, 0);
    assert_eq!(high_risk_events(&app, &jane).await.len(), 1);

    // She comes back: the risk falls, in the event's own transaction.
    clock(&app, "2026-04-04T12:00:00Z");
    send(
        &app,
        &token,
        vec![page_view("v-62", "2026-04-04T12:00:00Z")],
    )
    .await;
    assert_eq!(
        scores_of(&app, &token, &jane).await["churn_risk"]["value"],
        0
    );
    assert_eq!(high_risk_events(&app, &jane).await.len(), 1);

    // Silent again for almost three usual gaps (now ~21 days): it crosses again.
    clock(&app, "2026-06-02T12:00:00Z");
    assert_eq!(nightly(&app).await.crossed, 1);
    let events = high_risk_events(&app, &jane).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["previous"], 0);
}

#[tokio::test]
async fn a_negative_signal_crosses_in_the_events_own_transaction() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let mut rules = default_rules();
    rules["churn"]["negative"]["support_case_opened"] = json!({"points": 45, "cap": 90});
    let (status, body) = put_rules(&app, &token, "maison", &rules).await;
    assert_eq!(status, 200, "{body}");
    clock(&app, "2026-03-10T12:00:00Z");
    let case = |id: &str| {
        event(
            id,
            "support_case_opened",
            "jane@example.com",
            "2026-03-10T10:00:00Z",
            json!({"case_id": id}),
        )
    };
    let jane = send(&app, &token, vec![case("c-1")]).await;
    assert_eq!(
        scores_of(&app, &token, &jane).await["churn_risk"]["value"],
        45
    );
    assert!(high_risk_events(&app, &jane).await.is_empty());
    // 90 > 80: the same event's transaction holds the score and the outbox event.
    send(&app, &token, vec![case("c-2")]).await;
    let events = high_risk_events(&app, &jane).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["cause"], "event");
    assert_eq!(events[0]["previous"], 45);
    // A third case leaves it at the cap, above 80: no second event.
    send(&app, &token, vec![case("c-3")]).await;
    assert_eq!(
        scores_of(&app, &token, &jane).await["churn_risk"]["value"],
        90
    );
    assert_eq!(high_risk_events(&app, &jane).await.len(), 1);
}
