//! The CRM: one profile store per brand — profiles and their identifiers, identity resolution, merge and
//! unmerge, consent, activities and the timeline — shared by segments, campaigns, journeys and the
//! clienteling client book (a clienteling client *is* a CRM profile of its brand).
//!
//! Every route lives under `/api/v1/brands/{brand}/crm/…` and takes [`crate::brands::InBrand`]`<Marketing>`:
//! the brand's marketers and admins only; another brand's path is a 404. Every query carries the brand id in
//! its `WHERE` clause.

pub mod identifiers;
pub mod profile;
pub mod resolve;
pub mod seed;

use std::sync::Arc;

use actix_web::web;
use sqlx::PgPool;
use utoipa::OpenApi;

use crate::config::Settings;
use crate::jobs::Runner;
use identifiers::Policy;

/// What the CRM needs from the process, reached as `state.crm`: the pool, the identity rules and the slug of
/// the brand the portal's customers belong to.
#[derive(Clone)]
pub struct Crm {
    db: PgPool,
    policy: Arc<Policy>,
    portal_brand: String,
}

impl Crm {
    pub fn new(db: PgPool, settings: &Settings) -> anyhow::Result<Self> {
        let policy = Policy::from_settings(&settings.crm.identity).map_err(anyhow::Error::msg)?;
        Ok(Self {
            db,
            policy: Arc::new(policy),
            portal_brand: settings.portal.brand.clone(),
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
}

/// This context's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(components(schemas(
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
pub fn routes(_cfg: &mut web::ServiceConfig) {}

/// Registers this context's jobs.
pub fn jobs(runner: Runner, _crm: &Crm) -> anyhow::Result<Runner> {
    Ok(runner)
}
