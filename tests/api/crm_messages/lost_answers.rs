//! Ambiguous failures: the messaging service may have sent a message whose answer we lost (a 5xx after it
//! wrote, a garbled body). The retry asks it by key first, so a consent revoked in between never records a
//! message that went out as suppressed; after a 429 (which proves nothing went out) consent is asked
//! directly. Keys the service cannot take as a header are encoded, and the body a key is compared on does not
//! change when the brand is renamed.

use concierge::brands::Brand;
use concierge::crm::consent::Purpose;
use concierge::crm::messages::{SendOutcome, Suppression};
use concierge_sandbox::System;
use serde_json::json;
use uuid::Uuid;

use super::{activity_types, brand, consent, profile, request, send, sms_template, template_id};
use crate::helpers::{Sandboxed, TestApp, marketer_token, spawn_sandboxed_app_with};

struct Setup {
    app: TestApp,
    token: String,
    maison: Brand,
    template: Uuid,
    person: Uuid,
    phone: String,
}

async fn setup(phone: &str) -> Setup {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    app.state
        .messages
        .clock()
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 11, 0, 0).unwrap());
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let person = profile(&app, &token, "maison", json!({ "phone": phone })).await;
    consent(
        &app,
        &token,
        "maison",
        person,
        "sms",
        "marketing",
        "granted",
    )
    .await;
    Setup {
        app,
        token,
        maison,
        template,
        person,
        phone: phone.to_owned(),
    }
}

impl Setup {
    async fn revoke(&self) {
        consent(
            &self.app,
            &self.token,
            "maison",
            self.person,
            "sms",
            "marketing",
            "denied",
        )
        .await;
    }

    async fn sent(&self) -> Vec<serde_json::Value> {
        self.app.sandbox().messages_to(&self.phone).await
    }

    async fn activities(&self, kind: &str) -> usize {
        activity_types(&self.app, &self.token, "maison", self.person)
            .await
            .iter()
            .filter(|(k, _)| k == kind)
            .count()
    }

    fn lookups(&self) -> usize {
        self.app
            .sandbox()
            .count_operation(System::Messaging, "idempotency_key=")
    }
}

fn retryable(outcome: &SendOutcome) -> bool {
    matches!(
        outcome,
        SendOutcome::Failed {
            retryable: true,
            ..
        }
    )
}

#[tokio::test]
async fn a_message_sent_before_its_answer_was_lost_is_sent_even_after_consent_is_revoked() {
    let s = setup("+33612345101").await;
    s.app.sandbox().inject_fault(
        System::Messaging,
        json!({ "status": 500, "times": 1, "phase": "after", "operation": "/v1/messages" }),
    );
    let lost = request(
        s.person,
        s.template,
        Purpose::Marketing,
        "lost-then-revoked",
    );
    let first = send(&s.app, &s.maison, &lost).await;
    assert!(retryable(&first), "{first:?}");
    assert_eq!(s.sent().await.len(), 1, "the service wrote it");
    s.revoke().await;
    let retried = send(&s.app, &s.maison, &lost).await;
    let stored = s.sent().await;
    assert_eq!(stored.len(), 1, "not sent a second time");
    let SendOutcome::Sent {
        provider_message_id,
        ..
    } = &retried
    else {
        panic!("a message that went out is sent, not suppressed: {retried:?}");
    };
    assert_eq!(provider_message_id, stored[0]["id"].as_str().unwrap());
    assert_eq!(s.lookups(), 1);
    assert_eq!(s.activities("message_sent").await, 1);
    assert_eq!(s.activities("message_suppressed").await, 0);
    assert_eq!(send(&s.app, &s.maison, &lost).await, retried, "settled");
}

#[tokio::test]
async fn a_garbled_or_truncated_answer_is_looked_up_instead_of_guessed() {
    let s = setup("+33612345102").await;
    for (n, fault) in [
        json!({ "malformed": true, "times": 1, "phase": "after", "operation": "/v1/messages" }),
        json!({ "truncated": true, "times": 1, "operation": "/v1/messages" }),
    ]
    .into_iter()
    .enumerate()
    {
        s.app.sandbox().inject_fault(System::Messaging, fault);
        let key = format!("garbled-{n}");
        let message = request(s.person, s.template, Purpose::Marketing, &key);
        let first = send(&s.app, &s.maison, &message).await;
        assert!(
            matches!(&first, SendOutcome::Failed { retryable: true, reason, .. } if reason == "provider_malformed"),
            "{first:?}"
        );
        s.revoke().await;
        let retried = send(&s.app, &s.maison, &message).await;
        assert!(matches!(retried, SendOutcome::Sent { .. }), "{retried:?}");
        consent(
            &s.app,
            &s.token,
            "maison",
            s.person,
            "sms",
            "marketing",
            "granted",
        )
        .await;
    }
    assert_eq!(s.sent().await.len(), 2, "each once");
    assert_eq!(s.activities("message_suppressed").await, 0);
}

