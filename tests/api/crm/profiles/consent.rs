//! Consent: `PUT …/consents/{channel}/{purpose}`, `GET …/consents`, `GET …/consents/history`, and
//! `crm::may_contact`, the one answer campaigns, journeys and outreach ask.

use chrono::{Duration, Utc};
use concierge::crm::consent::{Channel, ContactReason, Purpose, Status};
use concierge::crm::may_contact;
use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{assert_refused, brand_id, code, merge_away, outsiders, profile, send};
use crate::helpers::{TestApp, get_as, get_json_as, marketer_token, problem, spawn_app};

const BASE: &str = "/api/v1/brands/maison/crm/profiles";

async fn put(
    app: &TestApp,
    token: &str,
    id: impl std::fmt::Display,
    pair: &str,
    body: Value,
) -> reqwest::Response {
    send(
        app,
        Method::PUT,
        Some(token),
        &format!("{BASE}/{id}/consents/{pair}"),
        Some(body),
    )
    .await
}

fn item<'a>(list: &'a Value, channel: &str, purpose: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == channel && c["purpose"] == purpose)
        .unwrap()
}

#[tokio::test]
async fn consent_is_set_listed_expired_and_kept_in_history() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let id = profile(&app, "maison", &[("email", "jane@example.com")], json!({})).await;
    let now = Utc::now();

    let response = put(
        &app,
        &token,
        id,
        "email/marketing",
        json!({ "status": "granted", "source": "checkout",
        "captured_at": now - Duration::days(3) }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["source"].as_str()),
        (Some("granted"), Some("checkout"))
    );
    assert!(body["actor"].as_str().unwrap().starts_with("user:"));

    let response = put(
        &app,
        &token,
        id,
        "sms/marketing",
        json!({ "status": "granted", "source": "boutique",
        "captured_at": now - Duration::days(10), "expires_at": now - Duration::days(1) }),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap()["status"],
        "unknown",
        "expired"
    );
    assert_eq!(
        put(
            &app,
            &token,
            id,
            "postal/service",
            json!({ "status": "denied", "source": "letter" })
        )
        .await
        .status(),
        200
    );

    let list: Value = get_json_as(&app, &token, &format!("{BASE}/{id}/consents")).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        40,
        "10 channels × 4 purposes"
    );
    assert_eq!(item(&list, "email", "marketing")["status"], "granted");
    let sms = item(&list, "sms", "marketing");
    assert_eq!(
        (
            sms["status"].as_str(),
            sms["expired"].as_bool(),
            sms["recorded_status"].as_str()
        ),
        (Some("unknown"), Some(true), Some("granted"))
    );
    assert_eq!(item(&list, "postal", "service")["status"], "denied");
    assert_eq!(item(&list, "kakao", "events")["status"], "unknown");

    // A capture older than the current one is refused, and changes nothing.
    let response = put(
        &app,
        &token,
        id,
        "email/marketing",
        json!({ "status": "denied", "source": "import",
        "captured_at": now - Duration::days(30) }),
    )
    .await;
    assert_eq!(response.status(), 409);
    assert_eq!(code(&problem(response).await), "consent-stale");
    // `unknown` removes the current consent.
    let response = put(
        &app,
        &token,
        id,
        "email/marketing",
        json!({ "status": "unknown", "source": "preference_center" }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM crm_consents WHERE profile_id = $1 AND channel = 'email'",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(rows, 0);
    // Unknown again: nothing to change, no history, no event.
    assert_eq!(
        put(
            &app,
            &token,
            id,
            "email/marketing",
            json!({ "status": "unknown", "source": "x" })
        )
        .await
        .status(),
        200
    );

    let history: Value = get_json_as(
        &app,
        &token,
        &format!("{BASE}/{id}/consents/history?limit=2"),
    )
    .await;
    let statuses: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["unknown", "denied"], "newest first");
    assert_eq!(history["items"][0]["cause"], "set");
    let cursor = history["next_cursor"].as_str().unwrap();
    let rest: Value = get_json_as(
        &app,
        &token,
        &format!("{BASE}/{id}/consents/history?limit=2&cursor={cursor}"),
    )
    .await;
    let statuses: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["granted", "granted"]);
    assert!(rest["next_cursor"].is_null());

    let events: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM outbox_events WHERE topic = 'crm.consent.changed' ORDER BY seq",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(
        (
            events[3]["status"].as_str(),
            events[3]["previous_status"].as_str()
        ),
        (Some("unknown"), Some("granted"))
    );
}

