//! Opening hours, appointments, availability and the reassignment of upcoming appointments (issue 16).

mod availability;
mod booking;
mod hours;
mod lifecycle;
mod reassign;

use chrono::{DateTime, Duration, NaiveTime, Timelike, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::fixtures::{Person, client, id_of, paris, person, send};
use crate::helpers::TestApp;

pub const APPOINTMENTS: &str = "/api/v1/brands/maison/clienteling/appointments";

pub fn hours_path(store: &str) -> String {
    format!("/api/v1/brands/maison/clienteling/stores/{store}/opening-hours")
}

pub fn availability_path(advisor: &impl std::fmt::Display) -> String {
    format!("/api/v1/brands/maison/clienteling/advisors/{advisor}/availability")
}

/// The Paris advisor, a manager of Paris and Tokyo, and a client of the Paris book.
pub struct World {
    pub advisor: Person,
    pub manager: Person,
    pub client: String,
}

pub async fn world(app: &TestApp) -> World {
    let advisor = paris(app).await;
    let manager = person(
        app,
        "mgr.paris@maison.example",
        "manager",
        Some("maison"),
        &["paris-1", "tokyo-1"],
    )
    .await;
    let client = id_of(
        &client(
            app,
            &advisor.token,
            "paris-1",
            "Anne",
            "Roux",
            "anne.roux@example.com",
        )
        .await,
    );
    open_all_day(app, &manager.token, "paris-1").await;
    World {
        advisor,
        manager,
        client,
    }
}

/// Every day 00:00–23:59 local, so in-store bookings at any daytime instant fit.
pub async fn open_all_day(app: &TestApp, token: &str, store: &str) {
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let intervals: Vec<Value> = days
        .iter()
        .map(|day| json!({"weekday": day, "opens": "00:00", "closes": "23:59"}))
        .collect();
    let response = send(
        app,
        Method::PUT,
        Some(token),
        &hours_path(store),
        Some(json!({ "intervals": intervals })),
    )
    .await;
    assert_eq!(response.status(), 200, "open {store}");
}

/// Ten days from now at `hour`:00 UTC (a whole hour, so tests can name neighbouring slots).
pub fn at(hour: u32) -> DateTime<Utc> {
    let day = Utc::now() + Duration::days(10);
    day.with_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap())
        .unwrap()
        .with_nanosecond(0)
        .unwrap()
}

pub async fn book(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    send(app, Method::POST, Some(token), APPOINTMENTS, Some(body)).await
}

pub fn booking(client: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Value {
    json!({
        "client_id": client,
        "store": "paris-1",
        "starts_at": start,
        "ends_at": end,
        "kind": "in_store",
        "notes": "Fitting",
    })
}

/// Books and returns the appointment.
pub async fn booked(app: &TestApp, token: &str, body: Value) -> Value {
    let response = book(app, token, body).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// The outbox events of the appointment, oldest first.
pub async fn topics(app: &TestApp, id: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT topic FROM outbox_events WHERE aggregate_type = 'clienteling_appointment'
         AND aggregate_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// The instant a store's wall clock shows `time` on `date` (PostgreSQL's zone data, as the app uses).
pub async fn local(
    app: &TestApp,
    date: chrono::NaiveDate,
    time: &str,
    zone: &str,
) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT ($1::date + $2::time) AT TIME ZONE $3")
        .bind(date)
        .bind(time)
        .bind(zone)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

pub fn hours_days() -> [&'static str; 7] {
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
}
