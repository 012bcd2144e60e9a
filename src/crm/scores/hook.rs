//! Scores after events: each profile a batch touched is recomputed once, after all its events, inside the
//! batch's transaction (its row is already locked by the counters' update), so the scores land with the
//! events or not at all, and the segments hook, registered after this one, sees the new values. The
//! brand's rules are read once per batch. A consent change (an opt-out is a churn signal) recomputes its
//! profile the same way (cause `consent`), a merge without events its survivor (cause `merge`: it gained
//! the absorbed activities), an unmerge the survivor and the profiles given back (cause `unmerge`). An
//! attribute change recomputes nothing: no score reads attributes. Profiles merged away (by an event's
//! resolution or the merge API) lose their scores.

use futures::future::BoxFuture;
use sqlx::PgConnection;

use std::collections::HashMap;

use uuid::Uuid;

use super::rules::Versioned;
use super::{Cause, Clock, recompute, rules, store};
use crate::crm::events::{AfterEvent, Change, Touched};
use crate::crm::merge;

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
                let cause = match (profile.events.is_empty(), profile.change) {
                    (false, _) => Cause::Event,
                    (true, Some(Change::Merged { .. })) => Cause::Merge,
                    (true, Some(Change::Unmerged { .. })) => Cause::Unmerge,
                    (true, Some(Change::Attributes)) => continue,
                    (true, Some(Change::Consent) | None) => Cause::Consent,
                };
                let merges = profile
                    .events
                    .iter()
                    .filter_map(|event| event.merge_id)
                    .chain(match profile.change {
                        Some(Change::Merged { merge_id }) => Some(merge_id),
                        _ => None,
                    });
                for merge_id in merges {
                    if let Some((_, absorbed)) =
                        merge::sides(&mut *conn, profile.brand_id, merge_id).await?
                    {
                        store::forget(&mut *conn, profile.brand_id, &absorbed).await?;
                    }
                }
                let rules = match by_brand.get(&profile.brand_id) {
                    Some(found) => found,
                    None => {
                        let found = rules::current(&mut *conn, profile.brand_id).await?;
                        by_brand.entry(profile.brand_id).or_insert(found)
                    }
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
