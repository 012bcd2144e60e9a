//! Scores: engagement and churn risk per profile, 0–100, each with its reasons (the largest contributions),
//! computed under the brand's versioned rules ([`rules`]) from its activities, counters and consents
//! ([`compute`]), kept with their history ([`store`]), recomputed after every event of the profile (the
//! after-event hook, inside the event's transaction) and nightly for everyone, so that scores decay
//! ([`nightly`]). `crm.churn.risk.high` goes out when churn risk crosses above 80.
//!
//! `GET …/crm/profiles/{id}/scores` (also in the profile view), `GET …/scores/history`, and the rules at
//! `GET/PUT …/crm/score-rules` (`GET …/score-rules/versions`): the brand's marketers and admins only.

mod clock;
pub mod compute;
mod hook;
pub mod nightly;
mod routes;
pub mod rules;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use utoipa::OpenApi;
use uuid::Uuid;

pub use clock::Clock;
pub use routes::{ProfileWithScores, routes_scores};
pub use store::{CHURN_RISK, Cause, ENGAGEMENT, HIGH_CHURN_RISK, Score, Scores};

use crate::config::ScoreSettings;
use crate::crm::events::AfterEvent;
use rules::Versioned;

/// The scoring engine's handle (`state.crm.scores()`): its clock, shared by the hook and the nightly job.
#[derive(Clone)]
pub struct Scoring {
    clock: Clock,
    settings: ScoreSettings,
}

impl Scoring {
    pub fn new(settings: &ScoreSettings) -> Self {
        Self {
            clock: Clock::default(),
            settings: settings.clone(),
        }
    }

    pub fn settings(&self) -> &ScoreSettings {
        &self.settings
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The after-event hook that recomputes the event's profile.
    pub fn hook(&self) -> Arc<dyn AfterEvent> {
        Arc::new(hook::ScoresHook::new(self.clock.clone()))
    }
}

/// What a recomputation produced.
#[derive(Debug, Clone)]
pub struct Recomputed {
    pub engagement: compute::Computed,
    pub churn: compute::Computed,
    /// Whether churn risk crossed above [`HIGH_CHURN_RISK`] (and `crm.churn.risk.high` was recorded).
    pub crossed: bool,
}

/// Recomputes both scores of a profile the caller holds locked, under `rules`, as of `now`; `None` when
/// the brand has no such profile.
pub async fn recompute(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    rules: &Versioned,
    now: DateTime<Utc>,
    cause: Cause,
) -> anyhow::Result<Option<Recomputed>> {
    Ok(
        recompute_all(conn, brand_id, &[profile_id], rules, now, cause)
            .await?
            .remove(&profile_id),
    )
}

/// [`recompute`] for any number of distinct profiles in four statements (two aggregates, the write, and
/// the outbox for each crossing); the profiles the brand does not have are absent from the answer.
pub async fn recompute_all(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_ids: &[Uuid],
    rules: &Versioned,
    now: DateTime<Utc>,
    cause: Cause,
) -> anyhow::Result<HashMap<Uuid, Recomputed>> {
    let computed = compute::compute(conn, brand_id, profile_ids, &rules.rules, now).await?;
    // In the order given, so the outbox events of crossings come in that order.
    let scored: Vec<store::Scored> = profile_ids
        .iter()
        .filter_map(|id| {
            computed.get(id).map(|(engagement, churn)| store::Scored {
                profile_id: *id,
                engagement,
                churn,
            })
        })
        .collect();
    let crossed = store::write(conn, brand_id, rules.version, &scored, now, cause).await?;
    Ok(computed
        .into_iter()
        .map(|(id, (engagement, churn))| {
            (
                id,
                Recomputed {
                    engagement,
                    churn,
                    crossed: crossed.contains(&id),
                },
            )
        })
        .collect())
}

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::get_scores,
        routes::score_history,
        routes::get_rules,
        routes::put_rules,
        routes::rule_versions
    ),
    components(schemas(
        compute::Reason,
        store::Score,
        store::Scores,
        store::Change,
        routes::ProfileScores,
        routes::ScoreHistoryPage,
        routes::RuleVersions,
        rules::Rules,
        rules::EngagementRules,
        rules::ActivityRule,
        rules::ChurnRules,
        rules::SignalRule,
        rules::Versioned,
    ))
)]
pub struct ScoresApiDoc;

/// Merges [`ScoresApiDoc`] into the CRM's part of the document.
pub struct ScoresDoc;

impl utoipa::Modify for ScoresDoc {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(ScoresApiDoc::openapi());
    }
}
