//! Scores after events: each profile a batch touched is recomputed once, after all its events, inside the
//! batch's transaction (its row is already locked by the counters' update), so the scores land with the
//! events or not at all, and the segments hook, registered after this one, sees the new values. The
//! brand's rules are read once per batch. A consent change (an opt-out is a churn signal) recomputes its
//! profile the same way (cause `consent`).

use futures::future::BoxFuture;
use sqlx::PgConnection;

use std::collections::HashMap;

use uuid::Uuid;

use super::rules::Versioned;
use super::{Cause, Clock, recompute, rules};
use crate::crm::events::{AfterEvent, Touched};

pub struct ScoresHook {
    clock: Clock,
}

impl ScoresHook {
    pub fn new(clock: Clock) -> Self {
        Self { clock }
    }
}

impl AfterEvent for ScoresHook {
    fn name(&self) -> &'static str {
        "scores"
    }

    fn after_profiles<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        touched: &'a [Touched<'a>],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut by_brand: HashMap<Uuid, Versioned> = HashMap::new();
            let now = self.clock.now();
            for profile in touched {
                let rules = match by_brand.get(&profile.brand_id) {
                    Some(found) => found,
                    None => {
                        let found = rules::current(&mut *conn, profile.brand_id).await?;
                        by_brand.entry(profile.brand_id).or_insert(found)
                    }
                };
                let cause = if profile.events.is_empty() {
                    Cause::Consent
                } else {
                    Cause::Event
                };
                recompute(
                    &mut *conn,
                    profile.brand_id,
                    profile.profile_id,
                    rules,
                    now,
                    cause,
                )
                .await?;
            }
            Ok(())
        })
    }
}
