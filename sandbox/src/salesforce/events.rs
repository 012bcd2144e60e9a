//! The platform event bus: events retained per channel with increasing, non-contiguous replay ids, and the
//! streaming clients with one delivery cursor per subscription. Long polls wait on a `Notify`; no lock is
//! held across an await.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Map, Value};
use tokio::sync::Notify;

use super::lock;
use super::seed::INTEGRATION_USER_ID;
use super::store::PendingEvent;

/// Salesforce keeps events 72 hours; the sandbox keeps the latest ones per channel instead.
const RETAINED_PER_CHANNEL: usize = 1000;
/// Clients that stopped polling are forgotten after this, as the real server expires them.
const CLIENT_IDLE_LIMIT: Duration = Duration::from_secs(600);

/// `-1`: only events published from now on.
pub const REPLAY_NEW: i64 = -1;
/// `-2`: every retained event.
pub const REPLAY_ALL: i64 = -2;

#[derive(Debug, Clone)]
pub struct DeliveredEvent {
    pub channel: String,
    pub replay_id: i64,
    pub uuid: String,
    pub payload: Map<String, Value>,
}

#[derive(Default)]
struct Channel {
    retained: VecDeque<DeliveredEvent>,
    last_replay_id: i64,
}

struct Client {
    /// Channel → replay id of the last event delivered (or skipped) on it.
    subscriptions: HashMap<String, i64>,
    last_seen: Instant,
}

#[derive(Default)]
struct Bus {
    channels: HashMap<String, Channel>,
    clients: HashMap<String, Client>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SubscribeError {
    UnknownClient,
    UnknownChannel,
    InvalidReplayId(i64),
}

#[derive(Default)]
pub struct EventBus {
    bus: Mutex<Bus>,
    arrived: Notify,
}

pub fn channel_of(event_name: &str) -> String {
    format!("/event/{event_name}")
}

impl EventBus {
    /// Retains the event on its channel and wakes the waiting long polls; returns its replay id.
    pub fn publish(&self, event: PendingEvent) -> i64 {
        let mut payload = event.payload;
        payload.insert(
            "CreatedDate".into(),
            chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string()
                .into(),
        );
        payload.insert("CreatedById".into(), INTEGRATION_USER_ID.into());
        let channel_name = channel_of(&event.name);
        let replay_id = {
            let mut bus = lock(&self.bus);
            let channel = bus.channels.entry(channel_name.clone()).or_default();
            channel.last_replay_id += rand::rng().random_range(1..=3);
            channel.retained.push_back(DeliveredEvent {
                channel: channel_name,
                replay_id: channel.last_replay_id,
                uuid: event.uuid,
                payload,
            });
            if channel.retained.len() > RETAINED_PER_CHANNEL {
                channel.retained.pop_front();
            }
            channel.last_replay_id
        };
        self.arrived.notify_waiters();
        replay_id
    }

    pub fn handshake(&self) -> String {
        let client_id: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(28)
            .map(|c| char::from(c).to_ascii_lowercase())
            .collect();
        let mut bus = lock(&self.bus);
        bus.clients
            .retain(|_, client| client.last_seen.elapsed() < CLIENT_IDLE_LIMIT);
        bus.clients.insert(
            client_id.clone(),
            Client {
                subscriptions: HashMap::new(),
                last_seen: Instant::now(),
            },
        );
        client_id
    }

    pub fn is_client(&self, client_id: &str) -> bool {
        lock(&self.bus).clients.contains_key(client_id)
    }

    /// Starts delivery after `replay`: -1 new events only, -2 everything retained, or a retained replay id.
    pub fn subscribe(
        &self,
        client_id: &str,
        channel_name: &str,
        replay: i64,
    ) -> Result<(), SubscribeError> {
        let valid_channel = channel_name
            .strip_prefix("/event/")
            .is_some_and(|name| name.len() > 3 && name.to_ascii_lowercase().ends_with("__e"));
        if !valid_channel {
            return Err(SubscribeError::UnknownChannel);
        }
        let mut bus = lock(&self.bus);
        if !bus.clients.contains_key(client_id) {
            return Err(SubscribeError::UnknownClient);
        }
        let channel = bus.channels.entry(channel_name.to_owned()).or_default();
        let oldest = channel.retained.front().map(|e| e.replay_id);
        let cursor = match replay {
            REPLAY_NEW => channel.last_replay_id,
            REPLAY_ALL => oldest.map_or(channel.last_replay_id, |oldest| oldest - 1),
            n if oldest.is_some_and(|oldest| n >= oldest && n <= channel.last_replay_id) => n,
            n => return Err(SubscribeError::InvalidReplayId(n)),
        };
        if let Some(client) = bus.clients.get_mut(client_id) {
            client.subscriptions.insert(channel_name.to_owned(), cursor);
        }
        Ok(())
    }

    pub fn unsubscribe(&self, client_id: &str, channel_name: &str) -> bool {
        lock(&self.bus)
            .clients
            .get_mut(client_id)
            .is_some_and(|client| client.subscriptions.remove(channel_name).is_some())
    }

    pub fn disconnect(&self, client_id: &str) -> bool {
        lock(&self.bus).clients.remove(client_id).is_some()
    }

    /// The client's undelivered events, moving its cursors past them; `None` for an unknown client.
    pub fn take(&self, client_id: &str) -> Option<Vec<DeliveredEvent>> {
        let mut guard = lock(&self.bus);
        let Bus { channels, clients } = &mut *guard;
        let client = clients.get_mut(client_id)?;
        client.last_seen = Instant::now();
        let mut delivered = Vec::new();
        for (channel_name, cursor) in &mut client.subscriptions {
            let Some(channel) = channels.get(channel_name) else {
                continue;
            };
            let after = *cursor;
            for event in channel.retained.iter().filter(|e| e.replay_id > after) {
                delivered.push(event.clone());
                *cursor = event.replay_id;
            }
        }
        Some(delivered)
    }

    /// Waits until the client has events or `timeout` passes; `None` once the client is unknown.
    pub async fn wait(&self, client_id: &str, timeout: Duration) -> Option<Vec<DeliveredEvent>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            // Registered before looking, so an event published in between still wakes this poll.
            notified.as_mut().enable();
            let events = self.take(client_id)?;
            if !events.is_empty() {
                return Some(events);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Some(Vec::new());
            }
        }
    }

    pub fn retained(&self, channel_name: &str) -> Vec<DeliveredEvent> {
        lock(&self.bus)
            .channels
            .get(channel_name)
            .map(|c| c.retained.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets every event and client; waiting long polls answer at once.
    pub fn reset(&self) {
        *lock(&self.bus) = Bus::default();
        self.arrived.notify_waiters();
    }
}
