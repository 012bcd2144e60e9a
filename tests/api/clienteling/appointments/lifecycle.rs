//! Reschedule (`If-Match`), cancel, complete (one `appointment` interaction), and the listings.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use super::super::fixtures::{code, id_of, ids, person, send, tokyo};
use super::{APPOINTMENTS, at, booked, booking, topics, world};
use crate::helpers::{TestApp, problem, spawn_app};

async fn patch(
    app: &TestApp,
    token: &str,
    id: &str,
    etag: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = app
        .client
        .patch(app.url(&format!("{APPOINTMENTS}/{id}")))
        .bearer_auth(token)
        .json(&body);
    if let Some(etag) = etag {
        request = request.header("If-Match", etag);
    }
    request.send().await.unwrap()
}

async fn act(app: &TestApp, token: &str, id: &str, what: &str) -> reqwest::Response {
    send(
        app,
        Method::POST,
        Some(token),
        &format!("{APPOINTMENTS}/{id}/{what}"),
        Some(json!({})),
    )
    .await
}

/// Moves the appointment into the past (the API refuses to book one there).
async fn started(app: &TestApp, id: &str) {
    sqlx::query(
        "UPDATE clienteling_appointments SET starts_at = now() - interval '2 hours',
                ends_at = now() - interval '1 hour' WHERE id = $1::uuid",
    )
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_reschedule_names_the_current_version() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let first = booked(&app, &w.advisor.token, booking(&w.client, at(10), at(11))).await;
    let id = id_of(&first);
    let later = json!({"starts_at": at(14), "ends_at": at(15)});

    let response = patch(&app, &w.advisor.token, &id, None, later.clone()).await;
    assert_eq!(response.status(), 428);
    assert_eq!(code(&problem(response).await), "if-match-required");
    let response = patch(&app, &w.advisor.token, &id, Some("\"7\""), later.clone()).await;
    assert_eq!(response.status(), 412);
    assert_eq!(code(&problem(response).await), "appointment-stale");
    let response = patch(&app, &w.advisor.token, &id, Some("\"1\""), later.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let moved: Value = response.json().await.unwrap();
    assert_eq!(moved["starts_at"], json!(at(14)));
    assert_eq!(moved["version"], 2);
    // The replayed request with the old ETag is stale.
    let response = patch(&app, &w.advisor.token, &id, Some("\"1\""), later).await;
    assert_eq!(response.status(), 412);

    // Moving onto another booking of the advisor is a conflict; the old slot is free.
    booked(&app, &w.advisor.token, booking(&w.client, at(10), at(11))).await;
    let response = patch(
        &app,
        &w.advisor.token,
        &id,
        Some("\"2\""),
        json!({"starts_at": at(10) + Duration::minutes(30), "ends_at": at(11)}),
    )
    .await;
    assert_eq!(response.status(), 409);
    assert_eq!(code(&problem(response).await), "appointment-conflict");
    let response = patch(
        &app,
        &w.advisor.token,
        &id,
        Some("\"2\""),
        json!({"ends_at": at(13)}),
    )
    .await;
    assert_eq!(response.status(), 422, "an end before the start");
    let response = patch(
        &app,
        &w.advisor.token,
        &id,
        Some("\"2\""),
        json!({"kind": "fax"}),
    )
    .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        topics(&app, &id).await,
        vec![
            "clienteling.appointment.booked",
            "clienteling.appointment.rescheduled"
        ]
    );
}

