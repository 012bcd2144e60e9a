//! A batch's first attempt puts its activities off and writes them together (one multi-row insert, one
//! counters update per profile), and runs the hooks once per profile: the result must be what the same
//! events sent one by one give — counters, segment membership and history, scores and their reasons — and
//! de-duplication must stay exact (an id repeated inside a batch, a replayed batch, identical batches sent
//! at once).

use chrono::{Duration, DurationRound, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ingest, statuses};
use crate::crm_segments::{brand_id, create, get, members};
use crate::helpers::{TestApp, marketer_token, spawn_app};

/// `n` hours before `base`, as the API takes it.
fn hours_before(base: chrono::DateTime<Utc>, n: i64) -> String {
    (base - Duration::hours(n)).to_rfc3339()
}

/// The events of one person, of several types, a purchase among them.
fn events(tag: &str, email: &str, base: chrono::DateTime<Utc>) -> Vec<Value> {
    let identifiers = json!([{"kind": "email", "value": email}]);
    let kinds = [
        ("page_view", json!({"url": "https://maison.example/bags"})),
        (
            "purchase",
            json!({"order_id": format!("{tag}-o1"), "amount": "120.50", "currency": "EUR"}),
        ),
        ("page_view", json!({"url": "https://maison.example/shoes"})),
        ("email_opened", json!({"campaign_id": "c1"})),
        (
            "purchase",
            json!({"order_id": format!("{tag}-o2"), "amount": "80.25", "currency": "EUR"}),
        ),
        ("page_view", json!({"url": "https://maison.example/"})),
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(n, (kind, properties))| {
            json!({"id": format!("{tag}-{n}"), "type": kind,
                   "occurred_at": hours_before(base, 30 - n as i64),
                   "identifiers": identifiers, "properties": properties})
        })
        .collect()
}

