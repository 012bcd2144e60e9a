//! Scores after events: each profile a batch touched is recomputed once, after all its events, inside the
//! batch's transaction (its row is already locked by the counters' update), so the scores land with the
//! events or not at all, and the segments hook, registered after this one, sees the new values. The
//! brand's rules are read once per batch, and all the profiles of one cause are computed and written
//! together (`recompute_all`: four statements for the batch, not four per profile). A consent change (an
//! opt-out is a churn signal) recomputes its profile the same way (cause `consent`), a merge without events
//! its survivor (cause `merge`: it gained the absorbed activities), an unmerge the survivor and the
//! profiles given back (cause `unmerge`). An attribute change recomputes nothing: no score reads attributes. Profiles merged away (by an event's
//! resolution or the merge API) lose their scores, also when earlier events of the batch were theirs.

use futures::future::BoxFuture;
use sqlx::PgConnection;

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::rules::Versioned;
use super::{Cause, Clock, recompute_all, rules, store};
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
            let now = self.clock.now();
            // Per brand and cause, the profiles to recompute, each once, in the order of the batch.
            let mut groups: Vec<(Uuid, Cause, Vec<Uuid>)> = Vec::new();
            let mut absorbed_all: HashSet<Uuid> = HashSet::new();
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
                        absorbed_all.extend(absorbed);
                    }
                }
                match groups
                    .iter_mut()
                    .find(|(brand, c, _)| *brand == profile.brand_id && *c == cause)
                {
                    Some((_, _, ids)) => ids.push(profile.profile_id),
                    None => groups.push((profile.brand_id, cause, vec![profile.profile_id])),
                }
            }
            let mut by_brand: HashMap<Uuid, Versioned> = HashMap::new();
            for (brand_id, cause, mut ids) in groups {
                // A profile merged away by a later event of the batch keeps no scores.
                ids.retain(|id| !absorbed_all.contains(id));
                let mut seen = HashSet::new();
                ids.retain(|id| seen.insert(*id));
                if ids.is_empty() {
                    continue;
                }
                let rules = match by_brand.get(&brand_id) {
                    Some(found) => found,
                    None => {
                        let found = rules::current(&mut *conn, brand_id).await?;
                        by_brand.entry(brand_id).or_insert(found)
                    }
                };
                recompute_all(&mut *conn, brand_id, &ids, rules, now, cause).await?;
            }
            Ok(())
        })
    }
}