#[tokio::test]
async fn bad_consent_writes_are_problems() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let id = profile(&app, "maison", &[("email", "jane@example.com")], json!({})).await;
    let now = Utc::now();
    for (pair, body, status) in [
        (
            "fax/marketing",
            json!({ "status": "granted", "source": "x" }),
            400,
        ),
        (
            "email/spam",
            json!({ "status": "granted", "source": "x" }),
            400,
        ),
        (
            "Email/marketing",
            json!({ "status": "granted", "source": "x" }),
            400,
        ),
        (
            "email/marketing",
            json!({ "status": "maybe", "source": "x" }),
            422,
        ),
        ("email/marketing", json!({ "status": "granted" }), 422),
        (
            "email/marketing",
            json!({ "status": "granted", "source": "" }),
            422,
        ),
        (
            "email/marketing",
            json!({ "status": "granted", "source": "x".repeat(65) }),
            422,
        ),
        (
            "email/marketing",
            json!({ "status": "granted", "source": "x", "captured_at": now + Duration::days(1) }),
            422,
        ),
        (
            "email/marketing",
            json!({ "status": "granted", "source": "x", "captured_at": "yesterday" }),
            422,
        ),
        (
            "email/marketing",
            json!({ "status": "granted", "source": "x", "expires_at": now - Duration::days(1) }),
            422,
        ),
        (
            "email/marketing",
            json!({ "status": "unknown", "source": "x", "expires_at": now + Duration::days(1) }),
            422,
        ),
        (
            "email/marketing",
            json!({ "status": "granted", "source": "x", "actor": "me" }),
            422,
        ),
    ] {
        let response = put(&app, &token, id, pair, body.clone()).await;
        assert_eq!(response.status(), status, "{pair} {body}");
        problem(response).await;
    }
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM crm_consent_history WHERE profile_id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(rows, 0);
    for query in ["limit=0", "limit=101", "cursor=abc", "cursor=%%"] {
        let response = get_as(
            &app,
            &token,
            &format!("{BASE}/{id}/consents/history?{query}"),
        )
        .await;
        assert!([400, 422].contains(&response.status().as_u16()), "{query}");
        problem(response).await;
    }
}

#[tokio::test]
async fn consent_of_merged_away_and_foreign_profiles_and_outsiders() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let survivor = profile(&app, "maison", &[("email", "jane@example.com")], json!({})).await;
    let absorbed = profile(&app, "maison", &[("email", "old@example.com")], json!({})).await;
    merge_away(&app, absorbed, survivor).await;
    let theirs = profile(&app, "atelier", &[("email", "ana@example.com")], json!({})).await;
    let grant = json!({ "status": "granted", "source": "x" });
    assert_eq!(
        put(&app, &token, survivor, "email/marketing", grant.clone())
            .await
            .status(),
        200
    );

    let response = put(&app, &token, absorbed, "email/marketing", grant.clone()).await;
    assert_eq!(response.status(), 409);
    assert_eq!(code(&problem(response).await), "profile-merged");
    let list: Value = get_json_as(&app, &token, &format!("{BASE}/{absorbed}/consents")).await;
    assert_eq!(
        list["profile_id"],
        survivor.to_string(),
        "reads follow the merge"
    );
    assert_eq!(item(&list, "email", "marketing")["status"], "granted");
    let history: Value =
        get_json_as(&app, &token, &format!("{BASE}/{absorbed}/consents/history")).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);

    for id in [
        theirs.to_string(),
        uuid::Uuid::now_v7().to_string(),
        "zzz".to_owned(),
    ] {
        assert_eq!(
            put(&app, &token, &id, "email/marketing", grant.clone())
                .await
                .status(),
            404,
            "{id}"
        );
        assert_eq!(
            get_as(&app, &token, &format!("{BASE}/{id}/consents"))
                .await
                .status(),
            404
        );
        assert_eq!(
            get_as(&app, &token, &format!("{BASE}/{id}/consents/history"))
                .await
                .status(),
            404
        );
    }

    let outsiders = outsiders(&app).await;
    assert_refused(
        &app,
        &outsiders,
        Method::PUT,
        &format!("{BASE}/{survivor}/consents/email/marketing"),
        Some(grant),
    )
    .await;
    assert_refused(
        &app,
        &outsiders,
        Method::GET,
        &format!("{BASE}/{survivor}/consents"),
        None,
    )
    .await;
    assert_refused(
        &app,
        &outsiders,
        Method::GET,
        &format!("{BASE}/{survivor}/consents/history"),
        None,
    )
    .await;
}

