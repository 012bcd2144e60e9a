//! The send path: once per key (counted on the stand-in), each suppression reason, quiet hours, 429 and
//! 5xx from the stand-in, a reused key, free text.

use chrono::{TimeZone, Utc};
use concierge::config::FrequencyCap;
use concierge::crm::consent::Purpose;
use concierge::crm::messages::{self, Content, SendError, SendOutcome, Suppression};
use concierge_sandbox::System;
use serde_json::json;

use super::{activity_types, brand, consent, profile, request, send, sms_template, template_id};
use crate::helpers::{Sandboxed, TestApp, marketer_token, spawn_sandboxed_app_with};

async fn app() -> (TestApp, String) {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    // Noon in Paris: outside quiet hours.
    app.state
        .messages
        .clock()
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap());
    (app, token)
}

const PHONE: &str = "+33612345678";

#[tokio::test]
async fn a_message_is_sent_once_per_key_and_becomes_an_activity() {
    let (app, token) = app().await;
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let person = profile(
        &app,
        &token,
        "maison",
        json!({ "first_name": "Zoé", "phone": PHONE }),
    )
    .await;
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
    let request = request(
        person,
        template,
        Purpose::Marketing,
        "campaign-1:recipient-1",
    );
    let first = send(&app, &maison, &request).await;
    let SendOutcome::Sent { message_id, .. } = first.clone() else {
        panic!("{first:?}");
    };
    assert_eq!(
        send(&app, &maison, &request).await,
        first,
        "a repeat is the recorded outcome"
    );
    let sent = app.sandbox().messages_to(PHONE).await;
    assert_eq!(sent.len(), 1, "sent once");
    assert_eq!(sent[0]["body"], "Hello Zoé from Maison");
    let activities = activity_types(&app, &token, "maison", person).await;
    let sent: Vec<_> = activities
        .iter()
        .filter(|(kind, _)| kind == "message_sent")
        .collect();
    assert_eq!(sent.len(), 1, "{activities:?}");
    assert_eq!(sent[0].1["message_id"], message_id.to_string());
    // The same key for another message is refused, and sends nothing.
    let mut other = request.clone();
    other.content = Content::Text {
        subject: None,
        body: "Something else".into(),
    };
    let refused = messages::send(&app.state.messages, &maison, &other).await;
    assert!(matches!(refused, Err(SendError::KeyReused)), "{refused:?}");
    assert_eq!(app.sandbox().messages_to(PHONE).await.len(), 1);
}

#[tokio::test]
async fn each_suppression_reason_is_recorded_with_its_activity() {
    let (app, token) = app().await;
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let no_phone = profile(&app, &token, "maison", json!({ "first_name": "A" })).await;
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
    let unknown = profile(&app, &token, "maison", json!({ "phone": "+33612345001" })).await;
    let denied = profile(&app, &token, "maison", json!({ "phone": "+33612345002" })).await;
    consent(&app, &token, "maison", denied, "sms", "marketing", "denied").await;
    let busy = profile(&app, &token, "maison", json!({ "phone": "+33612345003" })).await;
    consent(&app, &token, "maison", busy, "sms", "marketing", "granted").await;
    messages::set_frequency_cap(
        &app.db,
        maison.id,
        Purpose::Marketing,
        Some(FrequencyCap {
            max_messages: 2,
            window_secs: 86_400,
        }),
    )
    .await
    .unwrap();
    for (person, key, reason) in [
        (no_phone, "k-no-phone", Suppression::NoAddress),
        (unknown, "k-unknown", Suppression::NoConsent),
        (denied, "k-denied", Suppression::ConsentDenied),
    ] {
        let outcome = send(
            &app,
            &maison,
            &request(person, template, Purpose::Marketing, key),
        )
        .await;
        assert!(
            matches!(outcome, SendOutcome::Suppressed { reason: r, .. } if r == reason),
            "{key}: {outcome:?}"
        );
        let activities = activity_types(&app, &token, "maison", person).await;
        let found = activities
            .iter()
            .find(|(kind, _)| kind == "message_suppressed");
        assert_eq!(
            found.map(|(_, p)| p["reason"].clone()),
            Some(json!(reason.as_str())),
            "{key}"
        );
    }
    for key in ["cap-1", "cap-2"] {
        let outcome = send(
            &app,
            &maison,
            &request(busy, template, Purpose::Marketing, key),
        )
        .await;
        assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    }
    let capped = send(
        &app,
        &maison,
        &request(busy, template, Purpose::Marketing, "cap-3"),
    )
    .await;
    assert!(
        matches!(
            capped,
            SendOutcome::Suppressed {
                reason: Suppression::FrequencyCap,
                ..
            }
        ),
        "{capped:?}"
    );
    // The cap is per purpose: a service message still goes; the window moves on.
    let service = template_id(&app, &token, "maison", &sms_template("service")).await;
    let outcome = send(
        &app,
        &maison,
        &request(busy, service, Purpose::Service, "svc-1"),
    )
    .await;
    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    app.state
        .messages
        .clock()
        .advance(chrono::Duration::days(2));
    let later = send(
        &app,
        &maison,
        &request(busy, template, Purpose::Marketing, "cap-4"),
    )
    .await;
    assert!(matches!(later, SendOutcome::Sent { .. }), "{later:?}");
    assert_eq!(app.sandbox().messages_to("+33612345003").await.len(), 4);
    assert!(app.sandbox().messages_to("+33612345002").await.is_empty());
}

