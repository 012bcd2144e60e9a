//! `/__sandbox/social/…`: what was published, and the knobs of each network.

use actix_web::{HttpResponse, web};
use chrono::{Duration, Utc};
use serde::Deserialize;

use crate::SandboxState;

#[derive(Deserialize)]
pub struct Filter {
    network: Option<String>,
}

pub async fn posts(state: web::Data<SandboxState>, filter: web::Query<Filter>) -> HttpResponse {
    HttpResponse::Ok().json(state.social.lock().published(filter.network.as_deref()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// `X-App-Usage`, e.g. `{"call_count": 95, "total_cputime": 10, "total_time": 12}`.
    app: Option<serde_json::Value>,
    /// `X-Business-Use-Case-Usage`, keyed by page id.
    business: Option<serde_json::Value>,
}

pub async fn facebook_usage(
    state: web::Data<SandboxState>,
    usage: web::Json<Usage>,
) -> HttpResponse {
    let mut store = state.social.lock();
    let usage = usage.into_inner();
    if let Some(app) = usage.app {
        store.facebook_app_usage = app;
    }
    if let Some(business) = usage.business {
        store.facebook_business_usage = business;
    }
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstagramConfig {
    container_delay_ms: Option<u64>,
    quota_total: Option<u32>,
    next_container_status: Option<String>,
}

pub async fn instagram_config(
    state: web::Data<SandboxState>,
    config: web::Json<InstagramConfig>,
) -> HttpResponse {
    let mut store = state.social.lock();
    let config = config.into_inner();
    if let Some(delay) = config.container_delay_ms {
        store.instagram.container_delay_ms = delay;
    }
    if let Some(quota) = config.quota_total {
        store.instagram.quota_total = quota;
    }
    if config.next_container_status.is_some() {
        store.instagram.next_container_status = config.next_container_status;
    }
    HttpResponse::Ok().json(&store.instagram)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// The demo user when absent.
    user_id: Option<String>,
    limit: Option<u32>,
    remaining: u32,
    reset_in_secs: i64,
}

/// Sets a user's current `POST /2/tweets` window: `remaining: 0` throttles it until the reset.
pub async fn x_rate_limit(
    state: web::Data<SandboxState>,
    body: web::Json<RateLimit>,
) -> HttpResponse {
    let body = body.into_inner();
    let user = body
        .user_id
        .unwrap_or_else(|| crate::demo::social::X_USER_ID.to_owned());
    let now = Utc::now();
    let mut store = state.social.lock();
    let window = store.x_window(&user, now);
    if let Some(limit) = body.limit {
        window.limit = limit;
    }
    window.remaining = body.remaining;
    window.reset_at = now + Duration::seconds(body.reset_in_secs.max(0));
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revoke {
    token: String,
}

/// Revokes an X access token (the user disconnected the app).
pub async fn x_revoke(state: web::Data<SandboxState>, body: web::Json<Revoke>) -> HttpResponse {
    let mut store = state.social.lock();
    store.x_tokens.remove(&body.token);
    store.x_refresh.retain(|token, _| *token != body.token);
    HttpResponse::NoContent().finish()
}
