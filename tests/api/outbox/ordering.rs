//! An aggregate's events leave in the order they were recorded, whatever the batch size, however many
//! dispatchers run, and whichever of its events fails.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use concierge::outbox::{self, DispatchReport, Dispatcher, EventSink, NewEvent, OutboxEvent};
use serde_json::json;

use super::{Harness, harness};

/// Records what it is handed, slowly enough that two dispatchers interleave, and fails the aggregates told to.
#[derive(Clone, Default)]
struct RecordingSink {
    delivered: Arc<Mutex<Vec<(String, i64)>>>,
    failing: Arc<Mutex<Vec<String>>>,
}

impl RecordingSink {
    fn fail(&self, aggregate: &str) {
        self.failing.lock().unwrap().push(aggregate.to_owned());
    }

    fn heal(&self) {
        self.failing.lock().unwrap().clear();
    }

    fn count(&self) -> usize {
        self.delivered.lock().unwrap().len()
    }

    /// The sequences delivered per aggregate, in delivery order.
    fn by_aggregate(&self) -> BTreeMap<String, Vec<i64>> {
        let mut map: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (aggregate, sequence) in self.delivered.lock().unwrap().iter() {
            map.entry(aggregate.clone()).or_default().push(*sequence);
        }
        map
    }
}

impl EventSink for RecordingSink {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        tokio::time::sleep(Duration::from_millis(rand::random_range(0..3))).await;
        if self.failing.lock().unwrap().contains(&event.aggregate_id) {
            anyhow::bail!("sink refuses {}", event.aggregate_id);
        }
        let sequence = event.payload["sequence"].as_i64().unwrap();
        self.delivered
            .lock()
            .unwrap()
            .push((event.aggregate_id.clone(), sequence));
        Ok(())
    }
}

impl Harness {
    fn recording(&self, sink: &RecordingSink) -> Dispatcher<RecordingSink> {
        Dispatcher::new(self.pool.clone(), sink.clone(), self.settings.clone())
    }

    /// `count` events of each aggregate, one transaction each, interleaved across the aggregates.
    async fn record_interleaved(&self, aggregates: &[&str], count: i64) {
        for sequence in 0..count {
            for aggregate in aggregates {
                let mut tx = self.pool.begin().await.unwrap();
                outbox::record(
                    &mut tx,
                    NewEvent {
                        topic: "crm.profile.updated",
                        aggregate_type: "profile",
                        aggregate_id: (*aggregate).to_owned(),
                        payload: json!({ "sequence": sequence }),
                    },
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        }
    }

    /// (attempts, status) of each of the aggregate's events, in sequence order.
    async fn events_of(&self, aggregate: &str) -> Vec<(i32, String)> {
        sqlx::query_as(
            "SELECT attempts, status FROM outbox_events WHERE aggregate_id = $1
             ORDER BY (payload->>'sequence')::int",
        )
        .bind(aggregate)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }
}

async fn batches(dispatcher: &Dispatcher<RecordingSink>, count: usize) -> DispatchReport {
    let mut total = DispatchReport::default();
    for _ in 0..count {
        let report = dispatcher.dispatch_batch().await.unwrap();
        total.delivered += report.delivered;
        total.failed += report.failed;
        total.dead += report.dead;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    total
}

#[tokio::test]
async fn two_dispatchers_deliver_each_aggregates_events_in_order_across_batches() {
    let mut harness = harness().await;
    // Fewer aggregates than a batch holds, so one batch carries several events of each aggregate and the
    // next batch (the other dispatcher's) starts with later ones.
    harness.settings.batch_size = 4;
    let aggregates = ["a", "b", "c"];
    harness.record_interleaved(&aggregates, 20).await;
    let sink = RecordingSink::default();
    let total = aggregates.len() * 20;

    let drain = |dispatcher: Dispatcher<RecordingSink>| {
        let sink = sink.clone();
        async move {
            let mut delivered = 0;
            while sink.count() < total {
                delivered += dispatcher.dispatch_batch().await.unwrap().delivered;
                tokio::task::yield_now().await;
            }
            delivered
        }
    };
    let both = async {
        tokio::join!(
            drain(harness.recording(&sink)),
            drain(harness.recording(&sink))
        )
    };
    let (first, second) = tokio::time::timeout(Duration::from_secs(30), both)
        .await
        .expect("both dispatchers to drain the outbox");

    assert_eq!(first + second, total, "each event delivered once");
    let expected: Vec<i64> = (0..20).collect();
    for (aggregate, sequences) in sink.by_aggregate() {
        assert_eq!(sequences, expected, "aggregate {aggregate} in order");
    }
    assert_eq!(sink.by_aggregate().len(), aggregates.len());
}

#[tokio::test]
async fn a_failed_event_holds_back_its_aggregates_later_events_but_not_other_aggregates() {
    let mut harness = harness().await;
    harness.settings.batch_size = 3;
    harness.settings.max_attempts = 1000;
    harness.settings.backoff_base_ms = 1;
    harness.settings.backoff_max_ms = 2;
    harness
        .record_interleaved(&["stuck", "free-1", "free-2"], 6)
        .await;
    let sink = RecordingSink::default();
    sink.fail("stuck");
    let dispatcher = harness.recording(&sink);

    let report = batches(&dispatcher, 20).await;

    assert!(report.failed > 1, "the head was retried: {report:?}");
    let delivered = sink.by_aggregate();
    assert_eq!(delivered.get("stuck"), None);
    assert_eq!(delivered["free-1"], (0..6).collect::<Vec<_>>());
    assert_eq!(delivered["free-2"], (0..6).collect::<Vec<_>>());
    let stuck = harness.events_of("stuck").await;
    assert!(stuck[0].0 > 1, "only the head is tried: {stuck:?}");
    assert!(
        stuck[1..]
            .iter()
            .all(|(attempts, status)| *attempts == 0 && status == "pending"),
        "the later events were never tried: {stuck:?}"
    );

    sink.heal();
    batches(&dispatcher, 5).await;

    assert_eq!(sink.by_aggregate()["stuck"], (0..6).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_dead_event_keeps_its_aggregates_later_events_back() {
    let mut harness = harness().await;
    harness.settings.batch_size = 2;
    harness.settings.max_attempts = 1;
    harness.record_interleaved(&["doomed", "fine"], 4).await;
    let sink = RecordingSink::default();
    sink.fail("doomed");
    let dispatcher = harness.recording(&sink);

    let report = batches(&dispatcher, 3).await;
    sink.heal();
    batches(&dispatcher, 5).await;

    assert_eq!(report.dead, 1);
    let delivered = sink.by_aggregate();
    assert_eq!(delivered.get("doomed"), None, "nothing after a dead event");
    assert_eq!(delivered["fine"], (0..4).collect::<Vec<_>>());
    let statuses: HashMap<usize, String> = harness
        .events_of("doomed")
        .await
        .into_iter()
        .map(|(_, status)| status)
        .enumerate()
        .collect();
    assert_eq!(statuses[&0], "dead");
    assert!((1..4).all(|index| statuses[&index] == "pending"));
}
