//! atk13's review of journeys: a profile merged mid-journey. Each test was written failing, before its fix.

use concierge::crm::journeys::{self, EnrollProfile};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{enrollments, event, noon, post, published, reachable, sms, welcome};
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

async fn merge(app: &TestApp, token: &str, survivor: Uuid, absorbed: Uuid) {
    let (status, body) = post(
        app,
        token,
        "/api/v1/brands/maison/crm/merges",
        &json!({ "survivor_id": survivor, "absorbed_ids": [absorbed], "dry_run": false }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn with_status(app: &TestApp, token: &str, journey: Uuid, status: &str) -> Value {
    eventually(60, &format!("an enrollment {status}"), || async {
        enrollments(app, token, journey)
            .await
            .into_iter()
            .find(|e| e["status"] == status)
    })
    .await
}

/// A profile enrolled and waiting in the welcome journey (exit on `purchase`, re-entry `once`), then merged
/// into another profile: (journey, the waiting enrollment, the survivor, the survivor's e-mail).
async fn enrolled_then_merged(app: &TestApp, token: &str, n: u32) -> (Uuid, Value, Uuid, String) {
    let hello = sms(app, token, "Hello").await;
    let journey = published(app, token, welcome(hello, hello, 3600 * 1000)).await;
    let (absorbed, absorbed_email, _) = reachable(app, token, n).await;
    event(app, token, "signup", &absorbed_email, json!({})).await;
    let waiting = with_status(app, token, journey, "waiting").await;
    let (survivor, survivor_email, _) = reachable(app, token, n + 1).await;
    merge(app, token, survivor, absorbed).await;
    (journey, waiting, survivor, survivor_email)
}

#[tokio::test]
async fn an_enrollment_begun_on_a_profile_merged_since_exits_on_the_persons_exit_event() {
    let (app, token) = app().await;
    let (journey, waiting, _, survivor_email) = enrolled_then_merged(&app, &token, 30).await;

    event(
        &app,
        &token,
        "purchase",
        &survivor_email,
        json!({ "order_id": "o-atk13", "amount": "10.00", "currency": "EUR" }),
    )
    .await;

    let exited = with_status(&app, &token, journey, "exited").await;
    assert_eq!(exited["id"], waiting["id"]);
    assert_eq!(exited["reason"], "exit_event:purchase");
}

#[tokio::test]
async fn a_person_merged_while_enrolled_is_not_enrolled_again_as_the_survivor() {
    let (app, token) = app().await;
    let (journey, _, survivor, survivor_email) = enrolled_then_merged(&app, &token, 32).await;
    let brand = crate::crm_messages::brand(&app, "maison").await;
    let job = EnrollProfile {
        brand_id: brand.id,
        journey_id: journey,
        profile_id: survivor,
        trigger_ref: "test:atk13".into(),
    };

    let again = journeys::enroll_now(&app.state.crm, &app.state.settings, &job)
        .await
        .unwrap();

    assert_eq!(again, Err(journeys::Refused::Running));
    // Nor through the trigger itself.
    event(&app, &token, "signup", &survivor_email, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(enrollments(&app, &token, journey).await.len(), 1);
}
