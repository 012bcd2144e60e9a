//! The freeze and delivery: each suppression reason at the freeze, consent revoked before the send, quiet
//! hours, pause/resume/cancel, the pinned template version, and the whole path through the job runner.

use chrono::{TimeZone, Utc};
use concierge::crm::campaigns::{self, Frozen, RunEnd};
use serde_json::{Value, json};

use super::*;
use crate::helpers::{Sandboxed, eventually};

#[tokio::test]
async fn the_freeze_suppresses_with_reasons_and_delivery_sends_each_member_once() {
    let (app, token) = app().await;
    let ok = reachable(&app, &token, 1).await;
    let no_phone = profile(&app, &token, "maison", json!({ "first_name": "N" })).await;
    consent(
        &app,
        &token,
        "maison",
        no_phone,
        "sms",
        "marketing",
        "granted",
    )
    .await;
    let unknown = profile(&app, &token, "maison", json!({ "phone": phone(2) })).await;
    let denied = profile(&app, &token, "maison", json!({ "phone": phone(3) })).await;
    consent(&app, &token, "maison", denied, "sms", "marketing", "denied").await;
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let audience = segment(&app, &token, "maison", &[ok, no_phone, unknown, denied]).await;
    let id = create(&app, &token, &body(audience, template)).await;
    assert_eq!(launch(&app, &token, id, "k1").await.status(), 200);
    let c = handle(&app);
    assert_eq!(
        campaigns::freeze(&c, &maison, id).await.unwrap(),
        Some(Frozen {
            queued: 1,
            suppressed: 3
        })
    );
    assert_eq!(
        campaigns::freeze(&c, &maison, id).await.unwrap(),
        None,
        "a re-run of the freeze adds nothing"
    );
    let mut rows = recipients(&app, &token, id, "&status=suppressed").await;
    rows.sort();
    let mut expected = vec![
        (no_phone, "no_address"),
        (unknown, "no_consent"),
        (denied, "consent_denied"),
    ];
    expected.sort();
    let got: Vec<_> = rows
        .iter()
        .map(|(p, _, r, _)| (*p, r.as_deref().unwrap()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(get(&app, &token, id).await["status"], "sending");

    assert_eq!(deliver_all(&app, &maison, id, 5).await, RunEnd::Completed);
    let sent = app.sandbox().messages_to(&phone(1)).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["body"], "Hello P1 from Maison");
    let campaign = get(&app, &token, id).await;
    assert_eq!(campaign["status"], "completed", "{campaign}");
    let counts = &campaign["counts"];
    assert_eq!(counts["total"], 4);
    assert_eq!(counts["sent"], 1);
    assert_eq!(counts["suppressed"], 3);
    assert_eq!(counts["queued"], 0);
    assert_eq!(
        counts["suppressed_by_reason"],
        json!({ "no_address": 1, "no_consent": 1, "consent_denied": 1 })
    );
    assert_eq!(
        campaigns::deliver(&c, &maison, id).await.unwrap(),
        RunEnd::Stopped
    );
    assert_eq!(
        app.sandbox().messages_to(&phone(1)).await.len(),
        1,
        "sent once"
    );
}

#[tokio::test]
async fn consent_revoked_between_the_freeze_and_the_send_is_suppressed_at_send() {
    let (app, token) = app().await;
    let person = reachable(&app, &token, 4).await;
    let (maison, id) = frozen(&app, &token, &[person], json!({})).await;
    consent(&app, &token, "maison", person, "sms", "marketing", "denied").await;
    assert_eq!(deliver_all(&app, &maison, id, 5).await, RunEnd::Completed);
    assert!(app.sandbox().messages_to(&phone(4)).await.is_empty());
    let rows = recipients(&app, &token, id, "").await;
    assert_eq!(rows[0].1, "suppressed");
    assert_eq!(rows[0].2.as_deref(), Some("consent_denied"));
}

#[tokio::test]
async fn quiet_hours_defer_a_recipient_until_they_end() {
    let (app, token) = app().await;
    // 22:00 in Paris.
    app.state
        .messages
        .clock()
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 21, 0, 0).unwrap());
    let person = reachable(&app, &token, 5).await;
    let (maison, id) = frozen(&app, &token, &[person], json!({})).await;
    let c = handle(&app);
    let end = campaigns::deliver(&c, &maison, id).await.unwrap();
    let until = Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0).unwrap();
    assert_eq!(end, RunEnd::Continue(until), "08:00 in Paris");
    let rows = recipients(&app, &token, id, "").await;
    assert_eq!(rows[0].1, "deferred");
    assert_eq!(rows[0].2.as_deref(), Some("quiet_hours"));
    assert_eq!(get(&app, &token, id).await["counts"]["deferred"], 1);
    assert!(app.sandbox().messages_to(&phone(5)).await.is_empty());
    app.state.messages.clock().set(until);
    assert_eq!(deliver_all(&app, &maison, id, 5).await, RunEnd::Completed);
    assert_eq!(app.sandbox().messages_to(&phone(5)).await.len(), 1);
}

