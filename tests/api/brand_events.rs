//! Brand events (issue 18): events, invitations (a segment frozen, a client of the book), RSVP links, the
//! waitlist, check-in and the CRM activities. The sending job's body and the outbox sink are called directly
//! (no job runner), as the campaigns' tests do.

mod access;
mod crud;
mod invitations;
mod race;
mod rsvp;
mod steps;

use chrono::{Duration, Utc};
use concierge::brand_events::{EventsFeed, SendReport, send_pending};
use concierge::brands::Brand;
use concierge::clienteling::interactions::activity::InteractionFeed;
use concierge::outbox::Dispatcher;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

pub use crate::crm_campaigns::segment;
pub use crate::crm_messages::{brand, consent, profile, template_id};
use crate::helpers::{Sandboxed, TestApp, marketer_token, send, spawn_sandboxed_app_with};

pub const EVENTS: &str = "/api/v1/brands/maison/events";

pub struct World {
    pub app: TestApp,
    pub marketer: String,
    pub brand: Brand,
}

/// A sandboxed app without the job runner nor provider retries, and a marketer of `maison`.
pub async fn world() -> World {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let marketer = marketer_token(&app, "mkt@maison.example", "maison").await;
    let brand = brand(&app, "maison").await;
    World {
        app,
        marketer,
        brand,
    }
}

/// An SMS invitation template (purpose `events`) carrying the guest's RSVP link.
pub async fn invitation_template(world: &World) -> Uuid {
    template_id(
        &world.app,
        &world.marketer,
        "maison",
        &json!({ "name": format!("Invitation {}", Uuid::now_v7().simple()), "channel": "sms", "purpose": "events",
                 "fallback_language": "en",
                 "variants": [{ "language": "en",
                   "body": "{{ profile.first_name }}, {{ brand.name }} invites you to {{ event.name }} on {{ event.starts_at }} at {{ event.location }}. RSVP: {{ event.rsvp_url }}" }] }),
    )
    .await
}

/// The SMS telling a waitlisted guest a place opened.
pub async fn promotion_template(world: &World) -> Uuid {
    template_id(
        &world.app,
        &world.marketer,
        "maison",
        &json!({ "name": format!("Promotion {}", Uuid::now_v7().simple()), "channel": "sms", "purpose": "events",
                 "fallback_language": "en",
                 "variants": [{ "language": "en",
                   "body": "Good news {{ profile.first_name }}: a place opened at {{ event.name }}. You are confirmed." }] }),
    )
    .await
}

pub fn event_body(capacity: Option<i32>, promotion: Option<Uuid>) -> Value {
    let starts = Utc::now() + Duration::days(30);
    json!({
        "name": "Winter soirée", "description": "Champagne and the new collection.",
        "store": "paris-1", "venue": "The first-floor salon",
        "starts_at": starts, "ends_at": starts + Duration::hours(3),
        "capacity": capacity, "promotion_template_id": promotion,
    })
}

pub async fn call(
    app: &TestApp,
    method: Method,
    token: Option<&str>,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let response = send(app, method, token, path, body).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Creates and opens an event; its id.
pub async fn open_event(world: &World, body: Value) -> Uuid {
    let (status, event) = call(
        &world.app,
        Method::POST,
        Some(&world.marketer),
        EVENTS,
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{event}");
    let id: Uuid = event["id"].as_str().unwrap().parse().unwrap();
    let (status, opened) = call(
        &world.app,
        Method::POST,
        Some(&world.marketer),
        &format!("{EVENTS}/{id}/open"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{opened}");
    id
}

pub fn phone(i: usize) -> String {
    format!("+336123460{i:02}")
}

/// A profile of `maison` with a phone (and an e-mail), with the SMS consent for events in `consent_status`
/// (or none).
pub async fn guest(world: &World, i: usize, consent_status: Option<&str>) -> Uuid {
    let id = profile(
        &world.app,
        &world.marketer,
        "maison",
        json!({ "first_name": format!("Guest{i}"), "phone": phone(i) }),
    )
    .await;
    if let Some(status) = consent_status {
        consent(
            &world.app,
            &world.marketer,
            "maison",
            id,
            "sms",
            "events",
            status,
        )
        .await;
    }
    id
}

/// Invites the segment by SMS; the answer.
pub async fn invite_segment(
    world: &World,
    event: Uuid,
    segment: Uuid,
    template: Uuid,
) -> (u16, Value) {
    call(
        &world.app,
        Method::POST,
        Some(&world.marketer),
        &format!("{EVENTS}/{event}/invitations/segment"),
        Some(json!({ "segment_id": segment, "channel": "sms", "template_id": template })),
    )
    .await
}

/// Runs the sending job's body for the event.
pub async fn send_all(world: &World, event: Uuid) -> SendReport {
    send_pending(&world.app.state.brand_events, &world.brand, event)
        .await
        .unwrap()
}

/// Every guest of the event (one page of 100) as `token` sees them, and the counts.
pub async fn guests(app: &TestApp, token: &str, event: Uuid) -> (Vec<Value>, Value) {
    let (status, page) = call(
        app,
        Method::GET,
        Some(token),
        &format!("{EVENTS}/{event}/guests?limit=100"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    (
        page["items"].as_array().unwrap().clone(),
        page["counts"].clone(),
    )
}

pub fn guest_of(guests: &[Value], profile: Uuid) -> &Value {
    guests
        .iter()
        .find(|g| g["profile_id"] == profile.to_string())
        .unwrap_or_else(|| panic!("no guest for {profile}: {guests:?}"))
}

/// The RSVP link's path in the last message the phone received.
pub async fn link_path(app: &TestApp, phone: &str) -> String {
    let messages = app.sandbox().messages_to(phone).await;
    let body = messages
        .iter()
        .filter_map(|m| m["body"].as_str())
        .find(|b| b.contains("/rsvp/"))
        .unwrap_or_else(|| panic!("no RSVP link sent to {phone}: {messages:?}"))
        .to_owned();
    let start = body.find("/api/v1/").unwrap();
    body[start..].split_whitespace().next().unwrap().to_owned()
}

pub async fn answer(app: &TestApp, path: &str, response: &str) -> (u16, Value) {
    call(
        app,
        Method::POST,
        None,
        path,
        Some(json!({ "response": response })),
    )
    .await
}

/// Delivers the outbox to the CRM (interactions and guests' steps) until nothing is left; the failures.
pub async fn deliver_steps(app: &TestApp) -> usize {
    let feed = Dispatcher::new(
        app.db.clone(),
        (
            InteractionFeed::new(app.state.crm.clone()),
            EventsFeed::new(app.state.crm.clone()),
        ),
        app.state.settings.outbox.clone(),
    );
    let mut failed = 0;
    for _ in 0..20 {
        let report = feed.dispatch_batch().await.unwrap();
        failed += report.failed + report.dead;
        if report.delivered == 0 {
            break;
        }
    }
    failed
}

pub fn code(problem: &Value) -> &str {
    problem["code"].as_str().unwrap_or_default()
}
