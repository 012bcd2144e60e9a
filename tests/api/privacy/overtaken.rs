//! An erasure overtakes the person's exports: archives already built are deleted (their links answer 410),
//! an export still waiting for its job is failed with what it gathered cleared, and no new export starts
//! while the erasure runs.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fixtures::{
    ask_export, completed, download, download_path, export_path, maison_request as read,
    request_path, step,
};
use crate::erasure::support::person;
use crate::helpers::{Sandboxed, System, eventually, problem, send, spawn_sandboxed_app_with};

#[tokio::test]
async fn an_erasure_deletes_the_persons_archives_fails_their_pending_exports_and_refuses_new_ones()
{
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs().without_retries()).await;
    let person = person(&app).await;
    let profile = person.profile_id.to_string();

    let first = ask_export(&app, &person.marketer, "maison", &profile).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let built = completed(&app, &person.marketer, &request_path("maison", &first_id)).await;
    let link = download_path(&built);
    assert_eq!(app.get(&link).await.status(), 200);

    // An export whose job has not run yet (as if the workers were busy), with a part already gathered.
    let waiting = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO privacy_requests (id, brand_id, profile_id, kind, status, requested_by_kind,
                                       requested_by_user, due_at)
         SELECT $1, brand_id, profile_id, 'export', 'running', requested_by_kind, requested_by_user, due_at
         FROM privacy_requests WHERE id = $2::uuid",
    )
    .bind(waiting)
    .bind(&first_id)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO privacy_request_steps (request_id, part, position, status, output)
         VALUES ($1, 'crm', 0, 'completed', $2), ($1, 'clienteling', 1, 'pending', NULL)",
    )
    .bind(waiting)
    .bind(json!([{"name": "crm/profile.json", "records": [{"email": "margaux.villeneuve@example.com"}]}]))
    .execute(&app.db)
    .await
    .unwrap();

    // The messaging service is down: the erasure stays running past its first steps.
    app.sandbox()
        .inject_fault(System::Messaging, json!({ "status": 503 }));
    let erasure = send(
        &app,
        Method::POST,
        Some(&person.marketer),
        &format!("/api/v1/brands/maison/crm/profiles/{profile}/privacy/erase"),
        None,
    )
    .await;
    assert_eq!(erasure.status(), 202);
    let erasure: Value = erasure.json().await.unwrap();
    let erasure_id = erasure["id"].as_str().unwrap().to_owned();
    eventually(30, "the erasure's first steps", || async {
        let body = read(&app, &person.marketer, &erasure_id).await;
        (step(&body, "crm")["status"] == "completed").then_some(())
    })
    .await;

    assert_eq!(app.get(&link).await.status(), 410, "the archive is gone");
    let built = read(&app, &person.marketer, &first_id).await;
    assert!(built["download"].is_null(), "{built}");
    let overtaken = read(&app, &person.marketer, &waiting.to_string()).await;
    assert_eq!(overtaken["status"], "failed", "{overtaken}");
    assert_eq!(step(&overtaken, "clienteling")["status"], "failed");
    assert!(
        step(&overtaken, "clienteling")["last_error"]
            .as_str()
            .unwrap()
            .contains("erased"),
        "{overtaken}"
    );
    let gathered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM privacy_request_steps WHERE request_id = $1 AND output IS NOT NULL",
    )
    .bind(waiting)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(gathered, 0, "nothing it gathered is kept");
    let archives: i64 = sqlx::query_scalar("SELECT count(*) FROM privacy_archives")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(archives, 0);

    let again = send(
        &app,
        Method::POST,
        Some(&person.marketer),
        &export_path("maison", &profile),
        None,
    )
    .await;
    assert_eq!(again.status(), 409);
    assert_eq!(problem(again).await["code"], "erasure-in-progress");

    app.sandbox().clear_faults(System::Messaging);
    eventually(60, "the erasure to complete", || async {
        let body = read(&app, &person.marketer, &erasure_id).await;
        (body["status"] == "completed").then_some(())
    })
    .await;
    // Once it is done an export may be asked for again: it holds the anonymous remains only.
    let after = ask_export(&app, &person.marketer, "maison", &profile).await;
    let after = completed(
        &app,
        &person.marketer,
        &request_path("maison", after["id"].as_str().unwrap()),
    )
    .await;
    let files = download(&app, &after).await;
    let text = serde_json::to_string(&files).unwrap().to_lowercase();
    for needle in ["margaux", "villeneuve", "698765432"] {
        assert!(
            !text.contains(needle),
            "{needle} in the export after the erasure"
        );
    }
}
