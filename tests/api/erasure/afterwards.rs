//! After the erasure nothing new is recorded about the person: the erased client is still in the book
//! (anonymous, with its redacted history) but every write about them is a 409 `client-erased`.

use reqwest::Method;
use serde_json::json;

use super::support::person;
use crate::helpers::{get_as, problem, send, spawn_sandboxed_app};

#[tokio::test]
async fn an_erased_client_takes_no_new_interaction_note_task_appointment_outreach_or_assignment() {
    let app = spawn_sandboxed_app().await;
    let person = person(&app).await;
    let profile = person.profile_id;
    let targets = concierge::crm::erasure::targets(&app.db, person.brand_id, profile)
        .await
        .unwrap()
        .unwrap();
    concierge::crm::erasure::erase_profile(&app.db, person.brand_id, profile, "admin:test")
        .await
        .unwrap()
        .unwrap();
    concierge::clienteling::erasure::erase_clients(
        &app.state.clienteling,
        &app.state.settings.jobs,
        person.brand_id,
        &targets.profiles,
    )
    .await
    .unwrap();
    let client = format!("/api/v1/brands/maison/clienteling/clients/{profile}");
    assert_eq!(get_as(&app, &person.advisor, &client).await.status(), 200);

    let starts = chrono::Utc::now() + chrono::Duration::days(5);
    let writes = [
        (
            Method::POST,
            format!("{client}/interactions"),
            json!({"channel": "call", "context": "generic", "note": "Called her again", "metadata": {}}),
        ),
        (
            Method::PATCH,
            client.clone(),
            json!({"notes": "Prefers silk"}),
        ),
        (
            Method::POST,
            "/api/v1/brands/maison/clienteling/tasks".to_owned(),
            json!({"client_id": profile, "title": "Call back",
                   "due_at": chrono::Utc::now() + chrono::Duration::days(2)}),
        ),
        (
            Method::POST,
            "/api/v1/brands/maison/clienteling/appointments".to_owned(),
            json!({"client_id": profile, "store": "paris-1", "kind": "in_store",
                   "starts_at": starts, "ends_at": starts + chrono::Duration::hours(1)}),
        ),
        (
            Method::POST,
            format!("{client}/outreach"),
            json!({"channel": "sms", "text": "We miss you"}),
        ),
    ];
    for (method, path, body) in writes {
        let response = app
            .client
            .request(method.clone(), app.url(&path))
            .bearer_auth(&person.advisor)
            .header("Idempotency-Key", format!("after-erasure-{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 409, "{method} {path}");
        assert_eq!(
            problem(response).await["code"],
            "client-erased",
            "{method} {path}"
        );
    }
    let edited = app
        .client
        .patch(app.url(&format!(
            "/api/v1/brands/maison/clienteling/interactions/{}",
            person.interaction
        )))
        .bearer_auth(&person.advisor)
        .header("If-Match", "\"1\"")
        .json(&json!({"note": "She called back"}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 409);
    assert_eq!(problem(edited).await["code"], "client-erased");

    // An appointment that had started, still booked: completing it would log a new interaction.
    let started = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO clienteling_appointments (id, brand_id, profile_id, advisor_id, store_code, kind,
             starts_at, ends_at, notes, booked_by)
         SELECT $1, brand_id, profile_id, advisor_id, store_code, kind, now() - interval '2 hours',
                now() - interval '1 hour', '', booked_by
         FROM clienteling_appointments WHERE profile_id = $2 LIMIT 1",
    )
    .bind(started)
    .bind(profile)
    .execute(&app.db)
    .await
    .unwrap();
    let completed = send(
        &app,
        Method::POST,
        Some(&person.advisor),
        &format!("/api/v1/brands/maison/clienteling/appointments/{started}/complete"),
        Some(json!({"note": "She bought the navy scarf"})),
    )
    .await;
    assert_eq!(completed.status(), 409);
    assert_eq!(problem(completed).await["code"], "client-erased");
    sqlx::query("DELETE FROM clienteling_appointments WHERE id = $1")
        .bind(started)
        .execute(&app.db)
        .await
        .unwrap();

    // Nothing was written.
    for (table, column) in [
        ("clienteling_interactions", "client_id"),
        ("clienteling_tasks", "profile_id"),
        ("clienteling_appointments", "profile_id"),
    ] {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE {column} = $1"
        )))
        .bind(profile)
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(count, 1, "{table}: only what was there before the erasure");
    }
    let notes: String =
        sqlx::query_scalar("SELECT notes FROM clienteling_clients WHERE profile_id = $1")
            .bind(profile)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(notes, "");
}