#[tokio::test]
async fn a_5xx_that_sent_nothing_asks_consent_again_after_the_lookup() {
    let s = setup("+33612345103").await;
    s.app.sandbox().inject_fault(
        System::Messaging,
        json!({ "status": 502, "times": 1, "operation": "/v1/messages" }),
    );
    let message = request(s.person, s.template, Purpose::Marketing, "nothing-sent");
    assert!(retryable(&send(&s.app, &s.maison, &message).await));
    s.revoke().await;
    let outcome = send(&s.app, &s.maison, &message).await;
    assert!(
        matches!(
            outcome,
            SendOutcome::Suppressed {
                reason: Suppression::ConsentDenied,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(s.lookups(), 1, "the service was asked first");
    assert!(s.sent().await.is_empty());
}

#[tokio::test]
async fn a_429_or_refused_credentials_prove_nothing_was_sent_so_no_lookup() {
    let s = setup("+33612345104").await;
    for (key, status) in [("limited", 429), ("auth", 401)] {
        s.app.sandbox().inject_fault(
            System::Messaging,
            json!({ "status": status, "times": 1, "operation": "/v1/messages" }),
        );
        let message = request(s.person, s.template, Purpose::Marketing, key);
        assert!(retryable(&send(&s.app, &s.maison, &message).await));
    }
    s.revoke().await;
    for key in ["limited", "auth"] {
        let message = request(s.person, s.template, Purpose::Marketing, key);
        let outcome = send(&s.app, &s.maison, &message).await;
        assert!(
            matches!(
                outcome,
                SendOutcome::Suppressed {
                    reason: Suppression::ConsentDenied,
                    ..
                }
            ),
            "{key}: {outcome:?}"
        );
    }
    assert_eq!(s.lookups(), 0);
    assert!(s.sent().await.is_empty());
}

#[tokio::test]
async fn a_lookup_that_fails_or_is_not_understood_keeps_the_message_reserved() {
    let s = setup("+33612345105").await;
    s.app.sandbox().inject_fault(
        System::Messaging,
        json!({ "status": 500, "times": 1, "phase": "after", "operation": "/v1/messages" }),
    );
    let message = request(s.person, s.template, Purpose::Marketing, "lookup-fails");
    assert!(retryable(&send(&s.app, &s.maison, &message).await));
    s.revoke().await;
    // The lookup itself down, a 404 that is not the service's "no such key" (a missing route), and a hostile
    // answer naming a message of another key: none of them is taken for "nothing was sent".
    let hostile = json!({ "id": "msg_forged", "status": "sent", "channel": "sms", "to": s.phone,
        "created_at": "2026-12-01T11:00:00Z", "updated_at": "2026-12-01T11:00:00Z",
        "idempotency_key": "crm:someone-else" });
    for fault in [
        json!({ "status": 503, "times": 1, "operation": "idempotency_key=" }),
        json!({ "status": 404, "times": 1, "operation": "idempotency_key=" }),
        json!({ "body": hostile, "times": 1, "operation": "idempotency_key=" }),
    ] {
        s.app
            .sandbox()
            .inject_fault(System::Messaging, fault.clone());
        let outcome = send(&s.app, &s.maison, &message).await;
        assert!(retryable(&outcome), "{fault}: {outcome:?}");
    }
    assert_eq!(s.activities("message_suppressed").await, 0);
    let outcome = send(&s.app, &s.maison, &message).await;
    let stored = s.sent().await;
    assert!(
        matches!(&outcome, SendOutcome::Sent { provider_message_id, .. } if provider_message_id == stored[0]["id"].as_str().unwrap()),
        "{outcome:?}"
    );
    assert_eq!(stored.len(), 1);
}

#[tokio::test]
async fn keys_the_service_cannot_take_as_a_header_are_encoded_one_to_one() {
    let s = setup("+33612345106").await;
    // Five marketing messages to one person: above the default cap of three.
    concierge::crm::messages::set_frequency_cap(
        &s.app.db,
        s.maison.id,
        Purpose::Marketing,
        Some(concierge::config::FrequencyCap {
            max_messages: 10,
            window_secs: 3600,
        }),
    )
    .await
    .unwrap();
    for key in ["campagne:été:1", "a b", "a b ", "喜び"] {
        let message = request(s.person, s.template, Purpose::Marketing, key);
        let outcome = send(&s.app, &s.maison, &message).await;
        assert!(
            matches!(outcome, SendOutcome::Sent { .. }),
            "{key}: {outcome:?}"
        );
        assert_eq!(send(&s.app, &s.maison, &message).await, outcome, "{key}");
    }
    let plain = request(s.person, s.template, Purpose::Marketing, "plain-key");
    assert!(matches!(
        send(&s.app, &s.maison, &plain).await,
        SendOutcome::Sent { .. }
    ));
    let stored = s.sent().await;
    let keys: Vec<&str> = stored
        .iter()
        .map(|m| m["idempotency_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 5, "each key its own message: {keys:?}");
    let brand = s.maison.id;
    assert!(
        keys[..4]
            .iter()
            .all(|k| k.starts_with(&format!("crm64:{brand}:"))),
        "{keys:?}"
    );
    assert_eq!(keys[4], format!("crm:{brand}:plain-key"));
}

#[tokio::test]
async fn a_brand_renamed_between_two_attempts_still_sends_once() {
    let s = setup("+33612345107").await;
    s.app.sandbox().inject_fault(
        System::Messaging,
        json!({ "status": 503, "times": 1, "phase": "after", "operation": "/v1/messages" }),
    );
    let message = request(s.person, s.template, Purpose::Marketing, "renamed");
    assert!(retryable(&send(&s.app, &s.maison, &message).await));
    let renamed = Brand {
        slug: "maison-paris".into(),
        name: "Maison Paris".into(),
        ..s.maison.clone()
    };
    let outcome = send(&s.app, &renamed, &message).await;
    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    let stored = s.sent().await;
    assert_eq!(stored.len(), 1);
    // What the service compares a repeated key on names the brand by its id, which a rename keeps.
    assert_eq!(stored[0]["metadata"]["brand_id"], s.maison.id.to_string());
    assert!(stored[0]["metadata"].get("brand").is_none());
}
