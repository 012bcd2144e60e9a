//! Enrollments run by the job runner: the welcome-and-reminder path, every step kind, re-entry, exits, a
//! version published mid-run, a re-run step that does not send twice, and a wait across a restart.

use concierge::crm::journeys::{self, EnrollProfile, RunEnrollment};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    database_of, enrollment, enrollments, event, noon, path, post, published, reachable, sms,
    welcome,
};
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

async fn settled(app: &TestApp, token: &str, journey: Uuid, status: &str) -> Value {
    eventually(60, &format!("an enrollment {status}"), || async {
        enrollments(app, token, journey)
            .await
            .into_iter()
            .find(|e| e["status"] == status)
    })
    .await
}

#[tokio::test]
async fn a_signup_sends_the_welcome_then_the_reminder_after_the_wait() {
    let (app, token) = app().await;
    let hello = sms(&app, &token, "Welcome {{ profile.first_name }}").await;
    let reminder = sms(&app, &token, "Still there?").await;
    // Two days, 173 s here.
    let journey = published(&app, &token, welcome(hello, reminder, 2 * 86_400)).await;
    let (_, email, phone) = reachable(&app, &token, 10).await;
    event(&app, &token, "signup", &email, json!({})).await;
    let waiting = settled(&app, &token, journey, "waiting").await;
    let sent = app.sandbox().messages_to(&phone).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["body"], "Welcome Zoé");
    // The wait is shortened further (as the demo's clock would) by moving its wake-up forward.
    sqlx::query("UPDATE crm_journey_enrollments SET wake_at = now() WHERE id = $1")
        .bind(waiting["id"].as_str().unwrap().parse::<Uuid>().unwrap())
        .execute(&app.db)
        .await
        .unwrap();
    journeys_run(&app, waiting["id"].as_str().unwrap()).await;
    let done = settled(&app, &token, journey, "completed").await;
    let detail = enrollment(&app, &token, done["id"].as_str().unwrap()).await;
    assert_eq!(
        path(&detail),
        [
            ("welcome".into(), "sent".into()),
            ("two-days".into(), "waited".into()),
            ("reminder".into(), "sent".into())
        ]
    );
    let sent = app.sandbox().messages_to(&phone).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1]["body"], "Still there?");
    // `once`: another signup does not enroll again.
    event(&app, &token, "signup", &email, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(enrollments(&app, &token, journey).await.len(), 1);
}

