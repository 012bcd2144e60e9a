//! A collector that is down or refuses what it is sent costs the app nothing but the spans: requests and jobs
//! go on, the export failure is logged, and shutdown does not hang on it.

use std::time::{Duration, Instant};

use crate::helpers::{ServeProcess, demo_customer, spawn_sandboxed_app, token_of};

#[tokio::test]
async fn an_unreachable_collector_costs_the_spans_only_and_is_logged() {
    let app = spawn_sandboxed_app().await;
    let token = token_of(&demo_customer(&app).await);
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("port")
        .port();
    let endpoint = format!("http://127.0.0.1:{closed}");
    let mut server = ServeProcess::start(
        &app,
        &[
            ("CONCIERGE__TELEMETRY__OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    )
    .await;

    for _ in 0..3 {
        let response = reqwest::Client::new()
            .get(server.url("/api/v1/billing/invoices"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("invoices");
        assert_eq!(response.status(), 200);
    }
    let stopping = Instant::now();
    server.terminate().await;

    assert!(
        stopping.elapsed() < Duration::from_secs(20),
        "{:?}",
        stopping.elapsed()
    );
    let log = server.log();
    assert!(log.contains("exporting traces"), "{log}");
    assert!(
        log.lines().any(|line| line.contains("opentelemetry")
            && (line.contains("ERROR") || line.contains("WARN"))),
        "the failed export is logged: {log}"
    );
}
