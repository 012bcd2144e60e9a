//! Group commit for single events. A request carrying one event (the events API called once per event, the
//! message ledger's outcomes, clienteling's interactions, journeys' actions) would otherwise pay a whole
//! transaction and every after-event hook for itself: the hooks read the brand's segments, lock them and
//! evaluate each rule once per batch, so 2,000 batches of one cost about as much as 2,000 batches of a hundred.
//! Instead each (brand, source) has a lane: its requests queue, and the lane's workers take whatever is queued
//! (up to `crm.ingest.coalesce_max_batch`) as one batch through [`apply::apply`]. Idle, a batch is the one
//! event; under load batches grow by themselves, since each worker takes what queued while it was busy.
//!
//! Results are those of a batch: an event of the batch that fails is undone alone (see `apply.rs`). When the
//! whole transaction fails (a lock or statement time-out behind one caller's identifiers, a deadlock), each
//! of its events is applied again alone, so a stranger's event cannot fail another's. A full lane answers
//! [`Busy`] at once rather than queueing without bound, and so does an event that failed alone for a reason
//! worth retrying.
//!
//! The lanes run on the runtime that made the CRM (the process's main one), not on the HTTP worker thread
//! whose request happened to open a lane: that thread competes with its own requests and stops at shutdown
//! before the job runner has drained.
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
    /// A lock or statement time-out, a deadlock, a serialization failure: the same event may pass now.
    Retryable,
    Other(String),
}

type Key = (Uuid, String);

/// Every lane of the process, made on first use.
#[derive(Clone)]
pub struct Lanes {
    settings: IngestSettings,
    runtime: Option<tokio::runtime::Handle>,
    lanes: Arc<Mutex<HashMap<Key, mpsc::Sender<Queued>>>>,
}

impl Lanes {
    pub fn new(settings: &IngestSettings) -> Self {
        Self {
            settings: settings.clone(),
            runtime: tokio::runtime::Handle::try_current().ok(),
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
            Ok(Err(Failure::Retryable)) => Err(Busy.into()),
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
            let worker = work(
                crm.clone(),
                source.to_owned(),
                receiver.clone(),
                self.settings.coalesce_max_batch.max(1),
                self.runtime.clone(),
            );
            match &self.runtime {
                Some(runtime) => drop(runtime.spawn(worker)),
                None => drop(tokio::spawn(worker)),
            }
        }
        lanes.insert(key, sender.clone());
        sender
    }
}

/// One worker of a lane: takes what is queued, applies it as one batch, answers each caller. Lanes live as
/// long as the process (the CRM handle holds their senders).
async fn work(
    crm: Crm,
    source: String,
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Queued>>>,
    max_batch: usize,
    runtime: Option<tokio::runtime::Handle>,
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
        let alone = (events.len() > 1).then(|| events.clone());
        match run(&crm, &brand, &source, events, runtime.as_ref()).await {
            Ok(results) => {
                for (reply, mut result) in replies.into_iter().zip(results) {
                    // Each caller sent a batch of one.
                    result.index = 0;
                    let _ = reply.send(Ok(result));
                }
            }
            Err(failure) => {
                tracing::warn!(brand = %brand.slug, %source, ?failure, events = replies.len(), "a coalesced batch of events failed");
                let Some(alone) = alone else {
                    for reply in replies {
                        let _ = reply.send(Err(failure.clone()));
                    }
                    continue;
                };
                for (event, reply) in alone.into_iter().zip(replies) {
                    let outcome = run(&crm, &brand, &source, vec![event], runtime.as_ref())
                        .await
                        .map(|mut results| {
                            let mut result = results.remove(0);
                            result.index = 0;
                            result
                        });
                    let _ = reply.send(outcome);
                }
            }
        }
    }
}

/// One batch in its own task (a panic in it fails its callers, not the lane): one result per event.
async fn run(
    crm: &Crm,
    brand: &Brand,
    source: &str,
    events: Vec<Checked>,
    runtime: Option<&tokio::runtime::Handle>,
) -> Result<Vec<EventResult>, Failure> {
    let count = events.len();
    let batch = {
        let crm = crm.clone();
        let brand = brand.clone();
        let source = source.to_owned();
        async move { apply::apply(&crm, &brand, events, &source).await }
    };
    let joined = match runtime {
        Some(runtime) => runtime.spawn(batch).await,
        None => tokio::spawn(batch).await,
    };
    match joined {
        Ok(Ok(results)) if results.len() == count => Ok(results),
        Ok(Ok(results)) => Err(Failure::Other(format!(
            "{} results for {count} events",
            results.len()
        ))),
        Ok(Err(error)) => Err(failure(&error)),
        Err(error) => Err(Failure::Other(format!("the batch panicked: {error}"))),
    }
}

fn failure(error: &anyhow::Error) -> Failure {
    match error.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::PoolTimedOut) => Failure::PoolTimedOut,
        Some(error) if retryable(error) => Failure::Retryable,
        _ => Failure::Other(format!("{error:#}")),
    }
}

/// A statement or lock time-out, a deadlock or a serialization failure: nothing wrong with the event.
pub fn retryable(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|error| error.code())
        .is_some_and(|code| matches!(code.as_ref(), "57014" | "55P03" | "40P01" | "40001"))
}
