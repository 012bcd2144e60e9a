//! Concurrent batches over the same identifiers: a batch takes every identifier lock it needs up front, in
//! one sorted order, so batches naming the same people in opposite orders queue instead of deadlocking.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{ingest, page_view, profile_of, statuses};
use crate::helpers::{marketer_token, spawn_app};

fn batch(tag: &str, emails: &[String]) -> Value {
    Value::Array(
        emails
            .iter()
            .enumerate()
            .map(|(n, email)| page_view(&format!("{tag}-{n}"), email, "2026-11-01T10:00:00Z"))
            .collect(),
    )
}

#[tokio::test]
async fn batches_naming_the_same_identifiers_in_opposite_orders_all_apply() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let emails: Vec<String> = (0..40).map(|n| format!("p{n}@example.com")).collect();
    let reversed: Vec<String> = emails.iter().rev().cloned().collect();
    let rounds = 4;
    for round in 0..rounds {
        let sending = (0..4).map(|n| {
            let (app, token) = (&app, &token);
            let order = if n % 2 == 0 { &emails } else { &reversed };
            let body = batch(&format!("r{round}-b{n}"), order);
            async move { ingest(app, token, "maison", &body).await }
        });
        let answers = futures::future::join_all(sending).await;
        for answer in &answers {
            let statuses = statuses(answer);
            assert!(
                statuses.iter().all(|status| status == "accepted"),
                "round {round}: {statuses:?}"
            );
        }
        let ids: BTreeSet<String> = answers
            .iter()
            .flat_map(|answer| (0..emails.len()).map(|n| profile_of(answer, n)))
            .collect();
        assert_eq!(ids.len(), emails.len(), "one profile per person");
    }
    let (profiles, activities): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM crm_profiles), (SELECT count(*) FROM crm_activities)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(profiles, 40);
    assert_eq!(activities, 40 * 4 * rounds);
    let counts: Vec<Value> = sqlx::query_scalar("SELECT activity_counts FROM crm_profiles")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(
        counts
            .iter()
            .all(|count| *count == json!({"page_view": 4 * rounds})),
        "{counts:?}"
    );
}

