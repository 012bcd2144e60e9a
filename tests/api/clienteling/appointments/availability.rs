//! `GET …/clienteling/advisors/{id}/availability`: opening hours in the store's zone minus bookings.

use chrono::{Datelike, Duration, NaiveDate, SecondsFormat, Utc, Weekday};
use reqwest::Method;
use serde_json::{Value, json};

use super::super::fixtures::{code, person, send, tokyo};
use super::{at, availability_path, booked, booking, hours_path, local, world};
use crate::helpers::{TestApp, problem, spawn_app};

fn iso(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn set_week(app: &TestApp, token: &str, opens: &str, closes: &str) {
    let intervals: Vec<Value> = super::super::appointments::hours_days()
        .iter()
        .map(|day| json!({"weekday": day, "opens": opens, "closes": closes}))
        .collect();
    let response = send(
        app,
        Method::PUT,
        Some(token),
        &hours_path("paris-1"),
        Some(json!({ "intervals": intervals })),
    )
    .await;
    assert_eq!(response.status(), 200);
}

async fn slots(
    app: &TestApp,
    token: &str,
    advisor: &str,
    query: &str,
) -> Vec<(String, String, String, String)> {
    let response = send(
        app,
        Method::GET,
        Some(token),
        &format!("{}?{query}", availability_path(&advisor)),
        None,
    )
    .await;
    assert_eq!(response.status(), 200, "{query}");
    let body: Value = response.json().await.unwrap();
    body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| {
            let field = |name: &str| slot[name].as_str().unwrap().to_owned();
            (
                field("starts_at"),
                field("ends_at"),
                field("local_starts_at"),
                field("local_ends_at"),
            )
        })
        .collect()
}

fn utc(text: String) -> chrono::DateTime<Utc> {
    text.parse().unwrap()
}

#[tokio::test]
async fn free_slots_are_the_opening_hours_minus_active_appointments() {
    let app = spawn_app().await;
    let w = world(&app).await;
    set_week(&app, &w.manager.token, "10:00", "19:00").await;
    let day = at(0).date_naive();
    let opens = local(&app, day, "10:00", "Europe/Paris").await;
    let closes = local(&app, day, "19:00", "Europe/Paris").await;
    let booked_start = opens + Duration::hours(2);
    booked(
        &app,
        &w.advisor.token,
        booking(&w.client, booked_start, booked_start + Duration::hours(1)),
    )
    .await;
    let cancelled = booked(
        &app,
        &w.advisor.token,
        booking(
            &w.client,
            opens + Duration::hours(5),
            opens + Duration::hours(6),
        ),
    )
    .await;
    let id = cancelled["id"].as_str().unwrap();
    let response = send(
        &app,
        Method::POST,
        Some(&w.advisor.token),
        &format!("{}/{id}/cancel", super::APPOINTMENTS),
        Some(json!({})),
    )
    .await;
    assert_eq!(response.status(), 200);

    let query = format!("from={}&to={}", iso(at(0)), iso(at(0) + Duration::days(1)));
    let found = slots(&app, &w.advisor.token, &w.advisor.id.to_string(), &query).await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(utc(found[0].0.clone()), opens);
    assert_eq!(utc(found[0].1.clone()), booked_start);
    assert_eq!(found[0].2, format!("{day}T10:00:00"));
    assert_eq!(found[0].3, format!("{day}T12:00:00"));
    assert_eq!(utc(found[1].0.clone()), booked_start + Duration::hours(1));
    assert_eq!(utc(found[1].1.clone()), closes);
    assert_eq!(found[1].3, format!("{day}T19:00:00"));

    // The window clips the hours, and the manager of the store sees the same.
    let query = format!(
        "from={}&to={}",
        iso(opens + Duration::minutes(30)),
        iso(opens + Duration::hours(1))
    );
    let clipped = slots(&app, &w.manager.token, &w.advisor.id.to_string(), &query).await;
    assert_eq!(clipped.len(), 1);
    assert_eq!(utc(clipped[0].0.clone()), opens + Duration::minutes(30));
    assert_eq!(found.len(), 2);
}

