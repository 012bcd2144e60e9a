//! Messages (issue 13 part A, docs/crm/messages.md): templates (`…/crm/templates`, validated and
//! previewed), the one send path every caller uses ([`send`]: campaigns' delivery jobs, journeys' send
//! steps, advisors' outreach), the signed delivery-receipt webhook (`POST /api/v1/webhooks/messaging`) and
//! the adaptive token bucket delivery jobs share across replicas ([`Throttle`]).

mod activity;
mod address;
pub mod clock;
mod demo;
pub mod erasure;
mod ledger;
pub mod placeholders;
mod policy;
mod preview;
mod render;
mod routes_caps;
mod routes_templates;
mod routes_versions;
mod send;
pub mod templates;
pub mod throttle;
mod webhook;

use actix_web::web;
use secrecy::SecretString;
use utoipa::OpenApi;
use uuid::Uuid;

pub use address::LINE_USER;
pub use clock::Clock;
pub use demo::ensure_demo_templates;
pub use placeholders::{AdvisorContext, EventContext, MessageContext};
pub use preview::{PreviewError, Rendering, render_for};
pub use send::{Content, SendError, SendOutcome, SendRequest, Suppression, send};
pub use templates::{MessageChannel, Template};
pub use throttle::{Throttle, ThrottleKey};
pub use webhook::{SIGNATURE_HEADER, sign as sign_receipt};

use crate::cache::Cache;
use crate::config::{FrequencyCap, MessageSettings, Settings};
use crate::crm::Crm;
use crate::crm::consent::Purpose;
use crate::http::resource;
use crate::integrations::messaging::MessagingClient;

/// What the send path needs, reached as `state.messages`: the CRM (its pool and event path), the messaging
/// client, the settings, the webhook key, the clock and Redis (the throttle).
#[derive(Clone)]
pub struct Messages {
    crm: Crm,
    client: MessagingClient,
    settings: MessageSettings,
    webhook_secret: SecretString,
    clock: Clock,
    cache: Cache,
}

impl Messages {
    pub fn new(crm: Crm, cache: Cache, settings: &Settings) -> anyhow::Result<Self> {
        Ok(Self {
            crm,
            client: MessagingClient::new(&settings.providers)?,
            settings: settings.crm.messages.clone(),
            webhook_secret: settings.providers.messaging.webhook_secret.clone(),
            clock: Clock::default(),
            cache,
        })
    }

    /// The clock the send path and the throttle run on (tests stop and move it).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// A throttle over Redis with this handle's clock and settings.
    pub fn throttle(&self) -> Throttle {
        Throttle::new(
            self.cache.clone(),
            self.settings.throttle.clone(),
            self.clock.clone(),
        )
    }
}

/// Sets (or with `None` removes) the brand's own frequency cap for `purpose`, replacing the configured
/// default.
pub async fn set_frequency_cap(
    db: &sqlx::PgPool,
    brand_id: Uuid,
    purpose: Purpose,
    cap: Option<FrequencyCap>,
) -> Result<(), sqlx::Error> {
    let mut conn = db.acquire().await?;
    let cap = cap.map(|cap| {
        (
            i32::try_from(cap.max_messages).unwrap_or(i32::MAX),
            i32::try_from(cap.window_secs.max(1)).unwrap_or(i32::MAX),
        )
    });
    ledger::set_brand_cap(&mut conn, brand_id, purpose.as_str(), cap).await
}

/// Start-up checks of `[crm.messages]`: `Err((key, why))`.
pub fn check_settings(settings: &MessageSettings) -> Result<(), (String, String)> {
    for (key, value) in [
        (
            "crm.messages.quiet_hours_start",
            &settings.quiet_hours_start,
        ),
        ("crm.messages.quiet_hours_end", &settings.quiet_hours_end),
    ] {
        if policy::parse_time(value).is_none() {
            return Err((key.into(), "must be a time of day, HH:MM".into()));
        }
    }
    for (purpose, cap) in &settings.caps {
        if Purpose::parse(purpose).is_none() {
            return Err((
                format!("crm.messages.caps.{purpose}"),
                "is not a purpose (marketing, outreach, events, service)".into(),
            ));
        }
        if cap.window_secs == 0 || i32::try_from(cap.window_secs).is_err() {
            return Err((
                format!("crm.messages.caps.{purpose}.window_secs"),
                "must be 1–2147483647".into(),
            ));
        }
    }
    let t = &settings.throttle;
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if !positive(t.min_rate) || !positive(t.recover_per_sec) || !positive(t.burst_secs) {
        return Err((
            "crm.messages.throttle".into(),
            "min_rate, recover_per_sec and burst_secs must be positive".into(),
        ));
    }
    if !(t.fallback_share > 0.0 && t.fallback_share <= 1.0) {
        return Err((
            "crm.messages.throttle.fallback_share".into(),
            "must be in (0, 1]".into(),
        ));
    }
    Ok(())
}

#[derive(OpenApi)]
#[openapi(
    paths(
        routes_templates::create,
        routes_templates::list,
        routes_templates::get,
        routes_templates::replace,
        routes_templates::delete,
        routes_templates::preview,
        routes_versions::list,
        routes_versions::get,
        routes_caps::get,
        routes_caps::replace,
        webhook::receive,
    ),
    components(schemas(
        templates::Template,
        templates::TemplateRequest,
        templates::Variant,
        templates::MessageChannel,
        routes_templates::TemplateList,
        routes_templates::PreviewRequest,
        routes_templates::Preview,
        routes_versions::VersionSummary,
        routes_versions::VersionPage,
        routes_caps::Cap,
        routes_caps::Caps,
        routes_caps::CapSource,
        routes_caps::CapRequest,
        routes_caps::CapsRequest,
        placeholders::MessageContext,
        placeholders::AdvisorContext,
        placeholders::EventContext,
        send::SendOutcome,
        send::Suppression,
        webhook::Receipt,
        webhook::ReceiptKind,
    ))
)]
pub struct MessagesDoc;

/// Merges [`MessagesDoc`] into the CRM's part of the document.
pub struct MessagesModifier;

impl utoipa::Modify for MessagesModifier {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(MessagesDoc::openapi());
    }
}

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/brands/{brand}/crm/templates";
    cfg.service(
        resource(base)
            .route(web::post().to(routes_templates::create))
            .route(web::get().to(routes_templates::list)),
    )
    .service(
        resource(&format!("{base}/{{id}}"))
            .route(web::get().to(routes_templates::get))
            .route(web::put().to(routes_templates::replace))
            .route(web::delete().to(routes_templates::delete)),
    )
    .service(
        resource(&format!("{base}/{{id}}/preview"))
            .route(web::post().to(routes_templates::preview)),
    )
    .service(
        resource(&format!("{base}/{{id}}/versions")).route(web::get().to(routes_versions::list)),
    )
    .service(
        resource(&format!("{base}/{{id}}/versions/{{version}}"))
            .route(web::get().to(routes_versions::get)),
    )
    .service(
        resource("/brands/{brand}/crm/message-caps")
            .route(web::get().to(routes_caps::get))
            .route(web::put().to(routes_caps::replace)),
    )
    .service(
        resource("/webhooks/messaging")
            .app_data(crate::errors::payload_config(webhook::BODY_LIMIT_BYTES))
            .route(web::post().to(webhook::receive)),
    );
}
