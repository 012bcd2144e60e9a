//! The CRM: one profile store per brand — profiles and their identifiers, identity resolution, merge and
//! unmerge, consent, activities and the timeline — shared by segments, campaigns, journeys and the
//! clienteling client book (a clienteling client *is* a CRM profile of its brand).
//!
//! Every route lives under `/api/v1/brands/{brand}/crm/…` and takes [`crate::brands::InBrand`]`<Marketing>`:
//! the brand's marketers and admins only; another brand's path is a 404. Every query carries the brand id in
//! its `WHERE` clause.

pub mod campaigns;
pub mod consent;
pub mod custom;
pub mod erasure;
pub mod events;
pub mod identifiers;
pub mod identity_routes;
pub mod journeys;
pub mod ledger;
pub mod links;
pub mod merge;
pub mod messages;
mod patch;
pub mod privacy_export;
pub mod profile;
pub mod purchases;
pub mod resolve;
mod routes_consent;
mod routes_identifiers;
pub mod routes_profiles;
pub mod scores;
mod search;
pub mod segments;
pub mod suppression;
pub mod survivorship;
pub mod unmerge;

pub use consent::{ContactDecision, may_contact};
pub use identity_routes::{erased_error as erased_field, erased_fields};
pub mod seed;

use std::sync::Arc;

use actix_web::web;
use sqlx::PgPool;
use utoipa::OpenApi;

use crate::config::Settings;
use crate::jobs::Runner;
use campaigns::CampaignsModifier;
use events::Doc as EventsModifier;
use identifiers::Policy;
use identity_routes::IdentityDoc;
use journeys::JourneysModifier;
use messages::MessagesModifier;
use routes_profiles::ProfilesDoc;
use scores::ScoresDoc;
use segments::SegmentsModifier;

/// What the CRM needs from the process, reached as `state.crm`: the pool, the identity rules and the slug of
/// the brand the portal's customers belong to.
#[derive(Clone)]
pub struct Crm {
    db: PgPool,
    policy: Arc<Policy>,
    portal_brand: String,
    hooks: events::Hooks,
    scores: scores::Scoring,
    segments: crate::config::SegmentSettings,
    lanes: events::Lanes,
}

impl Crm {
    pub fn new(db: PgPool, settings: &Settings) -> anyhow::Result<Self> {
        let policy =
            Arc::new(Policy::from_settings(&settings.crm.identity).map_err(anyhow::Error::msg)?);
        resolve::install_policy(policy.clone());
        let hooks = events::Hooks::default();
        let scores = scores::Scoring::new(&settings.crm.scores);
        // Scores first: a segment over a score sees the event's new value.
        hooks.register(scores.hook());
        hooks.register(Arc::new(segments::SegmentsHook));
        // Journeys last: a trigger or exit sees the event's segments and scores.
        hooks.register(journeys::hook(settings));
        Ok(Self {
            db,
            policy,
            portal_brand: settings.portal.brand.clone(),
            hooks,
            scores,
            segments: settings.crm.segments.clone(),
            lanes: events::Lanes::new(&settings.crm.ingest),
        })
    }

    pub fn db(&self) -> &PgPool {
        &self.db
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn portal_brand(&self) -> &str {
        &self.portal_brand
    }

    /// The after-event hooks (segments, scores) every applied event runs through.
    pub fn hooks(&self) -> &events::Hooks {
        &self.hooks
    }

    /// Where single events wait to share a batch (`events::Lanes`).
    pub fn lanes(&self) -> &events::Lanes {
        &self.lanes
    }

    /// The scoring engine (its clock).
    pub fn scores(&self) -> &scores::Scoring {
        &self.scores
    }
}

/// This context's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(modifiers(&ProfilesDoc, &IdentityDoc, &EventsModifier, &ScoresDoc, &SegmentsModifier, &MessagesModifier, &CampaignsModifier, &JourneysModifier), components(schemas(
    identifiers::IdentifierInput,
    identifiers::Identifier,
    profile::Attributes,
    profile::Counters,
    profile::Profile,
    resolve::OutcomeKind,
    identifiers::Refusal,
)))]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    routes_profiles::routes_profiles(cfg);
    identity_routes::routes_identity(cfg);
    events::routes_events(cfg);
    scores::routes_scores(cfg);
    segments::routes(cfg);
    messages::routes(cfg);
    campaigns::routes(cfg);
    journeys::routes(cfg);
}

/// Registers this context's jobs.
pub fn jobs(runner: Runner, crm: &Crm) -> anyhow::Result<Runner> {
    let runner = scores::nightly::jobs(runner, crm)?;
    segments::jobs(runner, crm, &crm.segments)
}
