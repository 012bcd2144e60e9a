//! Scores after every event: the event's profile is recomputed inside the event's transaction (its row is
//! already locked by the counters' update), so the scores land with the event or not at all, and the
//! segments hook, registered after this one, sees the new values.

use futures::future::BoxFuture;
use sqlx::PgConnection;

use super::{Cause, Clock, recompute, rules};
use crate::crm::events::{AfterEvent, AppliedEvent};

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

    fn after_event<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a AppliedEvent,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let rules = rules::current(conn, event.brand_id).await?;
            recompute(
                conn,
                event.brand_id,
                event.profile_id,
                &rules,
                self.clock.now(),
                Cause::Event,
            )
            .await?;
            Ok(())
        })
    }
}
