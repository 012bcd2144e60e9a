//! The after-event hook: where segments, scores and anything else that reacts to an activity plug in.
//! Hooks run inside the event's transaction, after the activities and the counters are written, so what a
//! hook writes lands with its events or not at all.
//!
//! Hooks are handed profiles, not single events ([`AfterEvent::after_profiles`]): every profile a batch
//! touched, once, with that profile's events in the batch's order, after all of them were applied, so a
//! hook reads what it needs once per batch and computes once per profile. (A consent change through the
//! API runs the same hooks for its one profile, without events: [`Touched::consent_changed`].)
//!
//! Failure. A batch runs first without savepoints, its hooks once at its end; when anything fails there
//! (an event, or a hook on any profile) the whole attempt is rolled back and the batch runs again with a
//! savepoint per event, each event handed to the hooks alone (its profile, that one event) right after it
//! is applied. A hook that fails there undoes that event alone: the savepoint is rolled back (nothing of
//! the event stays: no profile, no identifier, no trait, no activity, no counter), its outcome is `failed`,
//! naming the hook, and its id stays unused, so the sender may send it again; the batch's other events
//! stand. So the events that fail are exactly those whose own hook run fails: for a hook that fails on a
//! profile, every event of that profile in the batch; for one that fails on an event, that event. A hook may
//! therefore be called for events whose writes were then rolled back: a hook's effects belong in the
//! transaction.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::crm::resolve::OutcomeKind;

/// An event as it was applied, handed to every hook.
#[derive(Debug, Clone)]
pub struct AppliedEvent {
    pub brand_id: Uuid,
    pub profile_id: Uuid,
    pub activity_id: Uuid,
    /// The sender's id.
    pub event_id: String,
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub properties: Value,
    /// How the identifiers resolved.
    pub resolution: OutcomeKind,
    /// The merge resolution made (`merged`).
    pub merge_id: Option<Uuid>,
    /// Whether the event's traits changed the profile's attributes.
    pub traits_changed: bool,
}

/// One profile a batch touched: its events, in the batch's order (none for a consent change).
#[derive(Debug, Clone)]
pub struct Touched<'e> {
    pub brand_id: Uuid,
    pub profile_id: Uuid,
    pub events: Vec<&'e AppliedEvent>,
    /// The profile's consent changed (the consent API); no event came with it.
    pub consent_changed: bool,
}

impl<'e> Touched<'e> {
    /// `events` grouped by profile, each profile once, in the order of its first event.
    pub fn group(events: &'e [AppliedEvent]) -> Vec<Touched<'e>> {
        let mut order: Vec<Touched<'e>> = Vec::new();
        let mut at: HashMap<Uuid, usize> = HashMap::new();
        for event in events {
            match at.get(&event.profile_id) {
                Some(&index) => order[index].events.push(event),
                None => {
                    at.insert(event.profile_id, order.len());
                    order.push(Touched {
                        brand_id: event.brand_id,
                        profile_id: event.profile_id,
                        events: vec![event],
                        consent_changed: false,
                    });
                }
            }
        }
        order
    }

    /// A consent change of one profile.
    pub fn consent(brand_id: Uuid, profile_id: Uuid) -> Self {
        Touched {
            brand_id,
            profile_id,
            events: Vec::new(),
            consent_changed: true,
        }
    }
}

/// Reacts to applied events, inside their transaction.
pub trait AfterEvent: Send + Sync + 'static {
    /// Names the hook in logs and in a `failed` outcome.
    fn name(&self) -> &'static str;

    /// One event. Called by the default [`AfterEvent::after_profiles`] only: a hook that implements that
    /// one may leave this as it is.
    fn after_event<'a>(
        &'a self,
        _conn: &'a mut PgConnection,
        _event: &'a AppliedEvent,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// The profiles a batch touched (each once, see the module's documentation). By default, every event
    /// through [`AfterEvent::after_event`], in order.
    fn after_profiles<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        touched: &'a [Touched<'a>],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            for profile in touched {
                for event in &profile.events {
                    self.after_event(&mut *conn, event).await?;
                }
            }
            Ok(())
        })
    }
}

/// The registered hooks, shared by every clone of the CRM handle; run in registration order.
#[derive(Clone, Default)]
pub struct Hooks(Arc<RwLock<Vec<Arc<dyn AfterEvent>>>>);

/// A hook refused the event.
#[derive(Debug, thiserror::Error)]
#[error("the {hook} hook failed: {source:#}")]
pub struct HookFailed {
    pub hook: &'static str,
    pub source: anyhow::Error,
}

impl Hooks {
    pub fn register(&self, hook: Arc<dyn AfterEvent>) {
        match self.0.write() {
            Ok(mut hooks) => hooks.push(hook),
            Err(poisoned) => poisoned.into_inner().push(hook),
        }
    }

    fn snapshot(&self) -> Vec<Arc<dyn AfterEvent>> {
        match self.0.read() {
            Ok(hooks) => hooks.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// A profile's consent changed outside any event (the consent API): its scores and segments are
    /// re-evaluated by the same hooks, in the caller's transaction (the profile locked), so the change and
    /// its consequences commit together. Whoever else writes consent calls this too.
    pub async fn consent_changed(
        &self,
        conn: &mut PgConnection,
        brand_id: Uuid,
        profile_id: Uuid,
    ) -> Result<(), HookFailed> {
        self.run(conn, &[Touched::consent(brand_id, profile_id)])
            .await
    }

    /// Runs every hook, in registration order, on `touched`; the first failure stops the others and is
    /// returned.
    pub async fn run(
        &self,
        conn: &mut PgConnection,
        touched: &[Touched<'_>],
    ) -> Result<(), HookFailed> {
        if touched.is_empty() {
            return Ok(());
        }
        for hook in self.snapshot() {
            hook.after_profiles(conn, touched)
                .await
                .map_err(|source| HookFailed {
                    hook: hook.name(),
                    source,
                })?;
        }
        Ok(())
    }
}
