//! One PostgreSQL listener per process for every order status stream it serves, instead of a poll loop per
//! stream. `order_events` notifies its channel on every insert (any replica's) and auth notifies
//! [`crate::auth::SESSIONS_CHANNEL`] when a session ends; the hub wakes exactly the streams concerned
//! through a `watch` per order and per session, and each woken stream reads what it needs once. It also
//! counts each user's open streams, so one account cannot hold an unbounded number of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::{OnceCell, watch};
use uuid::Uuid;

const ORDER_EVENTS_CHANNEL: &str = "order_events";

/// Open streams one user may hold on one replica.
pub const MAX_STREAMS_PER_USER: usize = 5;

pub struct StreamHub {
    /// The listener's own connection (a pool of one made from the app pool's options), so it never takes a
    /// connection requests need.
    listener_pool: PgPool,
    listening: OnceCell<()>,
    /// The runtime the process was built on: the listener must outlive any one HTTP worker's runtime.
    runtime: Option<tokio::runtime::Handle>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    orders: HashMap<Uuid, watch::Sender<u64>>,
    sessions: HashMap<Uuid, (Uuid, watch::Sender<u64>)>,
    open: HashMap<Uuid, usize>,
}

/// What one stream waits on. Each receiver's value changes when there may be something new to read: new
/// events of the order, or a change to the session; after a lost listener connection, both change.
pub struct Subscription {
    pub order: watch::Receiver<u64>,
    pub session: watch::Receiver<u64>,
    _slot: Slot,
}

/// One of the user's stream slots; given back when the stream is dropped (it ends or the client leaves).
struct Slot {
    hub: Arc<StreamHub>,
    user_id: Uuid,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut state) = self.hub.state.lock() {
            if let Some(count) = state.open.get_mut(&self.user_id) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    state.open.remove(&self.user_id);
                }
            }
            state.prune();
        }
    }
}

impl State {
    /// Forgets the channels nobody waits on any more.
    fn prune(&mut self) {
        self.orders.retain(|_, sender| sender.receiver_count() > 0);
        self.sessions
            .retain(|_, (_, sender)| sender.receiver_count() > 0);
    }
}

fn bump(sender: &watch::Sender<u64>) {
    sender.send_modify(|generation| *generation = generation.wrapping_add(1));
}

impl StreamHub {
    pub fn new(pool: &PgPool) -> Arc<Self> {
        let listener_pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .connect_lazy_with((*pool.connect_options()).clone());
        Arc::new(Self {
            listener_pool,
            listening: OnceCell::new(),
            runtime: tokio::runtime::Handle::try_current().ok(),
            state: Mutex::new(State::default()),
        })
    }

