use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::AuthService;
use crate::billing::Billing;
use crate::cache::Cache;
use crate::catalog::Catalog;
use crate::clienteling::Clienteling;
use crate::config::Settings;
use crate::crm::Crm;
use crate::customers::Customers;
use crate::jobs::JobsStatus;
use crate::orders::Orders;
use crate::subscriptions::Subscriptions;
use crate::support::Support;

/// The composition root, built once by `cli::build_state` and shared with handlers as one
/// `web::Data<AppState>`.
///
/// Each context has one handle here holding what its services and jobs need (clients, cache, its
/// settings); handlers pass `&state.<context>` on, and services and jobs take the handle, never `AppState`.
/// The rest is shared plumbing: settings, the pool (transactions a handler opens, idempotency,
/// `customers::require_links`), the cache, and the job runner's status for readiness.
#[derive(Clone)]
pub struct AppState {
    pub settings: Settings,
    pub db: PgPool,
    pub cache: Cache,
    pub jobs: JobsStatus,

    pub auth: Arc<AuthService>,
    pub customers: Customers,
    pub billing: Billing,
    pub catalog: Catalog,
    pub orders: Orders,
    pub subscriptions: Subscriptions,
    pub support: Support,
    pub crm: Crm,
    pub messages: crate::crm::messages::Messages,
    pub social: crate::social::Social,
    pub clienteling: Clienteling,
    pub privacy: crate::privacy::Privacy,
    pub brand_events: crate::brand_events::BrandEvents,
}