#[tokio::test]
async fn concurrent_sends_never_pass_the_cap() {
    let (app, token) = app().await;
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let person = profile(&app, &token, "maison", json!({ "phone": "+33612345009" })).await;
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
    messages::set_frequency_cap(
        &app.db,
        maison.id,
        Purpose::Marketing,
        Some(FrequencyCap {
            max_messages: 3,
            window_secs: 86_400,
        }),
    )
    .await
    .unwrap();
    let attempts = (0..10).map(|i| {
        let request = request(person, template, Purpose::Marketing, &format!("race-{i}"));
        let (app, maison) = (&app, &maison);
        async move { send(app, maison, &request).await }
    });
    let outcomes = futures::future::join_all(attempts).await;
    let sent = outcomes
        .iter()
        .filter(|o| matches!(o, SendOutcome::Sent { .. }))
        .count();
    assert_eq!(sent, 3, "{outcomes:?}");
    assert_eq!(app.sandbox().messages_to("+33612345009").await.len(), 3);
}

#[tokio::test]
async fn quiet_hours_defer_marketing_in_the_brands_time_zone_but_not_outreach() {
    let (app, token) = app().await;
    let maison = brand(&app, "maison").await;
    // 22:30 in Paris (UTC+1 in December).
    app.state
        .messages
        .clock()
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 21, 30, 0).unwrap());
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let person = profile(&app, &token, "maison", json!({ "phone": "+33612345010" })).await;
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
    consent(&app, &token, "maison", person, "sms", "outreach", "granted").await;
    let marketing = request(person, template, Purpose::Marketing, "night-1");
    let outcome = send(&app, &maison, &marketing).await;
    let until = Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0).unwrap();
    assert!(
        matches!(outcome, SendOutcome::Deferred { until: u, .. } if u == until),
        "{outcome:?}"
    );
    assert_eq!(
        send(&app, &maison, &marketing).await,
        outcome,
        "still waiting"
    );
    assert!(app.sandbox().messages_to("+33612345010").await.is_empty());
    let mut outreach = request(person, template, Purpose::Outreach, "night-advisor");
    outreach.content = Content::Text {
        subject: None,
        body: "Your bag is ready".into(),
    };
    assert!(matches!(
        send(&app, &maison, &outreach).await,
        SendOutcome::Sent { .. }
    ));
    // At 08:00 the same key sends.
    app.state.messages.clock().set(until);
    assert!(matches!(
        send(&app, &maison, &marketing).await,
        SendOutcome::Sent { .. }
    ));
    assert_eq!(app.sandbox().messages_to("+33612345010").await.len(), 2);
}

