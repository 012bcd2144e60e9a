use crate::errors::probe_routes;
use crate::helpers::{TestOptions, spawn_app_with};

#[tokio::test]
async fn metrics_show_latency_histograms_labelled_by_route_template() {
    let app = spawn_app_with(TestOptions {
        routes: Box::new(probe_routes),
        ..Default::default()
    })
    .await;
    let id = uuid::Uuid::new_v4();
    assert_eq!(app.get(&format!("/probe/items/{id}")).await.status(), 200);

    let response = app.get("/metrics").await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"http_request_duration_seconds_bucket{method="GET",route="/probe/items/{id}",status="200",le="0.005"}"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/probe/items/{id}",status="200"}"#
        )
    );
    assert!(
        !text.contains(&id.to_string()),
        "raw paths must never become labels"
    );
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn metrics_show_pool_gauges_and_job_queue_depth() {
    let app = spawn_app_with(TestOptions::default()).await;
    let mut tx = app.db.begin().await.unwrap();
    concierge::jobs::enqueue(
        &mut tx,
        &app.state.settings.jobs,
        &concierge::housekeeping::Housekeeping {
            scheduled_for: chrono::Utc::now(),
        },
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let text = app.get("/metrics").await.text().await.unwrap();

    assert!(
        text.contains(r#"db_pool_connections{state="max"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"redis_pool_connections{state="max"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"jobs_queue_depth{queue="concierge.housekeeping",status="pending"}"#),
        "{text}"
    );
    assert!(text.contains("outbox_pending"), "{text}");
}

#[tokio::test]
async fn unmatched_paths_share_one_label() {
    let app = spawn_app_with(TestOptions::default()).await;
    let unique = uuid::Uuid::new_v4().to_string();
    app.get(&format!("/nowhere/{unique}")).await;

    let text = app.get("/metrics").await.text().await.unwrap();

    assert!(text.contains(r#"route="unmatched",status="404""#));
    assert!(!text.contains(&unique));
}