    /// Takes one of the user's stream slots and subscribes to the order and the session; `None` when the
    /// user already holds [`MAX_STREAMS_PER_USER`]. The listener is listening before this returns, so
    /// nothing committed after it is missed.
    pub async fn subscribe(
        self: &Arc<Self>,
        user_id: Uuid,
        session_id: Uuid,
        order_id: Uuid,
    ) -> anyhow::Result<Option<Subscription>> {
        self.listening
            .get_or_try_init(|| async {
                let listener = listen(&self.listener_pool).await?;
                let task = run(Arc::downgrade(self), listener);
                match &self.runtime {
                    Some(runtime) => drop(runtime.spawn(task)),
                    None => drop(tokio::spawn(task)),
                }
                anyhow::Ok(())
            })
            .await?;
        let mut state = self
            .state
            .lock()
            .map_err(|_| anyhow::anyhow!("stream hub state poisoned"))?;
        let open = state.open.entry(user_id).or_default();
        if *open >= MAX_STREAMS_PER_USER {
            return Ok(None);
        }
        *open += 1;
        let order = state
            .orders
            .entry(order_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        let session = state
            .sessions
            .entry(session_id)
            .or_insert_with(|| (user_id, watch::channel(0).0))
            .1
            .subscribe();
        Ok(Some(Subscription {
            order,
            session,
            _slot: Slot {
                hub: Arc::clone(self),
                user_id,
            },
        }))
    }

    fn notified(&self, channel: &str, payload: &str) {
        let Ok(state) = self.state.lock() else {
            return;
        };
        if channel == ORDER_EVENTS_CHANNEL {
            if let Some(sender) = payload
                .parse::<Uuid>()
                .ok()
                .and_then(|id| state.orders.get(&id))
            {
                bump(sender);
            }
            return;
        }
        match payload.split_once(':') {
            Some(("session", id)) => {
                if let Some((_, sender)) = id
                    .parse::<Uuid>()
                    .ok()
                    .and_then(|id| state.sessions.get(&id))
                {
                    bump(sender);
                }
            }
            Some(("user", id)) => {
                let user = id.parse::<Uuid>().ok();
                for (owner, sender) in state.sessions.values() {
                    if Some(*owner) == user {
                        bump(sender);
                    }
                }
            }
            _ => {}
        }
    }

    /// After a lost connection notifications may have been missed: every stream looks again.
    fn wake_all(&self) {
        if let Ok(state) = self.state.lock() {
            state.orders.values().for_each(bump);
            state.sessions.values().for_each(|(_, sender)| bump(sender));
        }
    }

    #[cfg(test)]
    fn open_streams(&self, user_id: Uuid) -> usize {
        self.state
            .lock()
            .map(|state| state.open.get(&user_id).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([ORDER_EVENTS_CHANNEL, crate::auth::SESSIONS_CHANNEL])
        .await?;
    Ok(listener)
}

/// Hands every notification to the hub until the hub is gone. A lost connection is re-established (the
/// listener reconnects and listens again before answering `None`); an error rebuilds the listener, with
/// back-off, and either way every stream is woken to catch up on what it may have missed.
async fn run(hub: Weak<StreamHub>, mut listener: PgListener) {
    let mut delay = Duration::from_millis(200);
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                let Some(hub) = hub.upgrade() else { return };
                hub.notified(notification.channel(), notification.payload());
                delay = Duration::from_millis(200);
            }
            Ok(None) => {
                let Some(hub) = hub.upgrade() else { return };
                tracing::warn!("order streams: listener connection lost and re-established");
                hub.wake_all();
            }
            Err(error) => {
                tracing::warn!(%error, "order streams: listener failed; reconnecting");
                loop {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                    let Some(hub) = hub.upgrade() else { return };
                    match listen(&hub.listener_pool).await {
                        Ok(fresh) => {
                            listener = fresh;
                            hub.wake_all();
                            break;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "order streams: listener still down")
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Arc<StreamHub> {
        let pool = PgPoolOptions::new()
            .connect_lazy("postgres://unused@127.0.0.1:1/unused")
            .unwrap_or_else(|error| panic!("{error}"));
        let hub = StreamHub::new(&pool);
        // No database in a unit test: mark the listener as running.
        let _ = hub.listening.set(());
        hub
    }

    #[tokio::test]
    async fn a_user_gets_at_most_the_cap_and_a_dropped_stream_gives_its_slot_back() {
        let hub = hub();
        let user = Uuid::now_v7();
        let mut held = Vec::new();
        for _ in 0..MAX_STREAMS_PER_USER {
            let subscription = hub.subscribe(user, Uuid::now_v7(), Uuid::now_v7()).await;
            held.push(
                subscription
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| panic!("a slot")),
            );
        }
        let refused = hub.subscribe(user, Uuid::now_v7(), Uuid::now_v7()).await;
        assert!(matches!(refused, Ok(None)));
        let other = hub
            .subscribe(Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7())
            .await;
        assert!(matches!(other, Ok(Some(_))), "another user is not affected");

        held.pop();
        assert_eq!(hub.open_streams(user), MAX_STREAMS_PER_USER - 1);
        assert!(matches!(
            hub.subscribe(user, Uuid::now_v7(), Uuid::now_v7()).await,
            Ok(Some(_))
        ));
    }

    #[tokio::test]
    async fn a_notification_wakes_only_the_streams_it_concerns() {
        let hub = hub();
        let (user, session, order) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut mine = hub
            .subscribe(user, session, order)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("slot"));
        let mut other = hub
            .subscribe(Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7())
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("slot"));

        hub.notified(ORDER_EVENTS_CHANNEL, &order.to_string());
        assert!(mine.order.has_changed().unwrap_or(false));
        assert!(!other.order.has_changed().unwrap_or(true));

        hub.notified(crate::auth::SESSIONS_CHANNEL, &format!("user:{user}"));
        assert!(mine.session.has_changed().unwrap_or(false));
        assert!(!other.session.has_changed().unwrap_or(true));
        mine.session.mark_unchanged();
        other.order.mark_unchanged();

        hub.notified(crate::auth::SESSIONS_CHANNEL, "session:not-a-uuid");
        hub.wake_all();
        assert!(mine.session.has_changed().unwrap_or(false));
        assert!(other.session.has_changed().unwrap_or(false));
    }
}