/// The counters of a profile, as stored.
async fn counters(app: &TestApp, profile: Uuid) -> (Value, String, String, String) {
    sqlx::query_as(
        "SELECT activity_counts, first_activity_at::text, last_activity_at::text, lifetime_value::text
         FROM crm_profiles WHERE id = $1",
    )
    .bind(profile)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

/// `(change, reason)` of the profile in the segment's history, oldest first.
async fn history_of(
    app: &TestApp,
    token: &str,
    segment: &str,
    profile: Uuid,
) -> Vec<(String, String)> {
    let (status, page) = get(
        app,
        token,
        &format!("/api/v1/brands/maison/crm/segments/{segment}/history"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let mut rows: Vec<(String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["profile_id"].as_str() == Some(&profile.to_string()))
        .map(|e| {
            (
                e["change"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rows.reverse();
    rows
}

fn profile(answer: &Value) -> Uuid {
    answer["results"][0]["profile_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_batch_for_one_profile_ends_as_the_same_events_sent_one_by_one() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    brand_id(&app, "maison").await;
    let base = Utc::now().duration_trunc(Duration::hours(1)).unwrap();
    // Scores as of a fixed instant, so both profiles are scored at the same time.
    app.state.crm.scores().clock().set(base);
    let mut segments = Vec::new();
    for (slug, rule) in [
        (
            "buyers",
            json!({"activity": "purchase", "count": {"gte": 2}}),
        ),
        (
            "browsers",
            json!({"activity": "page_view", "count": {"gte": 3}, "within": {"days": 7}}),
        ),
        ("openers", json!({"activity": "email_opened"})),
        (
            "engaged",
            json!({"score": "engagement", "op": "gte", "value": 1}),
        ),
        (
            "spenders",
            json!({"attribute": "lifetime_value", "op": "gte", "value": 200}),
        ),
    ] {
        let body = json!({"slug": slug, "name": slug, "rule": rule});
        segments.push(
            create(&app, &token, "maison", &body).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Both people exist before (the batch's events match, as the common case does).
    let first = |tag: &str, email: &str| {
        json!([{"id": format!("{tag}-first"), "type": "support_case_opened",
                "occurred_at": hours_before(base, 40), "identifiers": [{"kind": "email", "value": email}],
                "properties": {"case_id": format!("{tag}-case")}}])
    };
    let batched = profile(&ingest(&app, &token, "maison", &first("b", "batch@example.com")).await);
    let single = profile(&ingest(&app, &token, "maison", &first("s", "single@example.com")).await);

    let answer = ingest(
        &app,
        &token,
        "maison",
        &Value::Array(events("b", "batch@example.com", base)),
    )
    .await;
    assert!(
        statuses(&answer).iter().all(|s| s == "accepted"),
        "{answer}"
    );
    for event in events("s", "single@example.com", base) {
        let answer = ingest(&app, &token, "maison", &json!([event])).await;
        assert_eq!(statuses(&answer), vec!["accepted"], "{answer}");
    }

    let (counts_b, first_b, last_b, lifetime_b) = counters(&app, batched).await;
    assert_eq!(
        counts_b,
        json!({"support_case_opened": 1, "page_view": 3, "purchase": 2, "email_opened": 1})
    );
    assert_eq!(lifetime_b, "200.7500");
    assert_eq!(
        (counts_b, first_b, last_b, lifetime_b),
        counters(&app, single).await
    );
    for segment in &segments {
        let has = |ids: &[Uuid], id| ids.contains(&id);
        let now = members(&app, segment).await;
        assert!(has(&now, batched), "segment {segment}: {now:?}");
        assert_eq!(has(&now, batched), has(&now, single), "segment {segment}");
        // Each entered once, for an event (nothing here makes anyone leave again).
        let history = history_of(&app, &token, segment, batched).await;
        assert_eq!(history, vec![("entered".to_owned(), "event".to_owned())]);
        assert_eq!(history, history_of(&app, &token, segment, single).await);
    }
    let scores = |profile: Uuid| {
        let (app, token) = (&app, &token);
        async move { crate::crm_scores::scores_of(app, token, &profile.to_string()).await }
    };
    let (of_batch, of_single) = (scores(batched).await, scores(single).await);
    for score in ["engagement", "churn_risk"] {
        assert_eq!(
            of_batch[score]["value"], of_single[score]["value"],
            "{score}"
        );
        assert_eq!(
            of_batch[score]["reasons"], of_single[score]["reasons"],
            "{score}"
        );
    }
    assert!(
        of_batch["engagement"]["value"].as_i64().unwrap() > 0,
        "{of_batch}"
    );
}

#[tokio::test]
async fn an_id_repeated_in_a_batch_and_a_replayed_batch_count_once() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let base = Utc::now().duration_trunc(Duration::hours(1)).unwrap();
    let known = profile(
        &ingest(
            &app,
            &token,
            "maison",
            &Value::Array(events("k", "jane@example.com", base)[..1].to_vec()),
        )
        .await,
    );
    // Jane's events (the first already applied), one repeated later in the batch, and a new person's.
    let mut batch = events("k", "jane@example.com", base);
    batch.push(batch[1].clone());
    batch.extend(events("n", "new@example.com", base));
    let answer = ingest(&app, &token, "maison", &Value::Array(batch.clone())).await;
    let mut expected = vec!["duplicate"];
    expected.extend(["accepted"; 5]);
    expected.push("duplicate");
    expected.extend(["accepted"; 6]);
    assert_eq!(statuses(&answer), expected, "{answer}");
    assert_eq!(
        answer["results"][6]["profile_id"],
        known.to_string().as_str()
    );
    let before = counters(&app, known).await;
    assert_eq!(
        before.0,
        json!({"page_view": 3, "purchase": 2, "email_opened": 1})
    );
    assert_eq!(before.3, "200.7500");

    let replay = ingest(&app, &token, "maison", &Value::Array(batch)).await;
    assert!(
        statuses(&replay).iter().all(|s| s == "duplicate"),
        "{replay}"
    );
    assert_eq!(counters(&app, known).await, before);
    let activities: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_activities")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(activities, 12);
}

#[tokio::test]
async fn identical_batches_sent_at_once_apply_each_event_once() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let base = Utc::now().duration_trunc(Duration::hours(1)).unwrap();
    let emails: Vec<String> = (0..5).map(|n| format!("c{n}@example.com")).collect();
    let mut batch = Vec::new();
    for (n, email) in emails.iter().enumerate() {
        // Known people: the batch's events match (a first event creates each).
        ingest(&app, &token, "maison", &json!([{"id": format!("first-{n}"), "type": "page_view",
            "occurred_at": hours_before(base, 50), "identifiers": [{"kind": "email", "value": email}],
            "properties": {"url": "https://maison.example/"}}])).await;
        batch.extend(events(&format!("c{n}"), email, base));
    }
    let batch = Value::Array(batch);
    let answers =
        futures::future::join_all((0..4).map(|_| ingest(&app, &token, "maison", &batch))).await;
    for index in 0..30 {
        let accepted = answers
            .iter()
            .filter(|answer| answer["results"][index]["status"] == "accepted")
            .count();
        let duplicate = answers
            .iter()
            .filter(|answer| answer["results"][index]["status"] == "duplicate")
            .count();
        assert_eq!((accepted, duplicate), (1, 3), "event {index}: {answers:?}");
    }
    let rows: Vec<(Value, String, i64)> = sqlx::query_as(
        "SELECT p.activity_counts, p.lifetime_value::text,
                (SELECT count(*) FROM crm_activities a WHERE a.profile_id = p.id)
         FROM crm_profiles p ORDER BY p.id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 5);
    for (counts, lifetime, activities) in rows {
        assert_eq!(
            counts,
            json!({"page_view": 4, "purchase": 2, "email_opened": 1})
        );
        assert_eq!(lifetime, "200.7500");
        assert_eq!(activities, 7);
    }
}