async fn journeys_run(app: &TestApp, id: &str) {
    let mut conn = app.db.acquire().await.unwrap();
    concierge::jobs::enqueue(
        &mut conn,
        &app.state.settings.jobs,
        &RunEnrollment::now(id.parse().unwrap()),
        None,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn every_step_kind_runs_once_and_is_recorded() {
    let (app, token) = app().await;
    let hello = sms(&app, &token, "Hello").await;
    let journey = published(&app, &token, json!({
        "trigger": { "type": "event", "event": "signup", "properties": { "source": "web" } },
        "start": "gold",
        "steps": [
            { "type": "condition", "id": "gold", "rule": { "attribute": "tier", "op": "eq", "value": "gold" }, "yes": "emit", "no": "promote" },
            { "type": "update_attribute", "id": "promote", "attribute": "tier", "value": "silver", "next": "tag" },
            { "type": "add_tag", "id": "tag", "tag": "welcomed", "next": "pause" },
            { "type": "wait", "id": "pause", "duration_secs": 1, "next": "hello" },
            { "type": "send", "id": "hello", "template_id": hello, "channel": "sms", "purpose": "marketing", "next": "emit" },
            { "type": "emit", "id": "emit", "name": "welcomed", "payload": { "gift": true }, "next": null }
        ]})).await;
    let (profile, email, phone) = reachable(&app, &token, 11).await;
    // The filter: another source does not trigger.
    event(&app, &token, "signup", &email, json!({ "source": "store" })).await;
    event(&app, &token, "signup", &email, json!({ "source": "web" })).await;
    let done = settled(&app, &token, journey, "completed").await;
    let detail = enrollment(&app, &token, done["id"].as_str().unwrap()).await;
    let outcomes: Vec<String> = path(&detail).into_iter().map(|(_, o)| o).collect();
    assert_eq!(
        outcomes,
        ["no", "updated", "tagged", "waited", "sent", "emitted"],
        "{detail}"
    );
    assert_eq!(
        enrollments(&app, &token, journey).await.len(),
        1,
        "the other source did not enroll"
    );
    let (tier, tags): (Option<String>, Vec<String>) =
        sqlx::query_as("SELECT tier, tags FROM crm_profiles WHERE id = $1")
            .bind(profile)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(tier.as_deref(), Some("silver"));
    assert_eq!(tags, ["welcomed"]);
    assert_eq!(app.sandbox().messages_to(&phone).await.len(), 1);
    let emitted: Vec<Value> =
        sqlx::query_scalar("SELECT payload FROM outbox_events WHERE topic = 'crm.journey.emitted'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(emitted.len(), 1);
    assert_eq!(emitted[0]["payload"]["gift"], true);
    // A re-run of the whole path (a crash lost every record after the effects) acts once: the same keys.
    let id: Uuid = done["id"].as_str().unwrap().parse().unwrap();
    sqlx::query("DELETE FROM crm_journey_steps WHERE enrollment_id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE crm_journey_enrollments SET status = 'active', current_step = 'gold', step_count = 0, ended_at = NULL WHERE id = $1")
        .bind(id).execute(&app.db).await.unwrap();
    sqlx::query("UPDATE crm_profiles SET tier = NULL WHERE id = $1")
        .bind(profile)
        .execute(&app.db)
        .await
        .unwrap();
    journeys_run(&app, &id.to_string()).await;
    eventually(60, "the re-run completes", || async {
        let detail = enrollment(&app, &token, &id.to_string()).await;
        (detail["status"] == "completed").then_some(())
    })
    .await;
    assert_eq!(
        app.sandbox().messages_to(&phone).await.len(),
        1,
        "sent once"
    );
    let actions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM crm_activities WHERE profile_id = $1 AND type = 'journey_action'",
    )
    .bind(profile)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(actions, 2, "one update, one tag");
}

#[tokio::test]
async fn re_entry_policies_and_exit_events() {
    let (app, token) = app().await;
    let hello = sms(&app, &token, "Hello").await;
    let mut always = welcome(hello, hello, 3600 * 1000);
    always["reentry"] = json!({ "policy": "always" });
    always["trigger"]["event"] = json!("visit");
    let journey = published(&app, &token, always).await;
    let (_, email, _) = reachable(&app, &token, 12).await;
    event(&app, &token, "visit", &email, json!({})).await;
    let waiting = settled(&app, &token, journey, "waiting").await;
    // Running: a second trigger does not enroll twice.
    event(&app, &token, "visit", &email, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(enrollments(&app, &token, journey).await.len(), 1);
    // The exit event ends it.
    event(
        &app,
        &token,
        "purchase",
        &email,
        json!({ "order_id": "o-1", "amount": "10.00", "currency": "EUR" }),
    )
    .await;
    let exited = settled(&app, &token, journey, "exited").await;
    assert_eq!(exited["id"], waiting["id"]);
    assert_eq!(exited["reason"], "exit_event:purchase");
    // `always`: after it ended, the next trigger enrolls again.
    event(&app, &token, "visit", &email, json!({})).await;
    eventually(60, "a second enrollment", || async {
        (enrollments(&app, &token, journey).await.len() == 2).then_some(())
    })
    .await;
    // `after_days`: not again within the days (checked on the job's own function).
    let mut later = welcome(hello, hello, 60);
    later["reentry"] = json!({ "policy": "after_days", "days": 30 });
    later["trigger"]["event"] = json!("nothing_sends_this");
    let journey = published(&app, &token, later).await;
    let brand = super::super::crm_messages::brand(&app, "maison").await;
    let (profile, _, _) = reachable(&app, &token, 13).await;
    let job = |n: u32| EnrollProfile {
        brand_id: brand.id,
        journey_id: journey,
        profile_id: profile,
        trigger_ref: format!("test:{n}"),
    };
    let first = journeys::enroll_now(&app.state.crm, &app.state.settings, &job(1))
        .await
        .unwrap();
    assert!(first.is_ok(), "{first:?}");
    // Its 60 s wait is 60 ms here: it completes.
    settled(&app, &token, journey, "completed").await;
    let again = journeys::enroll_now(&app.state.crm, &app.state.settings, &job(2))
        .await
        .unwrap();
    assert_eq!(again, Err(journeys::Refused::Reentry));
    sqlx::query("UPDATE crm_journey_enrollments SET entered_at = now() - interval '31 days' WHERE journey_id = $1")
        .bind(journey).execute(&app.db).await.unwrap();
    let after = journeys::enroll_now(&app.state.crm, &app.state.settings, &job(3))
        .await
        .unwrap();
    assert!(after.is_ok(), "{after:?}");
}

#[tokio::test]
async fn running_enrollments_finish_on_their_version_and_waits_survive_a_restart() {
    let (app, token) = app().await;
    let first = sms(&app, &token, "Version one").await;
    let second = sms(&app, &token, "Version two").await;
    // 6,000 s scaled: 6 s.
    let journey = published(&app, &token, welcome(first, first, 6000)).await;
    let (_, email, phone) = reachable(&app, &token, 14).await;
    event(&app, &token, "signup", &email, json!({})).await;
    let waiting = settled(&app, &token, journey, "waiting").await;
    assert_eq!(waiting["version"], 1);
    // Version 2 sends another reminder; the running enrollment stays on version 1.
    let response = app
        .client
        .put(app.url(&format!("/api/v1/brands/maison/crm/journeys/{journey}")))
        .bearer_auth(&token)
        .json(&json!({ "name": "W", "definition": welcome(second, second, 6000) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/journeys/{journey}/publish"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    // Stop the process mid-wait; another one on the same database finishes it.
    let sandbox = app.sandbox().clone();
    let database = database_of(&app);
    app.stop().await;
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .sharing(&sandbox)
            .database(&database)
            .configure(|settings| settings.crm.journeys.time_scale = 0.001),
    )
    .await;
    noon(&app);
    let done = settled(&app, &token, journey, "completed").await;
    assert_eq!(done["id"], waiting["id"]);
    let bodies: Vec<Value> = app
        .sandbox()
        .messages_to(&phone)
        .await
        .into_iter()
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(bodies, [json!("Version one"), json!("Version one")]);
}

#[tokio::test]
async fn the_demo_journey_is_seeded_once_and_welcomes_a_signup() {
    let (app, token) = app().await;
    let brand = super::super::crm_messages::brand(&app, "maison").await;
    let created = journeys::ensure_demo_journey(&app.db, brand.id)
        .await
        .unwrap();
    let journey = created.expect("created the first time");
    assert_eq!(
        journeys::ensure_demo_journey(&app.db, brand.id)
            .await
            .unwrap(),
        None
    );
    let (_, email, phone) = reachable(&app, &token, 15).await;
    event(&app, &token, "signup", &email, json!({})).await;
    let waiting = settled(&app, &token, journey, "waiting").await;
    let sent = app.sandbox().messages_to(&phone).await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]["body"].as_str().unwrap().contains("welcome, Zoé"),
        "{sent:?}"
    );
    // Two days at the test's time scale: under three minutes from now.
    let wake: chrono::DateTime<chrono::Utc> = waiting["wake_at"].as_str().unwrap().parse().unwrap();
    let left = wake - chrono::Utc::now();
    assert!(
        left > chrono::Duration::seconds(100) && left < chrono::Duration::seconds(180),
        "{left}"
    );
}
