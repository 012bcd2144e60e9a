//! The after-event hook: where segments, scores and anything else that reacts to an activity plug in.
//! Hooks run inside the event's transaction (its savepoint), after the activity and the counters are
//! written, so what a hook writes lands with the event or not at all.
//!
//! A hook that fails undoes its event: the savepoint is rolled back (nothing of the event stays: no profile,
//! no identifier, no trait, no activity, no counter) and the event's outcome is `failed`, naming the hook.
//! The sender may send the same event again (its id was not used); the other events of the batch stand.
//! A batch runs first without savepoints and again with them when an event fails, so a hook may be called
//! for an event whose writes were then rolled back: a hook's effects belong in the transaction.

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

/// Reacts to an applied event, inside its transaction.
pub trait AfterEvent: Send + Sync + 'static {
    /// Names the hook in logs and in a `failed` outcome.
    fn name(&self) -> &'static str;

    fn after_event<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a AppliedEvent,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
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

    /// Runs every hook on `event`; the first failure stops the others and is returned.
    pub async fn run(
        &self,
        conn: &mut PgConnection,
        event: &AppliedEvent,
    ) -> Result<(), HookFailed> {
        for hook in self.snapshot() {
            hook.after_event(conn, event)
                .await
                .map_err(|source| HookFailed {
                    hook: hook.name(),
                    source,
                })?;
        }
        Ok(())
    }
}
