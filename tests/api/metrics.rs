//! `/metrics`: on its own listener (`server.metrics_listen`), never on the public one; gauges that need a
//! query are refreshed in the background, so a scrape only renders.

use std::time::Duration;

use concierge::config::Settings;
use serde::{Deserialize, Serialize};

use crate::errors::probe_routes;
use crate::helpers::{TestApp, TestOptions, eventually, spawn_app, spawn_app_with};

/// An app with a metrics listener on a free loopback port, refreshing its gauges every `refresh_ms`.
async fn spawn_with_metrics(refresh_ms: u64) -> TestApp {
    spawn_app_with(TestOptions {
        routes: Box::new(probe_routes),
        configure: Box::new(move |settings: &mut Settings| {
            settings.server.metrics_listen = "127.0.0.1:0".into();
            settings.server.metrics_refresh_ms = refresh_ms;
        }),
        ..Default::default()
    })
    .await
}

async fn scrape(app: &TestApp) -> reqwest::Response {
    let address = app.metrics_address.as_ref().expect("a metrics listener");
    app.client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .unwrap()
}

async fn scrape_text(app: &TestApp) -> String {
    let response = scrape(app).await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Jobs of a queue only the test that enqueues them uses, so other tests' apps (which share the process's
/// metrics registry) never record the same gauge.
macro_rules! probe_job {
    ($name:ident, $queue:literal) => {
        #[derive(Serialize, Deserialize)]
        struct $name;
        impl concierge::jobs::Job for $name {
            const QUEUE: &'static str = $queue;
        }
    };
}

probe_job!(TimerProbe, "test.metrics.timer");
probe_job!(ScrapeProbe, "test.metrics.scrape");

async fn enqueue<J: concierge::jobs::Job>(app: &TestApp, job: J) {
    let mut tx = app.db.begin().await.unwrap();
    concierge::jobs::enqueue(&mut tx, &app.state.settings.jobs, &job, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn metrics_are_not_served_on_the_public_listener() {
    let app = spawn_with_metrics(15_000).await;

    let response = app.get("/metrics").await;

    assert_eq!(response.status(), 404);
    assert_eq!(scrape(&app).await.status(), 200);
}

#[tokio::test]
async fn the_metrics_listener_serves_metrics_only() {
    let app = spawn_with_metrics(15_000).await;
    let address = app.metrics_address.clone().unwrap();

    for path in ["/api/v1/me", "/health/ready", "/docs/", "/"] {
        let response = app
            .client
            .get(format!("{address}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let post = app
        .client
        .post(format!("{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_ne!(post.status(), 200);
}

#[tokio::test]
async fn tests_have_no_metrics_listener_unless_they_ask() {
    let app = spawn_app().await;

    assert_eq!(app.metrics_address, None);
    assert_eq!(app.get("/metrics").await.status(), 404);
}

#[tokio::test]
async fn metrics_show_latency_histograms_labelled_by_route_template() {
    let app = spawn_with_metrics(15_000).await;
    let id = uuid::Uuid::new_v4();
    assert_eq!(app.get(&format!("/probe/items/{id}")).await.status(), 200);

    let response = scrape(&app).await;

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
async fn queue_gauges_are_refreshed_on_a_timer() {
    let app = spawn_with_metrics(200).await;
    enqueue(&app, TimerProbe).await;

    let text = eventually(10, "the refresh to count the job", || async {
        let text = scrape_text(&app).await;
        text.contains(r#"jobs_queue_depth{queue="test.metrics.timer",status="pending"} 1"#)
            .then_some(text)
    })
    .await;

    assert!(
        text.contains(r#"db_pool_connections{state="max"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"redis_pool_connections{state="max"}"#),
        "{text}"
    );
    assert!(text.contains("outbox_pending"), "{text}");
}

#[tokio::test]
async fn a_scrape_renders_the_last_refresh_and_queries_nothing() {
    // The first refresh runs at start; the next one is an hour away.
    let app = spawn_with_metrics(3_600_000).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    enqueue(&app, ScrapeProbe).await;

    for _ in 0..3 {
        let text = scrape_text(&app).await;
        assert!(
            !text.contains(r#"queue="test.metrics.scrape""#),
            "a scrape counted the queue itself: {text}"
        );
    }
}

#[tokio::test]
async fn unmatched_paths_share_one_label() {
    let app = spawn_with_metrics(15_000).await;
    let unique = uuid::Uuid::new_v4().to_string();
    app.get(&format!("/nowhere/{unique}")).await;

    let text = scrape_text(&app).await;

    assert!(text.contains(r#"route="unmatched",status="404""#));
    assert!(!text.contains(&unique));
}

/// A `concierge worker` process (no API) serves its queues' metrics on the metrics listener, and stops with
/// it on SIGTERM.
#[tokio::test]
async fn a_worker_process_serves_metrics_on_its_own_listener() {
    use std::process::{Command, Stdio};

    use crate::helpers::{config_dir, database_url, empty_database, redis_url};

    let database = empty_database().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_concierge"))
        .arg("worker")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CONCIERGE_CONFIG_DIR", config_dir())
        .env("CONCIERGE_ENV", "test")
        .env("CONCIERGE__DATABASE__URL", database_url(&database))
        .env("CONCIERGE__REDIS__URL", redis_url())
        .env(
            "CONCIERGE__SERVER__METRICS_LISTEN",
            format!("127.0.0.1:{port}"),
        )
        .env("CONCIERGE__SERVER__METRICS_REFRESH_MS", "200")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();

    let text = eventually(30, "the worker's metrics", || {
        let client = client.clone();
        async move {
            let response = client
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .send()
                .await
                .ok()?;
            let text = response.text().await.ok()?;
            text.contains("outbox_pending").then_some(text)
        }
    })
    .await;
    assert!(text.contains("db_pool_connections"), "{text}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = eventually(30, "the worker to exit", || {
        let status = child.try_wait().unwrap();
        async move { status }
    })
    .await;
    assert!(status.success(), "exit status {status:?}");
}
