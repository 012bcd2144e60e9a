//! Group commit for single events. A request carrying one event (the events API called once per event, the
//! message ledger's outcomes, clienteling's interactions, journeys' actions) would otherwise pay a whole
//! transaction and every after-event hook for itself: the hooks read the brand's segments, lock them and
//! evaluate each rule once per batch, so 2,000 batches of one cost about as much as 2,000 batches of a hundred.
//! Instead each (brand, source) has a lane: its requests queue, and the lane's workers take whatever is queued
//! (up to `crm.ingest.coalesce_max_batch`) as one batch through [`apply::apply`]. Idle, a batch is the one
//! event; under load batches grow by themselves, since each worker takes what queued while it was busy.
//!
//! Results are those of a batch: an event of the batch that fails is undone alone (see `apply.rs`), so an
//! event never pays for a stranger's; only a failure of the whole transaction reaches every caller of the
//! batch. A full lane answers [`Busy`] at once rather than queueing without bound.
//!
//! A lane's worker must never wait for its own lane: an after-event hook must not apply events (none does;
//! they enqueue jobs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::apply::{self, Checked, EventResult};
use crate::brands::Brand;
use crate::config::IngestSettings;
use crate::crm::Crm;

/// The lane is full: the caller should try again shortly (the API answers 503 with `Retry-After`).
#[derive(Debug, thiserror::Error)]
#[error("the events queue is full; try again in a second")]
pub struct Busy;

/// The batch an event went in failed as a whole.
#[derive(Debug, thiserror::Error)]
#[error("the batch failed: {0}")]
struct BatchFailed(String);

struct Queued {
    /// The brand as the caller read it (a lane outlives any one reading of it).
    brand: Brand,
    event: Checked,
    reply: oneshot::Sender<Result<EventResult, Failure>>,
}

#[derive(Debug, Clone)]
enum Failure {
    PoolTimedOut,
    Other(String),
}

type Key = (Uuid, String);

/// Every lane of the process, made on first use.
#[derive(Clone)]
pub struct Lanes {
    settings: IngestSettings,
    lanes: Arc<Mutex<HashMap<Key, mpsc::Sender<Queued>>>>,
}

impl Lanes {
    pub fn new(settings: &IngestSettings) -> Self {
        Self {
            settings: settings.clone(),
            lanes: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Applies one checked event in the brand, as `source`, in whatever batch its lane forms next.
    pub(super) async fn apply_one(
        &self,
        crm: &Crm,
        brand: &Brand,
        event: Checked,
        source: &str,
    ) -> anyhow::Result<EventResult> {
        let sender = self.lane(crm, brand, source);
        let (reply, answer) = oneshot::channel();
        sender
            .try_send(Queued {
                brand: brand.clone(),
                event,
                reply,
            })
            .map_err(|_| anyhow::Error::new(Busy))?;
        match answer.await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(Failure::PoolTimedOut)) => Err(sqlx::Error::PoolTimedOut.into()),
            Ok(Err(Failure::Other(error))) => Err(BatchFailed(error).into()),
            Err(_) => Err(BatchFailed("the lane's worker stopped".into()).into()),
        }
    }

    fn lane(&self, crm: &Crm, brand: &Brand, source: &str) -> mpsc::Sender<Queued> {
        let mut lanes = match self.lanes.lock() {
            Ok(lanes) => lanes,
            Err(poisoned) => poisoned.into_inner(),
        };
        let key = (brand.id, source.to_owned());
        if let Some(sender) = lanes.get(&key).filter(|sender| !sender.is_closed()) {
            return sender.clone();
        }
        let (sender, receiver) = mpsc::channel(self.settings.coalesce_queue.max(1));
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..self.settings.coalesce_workers.max(1) {
            tokio::spawn(work(
                crm.clone(),
                source.to_owned(),
                receiver.clone(),
                self.settings.coalesce_max_batch.max(1),
            ));
        }
        lanes.insert(key, sender.clone());
        sender
    }
}

/// One worker of a lane: takes what is queued, applies it as one batch, answers each caller; until every
/// sender is gone.
async fn work(
    crm: Crm,
    source: String,
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Queued>>>,
    max_batch: usize,
) {
    let mut taken: Vec<Queued> = Vec::with_capacity(max_batch);
    loop {
        let received = receiver.lock().await.recv_many(&mut taken, max_batch).await;
        if received == 0 {
            return;
        }
        let Some(brand) = taken.first().map(|queued| queued.brand.clone()) else {
            continue;
        };
        let (events, replies): (Vec<Checked>, Vec<_>) = taken
            .drain(..)
            .map(|queued| (queued.event, queued.reply))
            .unzip();
        // Its own task: a panic in the batch fails its callers, not the lane.
        let batch = {
            let crm = crm.clone();
            let brand = brand.clone();
            let source = source.clone();
            tokio::spawn(async move { apply::apply(&crm, &brand, events, &source).await })
        };
        let outcome = match batch.await {
            Ok(Ok(results)) if results.len() == replies.len() => Ok(results),
            Ok(Ok(results)) => Err(Failure::Other(format!(
                "{} results for {} events",
                results.len(),
                replies.len()
            ))),
            Ok(Err(error)) => Err(failure(&error)),
            Err(error) => Err(Failure::Other(format!("the batch panicked: {error}"))),
        };
        match outcome {
            Ok(results) => {
                for (reply, mut result) in replies.into_iter().zip(results) {
                    // Each caller sent a batch of one.
                    result.index = 0;
                    let _ = reply.send(Ok(result));
                }
            }
            Err(failure) => {
                tracing::error!(brand = %brand.slug, %source, ?failure, "a coalesced batch of events failed");
                for reply in replies {
                    let _ = reply.send(Err(failure.clone()));
                }
            }
        }
    }
}

fn failure(error: &anyhow::Error) -> Failure {
    match error.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::PoolTimedOut) => Failure::PoolTimedOut,
        _ => Failure::Other(format!("{error:#}")),
    }
}
