//! `POST …/clienteling/products/sync` and `GET …/products/sync/{run}`: on-demand syncs through the job
//! runner, their retries, and who may start and read them. Also the nightly schedule's job.

use std::time::Duration;

use concierge_sandbox::System;
use reqwest::Method;
use serde_json::{Value, json};

use super::catalogue_sync::{MAISON_PRODUCTS, sync};
use super::fixtures::{code, customer_token, paris, person, send};
use crate::helpers::{
    Sandboxed, TestApp, admin_token, marketer_token, problem, spawn_sandboxed_app,
    spawn_sandboxed_app_with,
};

const SYNC: &str = "/api/v1/brands/maison/clienteling/products/sync";

async fn manager(app: &TestApp) -> String {
    person(
        app,
        "manager@maison.example",
        "manager",
        Some("maison"),
        &["paris-1", "tokyo-1"],
    )
    .await
    .token
}

async fn wait_for(app: &TestApp, token: &str, location: &str, status: &str) -> Value {
    for _ in 0..200 {
        let run: Value = send(app, Method::GET, Some(token), location, None)
            .await
            .json()
            .await
            .unwrap();
        if run["status"] == status {
            return run;
        }
        assert_ne!(run["status"], "failed", "{run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the run never became {status}");
}

#[tokio::test]
async fn a_managers_sync_is_queued_once_retried_through_a_fault_and_reported() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs().without_retries()).await;
    let manager = manager(&app).await;
    // The first attempt meets the rate limit and a slow answer keeps the run live while it is asked again.
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "status": 403, "error_code": "REQUEST_LIMIT_EXCEEDED", "operation": "Colour__c", "times": 1 }),
    );
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "latency_ms": 700, "operation": "SELECT+Id+FROM+Product2" }),
    );

    let response = send(&app, Method::POST, Some(&manager), SYNC, None).await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let run: Value = response.json().await.unwrap();
    assert_eq!(run["status"], "queued");
    assert_eq!(run["trigger"], "request");
    assert_eq!(location, format!("{SYNC}/{}", run["id"].as_str().unwrap()));
    // Asked again while it is live: the same run, no second job.
    let again: Value = send(&app, Method::POST, Some(&manager), SYNC, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], run["id"]);

    let done = wait_for(&app, &manager, &location, "succeeded").await;
    assert_eq!(done["attempts"], 2, "{done}");
    assert_eq!(done["mode"], "full");
    assert_eq!(done["created"], MAISON_PRODUCTS);
    assert_eq!(done["last_error"], Value::Null);
    assert!(done["watermark"].is_string());
    let jobs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs WHERE job_type = 'concierge.clienteling.catalogue.sync'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(jobs, 1);
    // Advisors read the run too: it is the brand's, like the catalogue.
    let advisor = paris(&app).await.token;
    let seen = send(&app, Method::GET, Some(&advisor), &location, None).await;
    assert_eq!(seen.status(), 200);
    // Finished, a new request is a new run, incremental now.
    app.sandbox().clear_faults(System::Salesforce);
    let next: Value = send(&app, Method::POST, Some(&manager), SYNC, None)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(next["id"], run["id"]);
    let next_location = format!("{SYNC}/{}", next["id"].as_str().unwrap());
    let next = wait_for(&app, &manager, &next_location, "succeeded").await;
    assert_eq!(next["mode"], "incremental");
    assert_eq!(next["created"], 0);
}

#[tokio::test]
async fn a_run_out_of_attempts_is_failed_with_its_reason_and_the_watermark_stays() {
    let app = spawn_sandboxed_app_with(
        Sandboxed::new()
            .jobs()
            .without_retries()
            .configure(|settings| settings.jobs.max_attempts = 2),
    )
    .await;
    let manager = manager(&app).await;
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "status": 503, "operation": "Product2" }),
    );
    let run: Value = send(&app, Method::POST, Some(&manager), SYNC, None)
        .await
        .json()
        .await
        .unwrap();
    let location = format!("{SYNC}/{}", run["id"].as_str().unwrap());
    let mut last = Value::Null;
    for _ in 0..200 {
        last = send(&app, Method::GET, Some(&manager), &location, None)
            .await
            .json()
            .await
            .unwrap();
        if last["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["status"], "failed", "{last}");
    assert_eq!(last["attempts"], 2);
    assert!(last["last_error"].as_str().unwrap().contains("salesforce"));
    assert_eq!(last["watermark"], Value::Null);
    let state: i64 = sqlx::query_scalar("SELECT count(*) FROM clienteling_catalogue_state")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, 0, "no watermark after a failed first sync");
}

#[tokio::test]
async fn only_managers_and_admins_start_a_sync_and_runs_stay_in_their_brand() {
    let app = spawn_sandboxed_app().await;
    let advisor = paris(&app).await.token;
    let marketer = marketer_token(&app, "m@maison.example", "maison").await;
    let customer = customer_token(&app, "cleo@example.com").await;
    let atelier_manager = person(
        &app,
        "manager@atelier.example",
        "manager",
        Some("atelier"),
        &["milan-1"],
    )
    .await
    .token;
    let admin = admin_token(&app, "admin@concierge.example").await;

    let response = send(&app, Method::POST, None, SYNC, None).await;
    assert_eq!(response.status(), 401);
    for (token, status) in [
        (&advisor, 403),
        (&marketer, 403),
        (&customer, 403),
        (&atelier_manager, 404),
    ] {
        let response = send(&app, Method::POST, Some(token), SYNC, None).await;
        assert_eq!(response.status(), status);
        problem(response).await;
    }
    let response = send(&app, Method::POST, Some(&admin), SYNC, None).await;
    assert_eq!(response.status(), 202);
    let run: Value = response.json().await.unwrap();
    let id = run["id"].as_str().unwrap();

    // Another brand's manager reaches the run neither under maison nor under their own brand.
    for (token, path) in [
        (&atelier_manager, format!("{SYNC}/{id}")),
        (
            &atelier_manager,
            format!("/api/v1/brands/atelier/clienteling/products/sync/{id}"),
        ),
        (&admin, format!("{SYNC}/{}", uuid::Uuid::now_v7())),
        (&admin, format!("{SYNC}/not-a-run")),
    ] {
        let response = send(&app, Method::GET, Some(token), &path, None).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(code(&problem(response).await), "not-found");
    }
    for token in [&marketer, &customer] {
        let response = send(
            &app,
            Method::GET,
            Some(token),
            &format!("{SYNC}/{id}"),
            None,
        )
        .await;
        assert_eq!(response.status(), 403);
    }
    let response = send(&app, Method::GET, Some(&admin), SYNC, None).await;
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn the_nightly_schedule_opens_a_run_for_each_configured_brand_once() {
    let app = spawn_sandboxed_app().await;
    sync(&app, "maison").await.unwrap();
    let catalogue = app.state.clienteling.catalogue().unwrap();
    // The job a cron tick enqueues, run twice as a replayed delivery would be.
    for _ in 0..2 {
        concierge::clienteling::catalogue::run_schedule(
            catalogue,
            concierge::clienteling::catalogue::ScheduledCatalogueSync {
                scheduled_for: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
    }
    let runs: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT brand_slug, trigger, status FROM clienteling_catalogue_runs
         WHERE trigger = 'schedule' ORDER BY brand_slug",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        runs,
        vec![
            ("atelier".into(), "schedule".into(), "queued".into()),
            ("maison".into(), "schedule".into(), "queued".into()),
        ]
    );
    let queued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM apalis.jobs WHERE job_type = 'concierge.clienteling.catalogue.sync'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(queued, 2);
}