#[tokio::test]
async fn cancel_is_idempotent_and_a_closed_appointment_no_longer_changes() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let id = id_of(&booked(&app, &w.advisor.token, booking(&w.client, at(10), at(11))).await);
    let response = send(
        &app,
        Method::POST,
        Some(&w.advisor.token),
        &format!("{APPOINTMENTS}/{id}/cancel"),
        Some(json!({"reason": "Client travelling"})),
    )
    .await;
    assert_eq!(response.status(), 200);
    let cancelled: Value = response.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "Client travelling");
    let again: Value = act(&app, &w.advisor.token, &id, "cancel")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, cancelled, "cancelling twice changes nothing");
    let response = patch(
        &app,
        &w.advisor.token,
        &id,
        Some("\"2\""),
        json!({"notes": "x"}),
    )
    .await;
    assert_eq!(response.status(), 409);
    assert_eq!(code(&problem(response).await), "appointment-closed");
    started(&app, &id).await;
    let response = act(&app, &w.advisor.token, &id, "complete").await;
    assert_eq!(response.status(), 409);
    assert_eq!(code(&problem(response).await), "appointment-closed");
    assert_eq!(
        topics(&app, &id).await,
        vec![
            "clienteling.appointment.booked",
            "clienteling.appointment.cancelled"
        ]
    );
}

