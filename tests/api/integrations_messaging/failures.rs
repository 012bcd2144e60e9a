//! Refusals and failures: which are retried, which are not, and how they surface.

use super::*;

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
    assert_eq!(sandbox.requests(System::Messaging).len(), 1);
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
    assert_eq!(sandbox.requests(System::Messaging).len(), 1);
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
    sandbox.inject_fault(System::Messaging, json!({ "status": 503, "times": 1 }));

    let sent = client(&sandbox)
        .send(&reset_email("https://portal.test/reset?t=1"), "reset-1")
        .await;

    assert!(sent.is_ok(), "{sent:?}");
    assert_eq!(sandbox.requests(System::Messaging).len(), 2);
    assert_eq!(sandbox.messages_to(DEMO_EMAIL).await.len(), 1);
}

#[tokio::test]
async fn a_send_whose_answer_was_lost_is_retried_without_sending_twice() {
    let sandbox = spawn_sandbox().await;
    sandbox.inject_fault(
        System::Messaging,
        json!({ "status": 503, "times": 1, "phase": "after" }),
    );

    let sent = client(&sandbox)
        .send(&reset_email("https://portal.test/reset?t=1"), "reset-1")
        .await
        .unwrap();

    let stored = sandbox.messages_to(DEMO_EMAIL).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["id"], sent.id.as_str());
}

#[tokio::test]
async fn a_service_that_keeps_rate_limiting_is_rate_limited() {
    let sandbox = spawn_sandbox().await;
    sandbox.inject_fault(System::Messaging, json!({ "status": 429 }));

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