#[tokio::test]
async fn pause_stops_delivery_resume_continues_and_cancel_is_final() {
    let (app, token) = app().await;
    let people = [
        reachable(&app, &token, 6).await,
        reachable(&app, &token, 7).await,
    ];
    let (maison, id) = frozen(&app, &token, &people, json!({})).await;
    let paused = action(&app, &token, id, "pause").await;
    assert_eq!(paused.status(), 200);
    assert_eq!(paused.json::<Value>().await.unwrap()["status"], "paused");
    let c = handle(&app);
    assert_eq!(
        campaigns::deliver(&c, &maison, id).await.unwrap(),
        RunEnd::Stopped
    );
    assert!(
        app.sandbox().messages_to(&phone(6)).await.is_empty(),
        "paused: nothing sent"
    );
    let again = action(&app, &token, id, "pause").await;
    assert_eq!(again.status(), 409);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("campaign-transition-invalid")
    );
    let resumed = action(&app, &token, id, "resume").await;
    assert_eq!(resumed.json::<Value>().await.unwrap()["status"], "sending");
    assert_eq!(action(&app, &token, id, "resume").await.status(), 409);
    assert_eq!(deliver_all(&app, &maison, id, 5).await, RunEnd::Completed);
    assert_eq!(app.sandbox().messages_to(&phone(6)).await.len(), 1);
    assert_eq!(app.sandbox().messages_to(&phone(7)).await.len(), 1);
    assert_eq!(
        action(&app, &token, id, "cancel").await.status(),
        409,
        "completed is final"
    );

    // Cancelled after the freeze: whoever waits is cancelled, nobody is sent.
    let people = [reachable(&app, &token, 8).await];
    let (_, other) = frozen(&app, &token, &people, json!({})).await;
    let cancelled = action(&app, &token, other, "cancel").await;
    assert_eq!(cancelled.status(), 200);
    let body: Value = cancelled.json().await.unwrap();
    assert_eq!(body["status"], "cancelled");
    assert_eq!(body["counts"]["cancelled"], 1);
    assert_eq!(
        campaigns::deliver(&c, &maison, other).await.unwrap(),
        RunEnd::Stopped
    );
    assert!(app.sandbox().messages_to(&phone(8)).await.is_empty());
    for what in ["pause", "resume", "cancel"] {
        assert_eq!(
            action(&app, &token, other, what).await.status(),
            409,
            "{what}"
        );
    }
    assert_eq!(launch(&app, &token, other, "new-key").await.status(), 409);
}

#[tokio::test]
async fn a_paused_scheduled_campaign_freezes_only_after_resume() {
    let (app, token) = app().await;
    let person = reachable(&app, &token, 9).await;
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let audience = segment(&app, &token, "maison", &[person]).await;
    let id = create(&app, &token, &body(audience, template)).await;
    assert_eq!(launch(&app, &token, id, "k-paused").await.status(), 200);
    assert_eq!(action(&app, &token, id, "pause").await.status(), 200);
    let c = handle(&app);
    assert_eq!(campaigns::freeze(&c, &maison, id).await.unwrap(), None);
    assert_eq!(get(&app, &token, id).await["counts"]["total"], 0);
    let resumed: Value = action(&app, &token, id, "resume")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resumed["status"], "scheduled");
    assert!(campaigns::freeze(&c, &maison, id).await.unwrap().is_some());
    assert_eq!(deliver_all(&app, &maison, id, 5).await, RunEnd::Completed);
    assert_eq!(app.sandbox().messages_to(&phone(9)).await.len(), 1);
}

#[tokio::test]
async fn the_template_version_is_pinned_at_launch() {
    let (app, token) = app().await;
    let person = reachable(&app, &token, 10).await;
    let (maison, id) = frozen(&app, &token, &[person], json!({})).await;
    let template = get(&app, &token, id).await["template_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut changed = sms_template("marketing");
    changed["variants"][0]["body"] = json!("Version two for {{ profile.first_name }}");
    let response = app
        .client
        .put(app.url(&format!("/api/v1/brands/maison/crm/templates/{template}")))
        .bearer_auth(&token)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(get(&app, &token, id).await["template_version"], 1);
    assert_eq!(deliver_all(&app, &maison, id, 5).await, RunEnd::Completed);
    let sent = app.sandbox().messages_to(&phone(10)).await;
    assert_eq!(sent[0]["body"], "Hello P10 from Maison", "version 1");
}

#[tokio::test]
async fn a_campaign_freezes_sends_and_completes_through_the_job_runner() {
    let (app, token) = app_with(Sandboxed::new().jobs()).await;
    let people = [
        reachable(&app, &token, 11).await,
        reachable(&app, &token, 12).await,
    ];
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let audience = segment(&app, &token, "maison", &people).await;
    let id = create(&app, &token, &body(audience, template)).await;
    assert_eq!(launch(&app, &token, id, "runner").await.status(), 200);
    let campaign = eventually(60, "the campaign completes", || {
        let app = &app;
        let token = &token;
        async move {
            // The stopped clock refills the throttle only when moved (a second per look, still noon).
            app.state
                .messages
                .clock()
                .advance(chrono::Duration::seconds(1));
            let campaign = get(app, token, id).await;
            (campaign["status"] == "completed").then_some(campaign)
        }
    })
    .await;
    assert_eq!(campaign["counts"]["sent"], 2, "{campaign}");
    assert_eq!(app.sandbox().messages_to(&phone(11)).await.len(), 1);
    assert_eq!(app.sandbox().messages_to(&phone(12)).await.len(), 1);
}
