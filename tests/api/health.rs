use serde_json::Value;

use crate::helpers::{DEAD_DATABASE_URL, DEAD_REDIS_URL, TestOptions, spawn_app, spawn_app_with};

#[tokio::test]
async fn liveness_answers_ok() {
    let app = spawn_app().await;

    let response = app.get("/health/live").await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readiness_reports_postgres_and_redis_up() {
    let app = spawn_app().await;

    let response = app.get("/health/ready").await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["postgres"]["status"], "up");
    assert_eq!(body["checks"]["redis"]["status"], "up");
    assert_eq!(
        body["checks"]["jobs"]["status"], "disabled",
        "this app runs without jobs: {body}"
    );
}

#[tokio::test]
async fn readiness_stays_ready_but_reports_redis_down_when_redis_refuses() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|settings| settings.redis.url = DEAD_REDIS_URL.to_owned().into()),
        ..Default::default()
    })
    .await;

    let response = app.get("/health/ready").await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["checks"]["redis"]["status"], "down");
    assert_eq!(body["checks"]["postgres"]["status"], "up");
    // The API keeps answering.
    assert_eq!(app.get("/health/live").await.status(), 200);
    assert_eq!(app.get("/api/v1/openapi.json").await.status(), 200);
}

#[tokio::test]
async fn readiness_is_503_when_postgres_is_unreachable() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|settings| settings.database.url = DEAD_DATABASE_URL.to_owned().into()),
        ..Default::default()
    })
    .await;

    let response = app.get("/health/ready").await;

    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"]["postgres"]["status"], "down");
    let detail = body["checks"]["postgres"]["detail"].as_str().unwrap();
    assert!(
        !detail.contains("127.0.0.1"),
        "readiness must not reveal hosts: {detail}"
    );
}

#[tokio::test]
async fn readiness_is_503_until_migrations_are_applied() {
    let database = crate::helpers::empty_database().await;
    let app = spawn_app_with(TestOptions {
        database: Some(database),
        ..Default::default()
    })
    .await;

    let before = app.get("/health/ready").await;
    assert_eq!(before.status(), 503);
    let body: Value = before.json().await.unwrap();
    assert_eq!(body["checks"]["postgres"]["status"], "pending");

    concierge::db::migrate(&app.db).await.unwrap();

    assert_eq!(app.get("/health/ready").await.status(), 200);
}

#[tokio::test]
async fn readiness_reports_the_job_runner_when_it_runs() {
    let app = spawn_app_with(TestOptions {
        jobs: true,
        ..Default::default()
    })
    .await;

    let body: Value = crate::helpers::eventually(10, "job runner up", || async {
        let body: Value = app.get("/health/ready").await.json().await.unwrap();
        (body["checks"]["jobs"]["status"] == "up").then_some(body)
    })
    .await;

    assert_eq!(body["status"], "ready");
    app.stop().await;
}
