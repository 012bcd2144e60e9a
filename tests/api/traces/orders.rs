//! An order's approval, as Salesforce announces it, is the root of one trace: the transaction that claims
//! it, the provisioning job it enqueues (stored with the job, continued by whichever worker runs it), the
//! job's provider calls, and the outbox event the job records, whose delivered message carries the trace on.

use deadpool_redis::redis;
use serde_json::json;

use crate::helpers::{
    ExportedSpan, KIND_CLIENT, KIND_CONSUMER, KIND_PRODUCER, OtlpReceiver, Sandboxed, ServeProcess,
    System, TestApp, demo_customer, eventually, spawn_sandboxed_app_with, summary, token_of,
};

const QUEUE: &str = "concierge.orders.provision";

async fn place_order(app: &TestApp, token: &str) -> (String, String) {
    let response = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(token)
        .header("Idempotency-Key", "traced-order")
        .json(&json!({
            "items": [{"sku": "SIM-DATA-20GB", "quantity": 1}],
            "activation": {"type": "immediate"},
            "sim": {"type": "physical"}
        }))
        .send()
        .await
        .expect("order");
    assert_eq!(response.status(), 201);
    let order: serde_json::Value = response.json().await.expect("json");
    let id = order["id"].as_str().expect("id").to_owned();
    let (salesforce_id,): (String,) =
        sqlx::query_as("SELECT salesforce_order_id FROM orders WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .expect("order row");
    (id, salesforce_id)
}

async fn scalar(app: &TestApp, sql: &'static str, id: &str) -> Option<String> {
    sqlx::query_scalar::<_, String>(sql)
        .bind(id)
        .fetch_optional(&app.db)
        .await
        .expect("query")
}

/// The fields of the stream entry for `order.provisioned`.
async fn delivered_message(app: &TestApp) -> Vec<(String, String)> {
    let key = app.state.cache.key(&app.state.settings.outbox.redis_stream);
    let entries: Vec<(String, Vec<(String, String)>)> = app
        .state
        .cache
        .run(|mut conn| async move {
            redis::cmd("XRANGE")
                .arg(&key)
                .arg("-")
                .arg("+")
                .query_async(&mut conn)
                .await
        })
        .await
        .expect("stream");
    entries
        .into_iter()
        .map(|(_, fields)| fields)
        .find(|fields| {
            fields
                .iter()
                .any(|(k, v)| k == "topic" && v == "order.provisioned")
        })
        .expect("order.provisioned delivered")
}

fn named<'a>(spans: &'a [ExportedSpan], name: &str) -> Vec<&'a ExportedSpan> {
    spans.iter().filter(|span| span.name == name).collect()
}

#[tokio::test]
async fn an_orders_provisioning_job_is_in_the_trace_of_the_approval_event_that_caused_it() {
    // The in-process app only takes the order; the exporting `serve` handles the event and runs the job.
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    // The outbox also feeds the portal brand's CRM: without the brand, `order.provisioned` waits.
    crate::helpers::demo_brands(&app).await;
    let token = token_of(&demo_customer(&app).await);
    let (id, salesforce_id) = place_order(&app, &token).await;
    let receiver = OtlpReceiver::start().await;
    let mut server = ServeProcess::start(
        &app,
        &[("CONCIERGE__TELEMETRY__OTLP_ENDPOINT", receiver.url.as_str())],
    )
    .await;
    app.sandbox().clear_requests();

    app.sandbox().approve_order(&salesforce_id).await;
    eventually(60, "the order provisioned and its event delivered", || async {
        let active = scalar(&app, "SELECT status FROM orders WHERE id = $1::uuid", &id).await;
        let delivered = scalar(
            &app,
            "SELECT status FROM outbox_events WHERE aggregate_id = $1 AND topic = 'order.provisioned'",
            &id,
        )
        .await;
        (active.as_deref() == Some("active") && delivered.as_deref() == Some("delivered"))
            .then_some(())
    })
    .await;
    server.terminate().await;

    let spans = receiver.spans();
    let events = named(&spans, "/event/OrderProvisionRequested__e process");
    assert_eq!(events.len(), 1, "{}", summary(&spans));
    let event = events[0];
    assert_eq!(event.kind, KIND_CONSUMER);
    assert_eq!(event.parent_span_id, "", "the approval starts the trace");
    assert_eq!(
        event.attribute("messaging.system").as_deref(),
        Some("salesforce")
    );
    let trace = receiver.trace(&event.trace_id);

    let claims = named(&trace, "orders approve");
    assert_eq!(claims.len(), 1, "{}", summary(&trace));
    let claim = claims[0];
    assert_eq!(claim.kind, KIND_CLIENT);
    assert_eq!(claim.parent_span_id, event.span_id);
    assert_eq!(
        claim.attribute("db.system.name").as_deref(),
        Some("postgresql")
    );
    let database = app.db.connect_options().get_database().map(str::to_owned);
    assert_eq!(claim.attribute("db.namespace"), database);

    // The job was enqueued in that transaction; its run (in another task, after a trip through the
    // database) continues the trace under it.
    let jobs = named(&trace, &format!("{QUEUE} process"));
    assert_eq!(jobs.len(), 1, "one run: {}", summary(&spans));
    let job = jobs[0];
    assert_eq!(job.kind, KIND_CONSUMER);
    assert_eq!(job.parent_span_id, claim.span_id);
    assert_eq!(
        job.attribute("messaging.destination.name").as_deref(),
        Some(QUEUE)
    );
    assert!(!job.is_error());

    let add_orders = named(&trace, "whmcs AddOrder");
    assert_eq!(add_orders.len(), 1, "{}", summary(&trace));
    let add_order = add_orders[0];
    assert_eq!(add_order.parent_span_id, job.span_id);
    let received: Vec<_> = app
        .sandbox()
        .requests(System::Whmcs)
        .into_iter()
        .filter(|request| request.operation.ends_with(" AddOrder"))
        .collect();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].traceparent.as_deref(),
        Some(format!("00-{}-{}-01", event.trace_id, add_order.span_id).as_str())
    );
    // Every provider call the job made is in the trace, and every request the sandbox saw carried it.
    for system in [System::Whmcs, System::Salesforce] {
        for request in app.sandbox().requests(system) {
            if request.path.starts_with("/cometd") || request.path.contains("/oauth2/") {
                continue;
            }
            let parent = request.traceparent.clone().unwrap_or_default();
            assert!(parent.contains(&event.trace_id), "{request:?}");
        }
    }

    let sends = named(&trace, "order.provisioned send");
    assert_eq!(sends.len(), 1, "{}", summary(&trace));
    let send = sends[0];
    assert_eq!(send.kind, KIND_PRODUCER);
    let finishes = named(&trace, "orders finish provisioning");
    assert_eq!(finishes.len(), 1, "{}", summary(&trace));
    assert_eq!(finishes[0].parent_span_id, job.span_id);
    // The delivery, by the dispatcher in its own loop, continues the transaction that recorded the event.
    assert_eq!(send.parent_span_id, finishes[0].span_id);
    let message = delivered_message(&app).await;
    let field = |name: &str| {
        message
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    assert_eq!(
        field("traceparent"),
        Some(format!("00-{}-{}-01", event.trace_id, send.span_id))
    );
    receiver.stop().await;
    app.stop().await;
}

