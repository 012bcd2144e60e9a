//! `POST …/clienteling/appointments`: booking, the double-booking race, validation and scope.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use super::super::fixtures::{client, code, customer_token, id_of, person, send, tokyo};
use super::{APPOINTMENTS, at, book, booked, booking, hours_path, topics, world};
use crate::helpers::{problem, spawn_app};

fn has_error(problem: &Value, field: &str, reason: &str) -> bool {
    problem["errors"].as_array().is_some_and(|errors| {
        errors
            .iter()
            .any(|e| e["field"] == field && e["code"] == reason)
    })
}

#[tokio::test]
async fn an_advisor_books_a_client_and_reads_it_back() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let response = book(&app, &w.advisor.token, booking(&w.client, at(10), at(11))).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["advisor_id"], w.advisor.id.to_string());
    assert_eq!(body["client_id"], w.client);
    assert_eq!(body["status"], "booked");
    assert_eq!(body["kind"], "in_store");
    assert_eq!(body["notes"], "Fitting");
    assert_eq!(location, format!("{APPOINTMENTS}/{}", id_of(&body)));
    let read = send(&app, Method::GET, Some(&w.advisor.token), &location, None).await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["etag"], "\"1\"");
    assert_eq!(read.json::<Value>().await.unwrap(), body);
    assert_eq!(
        topics(&app, &id_of(&body)).await,
        vec!["clienteling.appointment.booked"]
    );
}