#[tokio::test]
async fn completing_logs_one_appointment_interaction() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let id = id_of(&booked(&app, &w.advisor.token, booking(&w.client, at(10), at(11))).await);
    let response = act(&app, &w.advisor.token, &id, "complete").await;
    assert_eq!(response.status(), 409);
    assert_eq!(code(&problem(response).await), "appointment-not-started");

    started(&app, &id).await;
    let (a, b) = tokio::join!(
        act(&app, &w.advisor.token, &id, "complete"),
        act(&app, &w.manager.token, &id, "complete")
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a, b, "the second completion answers the first");
    assert_eq!(a["status"], "completed");
    let interaction = a["interaction_id"].as_str().unwrap();
    let again: Value = act(&app, &w.advisor.token, &id, "complete")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["interaction_id"], interaction);

    let logged: Value = send(
        &app,
        Method::GET,
        Some(&w.advisor.token),
        &format!(
            "/api/v1/brands/maison/clienteling/clients/{}/interactions?context=appointment",
            w.client
        ),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(ids(&logged), vec![interaction.to_owned()]);
    let item = &logged["items"][0];
    assert_eq!(item["advisor_id"], w.advisor.id.to_string());
    assert_eq!(item["channel"], "action");
    assert_eq!(item["metadata"]["purpose"], "in_store");
    let client: Value = send(
        &app,
        Method::GET,
        Some(&w.advisor.token),
        &format!("/api/v1/brands/maison/clienteling/clients/{}", w.client),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(!client["last_contacted_at"].is_null(), "{client}");
    assert_eq!(
        topics(&app, &id).await,
        vec![
            "clienteling.appointment.booked",
            "clienteling.appointment.completed"
        ]
    );
    // A completed appointment is closed to cancellation.
    assert_eq!(
        act(&app, &w.advisor.token, &id, "cancel").await.status(),
        409
    );
}

#[tokio::test]
async fn writes_belong_to_the_advisor_and_the_stores_managers() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let colleague = person(
        &app,
        "ca2.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let other_store = tokyo(&app).await;
    let id = id_of(&booked(&app, &w.advisor.token, booking(&w.client, at(10), at(11))).await);
    // A colleague of the store sees it but does not change it.
    let path = format!("{APPOINTMENTS}/{id}");
    assert_eq!(
        send(&app, Method::GET, Some(&colleague.token), &path, None)
            .await
            .status(),
        200
    );
    assert_eq!(
        patch(
            &app,
            &colleague.token,
            &id,
            Some("\"1\""),
            json!({"notes": "x"})
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        act(&app, &colleague.token, &id, "cancel").await.status(),
        403
    );
    assert_eq!(
        act(&app, &other_store.token, &id, "cancel").await.status(),
        404
    );
    assert_eq!(
        act(&app, &other_store.token, &id, "complete")
            .await
            .status(),
        404
    );
    assert_eq!(
        patch(&app, &other_store.token, &id, Some("\"1\""), json!({}))
            .await
            .status(),
        404
    );
    // The advisor does not hand it to someone else; the manager does.
    let to_colleague = json!({"advisor_id": colleague.id});
    assert_eq!(
        patch(
            &app,
            &w.advisor.token,
            &id,
            Some("\"1\""),
            to_colleague.clone()
        )
        .await
        .status(),
        403
    );
    let response = patch(&app, &w.manager.token, &id, Some("\"1\""), to_colleague).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap()["advisor_id"],
        colleague.id.to_string()
    );
    assert_eq!(
        act(&app, &w.manager.token, &id, "cancel").await.status(),
        200
    );
}

#[tokio::test]
async fn listings_show_mine_a_clients_and_a_stores_for_managers() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let colleague = person(
        &app,
        "ca2.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let other_store = tokyo(&app).await;
    let mut mine = Vec::new();
    for hour in [12, 9, 10] {
        mine.push(id_of(
            &booked(
                &app,
                &w.advisor.token,
                booking(&w.client, at(hour), at(hour + 1)),
            )
            .await,
        ));
    }
    let mut for_colleague = booking(&w.client, at(10), at(11));
    for_colleague["advisor_id"] = json!(colleague.id);
    let theirs = id_of(&booked(&app, &w.manager.token, for_colleague).await);
    let in_order = vec![mine[1].clone(), mine[2].clone(), mine[0].clone()];

    let page: Value = send(
        &app,
        Method::GET,
        Some(&w.advisor.token),
        APPOINTMENTS,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(ids(&page), in_order, "mine, by start time");
    // Two pages of two.
    let first: Value = send(
        &app,
        Method::GET,
        Some(&w.advisor.token),
        &format!("{APPOINTMENTS}?limit=2"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(ids(&first), in_order[..2].to_vec());
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = send(
        &app,
        Method::GET,
        Some(&w.advisor.token),
        &format!("{APPOINTMENTS}?limit=2&cursor={cursor}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(ids(&second), in_order[2..].to_vec());
    assert!(second["next_cursor"].is_null());

    let client_path = format!("{APPOINTMENTS}?client={}", w.client);
    let client_page: Value = send(
        &app,
        Method::GET,
        Some(&w.advisor.token),
        &client_path,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        ids(&client_page).len(),
        4,
        "the client's, the colleague's included"
    );
    assert_eq!(
        send(
            &app,
            Method::GET,
            Some(&other_store.token),
            &client_path,
            None
        )
        .await
        .status(),
        404
    );

    let store_path = format!("{APPOINTMENTS}?store=paris-1");
    let store_page: Value = send(&app, Method::GET, Some(&w.manager.token), &store_path, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(ids(&store_page).contains(&theirs));
    assert_eq!(ids(&store_page).len(), 4);
    assert_eq!(
        send(&app, Method::GET, Some(&w.advisor.token), &store_path, None)
            .await
            .status(),
        403
    );
    assert_eq!(
        send(
            &app,
            Method::GET,
            Some(&other_store.token),
            &store_path,
            None
        )
        .await
        .status(),
        404
    );
    let advisor_path = format!("{APPOINTMENTS}?advisor={}", colleague.id);
    assert_eq!(
        send(
            &app,
            Method::GET,
            Some(&w.advisor.token),
            &advisor_path,
            None
        )
        .await
        .status(),
        403
    );
    let theirs_page: Value = send(
        &app,
        Method::GET,
        Some(&w.manager.token),
        &advisor_path,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(ids(&theirs_page), vec![theirs]);

    // Windows and filters are validated.
    let from = at(10).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let early = at(9).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let far = (at(9) + Duration::days(100)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for (query, status) in [
        (format!("from={from}&to={early}"), 422),
        (format!("from={early}&to={far}"), 422),
        ("status=lost".to_owned(), 422),
        ("cursor=garbage".to_owned(), 400),
        ("from=yesterday".to_owned(), 400),
        ("limit=1000".to_owned(), 422),
    ] {
        let response = send(
            &app,
            Method::GET,
            Some(&w.advisor.token),
            &format!("{APPOINTMENTS}?{query}"),
            None,
        )
        .await;
        assert_eq!(response.status(), status, "{query}");
    }
    let window: Value = send(
        &app,
        Method::GET,
        Some(&w.advisor.token),
        &format!("{APPOINTMENTS}?from={from}&status=booked"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(ids(&window), vec![mine[2].clone(), mine[0].clone()]);
}
