//! `POST /api/v1/webhooks/messaging`: signed receipts from the stand-in become activities, once; bad or
//! stale signatures are refused; unknown messages are ignored.

use chrono::{TimeZone, Utc};
use concierge::crm::consent::Purpose;
use concierge::crm::messages::{SIGNATURE_HEADER, SendOutcome, sign_receipt};
use reqwest::Method;
use serde_json::{Value, json};

use super::{activity_types, brand, consent, profile, request, send, sms_template, template_id};
use crate::helpers::{Sandboxed, TestApp, marketer_token, problem, spawn_sandboxed_app_with};

const SECRET: &str = "sandbox-messaging-webhook-secret-7Qx2";

async fn sent_message(app: &TestApp, token: &str) -> (uuid::Uuid, String) {
    app.state
        .messages
        .clock()
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap());
    let maison = brand(app, "maison").await;
    let template = template_id(app, token, "maison", &sms_template("marketing")).await;
    let person = profile(app, token, "maison", json!({ "phone": "+33612345040" })).await;
    consent(app, token, "maison", person, "sms", "marketing", "granted").await;
    let outcome = send(
        app,
        &maison,
        &request(person, template, Purpose::Marketing, "receipt-1"),
    )
    .await;
    let SendOutcome::Sent {
        provider_message_id,
        ..
    } = outcome
    else {
        panic!("{outcome:?}");
    };
    (person, provider_message_id)
}

async fn trigger(app: &TestApp, message: &str, body: Value) -> Value {
    let sandbox = app.sandbox();
    let target = json!({ "url": app.url("/api/v1/webhooks/messaging") });
    let response = sandbox
        .control(Method::PUT, "messaging/webhook")
        .json(&target)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = sandbox
        .control(
            Method::POST,
            &format!("messaging/messages/{message}/receipts"),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn post_signed(app: &TestApp, body: &str, signature: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/api/v1/webhooks/messaging"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_signed_receipt_becomes_an_activity_and_a_replay_is_applied_once() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let (person, message) = sent_message(&app, &token).await;
    app.state.messages.clock().set(Utc::now());
    let delivered = trigger(&app, &message, json!({ "type": "delivered" })).await;
    assert_eq!(delivered["status"], 200, "{delivered}");
    let clicked = trigger(
        &app,
        &message,
        json!({ "type": "clicked", "url": "https://maison.example/winter" }),
    )
    .await;
    assert_eq!(clicked["status"], 200);
    // The same receipt again (a retrying provider, or an attacker replaying it): applied once.
    let replay = post_signed(
        &app,
        clicked["body"].as_str().unwrap(),
        clicked["signature"].as_str(),
    )
    .await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.json::<Value>().await.unwrap()["status"], "duplicate");
    let activities = activity_types(&app, &token, "maison", person).await;
    let count = |kind: &str| activities.iter().filter(|(k, _)| k == kind).count();
    assert_eq!(
        (count("message_delivered"), count("message_clicked")),
        (1, 1),
        "{activities:?}"
    );
    let clicked = activities
        .iter()
        .find(|(k, _)| k == "message_clicked")
        .unwrap();
    assert_eq!(clicked.1["url"], "https://maison.example/winter");
    let status: String =
        sqlx::query_scalar("SELECT status FROM crm_messages WHERE provider_message_id = $1")
            .bind(&message)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(status, "clicked");
    // A late `delivered` never moves the ledger back.
    trigger(&app, &message, json!({ "type": "delivered" })).await;
    let status: String =
        sqlx::query_scalar("SELECT status FROM crm_messages WHERE provider_message_id = $1")
            .bind(&message)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(status, "clicked");
}

#[tokio::test]
async fn a_missing_wrong_or_stale_signature_is_refused() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let (person, message) = sent_message(&app, &token).await;
    app.state.messages.clock().set(Utc::now());
    let now = Utc::now().timestamp();
    let body = json!({ "id": "evt_forged", "type": "bounced", "message_id": message, "occurred_at": Utc::now() }).to_string();
    let tampered = body.replace("bounced", "opened");
    for (what, signature) in [
        ("none", None),
        (
            "another key",
            Some(sign_receipt("not-the-secret", now, body.as_bytes())),
        ),
        (
            "stale",
            Some(sign_receipt(SECRET, now - 3600, body.as_bytes())),
        ),
        (
            "tampered body",
            Some(sign_receipt(SECRET, now, tampered.as_bytes())),
        ),
        ("garbage", Some("t=x,v1=nothex".to_owned())),
    ] {
        let response = post_signed(&app, &body, signature.as_deref()).await;
        assert_eq!(response.status(), 401, "{what}");
        assert_eq!(
            problem(response).await["type"],
            "/problems/webhook-signature-invalid",
            "{what}"
        );
    }
    let activities = activity_types(&app, &token, "maison", person).await;
    assert!(
        !activities.iter().any(|(k, _)| k == "message_bounced"),
        "{activities:?}"
    );
    // Signed but not a receipt: a 400 problem, never a 500.
    let junk = "{\"id\": 1}";
    let response = post_signed(
        &app,
        junk,
        Some(&sign_receipt(SECRET, now, junk.as_bytes())),
    )
    .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_receipt_for_a_message_we_never_sent_is_ignored() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    app.state.messages.clock().set(Utc::now());
    let now = Utc::now().timestamp();
    let body = json!({ "id": "evt_unknown", "type": "delivered", "message_id": "msg_nobody", "occurred_at": Utc::now() }).to_string();
    let response = post_signed(
        &app,
        &body,
        Some(&sign_receipt(SECRET, now, body.as_bytes())),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ignored");
}