#[tokio::test]
async fn may_contact_says_unknown_means_no_except_for_service() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mk@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    let atelier = brand_id(&app, "atelier").await;
    let id = profile(&app, "maison", &[("email", "jane@example.com")], json!({})).await;
    let absorbed = profile(&app, "maison", &[("email", "old@example.com")], json!({})).await;
    merge_away(&app, absorbed, id).await;
    let ask = |profile_id, channel, purpose| {
        let pool = app.db.clone();
        async move {
            may_contact(&pool, maison, profile_id, channel, purpose)
                .await
                .unwrap()
        }
    };

    let decision = ask(id, Channel::Email, Purpose::Marketing).await;
    assert_eq!(
        (decision.allowed, decision.status, decision.reason),
        (false, Status::Unknown, ContactReason::NoConsent)
    );
    assert!(!ask(id, Channel::Whatsapp, Purpose::Outreach).await.allowed);
    assert!(!ask(id, Channel::Email, Purpose::Events).await.allowed);
    let service = ask(id, Channel::Sms, Purpose::Service).await;
    assert_eq!(
        (service.allowed, service.reason),
        (true, ContactReason::ServiceDefault)
    );

    let now = Utc::now();
    for (pair, body) in [
        (
            "email/marketing",
            json!({ "status": "granted", "source": "x" }),
        ),
        ("sms/service", json!({ "status": "denied", "source": "x" })),
        (
            "line/outreach",
            json!({ "status": "granted", "source": "x", "captured_at": now - Duration::days(2), "expires_at": now - Duration::days(1) }),
        ),
    ] {
        assert_eq!(put(&app, &token, id, pair, body).await.status(), 200);
    }
    let granted = ask(id, Channel::Email, Purpose::Marketing).await;
    assert_eq!(
        (granted.allowed, granted.reason, granted.profile_id),
        (true, ContactReason::Granted, Some(id))
    );
    assert!(
        !ask(id, Channel::Email, Purpose::Outreach).await.allowed,
        "per purpose"
    );
    assert!(
        !ask(id, Channel::Push, Purpose::Marketing).await.allowed,
        "per channel"
    );
    let denied = ask(id, Channel::Sms, Purpose::Service).await;
    assert_eq!(
        (denied.allowed, denied.reason),
        (false, ContactReason::Denied)
    );
    let expired = ask(id, Channel::Line, Purpose::Outreach).await;
    assert_eq!(
        (expired.allowed, expired.status),
        (false, Status::Unknown),
        "expired is unknown"
    );

    let via_old = ask(absorbed, Channel::Email, Purpose::Marketing).await;
    assert_eq!(
        (via_old.allowed, via_old.profile_id),
        (true, Some(id)),
        "a merged-away id answers for its survivor"
    );

    // Within a transaction too, and never across brands.
    let mut tx = app.db.begin().await.unwrap();
    let in_tx = may_contact(&mut *tx, maison, id, Channel::Email, Purpose::Marketing)
        .await
        .unwrap();
    assert!(in_tx.allowed);
    let foreign = may_contact(&mut *tx, atelier, id, Channel::Email, Purpose::Marketing)
        .await
        .unwrap();
    assert_eq!(
        (foreign.allowed, foreign.reason, foreign.profile_id),
        (false, ContactReason::UnknownProfile, None)
    );
    tx.rollback().await.unwrap();
}