#[tokio::test]
async fn an_identifier_added_by_hand_after_a_batch_read_it_is_matched_by_the_next_batch() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let first = ingest(
        &app,
        &token,
        "maison",
        &json!([page_view("a-1", "ann@example.com", "2026-11-01T10:00:00Z")]),
    )
    .await;
    let ann = profile_of(&first, 0);
    let added = app
        .client
        .post(app.url(&format!(
            "/api/v1/brands/maison/crm/profiles/{ann}/identifiers"
        )))
        .bearer_auth(&token)
        .json(&json!({"kind": "scl_member", "value": "77"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let event = json!([{"id": "a-2", "type": "page_view", "occurred_at": "2026-11-02T10:00:00Z",
                        "identifiers": [{"kind": "scl_member", "value": "77"},
                                        {"kind": "email", "value": "other@example.com"}],
                        "properties": {"url": "https://maison.example/bags"}}]);
    let second = ingest(&app, &token, "maison", &event).await;
    assert_eq!(statuses(&second), ["accepted"]);
    assert_eq!(profile_of(&second, 0), ann);
    assert_eq!(second["results"][0]["resolution"], "matched");
}

#[tokio::test]
async fn batches_ingested_while_their_profiles_are_merged_land_on_the_survivors_and_lose_nothing() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let emails: Vec<String> = (0..6).map(|n| format!("m{n}@example.com")).collect();
    let first = ingest(&app, &token, "maison", &batch("seed", &emails)).await;
    let ids: Vec<String> = (0..emails.len()).map(|n| profile_of(&first, n)).collect();
    let merging = [(0, 1), (2, 3), (4, 5)].map(|(survivor, absorbed)| {
        let (app, token, ids) = (&app, &token, &ids);
        async move {
            app.client
                .post(app.url("/api/v1/brands/maison/crm/merges"))
                .bearer_auth(token)
                .json(
                    &json!({"survivor_id": ids[survivor], "absorbed_ids": [ids[absorbed]],
                              "dry_run": false}),
                )
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let reversed: Vec<String> = emails.iter().rev().cloned().collect();
    let ingesting = (0..6).map(|n| {
        let (app, token) = (&app, &token);
        let order = if n % 2 == 0 { &emails } else { &reversed };
        let body = batch(&format!("during-{n}"), order);
        async move { ingest(app, token, "maison", &body).await }
    });
    let (merged, answers) = futures::future::join(
        futures::future::join_all(merging),
        futures::future::join_all(ingesting),
    )
    .await;
    assert!(merged.iter().all(|status| *status == 201), "{merged:?}");
    for answer in &answers {
        assert!(
            statuses(answer).iter().all(|status| status == "accepted"),
            "{answer}"
        );
    }
    let (activities, on_live, counted): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM crm_activities),
                (SELECT count(*) FROM crm_activities a JOIN crm_profiles p ON p.id = a.profile_id
                 WHERE p.merged_into IS NULL),
                (SELECT COALESCE(sum((activity_counts ->> 'page_view')::bigint), 0)::bigint
                 FROM crm_profiles WHERE merged_into IS NULL)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(activities, 6 + 6 * 6);
    assert_eq!(on_live, activities, "every activity on a survivor");
    assert_eq!(
        counted, activities,
        "the survivors' counters hold every activity"
    );
}

/// A page view naming one identifier.
fn view_of(id: &str, kind: &str, value: &str) -> Value {
    json!({"id": id, "type": "page_view", "occurred_at": "2026-11-01T10:00:00Z",
           "identifiers": [{"kind": kind, "value": value}],
           "properties": {"url": "https://maison.example/bags"}})
}

#[tokio::test]
async fn batches_reaching_the_same_profiles_through_different_identifiers_in_opposite_orders_all_apply()
 {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    // Each person known by an email and a member number: two batches naming none of the same identifiers
    // still reach the same profiles, one by email in one order, the other by number in the other.
    let people = 8;
    let seed: Vec<Value> = (0..people)
        .map(|n| {
            json!({"id": format!("seed-{n}"), "type": "page_view", "occurred_at": "2026-11-01T09:00:00Z",
                   "identifiers": [{"kind": "email", "value": format!("q{n}@example.com")},
                                   {"kind": "scl_member", "value": format!("{}", 500 + n)}],
                   "properties": {"url": "https://maison.example/bags"}})
        })
        .collect();
    let seeded = ingest(&app, &token, "maison", &Value::Array(seed)).await;
    let ids: BTreeSet<String> = (0..people).map(|n| profile_of(&seeded, n)).collect();
    assert_eq!(ids.len(), people);
    let rounds = 3;
    let senders = 6;
    for round in 0..rounds {
        let sending = (0..senders).map(|s| {
            let (app, token) = (&app, &token);
            let events: Vec<Value> = if s % 2 == 0 {
                (0..people)
                    .map(|n| {
                        view_of(
                            &format!("r{round}-s{s}-{n}"),
                            "email",
                            &format!("q{n}@example.com"),
                        )
                    })
                    .collect()
            } else {
                (0..people)
                    .rev()
                    .map(|n| {
                        view_of(
                            &format!("r{round}-s{s}-{n}"),
                            "scl_member",
                            &format!("{}", 500 + n),
                        )
                    })
                    .collect()
            };
            let body = Value::Array(events);
            async move { ingest(app, token, "maison", &body).await }
        });
        let answers = futures::future::join_all(sending).await;
        for answer in &answers {
            let statuses = statuses(answer);
            assert!(
                statuses.iter().all(|status| status == "accepted"),
                "round {round}: {answer}"
            );
        }
    }
    let counted: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum((activity_counts ->> 'page_view')::bigint), 0)::bigint FROM crm_profiles",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(counted as usize, people + people * senders * rounds);
}

#[tokio::test]
async fn batches_merging_the_same_profiles_through_different_identifiers_lose_nothing() {
    let app = spawn_app().await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    // Pairs of people, each known by an email and a member number; one batch merges every pair by email
    // (pairs in one order), the other by member number (pairs in the other order), at once.
    let pairs = 4;
    let seed: Vec<Value> = (0..2 * pairs)
        .map(|n| {
            json!({"id": format!("seed-{n}"), "type": "page_view", "occurred_at": "2026-11-01T09:00:00Z",
                   "identifiers": [{"kind": "email", "value": format!("w{n}@example.com")},
                                   {"kind": "scl_member", "value": format!("{}", 700 + n)}],
                   "properties": {"url": "https://maison.example/bags"}})
        })
        .collect();
    ingest(&app, &token, "maison", &Value::Array(seed)).await;
    let merging = |tag: &str, kind: &str, value: fn(usize) -> String, reversed: bool| {
        let mut order: Vec<usize> = (0..pairs).collect();
        if reversed {
            order.reverse();
        }
        Value::Array(
            order
                .into_iter()
                .map(|p| {
                    json!({"id": format!("{tag}-{p}"), "type": "page_view",
                           "occurred_at": "2026-11-02T09:00:00Z",
                           "identifiers": [{"kind": kind, "value": value(2 * p)},
                                           {"kind": kind, "value": value(2 * p + 1)}],
                           "properties": {"url": "https://maison.example/bags"}})
                })
                .collect(),
        )
    };
    let by_email = merging("e", "email", |n| format!("w{n}@example.com"), false);
    let by_number = merging("s", "scl_member", |n| format!("{}", 700 + n), true);
    let (one, two) = futures::future::join(
        ingest(&app, &token, "maison", &by_email),
        ingest(&app, &token, "maison", &by_number),
    )
    .await;
    for answer in [&one, &two] {
        assert!(
            statuses(answer).iter().all(|status| status == "accepted"),
            "{answer}"
        );
    }
    let (live, counted): (i64, i64) = sqlx::query_as(
        "SELECT count(*), COALESCE(sum((activity_counts ->> 'page_view')::bigint), 0)::bigint
         FROM crm_profiles WHERE merged_into IS NULL",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(live as usize, pairs, "one profile per pair");
    assert_eq!(counted as usize, 2 * pairs + 2 * pairs);
}
