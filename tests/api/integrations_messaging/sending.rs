//! Sending, following a message, idempotent repeats, and what the sandbox shows tests.

use super::*;

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

    let to_demo = sandbox.messages_to(DEMO_EMAIL).await;
    let to_phone = sandbox.messages_to("+819012345678").await;

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

    let cleared = sandbox.clear_messages().await;

    assert_eq!(cleared.status(), 204);
    assert!(sandbox.messages_to(DEMO_EMAIL).await.is_empty());
}

#[tokio::test]
async fn the_same_idempotency_key_twice_sends_one_message() {
    let sandbox = spawn_sandbox().await;
    let messaging = client(&sandbox);
    let message = reset_email("https://portal.test/reset?t=1");

    let first = messaging.send(&message, "reset-1").await.unwrap();
    let second = messaging.send(&message, "reset-1").await.unwrap();

    assert_eq!(first.id, second.id);
    assert_eq!(sandbox.messages_to(DEMO_EMAIL).await.len(), 1);
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
    assert_eq!(sandbox.messages_to(DEMO_EMAIL).await.len(), 1);
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

#[test]
fn a_message_never_shows_its_recipient_or_body_in_debug_output() {
    let message = reset_email("https://portal.test/reset?t=secret-token");

    let shown = format!("{message:?}");

    assert!(!shown.contains("secret-token"), "{shown}");
    assert!(!shown.contains("demo@"), "{shown}");
}
