//! Reassigning a client moves their upcoming appointments with the previous primary advisor.

use reqwest::Method;
use serde_json::{Value, json};

use super::super::fixtures::{CLIENTS, client, id_of, person, send};
use super::{APPOINTMENTS, at, booked, booking, topics, world};
use crate::helpers::spawn_app;

#[tokio::test]
async fn reassigning_moves_upcoming_appointments_unless_the_new_advisor_is_booked() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let next = person(
        &app,
        "ca2.paris@maison.example",
        "client_advisor",
        Some("maison"),
        &["paris-1"],
    )
    .await;
    let moving = id_of(&booked(&app, &w.advisor.token, booking(&w.client, at(9), at(10))).await);
    let kept = id_of(&booked(&app, &w.advisor.token, booking(&w.client, at(12), at(13))).await);
    let past = id_of(&booked(&app, &w.advisor.token, booking(&w.client, at(15), at(16))).await);
    sqlx::query(
        "UPDATE clienteling_appointments SET starts_at = now() - interval '2 hours',
                ends_at = now() - interval '1 hour' WHERE id = $1::uuid",
    )
    .bind(&past)
    .execute(&app.db)
    .await
    .unwrap();
    // The new advisor is already booked at 12:00 with another client.
    let other = id_of(
        &client(
            &app,
            &next.token,
            "paris-1",
            "Paul",
            "Blanc",
            "paul@example.com",
        )
        .await,
    );
    booked(&app, &next.token, booking(&other, at(12), at(13))).await;

    let response = send(
        &app,
        Method::POST,
        Some(&w.manager.token),
        &format!("{CLIENTS}/{}/assignments", w.client),
        Some(json!({"primary": next.id})),
    )
    .await;
    assert_eq!(response.status(), 200);

    let read = |id: String| {
        let app = &app;
        let token = w.manager.token.clone();
        async move {
            send(
                app,
                Method::GET,
                Some(&token),
                &format!("{APPOINTMENTS}/{id}"),
                None,
            )
            .await
            .json::<Value>()
            .await
            .unwrap()
        }
    };
    let moved = read(moving.clone()).await;
    assert_eq!(moved["advisor_id"], next.id.to_string());
    assert_eq!(moved["version"], 2);
    let stayed = read(kept.clone()).await;
    assert_eq!(stayed["advisor_id"], w.advisor.id.to_string());
    assert_eq!(stayed["version"], 1);
    assert_eq!(
        read(past).await["advisor_id"],
        w.advisor.id.to_string(),
        "the past stays"
    );
    assert_eq!(
        topics(&app, &moving).await,
        vec![
            "clienteling.appointment.booked",
            "clienteling.appointment.rescheduled"
        ]
    );
    assert_eq!(
        topics(&app, &kept).await,
        vec![
            "clienteling.appointment.booked",
            "clienteling.appointment.kept"
        ]
    );
}
