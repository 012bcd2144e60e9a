//! A slow or failing part is `degraded` and the page still answers on time with the others; a small pool
//! neither deadlocks nor starves a page.

use std::time::{Duration, Instant};

use concierge_sandbox::System;
use serde_json::{Value, json};

use super::{ok, view, world};
use crate::helpers::{Sandboxed, spawn_sandboxed_app_with};

const OTHERS: [&str; 7] = [
    "header",
    "kpis",
    "timeline",
    "scores",
    "consent",
    "appointments",
    "tasks",
];

fn assert_degraded(page: &Value, reason: &str) {
    assert_eq!(page["salesforce"]["status"], "degraded", "{page}");
    assert_eq!(page["salesforce"]["reason"], reason, "{page}");
    assert!(page["salesforce"].get("data").is_none());
    for part in OTHERS {
        ok(page, part);
    }
}

#[tokio::test]
async fn a_slow_salesforce_is_degraded_by_the_part_timeout_while_the_rest_answers_on_time() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let (advisor, claire) = world(&app).await;
    // Warm: the session token is fetched once; then every query is slow.
    let (_, page) = view(&app, &advisor.token, &claire, "?fields=salesforce").await;
    ok(&page, "salesforce");
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/query", "latency_ms": 2000 }),
    );

    let started = Instant::now();
    let (status, page) = view(&app, &advisor.token, &claire, "").await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert_degraded(&page, "timeout");
    // The part timeout (300 ms) bounds the page, far below the 2 s Salesforce takes.
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[tokio::test]
async fn a_failing_salesforce_is_degraded_with_its_reason_while_the_rest_answers() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let (advisor, claire) = world(&app).await;
    let (_, page) = view(&app, &advisor.token, &claire, "?fields=salesforce").await;
    ok(&page, "salesforce");

    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/query", "status": 503 }),
    );
    let (status, page) = view(&app, &advisor.token, &claire, "").await;
    assert_eq!(status, 200);
    assert_degraded(&page, "unavailable");

    app.sandbox().clear_faults(System::Salesforce);
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/query", "status": 403, "error_code": "REQUEST_LIMIT_EXCEEDED" }),
    );
    let (status, page) = view(&app, &advisor.token, &claire, "").await;
    assert_eq!(status, 200);
    assert_degraded(&page, "rate_limited");

    app.sandbox().clear_faults(System::Salesforce);
    app.sandbox().inject_fault(
        System::Salesforce,
        json!({ "operation": "/query", "malformed": true }),
    );
    let (_, page) = view(&app, &advisor.token, &claire, "").await;
    assert_degraded(&page, "malformed");
}

#[tokio::test]
async fn a_client_without_a_salesforce_contact_asks_nothing_of_salesforce() {
    let app = spawn_sandboxed_app_with(Sandboxed::new()).await;
    let advisor = crate::clienteling::fixtures::paris(&app).await;
    let claire = super::claire(&app, &advisor, None).await;
    app.sandbox().clear_requests();
    let (_, page) = view(&app, &advisor.token, &claire, "?fields=salesforce").await;
    let data = ok(&page, "salesforce");
    assert_eq!(data["contact_id"], Value::Null);
    assert_eq!(data["found"], false);
    assert_eq!(app.sandbox().salesforce_queries(), 0);
}

#[tokio::test]
async fn a_pool_of_two_serves_concurrent_pages_with_every_part_and_never_deadlocks() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().configure(|settings| {
        settings.database.max_connections = 2;
        settings.database.acquire_timeout_ms = 8000;
        // Generous: this test is about the pool, not the timeout (the machine may be loaded).
        settings.clienteling.view360.part_timeout_ms = 8000;
    }))
    .await;
    let (advisor, claire) = world(&app).await;
    // One of the two connections is busy elsewhere the whole time.
    let held = app.db.acquire().await.unwrap();

    let started = Instant::now();
    let pages =
        futures::future::join_all((0..6).map(|_| view(&app, &advisor.token, &claire, ""))).await;
    for (status, page) in pages {
        assert_eq!(status, 200, "{page}");
        for part in OTHERS.iter().chain(["salesforce"].iter()) {
            ok(&page, part);
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    drop(held);
}