#[tokio::test]
async fn a_429_or_a_5xx_is_retryable_and_the_retry_sends_once() {
    let (app, token) = app().await;
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let person = profile(&app, &token, "maison", json!({ "phone": "+33612345020" })).await;
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
    app.sandbox().inject_fault(
        System::Messaging,
        json!({ "status": 429, "times": 1, "operation": "/v1/messages" }),
    );
    let first = request(person, template, Purpose::Marketing, "throttled");
    let outcome = send(&app, &maison, &first).await;
    assert!(
        matches!(&outcome, SendOutcome::Failed { retryable: true, reason, retry_after_ms: Some(1000), .. } if reason == "rate_limited"),
        "{outcome:?}"
    );
    assert!(matches!(
        send(&app, &maison, &first).await,
        SendOutcome::Sent { .. }
    ));
    // The provider took the message but the answer was lost (a 500 after the fact): the retry learns it.
    app.sandbox().inject_fault(
        System::Messaging,
        json!({ "status": 500, "times": 1, "phase": "after", "operation": "/v1/messages" }),
    );
    let second = request(person, template, Purpose::Marketing, "lost-answer");
    let outcome = send(&app, &maison, &second).await;
    assert!(
        matches!(
            outcome,
            SendOutcome::Failed {
                retryable: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    let retried = send(&app, &maison, &second).await;
    assert!(matches!(retried, SendOutcome::Sent { .. }), "{retried:?}");
    assert_eq!(
        app.sandbox().messages_to("+33612345020").await.len(),
        2,
        "two logical messages, each once"
    );
    // Consent revoked before the retry of a failed attempt: suppressed, not sent.
    app.sandbox().inject_fault(
        System::Messaging,
        json!({ "status": 503, "times": 1, "operation": "/v1/messages" }),
    );
    let third = request(person, template, Purpose::Marketing, "revoked");
    assert!(matches!(
        send(&app, &maison, &third).await,
        SendOutcome::Failed {
            retryable: true,
            ..
        }
    ));
    consent(&app, &token, "maison", person, "sms", "marketing", "denied").await;
    let outcome = send(&app, &maison, &third).await;
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
    assert_eq!(app.sandbox().messages_to("+33612345020").await.len(), 2);
}

#[tokio::test]
async fn free_text_is_for_one_to_one_purposes_and_templates_must_match() {
    let (app, token) = app().await;
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let person = profile(&app, &token, "maison", json!({ "phone": "+33612345030" })).await;
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
    let mut text = request(person, template, Purpose::Marketing, "free-marketing");
    text.content = Content::Text {
        subject: None,
        body: "Buy now".into(),
    };
    let outcome = send(&app, &maison, &text).await;
    assert!(
        matches!(&outcome, SendOutcome::Failed { retryable: false, reason, .. } if reason == "free_text_not_allowed"),
        "{outcome:?}"
    );
    let mismatch = request(person, template, Purpose::Service, "mismatch");
    let outcome = send(&app, &maison, &mismatch).await;
    assert!(
        matches!(&outcome, SendOutcome::Failed { retryable: false, reason, .. } if reason == "template_mismatch"),
        "{outcome:?}"
    );
    // Another brand's template is not found from this brand.
    let atelier = marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let theirs = template_id(&app, &atelier, "atelier", &sms_template("marketing")).await;
    let outcome = send(
        &app,
        &maison,
        &request(person, theirs, Purpose::Marketing, "theirs"),
    )
    .await;
    assert!(
        matches!(&outcome, SendOutcome::Failed { reason, .. } if reason == "template_not_found"),
        "{outcome:?}"
    );
    // Another brand's profile is unknown here.
    let their_person = super::profile(
        &app,
        &atelier,
        "atelier",
        json!({ "phone": "+33612345031" }),
    )
    .await;
    let outcome = send(
        &app,
        &maison,
        &request(their_person, template, Purpose::Marketing, "their-person"),
    )
    .await;
    assert!(
        matches!(&outcome, SendOutcome::Failed { message_id: None, reason, .. } if reason == "unknown_profile"),
        "{outcome:?}"
    );
    assert!(app.sandbox().messages_to("+33612345030").await.is_empty());
    assert!(app.sandbox().messages_to("+33612345031").await.is_empty());
}

/// The cap is a promise to a person: when two profiles of one person merge, the messages the absorbed one
/// was sent still count against the survivor (they stayed on the absorbed profile's ledger rows, so the
/// merge reset the cap and the person could get twice the allowed messages in the window).
#[tokio::test]
async fn a_merge_does_not_reset_the_frequency_cap() {
    let (app, token) = app().await;
    let maison = brand(&app, "maison").await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let absorbed = profile(&app, &token, "maison", json!({ "phone": "+33612345090" })).await;
    let survivor = profile(&app, &token, "maison", json!({ "phone": "+33612345091" })).await;
    for person in [absorbed, survivor] {
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
    }
    messages::set_frequency_cap(
        &app.db,
        maison.id,
        Purpose::Marketing,
        Some(FrequencyCap {
            max_messages: 2,
            window_secs: 86_400,
        }),
    )
    .await
    .unwrap();
    for key in ["merge-cap-1", "merge-cap-2"] {
        let outcome = send(
            &app,
            &maison,
            &request(absorbed, template, Purpose::Marketing, key),
        )
        .await;
        assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    }
    let mut conn = app.db.acquire().await.unwrap();
    concierge::crm::merge::merge(
        &mut conn,
        maison.id,
        &concierge::crm::merge::MergeRequest {
            survivor,
            absorbed: &[absorbed],
            cause: concierge::crm::merge::Cause::Manual,
            actor: "test",
        },
    )
    .await
    .unwrap();
    drop(conn);
    for (person, key) in [(survivor, "merge-cap-3"), (absorbed, "merge-cap-4")] {
        let outcome = send(
            &app,
            &maison,
            &request(person, template, Purpose::Marketing, key),
        )
        .await;
        assert!(
            matches!(
                outcome,
                SendOutcome::Suppressed {
                    reason: Suppression::FrequencyCap,
                    ..
                }
            ),
            "{key}: {outcome:?}"
        );
    }
}
