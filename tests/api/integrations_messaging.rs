//! The messaging client against the sandbox and wiremock.

use concierge::config::Settings;
use concierge::integrations::ProviderError;
use concierge::integrations::messaging::{
    Channel, MessageStatus, MessagingClient, OutgoingMessage,
};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestSandbox, settings_for_sandbox, spawn_sandbox, test_settings};

const DEMO_EMAIL: &str = "demo@concierge.test";

fn client(sandbox: &TestSandbox) -> MessagingClient {
    MessagingClient::new(&settings_for_sandbox(sandbox).providers).unwrap()
}

fn client_with(sandbox: &TestSandbox, configure: impl FnOnce(&mut Settings)) -> MessagingClient {
    let mut settings = settings_for_sandbox(sandbox);
    configure(&mut settings);
    MessagingClient::new(&settings.providers).unwrap()
}

fn reset_email(link: &str) -> OutgoingMessage {
    OutgoingMessage::new(
        Channel::Email,
        DEMO_EMAIL,
        format!("Reset your password: {link}"),
    )
    .with_subject("Reset your password")
    .with_template("password_reset")
}

async fn sent_to(sandbox: &TestSandbox, to: &str) -> Vec<Value> {
    reqwest::Client::new()
        .get(format!("{}/__sandbox/messaging/messages", sandbox.url))
        .query(&[("to", to)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn messaging_requests(sandbox: &TestSandbox) -> usize {
    let log: Vec<Value> = reqwest::get(format!(
        "{}/__sandbox/requests?system=messaging",
        sandbox.url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    log.len()
}

async fn inject_fault(sandbox: &TestSandbox, fault: Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/__sandbox/faults/messaging", sandbox.url))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn a_sent_message_is_queued_then_followed_to_delivery() {
    let sandbox = spawn_sandbox().await;
    let messaging = client(&sandbox);

    let sent = messaging
        .send(&reset_email("https://portal.test/reset?t=1"), "reset-1")
        .await
        .unwrap();
    let first = messaging.status(&sent.id).await.unwrap();
    let second = messaging.status(&sent.id).await.unwrap();

    assert!(sent.id.starts_with("msg_"), "{sent:?}");
    assert_eq!(sent.status, MessageStatus::Queued);
    assert_eq!(sent.channel, Channel::Email);
    assert_eq!(sent.to, DEMO_EMAIL);
    assert_eq!(first.status, MessageStatus::Sent);
    assert_eq!(second.status, MessageStatus::Delivered);
    assert_eq!(second.created_at, sent.created_at);
    assert!(second.updated_at >= second.created_at);
    assert_eq!(second.error, None);
}

#[tokio::test]
async fn the_sandbox_lists_what_was_sent_to_a_recipient_newest_last() {
    let sandbox = spawn_sandbox().await;
    let messaging = client(&sandbox);
    messaging
        .send(&reset_email("https://portal.test/reset?t=old"), "reset-old")
        .await
        .unwrap();
    messaging
        .send(
            &OutgoingMessage::new(Channel::Sms, "+819012345678", "Your code is 123456"),
            "sms-1",
        )
        .await
        .unwrap();
    messaging
        .send(&reset_email("https://portal.test/reset?t=new"), "reset-new")
        .await
        .unwrap();

    let to_demo = sent_to(&sandbox, DEMO_EMAIL).await;
    let to_phone = sent_to(&sandbox, "+819012345678").await;

    assert_eq!(to_demo.len(), 2);
    assert!(
        to_demo[1]["body"]
            .as_str()
            .unwrap()
            .contains("https://portal.test/reset?t=new")
    );
    assert_eq!(to_demo[1]["subject"], "Reset your password");
    assert_eq!(to_demo[1]["template"], "password_reset");
    assert_eq!(to_phone.len(), 1);
    assert_eq!(to_phone[0]["channel"], "sms");
}

#[tokio::test]
async fn clearing_the_sandbox_messages_forgets_them() {
    let sandbox = spawn_sandbox().await;
    client(&sandbox)
        .send(&reset_email("https://portal.test/reset?t=1"), "reset-1")
        .await
        .unwrap();

    let cleared = reqwest::Client::new()
        .delete(format!("{}/__sandbox/messaging/messages", sandbox.url))
        .send()
        .await
        .unwrap();

    assert_eq!(cleared.status(), 204);
    assert!(sent_to(&sandbox, DEMO_EMAIL).await.is_empty());
}

#[tokio::test]
async fn the_same_idempotency_key_twice_sends_one_message() {
    let sandbox = spawn_sandbox().await;
    let messaging = client(&sandbox);
    let message = reset_email("https://portal.test/reset?t=1");

    let first = messaging.send(&message, "reset-1").await.unwrap();
    let second = messaging.send(&message, "reset-1").await.unwrap();

    assert_eq!(first.id, second.id);
    assert_eq!(sent_to(&sandbox, DEMO_EMAIL).await.len(), 1);
}

#[tokio::test]
async fn reusing_an_idempotency_key_for_another_message_is_a_conflict() {
    let sandbox = spawn_sandbox().await;
    let messaging = client(&sandbox);
    messaging
        .send(&reset_email("https://portal.test/reset?t=1"), "reset-1")
        .await
        .unwrap();

    let error = messaging
        .send(&reset_email("https://portal.test/reset?t=2"), "reset-1")
        .await
        .unwrap_err();

    match error {
        ProviderError::Rejected { status, code, .. } => {
            assert_eq!(status, Some(409));
            assert_eq!(code, "idempotency_key_reused");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(sent_to(&sandbox, DEMO_EMAIL).await.len(), 1);
}

#[tokio::test]
async fn a_wrong_api_key_is_an_auth_error() {
    let sandbox = spawn_sandbox().await;
    let messaging = client_with(&sandbox, |settings| {
        settings.providers.messaging.api_key = "not-the-key".to_owned().into();
    });

    let error = messaging
        .send(&reset_email("https://portal.test/reset?t=1"), "reset-1")
        .await
        .unwrap_err();

    assert!(matches!(error, ProviderError::Auth { .. }), "{error:?}");
    assert_eq!(messaging_requests(&sandbox).await, 1);
}

#[tokio::test]
async fn an_invalid_recipient_is_rejected_and_not_retried() {
    let sandbox = spawn_sandbox().await;

    let error = client(&sandbox)
        .send(
            &OutgoingMessage::new(Channel::Sms, "090-1234-5678", "Your code is 123456"),
            "sms-1",
        )
        .await
        .unwrap_err();

    match error {
        ProviderError::Rejected { status, code, .. } => {
            assert_eq!(status, Some(400));
            assert_eq!(code, "invalid_recipient");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(messaging_requests(&sandbox).await, 1);
}

#[tokio::test]
async fn an_empty_body_is_rejected() {
    let sandbox = spawn_sandbox().await;

    let error = client(&sandbox)
        .send(
            &OutgoingMessage::new(Channel::Email, DEMO_EMAIL, "  "),
            "e-1",
        )
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ProviderError::Rejected { code, .. } if code == "empty_body"),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unknown_channel_or_a_missing_idempotency_key_is_refused_by_the_service() {
    let sandbox = spawn_sandbox().await;
    let http = reqwest::Client::new();
    let url = format!("{}/messaging/v1/messages", sandbox.url);
    let api_key = "sandbox-messaging-key";

    let bad_channel = http
        .post(&url)
        .bearer_auth(api_key)
        .header("idempotency-key", "k-1")
        .json(&json!({ "channel": "pigeon", "to": "rooftop", "body": "coo" }))
        .send()
        .await
        .unwrap();
    let no_key = http
        .post(&url)
        .bearer_auth(api_key)
        .json(&json!({ "channel": "email", "to": DEMO_EMAIL, "body": "hello" }))
        .send()
        .await
        .unwrap();

    assert_eq!(bad_channel.status(), 400);
    let bad_channel: Value = bad_channel.json().await.unwrap();
    assert_eq!(bad_channel["error"]["code"], "invalid_channel");
    assert_eq!(no_key.status(), 400);
    let no_key: Value = no_key.json().await.unwrap();
    assert_eq!(no_key["error"]["code"], "idempotency_key_required");
}

#[tokio::test]
async fn a_503_once_is_retried_and_exactly_one_message_is_stored() {
    let sandbox = spawn_sandbox().await;
    inject_fault(&sandbox, json!({ "status": 503, "times": 1 })).await;

    let sent = client(&sandbox)
        .send(&reset_email("https://portal.test/reset?t=1"), "reset-1")
        .await;

    assert!(sent.is_ok(), "{sent:?}");
    assert_eq!(messaging_requests(&sandbox).await, 2);
    assert_eq!(sent_to(&sandbox, DEMO_EMAIL).await.len(), 1);
}

#[tokio::test]
async fn a_send_whose_answer_was_lost_is_retried_without_sending_twice() {
    let sandbox = spawn_sandbox().await;
    inject_fault(
        &sandbox,
        json!({ "status": 503, "times": 1, "phase": "after" }),
    )
    .await;

    let sent = client(&sandbox)
        .send(&reset_email("https://portal.test/reset?t=1"), "reset-1")
        .await
        .unwrap();

    let stored = sent_to(&sandbox, DEMO_EMAIL).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["id"], sent.id.as_str());
}

#[tokio::test]
async fn a_service_that_keeps_rate_limiting_is_rate_limited() {
    let sandbox = spawn_sandbox().await;
    inject_fault(&sandbox, json!({ "status": 429 })).await;

    let error = client(&sandbox)
        .send(&reset_email("https://portal.test/reset?t=1"), "reset-1")
        .await
        .unwrap_err();

    assert!(
        matches!(error, ProviderError::RateLimited { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_bouncing_recipient_ends_failed_with_a_reason() {
    let sandbox = spawn_sandbox().await;
    let messaging = client(&sandbox);
    let sent = messaging
        .send(
            &OutgoingMessage::new(Channel::Email, "nobody@bounce.test", "hello"),
            "bounce-1",
        )
        .await
        .unwrap();

    let state = messaging.status(&sent.id).await.unwrap();

    assert_eq!(state.status, MessageStatus::Failed);
    assert!(state.error.is_some());
}

#[tokio::test]
async fn an_unknown_message_id_is_not_found() {
    let sandbox = spawn_sandbox().await;

    let error = client(&sandbox).status("msg_nothing").await.unwrap_err();

    assert!(
        matches!(&error, ProviderError::Rejected { status: Some(404), code, .. } if code == "not_found"),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_idempotency_key_is_sent_on_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("idempotency-key", "reset-1"))
        .and(header("authorization", "Bearer sandbox-messaging-key"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "id": "msg_1", "status": "queued", "channel": "email", "to": DEMO_EMAIL,
            "created_at": "2026-11-21T10:31:40Z",
        })))
        .mount(&server)
        .await;
    let mut settings = test_settings("unused");
    settings.providers.messaging.base_url = server.uri();
    let messaging = MessagingClient::new(&settings.providers).unwrap();

    let sent = messaging
        .send(&reset_email("https://portal.test/reset?t=1"), "reset-1")
        .await
        .unwrap();

    assert_eq!(sent.id, "msg_1");
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert!(
        received
            .iter()
            .all(|request| request.headers.get("idempotency-key").unwrap() == "reset-1")
    );
}

#[tokio::test]
async fn a_200_answer_that_is_not_json_is_malformed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/messages/msg_1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>ok</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let mut settings = test_settings("unused");
    settings.providers.messaging.base_url = server.uri();

    let error = MessagingClient::new(&settings.providers)
        .unwrap()
        .status("msg_1")
        .await
        .unwrap_err();

    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

#[test]
fn a_message_never_shows_its_recipient_or_body_in_debug_output() {
    let message = reset_email("https://portal.test/reset?t=secret-token");

    let shown = format!("{message:?}");

    assert!(!shown.contains("secret-token"), "{shown}");
    assert!(!shown.contains("demo@"), "{shown}");
}
