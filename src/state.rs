use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::AuthService;
use crate::integrations::freebit::FreebitClient;
use crate::integrations::messaging::MessagingClient;
use crate::integrations::salesforce::SalesforceClient;
use crate::integrations::whmcs::WhmcsClient;

use crate::cache::Cache;
use crate::config::Settings;
use crate::jobs::JobsStatus;

/// Everything a handler may need, built once at startup and shared through `web::Data`.
#[derive(Clone)]
pub struct AppState {
    pub settings: Settings,
    pub db: PgPool,
    pub cache: Cache,
    pub jobs: JobsStatus,
    pub auth: Arc<AuthService>,
    pub customers: crate::customers::Customers,
    pub billing: crate::billing::Billing,
    pub catalog: crate::catalog::Catalog,
    pub orders: crate::orders::Orders,
    pub subscriptions: crate::subscriptions::Subscriptions,
    pub support: crate::support::Support,
    pub messaging: MessagingClient,
    pub whmcs: WhmcsClient,
    pub salesforce: SalesforceClient,
    pub freebit: FreebitClient,
}
