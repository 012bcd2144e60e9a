//! Batches: outcomes per event, de-duplication, one bad event among good ones, counters, traits.

use serde_json::{Value, json};

use super::{activity_count, ingest, page_view, profile_of, send, statuses};
use crate::helpers::{marketer_token, problem, spawn_app};

#[tokio::test]
async fn a_replayed_batch_changes_nothing_and_answers_duplicates_with_the_same_profiles() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let batch = json!([
        page_view("e-1", "jane@example.com", "2026-11-01T10:00:00Z"),
        page_view("e-2", "Jane@Example.com", "2026-11-02T10:00:00Z"),
        page_view("e-3", "bob@example.com", "2026-11-03T10:00:00Z"),
    ]);
    let first = ingest(&app, &token, "maison", &batch).await;
    assert_eq!(statuses(&first), ["accepted", "accepted", "accepted"]);
    assert_eq!(first["accepted"], 3);
    assert_eq!(first["results"][0]["resolution"], "created");
    assert_eq!(first["results"][1]["resolution"], "matched");
    let jane = profile_of(&first, 0);
    assert_eq!(profile_of(&first, 1), jane, "one person in two spellings");
    assert_ne!(profile_of(&first, 2), jane);
    let counts_before: Value =
        sqlx::query_scalar("SELECT activity_counts FROM crm_profiles WHERE id = $1::uuid")
            .bind(&jane)
            .fetch_one(&app.db)
            .await
            .unwrap();

    let again = ingest(&app, &token, "maison", &batch).await;
    assert_eq!(statuses(&again), ["duplicate", "duplicate", "duplicate"]);
    assert_eq!(
        (again["accepted"].clone(), again["duplicates"].clone()),
        (json!(0), json!(3))
    );
    assert_eq!(profile_of(&again, 0), jane);
    assert_eq!(profile_of(&again, 2), profile_of(&first, 2));
    assert_eq!(activity_count(&app, &jane).await, 2);
    let counts_after: Value =
        sqlx::query_scalar("SELECT activity_counts FROM crm_profiles WHERE id = $1::uuid")
            .bind(&jane)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(counts_before, counts_after);
    assert_eq!(counts_after, json!({"page_view": 2}));
    let profiles: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_profiles")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(profiles, 2);
}

#[tokio::test]
async fn the_same_id_twice_in_one_batch_is_applied_once() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let batch = json!([
        page_view("twice", "jane@example.com", "2026-11-01T10:00:00Z"),
        page_view("twice", "bob@example.com", "2026-11-02T10:00:00Z"),
    ]);
    let answer = ingest(&app, &token, "maison", &batch).await;
    assert_eq!(statuses(&answer), ["accepted", "duplicate"]);
    assert_eq!(
        profile_of(&answer, 1),
        profile_of(&answer, 0),
        "the duplicate names the first one's profile"
    );
    assert_eq!(activity_count(&app, &profile_of(&answer, 0)).await, 1);
    let bob: Option<String> =
        sqlx::query_scalar("SELECT value FROM crm_identifiers WHERE value = 'bob@example.com'")
            .fetch_optional(&app.db)
            .await
            .unwrap();
    assert_eq!(bob, None, "nothing of the duplicate was applied");
}

#[tokio::test]
async fn one_bad_event_does_not_reject_the_others_and_its_id_stays_usable() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let bad = json!({"id": "p-2", "type": "purchase", "occurred_at": "2026-11-02T10:00:00Z",
                     "identifiers": [{"kind": "email", "value": "jane@example.com"}],
                     "properties": {"order_id": "A-2", "amount": "-5", "currency": "EUR"}});
    let batch = json!([
        page_view("p-1", "jane@example.com", "2026-11-01T10:00:00Z"),
        bad,
        page_view("p-3", "jane@example.com", "2026-11-03T10:00:00Z"),
    ]);
    let answer = ingest(&app, &token, "maison", &batch).await;
    assert_eq!(statuses(&answer), ["accepted", "rejected", "accepted"]);
    assert_eq!(answer["rejected"], 1);
    assert_eq!(answer["results"][1]["id"], "p-2");
    assert_eq!(
        answer["results"][1]["errors"][0]["field"],
        "/1/properties/amount"
    );
    assert_eq!(answer["results"][1]["errors"][0]["code"], "invalid_amount");
    assert!(answer["results"][1].get("profile_id").is_none());
    let jane = profile_of(&answer, 0);
    assert_eq!(activity_count(&app, &jane).await, 2);

    let fixed = json!([{"id": "p-2", "type": "purchase", "occurred_at": "2026-11-02T10:00:00Z",
                        "identifiers": [{"kind": "email", "value": "jane@example.com"}],
                        "properties": {"order_id": "A-2", "amount": "5", "currency": "EUR"}}]);
    let answer = ingest(&app, &token, "maison", &fixed).await;
    assert_eq!(
        statuses(&answer),
        ["accepted"],
        "a rejected event's id was not used up"
    );
    assert_eq!(activity_count(&app, &jane).await, 3);
}

fn purchase(id: &str, at: &str, amount: Value, currency: &str) -> Value {
    json!({"id": id, "type": "purchase", "occurred_at": at,
           "identifiers": [{"kind": "email", "value": "jane@example.com"}],
           "properties": {"order_id": id, "amount": amount, "currency": currency, "store": "paris-1",
                          "items": [{"sku": "BAG-1", "quantity": 1, "price": "100.50"}]}})
}

