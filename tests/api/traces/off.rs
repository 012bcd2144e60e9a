//! With `telemetry.otlp_endpoint` unset nothing is exported, whatever the standard OTLP variables say, and
//! providers are sent no trace context.

use crate::helpers::{
    OtlpReceiver, ServeProcess, System, demo_customer, spawn_sandboxed_app, token_of,
};

#[tokio::test]
async fn with_the_endpoint_unset_nothing_is_exported_and_nothing_propagated() {
    let app = spawn_sandboxed_app().await;
    let token = token_of(&demo_customer(&app).await);
    let receiver = OtlpReceiver::start().await;
    let traces_url = format!("{}/v1/traces", receiver.url);
    let mut server = ServeProcess::start(
        &app,
        &[
            // What would switch exporting on if the SDK's environment configuration were in charge.
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.as_str()),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces_url.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
            ("CONCIERGE__SERVER__TRUSTED_PROXIES", r#"["127.0.0.0/8"]"#),
        ],
    )
    .await;
    app.sandbox().clear_requests();

    let response = reqwest::Client::new()
        .get(server.url("/api/v1/billing/invoices"))
        .bearer_auth(&token)
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .expect("invoices");
    assert_eq!(response.status(), 200);
    server.terminate().await;

    assert_eq!(receiver.requests(), 0, "{:?}", receiver.spans());
    let calls = app.sandbox().requests(System::Whmcs);
    assert!(!calls.is_empty());
    assert!(
        calls
            .iter()
            .all(|call| call.traceparent.is_none() && call.tracestate.is_none()),
        "{calls:?}"
    );
    assert!(
        !server.log().contains("exporting traces"),
        "{}",
        server.log()
    );
    receiver.stop().await;
}
