//! Brand events (issue 18, docs/brand_events.md): a brand's events — a store's private evening, a salon at a
//! venue — with their guests. The brand's marketers (and admins) create and run them
//! (`…/brands/{brand}/events`); its advisors and managers read the published ones, invite clients of their
//! book, answer for a client and check guests in.
//!
//! - Invitations: a segment's members frozen into one row per person (idempotent: inviting again adds only
//!   the new members), or one client invited by an advisor (logged as an `event_invitation` interaction),
//!   messaged by a job through the CRM's one send path with purpose `events` (consent and caps apply; the
//!   outcome is kept on the invitation).
//! - RSVPs: through the signed, expiring link in the invitation (public, no login: [`link`]) or by staff;
//!   past capacity a guest is waitlisted in order, and a confirmed guest's decline promotes the first
//!   waitlisted one, who is told. Every RSVP holds the event's row locked, so the capacity is never exceeded.
//! - Every step is a CRM activity (`event_invited`, `event_rsvp`, `event_attended`) through the outbox
//!   ([`EventsFeed`]).
//!
//! Named `brand_events` because the CRM's `events` are its activity ingest.
//!
//! Published: [`BrandEvents`] (the handle), [`routes`], [`ApiDoc`], [`jobs`], [`EventsFeed`],
//! [`send_pending`] and [`SendEventMessages`] (the sending job and its body).

mod access;
mod activity;
mod guests;
mod link;
mod model;
pub mod privacy_export;
mod repo;
mod routes;
mod routes_guests;
mod routes_invite;
mod routes_link;
mod rsvp;
mod send;

use std::sync::Arc;

use actix_web::web;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use utoipa::OpenApi;

pub use access::EventStaff;
pub use activity::{EventsFeed, TOPICS};
pub use send::{SendEventMessages, SendReport, send_pending};

use crate::config::{JobSettings, Settings};
use crate::crm::messages::Messages;
use crate::http::resource;
use crate::jobs::Runner;

/// What the events' routes and jobs need, reached as `state.brand_events`: the pool, the send path (and
/// its clock, which the tests move), the job settings, the RSVP link signer and the API's public URL.
#[derive(Clone)]
pub struct BrandEvents {
    db: PgPool,
    messages: Messages,
    jobs: JobSettings,
    links: Arc<link::LinkCodec>,
    public_url: String,
}

impl BrandEvents {
    pub fn new(db: PgPool, messages: Messages, settings: &Settings) -> Self {
        Self {
            db,
            messages,
            jobs: settings.jobs.clone(),
            links: Arc::new(link::LinkCodec::new(&settings.brand_events.rsvp_key)),
            public_url: settings.server.public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The send path's clock: deadlines, link expiry and responses read the same time.
    fn now(&self) -> DateTime<Utc> {
        self.messages.clock().now()
    }

    /// The guest's RSVP link (the public endpoint itself: `GET` shows the invitation, `POST` answers it).
    fn rsvp_url(
        &self,
        brand: &str,
        event_id: uuid::Uuid,
        invitation_id: uuid::Uuid,
        expires_at: DateTime<Utc>,
    ) -> String {
        let token = self.links.token(invitation_id, expires_at);
        format!(
            "{}/api/v1/brands/{brand}/events/{event_id}/rsvp/{token}",
            self.public_url
        )
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::create_event,
        routes::list_events,
        routes::get_event,
        routes::replace_event,
        routes::delete_event,
        routes::open_event,
        routes::close_event,
        routes::cancel_event,
        routes_invite::invite_segment,
        routes_invite::invite_client,
        routes_guests::list_guests,
        routes_guests::respond_for_guest,
        routes_guests::check_in_guest,
        routes_link::show_rsvp,
        routes_link::answer_rsvp,
    ),
    components(schemas(
        model::Event,
        model::EventRequest,
        model::Status,
        model::Counts,
        model::EventList,
        guests::Guest,
        guests::GuestStatus,
        guests::MessageOutcome,
        guests::GuestPage,
        routes_invite::SegmentInvitation,
        routes_invite::SegmentInvited,
        routes_invite::ClientInvitation,
        rsvp::Response,
        routes_guests::RsvpRequest,
        routes_link::RsvpView,
        routes_link::PublicEvent,
    )),
    tags((name = "brand_events", description = "A brand's events: invitations, RSVPs, waitlist and check-in"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    const BASE: &str = "/brands/{brand}/events";
    cfg.service(
        resource(BASE)
            .route(web::post().to(routes::create_event))
            .route(web::get().to(routes::list_events)),
    )
    .service(
        resource(&format!("{BASE}/{{id}}"))
            .route(web::get().to(routes::get_event))
            .route(web::put().to(routes::replace_event))
            .route(web::delete().to(routes::delete_event)),
    )
    .service(resource(&format!("{BASE}/{{id}}/open")).route(web::post().to(routes::open_event)))
    .service(resource(&format!("{BASE}/{{id}}/close")).route(web::post().to(routes::close_event)))
    .service(resource(&format!("{BASE}/{{id}}/cancel")).route(web::post().to(routes::cancel_event)))
    .service(
        resource(&format!("{BASE}/{{id}}/invitations"))
            .route(web::post().to(routes_invite::invite_client)),
    )
    .service(
        resource(&format!("{BASE}/{{id}}/invitations/segment"))
            .route(web::post().to(routes_invite::invite_segment)),
    )
    .service(
        resource(&format!("{BASE}/{{id}}/guests")).route(web::get().to(routes_guests::list_guests)),
    )
    .service(
        resource(&format!("{BASE}/{{id}}/guests/{{guest}}/rsvp"))
            .route(web::post().to(routes_guests::respond_for_guest)),
    )
    .service(
        resource(&format!("{BASE}/{{id}}/guests/{{guest}}/check-in"))
            .route(web::post().to(routes_guests::check_in_guest)),
    )
    .service(
        resource(&format!("{BASE}/{{id}}/rsvp/{{token}}"))
            .route(web::get().to(routes_link::show_rsvp))
            .route(web::post().to(routes_link::answer_rsvp)),
    );
}

/// The sending job (invitations and waitlist notices).
pub fn jobs(runner: Runner, events: &BrandEvents) -> Runner {
    let events = events.clone();
    runner.register(move |job, ctx| send::run(events.clone(), job, ctx))
}