#[tokio::test]
async fn twenty_concurrent_bookings_of_one_slot_exactly_one_wins() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let requests = (0..20).map(|i| {
        // The same advisor, overlapping slots shifted by a minute each.
        let start = at(10) + Duration::minutes(i);
        book(
            &app,
            &w.advisor.token,
            booking(&w.client, start, start + Duration::minutes(45)),
        )
    });
    let responses = futures::future::join_all(requests).await;
    let mut won = 0;
    let mut conflicts = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => won += 1,
            409 => {
                assert_eq!(code(&problem(response).await), "appointment-conflict");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }
    assert_eq!((won, conflicts), (1, 19));
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM clienteling_appointments WHERE advisor_id = $1")
            .bind(w.advisor.id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn an_overlap_is_a_conflict_adjacent_slots_are_not_and_cancelling_frees_the_slot() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let first = booked(&app, &w.advisor.token, booking(&w.client, at(10), at(11))).await;
    let overlap = book(
        &app,
        &w.advisor.token,
        booking(
            &w.client,
            at(10) + Duration::minutes(30),
            at(11) + Duration::minutes(30),
        ),
    )
    .await;
    assert_eq!(overlap.status(), 409);
    assert_eq!(code(&problem(overlap).await), "appointment-conflict");
    // The same slot as virtual is still the same advisor's time.
    let mut virtual_one = booking(&w.client, at(10), at(11));
    virtual_one["kind"] = json!("virtual");
    assert_eq!(
        book(&app, &w.advisor.token, virtual_one).await.status(),
        409
    );
    assert_eq!(
        book(&app, &w.advisor.token, booking(&w.client, at(11), at(12)))
            .await
            .status(),
        201,
        "back to back is fine"
    );
    let cancel = send(
        &app,
        Method::POST,
        Some(&w.advisor.token),
        &format!("{APPOINTMENTS}/{}/cancel", id_of(&first)),
        Some(json!({})),
    )
    .await;
    assert_eq!(cancel.status(), 200);
    assert_eq!(
        book(&app, &w.advisor.token, booking(&w.client, at(10), at(11)))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn a_booking_is_validated_and_names_the_field() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let token = &w.advisor.token;
    let base = booking(&w.client, at(10), at(11));
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let past = chrono::Utc::now() - Duration::hours(2);
    let cases = [
        (with("ends_at", json!(at(9))), "ends_at", "before_start"),
        (
            with("ends_at", json!(at(10) + Duration::minutes(2))),
            "ends_at",
            "too_short",
        ),
        (
            with("ends_at", json!(at(10) + Duration::hours(9))),
            "ends_at",
            "too_long",
        ),
        (
            with("starts_at", json!(past)).clone(),
            "starts_at",
            "in_the_past",
        ),
        (
            with("starts_at", json!(at(10) + Duration::days(400))),
            "starts_at",
            "too_far",
        ),
        (with("kind", json!("teleport")), "kind", "invalid"),
        (
            with("client_id", json!(uuid::Uuid::now_v7())),
            "client_id",
            "not_found",
        ),
        (with("store", json!("milan-1")), "store", "not_found"),
        (with("store", json!("nowhere")), "store", "not_found"),
        (with("notes", json!("x".repeat(2001))), "notes", "invalid"),
    ];
    for (body, field, reason) in cases {
        let response = book(&app, token, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        assert!(
            has_error(&problem, field, reason),
            "{field} {reason}: {problem}"
        );
    }
    // Malformed bodies are 400s, never 500s.
    for body in [
        json!({"client_id": "not-a-uuid", "store": "paris-1", "starts_at": at(10), "ends_at": at(11), "kind": "phone"}),
        json!({"client_id": w.client, "store": "paris-1", "starts_at": "tomorrow", "ends_at": at(11), "kind": "phone"}),
        with("extra", json!(1)),
    ] {
        let status = book(&app, token, body).await.status().as_u16();
        assert!(matches!(status, 400 | 422), "{status}");
    }
    assert_eq!(
        count(&app).await,
        0,
        "nothing was booked by a refused request"
    );
}

async fn count(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM clienteling_appointments")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn in_store_bookings_keep_to_the_opening_hours_and_closed_dates() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let day = at(0).date_naive();
    let weekday = day.format("%A").to_string().to_lowercase();
    // Open 10:00–12:00 and 14:00–18:00 local (Paris, UTC+1 or +2) that weekday only.
    let response = send(
        &app,
        Method::PUT,
        Some(&w.manager.token),
        &hours_path("paris-1"),
        Some(json!({"intervals": [
            {"weekday": weekday, "opens": "10:00", "closes": "12:00"},
            {"weekday": weekday, "opens": "14:00", "closes": "18:00"},
        ]})),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut hours = std::collections::HashMap::new();
    for hour in [9, 10, 11, 12, 13, 14, 17, 18, 19, 20, 21] {
        hours.insert(
            hour,
            super::local(&app, day, &format!("{hour:02}:00"), "Europe/Paris").await,
        );
    }
    let local = |hour: u32| hours[&hour];
    let refused = [
        (local(9), local(10)),
        (local(11), local(13)),
        (local(12), local(14)),
        (local(17), local(19)),
    ];
    for (start, end) in refused {
        let response = book(&app, &w.advisor.token, booking(&w.client, start, end)).await;
        assert_eq!(response.status(), 422, "{start}–{end}");
        let problem = problem(response).await;
        assert!(
            has_error(&problem, "starts_at", "outside_opening_hours"),
            "{problem}"
        );
    }
    // Phone and virtual appointments are not bound to the store's hours.
    let mut phone = booking(&w.client, local(20), local(21));
    phone["kind"] = json!("phone");
    assert_eq!(book(&app, &w.advisor.token, phone).await.status(), 201);
    assert_eq!(
        book(
            &app,
            &w.advisor.token,
            booking(&w.client, local(14), local(18))
        )
        .await
        .status(),
        201
    );
    // A closed date closes the day.
    let response = send(
        &app,
        Method::PUT,
        Some(&w.manager.token),
        &hours_path("paris-1"),
        Some(json!({
            "intervals": [{"weekday": weekday, "opens": "10:00", "closes": "12:00"}],
            "closed_dates": [day.to_string()],
        })),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = book(
        &app,
        &w.advisor.token,
        booking(&w.client, local(10), local(11)),
    )
    .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn booking_is_scoped_to_the_callers_book_stores_and_advisors() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let other_store = tokyo(&app).await;
    let colleague = person(
        &app,
        "ca2.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let other_brand = person(
        &app,
        "mgr@atelier.example",
        "manager",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    let marketer = crate::helpers::marketer_token(&app, "mk@maison.example", "maison").await;
    let customer = customer_token(&app, "cleo@example.com").await;
    let body = booking(&w.client, at(10), at(11));

    // A Tokyo advisor neither reaches the Paris client nor the Paris store.
    let response = book(&app, &other_store.token, body.clone()).await;
    assert_eq!(response.status(), 422);
    let problem_body = problem(response).await;
    assert!(has_error(&problem_body, "client_id", "not_found"));
    assert!(has_error(&problem_body, "store", "not_found"));
    // An advisor books for themselves only.
    let mut for_colleague = body.clone();
    for_colleague["advisor_id"] = json!(colleague.id);
    assert_eq!(
        book(&app, &w.advisor.token, for_colleague.clone())
            .await
            .status(),
        403
    );
    // A manager books for an advisor of the store, not for one of another store.
    let response = book(&app, &w.manager.token, for_colleague).await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.json::<Value>().await.unwrap()["advisor_id"],
        colleague.id.to_string()
    );
    let mut for_tokyo = body.clone();
    for_tokyo["advisor_id"] = json!(other_store.id);
    let response = book(&app, &w.manager.token, for_tokyo).await;
    assert_eq!(response.status(), 422);
    assert!(has_error(
        &problem(response).await,
        "advisor_id",
        "not_an_advisor_of_store"
    ));
    let mut for_stranger = body.clone();
    for_stranger["advisor_id"] = json!(other_brand.id);
    assert_eq!(
        book(&app, &w.manager.token, for_stranger).await.status(),
        422
    );

    assert_eq!(
        book(&app, &other_brand.token, body.clone()).await.status(),
        404
    );
    assert_eq!(book(&app, &marketer, body.clone()).await.status(), 403);
    assert_eq!(book(&app, &customer, body.clone()).await.status(), 403);
    assert_eq!(
        send(&app, Method::POST, None, APPOINTMENTS, Some(body))
            .await
            .status(),
        401
    );

    // What one advisor booked, another store's advisor and another brand cannot read.
    let mine = booked(&app, &w.advisor.token, booking(&w.client, at(12), at(13))).await;
    let path = format!("{APPOINTMENTS}/{}", id_of(&mine));
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
    let atelier_path = format!(
        "/api/v1/brands/atelier/clienteling/appointments/{}",
        id_of(&mine)
    );
    assert_eq!(
        send(
            &app,
            Method::GET,
            Some(&other_brand.token),
            &atelier_path,
            None
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        send(&app, Method::GET, Some(&colleague.token), &path, None)
            .await
            .status(),
        200
    );
    assert_eq!(
        send(
            &app,
            Method::GET,
            Some(&w.advisor.token),
            &format!("{APPOINTMENTS}/not-an-id"),
            None
        )
        .await
        .status(),
        404
    );
    // A client in the Tokyo book is out of the Paris advisor's reach.
    let tokyo_client = id_of(
        &client(
            &app,
            &other_store.token,
            "tokyo-1",
            "Ken",
            "Sato",
            "ken@example.com",
        )
        .await,
    );
    let response = book(
        &app,
        &w.advisor.token,
        booking(&tokyo_client, at(14), at(15)),
    )
    .await;
    assert_eq!(response.status(), 422);
}
