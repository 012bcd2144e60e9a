//! Journey paths the other files do not take: a segment entry enrolling end to end (the membership change's
//! outbox event → the segment-entry feed → the enrollment job → the send), and a pause holding enrollments
//! until the resume lets them go on.

use serde_json::json;
use uuid::Uuid;

use super::{enrollment, enrollments, noon, path, post, published, reachable, sms, welcome};
use crate::helpers::{Sandboxed, TestApp, eventually, marketer_token, spawn_sandboxed_app_with};

/// An app running jobs, waits shortened a thousandfold.
async fn app() -> (TestApp, String) {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .configure(|settings| settings.crm.journeys.time_scale = 0.001),
    )
    .await;
    noon(&app);
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    (app, token)
}

async fn with_status(
    app: &TestApp,
    token: &str,
    journey: Uuid,
    status: &str,
) -> Vec<serde_json::Value> {
    enrollments(app, token, journey)
        .await
        .into_iter()
        .filter(|e| e["status"] == status)
        .collect()
}

async fn add_members(app: &TestApp, token: &str, segment: Uuid, members: &[Uuid]) {
    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/brands/maison/crm/segments/{segment}/members"
        )))
        .bearer_auth(token)
        .json(&json!({ "add": members }))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
}

#[tokio::test]
async fn entering_a_segment_enrolls_the_profile_once_and_runs_its_journey() {
    let (app, token) = app().await;
    let hello = sms(&app, &token, "You are in, {{ profile.first_name }}").await;
    let audience = crate::crm_campaigns::segment(&app, &token, "maison", &[]).await;
    let journey = published(
        &app,
        &token,
        json!({
            "trigger": { "type": "segment_entry", "segment_id": audience },
            "start": "hello",
            "steps": [
                { "type": "send", "id": "hello", "template_id": hello, "channel": "sms",
                  "purpose": "marketing", "next": null }
            ]
        }),
    )
    .await;
    let (inside, _, phone) = reachable(&app, &token, 31).await;
    let (outside, _, other_phone) = reachable(&app, &token, 32).await;

    add_members(&app, &token, audience, &[inside]).await;
    let done = eventually(60, "the entrant's enrollment completed", || async {
        with_status(&app, &token, journey, "completed").await.pop()
    })
    .await;
    assert_eq!(done["profile_id"], inside.to_string());
    let detail = enrollment(&app, &token, done["id"].as_str().unwrap()).await;
    assert_eq!(path(&detail), [("hello".into(), "sent".into())]);
    let sent = app.sandbox().messages_to(&phone).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["body"], "You are in, Zoé");

    // Adding the member again is no entry; the profile outside never entered.
    add_members(&app, &token, audience, &[inside]).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let all = enrollments(&app, &token, journey).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(app.sandbox().messages_to(&other_phone).await.is_empty());
    assert_ne!(all[0]["profile_id"], outside.to_string());
}

#[tokio::test]
async fn a_paused_journey_holds_its_enrollments_until_it_is_resumed() {
    let (app, token) = app().await;
    let hello = sms(&app, &token, "Welcome").await;
    let reminder = sms(&app, &token, "Reminder").await;
    // 2,000 s scaled: 2 s.
    let journey = published(&app, &token, welcome(hello, reminder, 2000)).await;
    let (_, email, phone) = reachable(&app, &token, 33).await;
    super::event(&app, &token, "signup", &email, json!({})).await;
    let waiting = eventually(60, "the enrollment waiting", || async {
        with_status(&app, &token, journey, "waiting").await.pop()
    })
    .await;

    let (status, body) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/journeys/{journey}/pause"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "paused");
    // The wait ends while paused: the enrollment stays where it is and nothing more is sent.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let held = enrollment(&app, &token, waiting["id"].as_str().unwrap()).await;
    assert_eq!(held["status"], "waiting", "{held}");
    assert_eq!(path(&held), [("welcome".into(), "sent".into())]);
    assert_eq!(app.sandbox().messages_to(&phone).await.len(), 1);

    let (status, body) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/journeys/{journey}/resume"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "active");
    let done = eventually(60, "the enrollment completed after the resume", || async {
        with_status(&app, &token, journey, "completed").await.pop()
    })
    .await;
    assert_eq!(done["id"], waiting["id"]);
    let detail = enrollment(&app, &token, done["id"].as_str().unwrap()).await;
    assert_eq!(
        path(&detail),
        [
            ("welcome".into(), "sent".into()),
            ("two-days".into(), "waited".into()),
            ("reminder".into(), "sent".into())
        ]
    );
    let bodies: Vec<_> = app
        .sandbox()
        .messages_to(&phone)
        .await
        .into_iter()
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(
        bodies,
        [json!("Welcome"), json!("Reminder")],
        "each sent once"
    );
}
