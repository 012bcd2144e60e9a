//! The social networks' stand-ins: Facebook Graph (`/facebook/v{version}/…`), Instagram Graph
//! (`/instagram/v{version}/…`) and X API v2 (`/x/2/…`), each speaking its network's wire format, with demo
//! accounts (`crate::demo::social`), their own limits, the shared fault injection and request log.
//!
//! - Facebook: `POST /{page-id}/feed` (`message`, `link`, token as `access_token` or a bearer) →
//!   `{"id":"{page_id}_{post_id}"}`; `GET /{page-id}/feed` lists the page's posts (newest first). Errors are
//!   the Graph error object (`190` bad token, `100` bad parameter; faults with `error_code` 4/17/32/613 give
//!   the rate-limit codes). Every answer carries `X-App-Usage` and `X-Business-Use-Case-Usage`, set through
//!   `PUT /__sandbox/social/facebook/usage`.
//! - Instagram: `POST /{ig-user-id}/media` (`image_url`, `caption`) → a container that is `IN_PROGRESS` for
//!   `container_delay_ms`, then `FINISHED` (or the status forced with `next_container_status`); `GET
//!   /{container-id}?fields=status_code`; `POST /{ig-user-id}/media_publish?creation_id=` → the media id;
//!   `GET /{ig-user-id}/content_publishing_limit` (`quota_total` per 24 h, configurable); `GET
//!   /{ig-user-id}/media`; `GET /{media-id}?fields=permalink`.
//! - X: `POST /2/tweets {"text"}` → 201 `{"data":{"id","text"}}` with `x-rate-limit-*` headers; past the
//!   window's limit a 429 with `x-rate-limit-reset` (epoch seconds, no `Retry-After`); the same text twice
//!   from one user is a 403 "duplicate content"; `GET /2/users/{id}/tweets`; `POST /2/oauth2/token`
//!   (refresh-token grant with the client's basic credentials; refresh tokens rotate).
//!
//! Control: `GET /__sandbox/social/posts?network=` (what was published), `PUT
//! /__sandbox/social/facebook/usage`, `PUT /__sandbox/social/instagram/config`, `PUT
//! /__sandbox/social/x/rate-limit`, `POST /__sandbox/social/x/revoke`.

mod control;
// The checks answer the refusal itself (an `HttpResponse`), which the handler returns as it is.
#[allow(clippy::result_large_err)]
mod facebook;
#[allow(clippy::result_large_err)]
mod instagram;
mod store;
#[allow(clippy::result_large_err)]
mod x;

use std::sync::{Mutex, MutexGuard, PoisonError};

use actix_web::web;

use store::Store;

pub use store::PublishedPost;

pub struct State {
    store: Mutex<Store>,
}

impl State {
    pub fn seeded() -> Self {
        Self {
            store: Mutex::new(Store::seeded()),
        }
    }

    pub fn reset(&self) {
        *self.lock() = Store::seeded();
    }

    /// What was published on `network` (`facebook`, `instagram`, `x`), oldest first.
    pub fn published(&self, network: &str) -> Vec<PublishedPost> {
        self.lock().published(Some(network))
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/facebook/{version}/{page}/feed",
        web::post().to(facebook::publish),
    )
    .route(
        "/facebook/{version}/{page}/feed",
        web::get().to(facebook::feed),
    )
    .route(
        "/instagram/{version}/{user}/media",
        web::post().to(instagram::create_container),
    )
    .route(
        "/instagram/{version}/{user}/media",
        web::get().to(instagram::media),
    )
    .route(
        "/instagram/{version}/{user}/media_publish",
        web::post().to(instagram::publish),
    )
    .route(
        "/instagram/{version}/{user}/content_publishing_limit",
        web::get().to(instagram::publishing_limit),
    )
    .route(
        "/instagram/{version}/{id}",
        web::get().to(instagram::object),
    )
    .route("/x/2/tweets", web::post().to(x::tweet))
    .route("/x/2/users/{id}/tweets", web::get().to(x::timeline))
    .route("/x/2/oauth2/token", web::post().to(x::token))
    .route("/__sandbox/social/posts", web::get().to(control::posts))
    .route(
        "/__sandbox/social/facebook/usage",
        web::put().to(control::facebook_usage),
    )
    .route(
        "/__sandbox/social/instagram/config",
        web::put().to(control::instagram_config),
    )
    .route(
        "/__sandbox/social/x/rate-limit",
        web::put().to(control::x_rate_limit),
    )
    .route(
        "/__sandbox/social/x/revoke",
        web::post().to(control::x_revoke),
    );
}

/// The token a Graph call carries: the `access_token` parameter (query or form) or a bearer header.
fn graph_token(request: &actix_web::HttpRequest, form: Option<&str>) -> Option<String> {
    let from = |text: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(text)
            .ok()?
            .into_iter()
            .find_map(|(k, v)| (k == "access_token").then_some(v))
    };
    bearer(request)
        .or_else(|| from(request.query_string()))
        .or_else(|| form.and_then(from))
}

fn bearer(request: &actix_web::HttpRequest) -> Option<String> {
    request
        .headers()
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|token| token.trim().to_owned())
}
