mod ordering;

use std::collections::HashSet;

use concierge::cache::Cache;
use concierge::config::OutboxSettings;
use concierge::outbox::{self, Dispatcher, NewEvent, RedisStreamSink};
use deadpool_redis::redis;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{
    DEAD_REDIS_URL, TestOptions, eventually, fresh_database, spawn_app_with, test_settings,
};

struct Harness {
    pool: PgPool,
    cache: Cache,
    settings: OutboxSettings,
}

async fn harness() -> Harness {
    let database = fresh_database().await;
    let settings = test_settings(&database);
    let pool = PgPool::connect(&crate::helpers::database_url(&database))
        .await
        .unwrap();
    Harness {
        pool,
        cache: Cache::new(&settings.redis).unwrap(),
        settings: settings.outbox,
    }
}

impl Harness {
    fn dispatcher(&self, cache: &Cache) -> Dispatcher<RedisStreamSink> {
        let sink = RedisStreamSink::new(cache.clone(), &self.settings.redis_stream, 10_000);
        Dispatcher::new(self.pool.clone(), sink, self.settings.clone())
    }

    async fn record(&self, count: usize, aggregate: &str) {
        let mut tx = self.pool.begin().await.unwrap();
        for sequence in 0..count {
            outbox::record(
                &mut tx,
                NewEvent {
                    topic: "crm.profile.updated",
                    aggregate_type: "profile",
                    aggregate_id: aggregate.to_owned(),
                    payload: json!({ "sequence": sequence }),
                },
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }

    /// Every entry of the stream as (event id, payload).
    async fn stream(&self) -> Vec<(String, serde_json::Value)> {
        let key = self.cache.key(&self.settings.redis_stream);
        let entries: Vec<(String, Vec<(String, String)>)> = self
            .cache
            .run(|mut conn| async move {
                redis::cmd("XRANGE")
                    .arg(&key)
                    .arg("-")
                    .arg("+")
                    .query_async(&mut conn)
                    .await
            })
            .await
            .unwrap();
        entries
            .into_iter()
            .map(|(_, fields)| {
                let field = |name: &str| {
                    fields
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .unwrap()
                };
                (
                    field("id"),
                    serde_json::from_str(&field("payload")).unwrap(),
                )
            })
            .collect()
    }

    async fn statuses(&self) -> Vec<(String, i32)> {
        sqlx::query_as("SELECT status, attempts FROM outbox_events ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn two_dispatchers_deliver_every_event_exactly_once() {
    let harness = harness().await;
    for aggregate in 0..30 {
        harness.record(10, &format!("profile-{aggregate}")).await;
    }
    let first = harness.dispatcher(&harness.cache);
    let second = harness.dispatcher(&harness.cache);

    let drain = |dispatcher: Dispatcher<RedisStreamSink>| async move {
        let mut delivered = 0;
        loop {
            let report = dispatcher.dispatch_batch().await.unwrap();
            if report.delivered == 0 {
                return delivered;
            }
            delivered += report.delivered;
        }
    };
    let (a, b) = tokio::join!(drain(first), drain(second));

    assert_eq!(a + b, 300);
    let stream = harness.stream().await;
    assert_eq!(stream.len(), 300, "each event appended once");
    let ids: HashSet<_> = stream.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), 300);
    assert!(
        harness
            .statuses()
            .await
            .iter()
            .all(|(status, attempts)| status == "delivered" && *attempts == 1)
    );
}

#[tokio::test]
async fn an_aggregates_events_are_delivered_in_order() {
    let harness = harness().await;
    harness.record(25, "profile-ordered").await;

    harness
        .dispatcher(&harness.cache)
        .dispatch_batch()
        .await
        .unwrap();

    let sequences: Vec<i64> = harness
        .stream()
        .await
        .iter()
        .map(|(_, p)| p["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(sequences, (0..25).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_event_of_a_rolled_back_change_is_never_delivered() {
    let harness = harness().await;
    let mut tx = harness.pool.begin().await.unwrap();
    outbox::record(
        &mut tx,
        NewEvent {
            topic: "order.provisioned",
            aggregate_type: "order",
            aggregate_id: "o-1".into(),
            payload: json!({}),
        },
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();

    let report = harness
        .dispatcher(&harness.cache)
        .dispatch_batch()
        .await
        .unwrap();

    assert_eq!(report.delivered, 0);
    assert!(harness.stream().await.is_empty());
}

#[tokio::test]
async fn failed_deliveries_are_retried_then_marked_dead() {
    let mut harness = harness().await;
    harness.settings.max_attempts = 3;
    harness.settings.backoff_base_ms = 1;
    harness.settings.backoff_max_ms = 2;
    harness.record(1, "profile-unlucky").await;
    let mut redis = test_settings("unused").redis;
    redis.url = DEAD_REDIS_URL.to_owned().into();
    let broken = harness.dispatcher(&Cache::new(&redis).unwrap());

    let first = broken.dispatch_batch().await.unwrap();
    assert_eq!(first.failed, 1);
    assert_eq!(harness.statuses().await, [("pending".to_owned(), 1)]);

    eventually(5, "the event to be dead", || async {
        broken.dispatch_batch().await.unwrap();
        (harness.statuses().await == [("dead".to_owned(), 3)]).then_some(())
    })
    .await;
    let error: Option<String> = sqlx::query_scalar("SELECT last_error FROM outbox_events")
        .fetch_one(&harness.pool)
        .await
        .unwrap();
    assert!(error.unwrap().contains("redis"));
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_then_succeeds() {
    let mut harness = harness().await;
    harness.settings.backoff_base_ms = 1;
    harness.settings.backoff_max_ms = 2;
    harness.record(1, "profile-retry").await;
    let mut redis = test_settings("unused").redis;
    redis.url = DEAD_REDIS_URL.to_owned().into();
    harness
        .dispatcher(&Cache::new(&redis).unwrap())
        .dispatch_batch()
        .await
        .unwrap();

    let working = harness.dispatcher(&harness.cache);
    eventually(5, "the retry to be delivered", || async {
        working.dispatch_batch().await.unwrap();
        (harness.statuses().await == [("delivered".to_owned(), 2)]).then_some(())
    })
    .await;
    assert_eq!(harness.stream().await.len(), 1);
}

#[tokio::test]
async fn the_running_app_delivers_recorded_events_to_the_stream() {
    let app = spawn_app_with(TestOptions {
        jobs: true,
        ..Default::default()
    })
    .await;
    let mut tx = app.db.begin().await.unwrap();
    let id = outbox::record(
        &mut tx,
        NewEvent {
            topic: "order.provisioned",
            aggregate_type: "order",
            aggregate_id: "o-42".into(),
            payload: json!({ "order_id": "o-42" }),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let key = app.state.cache.key(&app.state.settings.outbox.redis_stream);
    eventually(10, "the event on the stream", || {
        let key = key.clone();
        let cache = app.state.cache.clone();
        async move {
            let entries: Vec<(String, Vec<(String, String)>)> = cache
                .run(|mut conn| async move {
                    redis::cmd("XRANGE")
                        .arg(&key)
                        .arg("-")
                        .arg("+")
                        .query_async(&mut conn)
                        .await
                })
                .await
                .ok()?;
            entries
                .iter()
                .any(|(_, fields)| {
                    fields
                        .iter()
                        .any(|(k, v)| k == "id" && *v == id.to_string())
                })
                .then_some(())
        }
    })
    .await;
    app.stop().await;
}