/// The last `weekday` of `month` in the first year after today where that day is at least two days ahead.
fn next_last(month: u32, weekday: Weekday) -> NaiveDate {
    let today = Utc::now().date_naive();
    (today.year()..today.year() + 2)
        .filter_map(|year| {
            let first_next = if month == 12 {
                NaiveDate::from_ymd_opt(year + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(year, month + 1, 1)
            }?;
            let mut day = first_next - Duration::days(1);
            while day.weekday() != weekday {
                day -= Duration::days(1);
            }
            Some(day)
        })
        .find(|day| *day > today + Duration::days(2))
        .unwrap()
}

#[tokio::test]
async fn a_dst_change_day_in_paris_opens_at_the_right_instants() {
    let app = spawn_app().await;
    let w = world(&app).await;
    set_week(&app, &w.manager.token, "10:00", "19:00").await;
    let advisor = w.advisor.id.to_string();
    // Spring: Saturday in CET (UTC+1), the Sunday in CEST (UTC+2).
    let sunday = next_last(3, Weekday::Sun);
    let saturday = sunday - Duration::days(1);
    let from = saturday.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let query = format!("from={}&to={}", iso(from), iso(from + Duration::days(2)));
    let found = slots(&app, &w.advisor.token, &advisor, &query).await;
    assert_eq!(
        found
            .iter()
            .map(|s| (s.0.clone(), s.1.clone()))
            .collect::<Vec<_>>(),
        vec![
            (
                format!("{saturday}T09:00:00Z"),
                format!("{saturday}T18:00:00Z")
            ),
            (format!("{sunday}T08:00:00Z"), format!("{sunday}T17:00:00Z")),
        ]
    );
    assert_eq!(found[1].2, format!("{sunday}T10:00:00"));
    assert_eq!(found[1].3, format!("{sunday}T19:00:00"));
    // Autumn: the Sunday back in CET.
    let sunday = next_last(10, Weekday::Sun);
    let saturday = sunday - Duration::days(1);
    let from = saturday.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let query = format!("from={}&to={}", iso(from), iso(from + Duration::days(2)));
    let found = slots(&app, &w.advisor.token, &advisor, &query).await;
    assert_eq!(
        found
            .iter()
            .map(|s| (s.0.clone(), s.1.clone()))
            .collect::<Vec<_>>(),
        vec![
            (
                format!("{saturday}T08:00:00Z"),
                format!("{saturday}T17:00:00Z")
            ),
            (format!("{sunday}T09:00:00Z"), format!("{sunday}T18:00:00Z")),
        ]
    );
}

#[tokio::test]
async fn availability_is_scoped_and_its_window_validated() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let other_store = tokyo(&app).await;
    let other_brand = person(
        &app,
        "mgr@atelier.example",
        "manager",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    let marketer = crate::helpers::marketer_token(&app, "mk@maison.example", "maison").await;
    let advisor = w.advisor.id.to_string();
    let query = format!("from={}&to={}", iso(at(0)), iso(at(0) + Duration::days(1)));
    let path = format!("{}?{query}", availability_path(&advisor));
    assert_eq!(
        send(&app, Method::GET, Some(&other_store.token), &path, None)
            .await
            .status(),
        404
    );
    assert_eq!(
        send(&app, Method::GET, Some(&other_brand.token), &path, None)
            .await
            .status(),
        404
    );
    assert_eq!(
        send(&app, Method::GET, Some(&marketer), &path, None)
            .await
            .status(),
        403
    );
    assert_eq!(
        send(&app, Method::GET, None, &path, None).await.status(),
        401
    );
    // Atelier's manager is no Maison advisor, even on Maison's path for a Maison caller.
    let stranger = format!("{}?{query}", availability_path(&other_brand.id));
    assert_eq!(
        send(&app, Method::GET, Some(&w.manager.token), &stranger, None)
            .await
            .status(),
        404
    );
    let unknown = format!("{}?{query}", availability_path(&uuid::Uuid::now_v7()));
    assert_eq!(
        send(&app, Method::GET, Some(&w.manager.token), &unknown, None)
            .await
            .status(),
        404
    );
    let garbage = format!("{}?{query}", availability_path(&"not-an-id"));
    assert_eq!(
        send(&app, Method::GET, Some(&w.manager.token), &garbage, None)
            .await
            .status(),
        404
    );
    assert_eq!(
        send(&app, Method::GET, Some(&w.manager.token), &path, None)
            .await
            .status(),
        200
    );

    let base = availability_path(&advisor);
    for (query, status, field) in [
        (
            format!("from={}&to={}", iso(at(10)), iso(at(9))),
            422,
            Some("to"),
        ),
        (
            format!("from={}&to={}", iso(at(0)), iso(at(0) + Duration::days(32))),
            422,
            Some("to"),
        ),
        (
            format!("from={}&to={}&store=tokyo-1", iso(at(0)), iso(at(1))),
            422,
            Some("store"),
        ),
        (
            format!("to={}", iso(Utc::now() - Duration::days(1))),
            422,
            Some("to"),
        ),
        ("from=soon&to=later".to_owned(), 400, None),
    ] {
        let response = send(
            &app,
            Method::GET,
            Some(&w.advisor.token),
            &format!("{base}?{query}"),
            None,
        )
        .await;
        assert_eq!(response.status(), status, "{query}");
        let problem = problem(response).await;
        if let Some(field) = field {
            assert_eq!(code(&problem), "validation-failed");
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
    }
}
