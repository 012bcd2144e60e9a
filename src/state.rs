use sqlx::PgPool;

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
}