#[tokio::test]
async fn counters_follow_a_mix_of_events_and_only_the_brands_currency_adds_to_lifetime_value() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let batch = json!([
        page_view("v-1", "jane@example.com", "2026-10-05T10:00:00Z"),
        purchase("o-1", "2026-10-03T09:00:00Z", json!("100.50"), "EUR"),
        purchase("o-2", "2026-10-04T09:00:00Z", json!(20), "eur"),
        purchase("o-3", "2026-10-06T09:00:00Z", json!("999.99"), "USD"),
        page_view("v-2", "jane@example.com", "2026-10-01T10:00:00Z"),
        json!({"id": "c-1", "type": "wishlist_add", "occurred_at": "2026-10-02T10:00:00Z",
               "identifiers": [{"kind": "email", "value": "jane@example.com"}],
               "properties": {"sku": "BAG-2", "anything": {"nested": [1, 2]}}}),
    ]);
    let answer = ingest(&app, &token, "maison", &batch).await;
    assert_eq!(answer["accepted"], 6, "{answer}");
    let jane = profile_of(&answer, 0);
    let row: (Value, String, String, String) = sqlx::query_as(
        "SELECT activity_counts, first_activity_at::text, last_activity_at::text, lifetime_value::text
         FROM crm_profiles WHERE id = $1::uuid",
    )
    .bind(&jane)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        row.0,
        json!({"page_view": 2, "purchase": 3, "wishlist_add": 1})
    );
    assert_eq!(row.1, "2026-10-01 10:00:00+00");
    assert_eq!(row.2, "2026-10-06 09:00:00+00");
    assert_eq!(row.3, "120.5000", "EUR purchases only: 100.50 + 20");
}

#[tokio::test]
async fn traits_set_attributes_and_only_a_change_is_published() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let with_traits = |id: &str, first_name: &str| {
        let mut event = page_view(id, "jane@example.com", "2026-11-01T10:00:00Z");
        event["traits"] = json!({"first_name": first_name, "country": "fr", "tags": ["vip"]});
        event
    };
    let updates = |app: &crate::helpers::TestApp| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM outbox_events WHERE topic = 'crm.profile.updated'",
            )
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let created = ingest(&app, &token, "maison", &json!([with_traits("t-1", "Jane")])).await;
    let jane = profile_of(&created, 0);
    let row: (Option<String>, Option<String>, Vec<String>) =
        sqlx::query_as("SELECT first_name, country, tags FROM crm_profiles WHERE id = $1::uuid")
            .bind(&jane)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        row,
        (
            Some("Jane".into()),
            Some("FR".into()),
            vec!["vip".to_owned()]
        )
    );
    assert_eq!(updates(&app).await, 0, "a new profile is not an update");

    ingest(&app, &token, "maison", &json!([with_traits("t-2", "Jane")])).await;
    ingest(
        &app,
        &token,
        "maison",
        &json!([page_view("t-3", "jane@example.com", "2026-11-01T11:00:00Z")]),
    )
    .await;
    assert_eq!(
        updates(&app).await,
        0,
        "the same traits, or none, change nothing"
    );

    ingest(
        &app,
        &token,
        "maison",
        &json!([with_traits("t-4", "Janet"), with_traits("t-5", "Jenny")]),
    )
    .await;
    let payloads: Vec<Value> =
        sqlx::query_scalar("SELECT payload FROM outbox_events WHERE topic = 'crm.profile.updated'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        payloads.len(),
        1,
        "one update per changed profile per batch: {payloads:?}"
    );
    assert_eq!(payloads[0]["profile_id"], jane.as_str());
    assert_eq!(payloads[0]["brand"], "maison");
}

#[tokio::test]
async fn empty_oversized_and_malformed_batches_are_refused() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let (status, body) = send(&app, &token, "maison", &json!([])).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "validation-failed");

    let many: Vec<Value> = (0..1001)
        .map(|n| {
            page_view(
                &format!("n-{n}"),
                "jane@example.com",
                "2026-11-01T10:00:00Z",
            )
        })
        .collect();
    let (status, body) = send(&app, &token, "maison", &json!(many)).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "payload-too-large");
    assert_eq!(activity_count_all(&app).await, 0);

    // 1,000 ordinary events fit the route's body limit (above the server's default).
    let full: Vec<Value> = (0..1000)
        .map(|n| {
            page_view(
                &format!("f-{n}"),
                &format!("p{}@example.com", n % 50),
                "2026-11-01T10:00:00Z",
            )
        })
        .collect();
    let answer = ingest(&app, &token, "maison", &json!(full)).await;
    assert_eq!(answer["accepted"], 1000);

    let (status, body) = send(&app, &token, "maison", &json!({"events": []})).await;
    assert_eq!(status, 422, "{body}");
    let huge = format!("[{}]", "\"x\",".repeat(1_100_000).trim_end_matches(','));
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/events"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(problem(response).await["code"], "payload-too-large");
}

async fn activity_count_all(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM crm_activities")
        .fetch_one(&app.db)
        .await
        .unwrap()
}
