//! Platform-event subscriptions. [`PlatformEventSubscriber`] is what a consuming job depends on; the CometD
//! (Streaming API) long-polling implementation is [`CometdSubscriber`], and a Pub/Sub API (gRPC) one can be
//! added behind the same trait.
//!
//! Delivery is at least once: the consumer stores an event's replay id (`replay::store_replay_id`) only
//! after processing it, and a restarted subscriber resumes after the last stored id.

mod bayeux;
mod cometd;

use futures::future::BoxFuture;
use serde_json::Value;

pub use cometd::CometdSubscriber;

use crate::integrations::ProviderError;

#[derive(Debug, Clone, PartialEq)]
pub struct PlatformEvent {
    /// `/event/OrderProvisionRequested__e`.
    pub channel: String,
    /// Opaque and not contiguous, but increasing within a channel.
    pub replay_id: i64,
    /// The event's fields (`OrderId__c`, `CreatedDate`, …).
    pub payload: Value,
    pub event_uuid: Option<String>,
}

/// Where a subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayFrom {
    /// Only events published from now on (`-1`).
    New,
    /// Every event still retained, up to 72 hours back (`-2`).
    AllRetained,
    /// The events after this replay id.
    After(i64),
}

impl ReplayFrom {
    /// Resumes after `stored` when there is one, else from new events only.
    pub fn stored(stored: Option<i64>) -> Self {
        stored.map_or(ReplayFrom::New, ReplayFrom::After)
    }

    pub fn as_replay_id(self) -> i64 {
        match self {
            ReplayFrom::New => -1,
            ReplayFrom::AllRetained => -2,
            ReplayFrom::After(replay_id) => replay_id,
        }
    }
}

/// A source of platform events for one channel.
pub trait PlatformEventSubscriber: Send {
    fn channel(&self) -> &str;

    /// Waits for the next events (one long poll, so possibly none), (re)connecting and (re)subscribing as
    /// needed. Events come in replay order.
    fn next_events(&mut self) -> BoxFuture<'_, Result<Vec<PlatformEvent>, ProviderError>>;

    /// Ends the subscription politely; best effort.
    fn close(&mut self) -> BoxFuture<'_, ()>;
}
