//! Membership kept current by each event (the after-event hook) and by the schedule as time passes.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{brand_id, create, get, members, post};
use crate::helpers::{TestApp, marketer_token, spawn_app};

fn purchase(id: &str, email: &str, at: chrono::DateTime<Utc>) -> Value {
    json!({"id": id, "type": "purchase", "occurred_at": at.to_rfc3339(),
           "identifiers": [{"kind": "email", "value": email}],
           "properties": {"order_id": id, "amount": "120.00", "currency": "EUR"}})
}

async fn ingest(app: &TestApp, token: &str, events: Value) -> Uuid {
    let (status, answer) = post(app, token, "/api/v1/brands/maison/crm/events", &events).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
    answer["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn history(app: &TestApp, token: &str, segment: &str) -> Vec<(String, String)> {
    let (_, page) = get(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/segments/{segment}/history"),
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["change"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_event_moves_its_profile_in_and_time_moves_it_out() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let frequent = create(
        &app,
        &token,
        "maison",
        &json!({
            "slug": "frequent", "name": "Bought twice this month",
            "rule": {"activity": "purchase", "count": {"gte": 2}, "within": {"days": 30}}
        }),
    )
    .await;
    // Depends on traits only: a purchase without traits does not re-evaluate it.
    let untiered = create(
        &app,
        &token,
        "maison",
        &json!({
            "slug": "untiered", "name": "No tier", "rule": {"attribute": "tier", "op": "missing"}
        }),
    )
    .await;
    // Names `frequent`: recomputed after it, in the same event.
    let nested = create(&app, &token, "maison", &json!({
        "slug": "frequent-fr", "name": "Frequent, any country",
        "rule": {"any": [{"segment": "frequent", "is": "member"}, {"attribute": "country", "op": "eq", "value": "ZZ"}]}
    }))
    .await;
    let (frequent, untiered, nested) = (
        frequent["id"].as_str().unwrap().to_owned(),
        untiered["id"].as_str().unwrap().to_owned(),
        nested["id"].as_str().unwrap().to_owned(),
    );
    let now = Utc::now();
    let jane = ingest(
        &app,
        &token,
        json!([purchase("p1", "jane@example.com", now - Duration::days(2))]),
    )
    .await;
    assert!(
        members(&app, &frequent).await.is_empty(),
        "one purchase is not two"
    );
    ingest(
        &app,
        &token,
        json!([purchase("p2", "jane@example.com", now - Duration::hours(1))]),
    )
    .await;
    assert_eq!(
        members(&app, &frequent).await,
        vec![jane],
        "in on the event, without a refresh"
    );
    assert_eq!(
        members(&app, &nested).await,
        vec![jane],
        "the nested segment follows in the same event"
    );
    assert!(
        members(&app, &untiered).await.is_empty(),
        "a segment the event cannot change is not evaluated"
    );
    assert_eq!(
        history(&app, &token, &frequent).await,
        vec![("entered".to_owned(), "event".to_owned())]
    );
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM outbox_events WHERE topic = 'crm.segment.membership.changed' AND aggregate_id = $1",
    )
    .bind(&frequent)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(payload["entered"], json!([jane]));
    assert_eq!(payload["reason"], "event");

    // A trait change re-evaluates attribute rules (here: jane gains a tier, so she is no longer untiered,
    // which only a refresh had put her in).
    let (status, _) = post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{untiered}/refresh"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(members(&app, &untiered).await, vec![jane]);
    ingest(
        &app,
        &token,
        json!([{"id": "t1", "type": "page_view", "occurred_at": now.to_rfc3339(),
        "identifiers": [{"kind": "email", "value": "jane@example.com"}], "traits": {"tier": "gold"},
        "properties": {"url": "https://maison.example/"}}]),
    )
    .await;
    assert!(members(&app, &untiered).await.is_empty());

    // A month on, without any new event, the schedule sees her purchases age out.
    let later = now + Duration::days(31);
    concierge::crm::segments::reevaluate_time_based(&app.db, now, 60_000)
        .await
        .unwrap();
    assert_eq!(
        members(&app, &frequent).await,
        vec![jane],
        "still within the window today"
    );
    let reports = concierge::crm::segments::reevaluate_time_based(&app.db, later, 60_000)
        .await
        .unwrap();
    assert!(reports.iter().any(|r| r.exited == 1));
    assert!(members(&app, &frequent).await.is_empty());
    assert!(
        members(&app, &nested).await.is_empty(),
        "and the segment naming it follows"
    );
    assert_eq!(
        history(&app, &token, &frequent).await,
        vec![
            ("exited".to_owned(), "schedule".to_owned()),
            ("entered".to_owned(), "event".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_merge_takes_the_absorbed_profiles_out_and_keeps_their_static_memberships() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    brand_id(&app, "maison").await;
    let now = Utc::now();
    let by_email = ingest(
        &app,
        &token,
        json!([purchase("m1", "ann@example.com", now)]),
    )
    .await;
    let by_phone = ingest(&app, &token, json!([{"id": "m2", "type": "page_view", "occurred_at": now.to_rfc3339(),
        "identifiers": [{"kind": "loyalty_id", "value": "l1042"}], "properties": {"url": "https://maison.example/"}}])).await;
    let guests = create(
        &app,
        &token,
        "maison",
        &json!({"slug": "guests", "name": "Guests", "kind": "static"}),
    )
    .await;
    let guests = guests["id"].as_str().unwrap().to_owned();
    post(
        &app,
        &token,
        &format!("/api/v1/brands/maison/crm/segments/{guests}/members"),
        &json!({"add": [by_phone]}),
    )
    .await;
    // An event naming both identifiers merges the profiles.
    let (status, answer) = post(&app, &token, "/api/v1/brands/maison/crm/events", &json!([{"id": "m3", "type": "page_view",
        "occurred_at": now.to_rfc3339(), "identifiers": [{"kind": "email", "value": "ann@example.com"}, {"kind": "loyalty_id", "value": "l1042"}],
        "properties": {"url": "https://maison.example/"}}])).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["resolution"], "merged", "{answer}");
    let survivor: Uuid = answer["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!([by_email, by_phone].contains(&survivor));
    assert_eq!(members(&app, &guests).await, vec![survivor]);
}