async fn job_row(app: &TestApp) -> Option<(i32, String)> {
    sqlx::query_as("SELECT attempts, status FROM apalis.jobs WHERE job_type = $1")
        .bind(QUEUE)
        .fetch_optional(&app.db)
        .await
        .expect("job row")
}

#[tokio::test]
async fn a_job_retried_by_another_process_after_a_restart_stays_in_the_approvals_trace() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().without_retries()).await;
    let token = token_of(&demo_customer(&app).await);
    let (id, salesforce_id) = place_order(&app, &token).await;
    let receiver = OtlpReceiver::start().await;
    // The first run fails at WHMCS; its retry is due seconds later, when this process is gone.
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "status": 500, "operation": "AddOrder", "times": 1 }),
    );
    let mut first = ServeProcess::start(
        &app,
        &[
            ("CONCIERGE__TELEMETRY__OTLP_ENDPOINT", receiver.url.as_str()),
            ("CONCIERGE__JOBS__BACKOFF_BASE_MS", "6000"),
            ("CONCIERGE__JOBS__BACKOFF_MAX_MS", "6000"),
        ],
    )
    .await;
    app.sandbox().approve_order(&salesforce_id).await;
    eventually(30, "the first run to fail", || async {
        job_row(&app)
            .await
            .filter(|(attempts, status)| *attempts >= 1 && status == "Failed")
            .map(|_| ())
    })
    .await;
    first.terminate().await;

    let mut second = ServeProcess::start(
        &app,
        &[("CONCIERGE__TELEMETRY__OTLP_ENDPOINT", receiver.url.as_str())],
    )
    .await;
    eventually(60, "the retry to provision the order", || async {
        let status = scalar(&app, "SELECT status FROM orders WHERE id = $1::uuid", &id).await;
        (status.as_deref() == Some("active")).then_some(())
    })
    .await;
    second.terminate().await;

    let spans = receiver.spans();
    let mut runs = named(&spans, &format!("{QUEUE} process"));
    runs.sort_by_key(|run| run.attribute("job.attempt"));
    assert_eq!(runs.len(), 2, "{}", summary(&spans));
    let (failed, retried) = (runs[0], runs[1]);
    assert_eq!(failed.attribute("job.attempt").as_deref(), Some("1"));
    assert!(failed.is_error());
    assert_eq!(retried.attribute("job.attempt").as_deref(), Some("2"));
    assert!(!retried.is_error());
    // Both runs, one per process, hang under the transaction that enqueued the job, in the event's trace.
    assert_eq!(failed.trace_id, retried.trace_id);
    assert_eq!(failed.parent_span_id, retried.parent_span_id);
    let trace = receiver.trace(&failed.trace_id);
    let claim = named(&trace, "orders approve");
    assert_eq!(claim.len(), 1, "{}", summary(&trace));
    assert_eq!(retried.parent_span_id, claim[0].span_id);
    let events = named(&trace, "/event/OrderProvisionRequested__e process");
    assert_eq!(events.len(), 1, "{}", summary(&trace));
    assert_eq!(claim[0].parent_span_id, events[0].span_id);
    receiver.stop().await;
    app.stop().await;
}
