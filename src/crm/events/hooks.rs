//! The after-event hook: where segments, scores and anything else that reacts to an activity plug in.
//! Hooks run inside the event's transaction, after the activities and the counters are written, so what a
//! hook writes lands with its events or not at all.
//!
//! Hooks are handed profiles, not single events ([`AfterEvent::after_profiles`]): every profile a batch
//! touched, once, with that profile's events in the batch's order, after all of them were applied, so a
//! hook reads what it needs once per batch and computes once per profile. A change of profiles made
//! without events (a consent change, a merge or unmerge through the API, an attribute change: PATCH,
//! clienteling, resolution) runs the same hooks for the profiles it touched, in its own transaction:
//! [`Hooks::profiles_changed`], each [`Touched`] carrying the [`Change`] and no events.
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

use crate::crm::resolve::{OutcomeKind, Resolution};

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

/// What changed a profile outside any event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Its consent (the consent API).
    Consent,
    /// It survived merge `merge_id` (the merge API, or a resolution outside events): it gained the
    /// absorbed profiles' activities, attributes, identifiers and consents; they are merged away.
    Merged { merge_id: Uuid },
    /// Merge `merge_id` was undone: the survivor, and each profile it gave back.
    Unmerged { merge_id: Uuid },
    /// Its attributes or custom attributes (PATCH, a clienteling edit, a resolution's attributes).
    Attributes,
}

/// One profile a batch touched: its events, in the batch's order (none for a change without events).
#[derive(Debug, Clone)]
pub struct Touched<'e> {
    pub brand_id: Uuid,
    pub profile_id: Uuid,
    pub events: Vec<&'e AppliedEvent>,
    /// The profile's consent changed (the consent API); no event came with it. Same as `change` being
    /// [`Change::Consent`].
    pub consent_changed: bool,
    /// What changed the profile when no event did (`None` for a batch of events).
    pub change: Option<Change>,
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
                        change: None,
                    });
                }
            }
        }
        order
    }

    /// A consent change of one profile.
    pub fn consent(brand_id: Uuid, profile_id: Uuid) -> Self {
        Self::changed(brand_id, profile_id, Change::Consent)
    }

    /// A change of one profile without events.
    pub fn changed(brand_id: Uuid, profile_id: Uuid, change: Change) -> Self {
        Touched {
            brand_id,
            profile_id,
            events: Vec::new(),
            consent_changed: change == Change::Consent,
            change: Some(change),
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

impl HookFailed {
    /// Whether the hook lost a deadlock (PostgreSQL chose its transaction): the caller may retry it whole.
    pub fn is_deadlock(&self) -> bool {
        self.source.chain().any(|cause| {
            cause
                .downcast_ref::<sqlx::Error>()
                .and_then(|error| error.as_database_error())
                .and_then(|error| error.code())
                .is_some_and(|code| code == "40P01")
        })
    }
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

    /// Profiles of one brand changed outside any event (`change`): their scores and segments are
    /// re-evaluated by the same hooks, all of them in one run (each segment once over all of them), in the
    /// caller's transaction, which holds the profiles locked (`FOR UPDATE`, in id order, as every writer of
    /// profiles takes them): the locks the hooks take next (scores, then segments in dependency order) come
    /// after the profiles' as in an event's transaction, so the two cannot deadlock. For a merge, pass the
    /// survivor (the absorbed profiles are found from the merge); for an unmerge, the survivor and the
    /// profiles given back.
    pub async fn profiles_changed(
        &self,
        conn: &mut PgConnection,
        brand_id: Uuid,
        profile_ids: &[Uuid],
        change: Change,
    ) -> Result<(), HookFailed> {
        let mut ids = profile_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let touched: Vec<Touched> = ids
            .into_iter()
            .map(|id| Touched::changed(brand_id, id, change))
            .collect();
        self.run(conn, &touched).await
    }

    /// After a resolution made outside events (the resolve API, a new clienteling client), in its
    /// transaction: the survivor of the merge it made, or the profile whose attributes it set (a new
    /// profile always: it may enter segments over attributes at once).
    pub async fn resolved(
        &self,
        conn: &mut PgConnection,
        brand_id: Uuid,
        resolution: &Resolution,
        attributes_given: bool,
    ) -> Result<(), HookFailed> {
        let change = match resolution.merge_id {
            Some(merge_id) => Change::Merged { merge_id },
            None if attributes_given || resolution.outcome == OutcomeKind::Created => {
                Change::Attributes
            }
            None => return Ok(()),
        };
        self.profiles_changed(conn, brand_id, &[resolution.profile_id], change)
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
