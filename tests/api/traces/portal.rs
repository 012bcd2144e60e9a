//! A portal request: its span, the provider calls it makes, and what the provider saw.

use crate::helpers::{
    ExportedSpan, KIND_CLIENT, KIND_SERVER, OtlpReceiver, ServeProcess, System, TestApp,
    demo_customer, spawn_sandboxed_app, summary, token_of,
};

const PORTAL_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PORTAL_SPAN: &str = "00f067aa0ba902b7";

fn portal_traceparent() -> String {
    format!("00-{PORTAL_TRACE}-{PORTAL_SPAN}-01")
}

async fn serve_exporting(app: &TestApp, receiver: &OtlpReceiver, trusted: &str) -> ServeProcess {
    ServeProcess::start(
        app,
        &[
            ("CONCIERGE__TELEMETRY__OTLP_ENDPOINT", receiver.url.as_str()),
            ("CONCIERGE__SERVER__TRUSTED_PROXIES", trusted),
        ],
    )
    .await
}

async fn invoices(server: &ServeProcess, token: &str, traceparent: &str) {
    let response = reqwest::Client::new()
        .get(server.url("/api/v1/billing/invoices"))
        .bearer_auth(token)
        .header("traceparent", traceparent)
        .header("tracestate", "portal=web")
        .send()
        .await
        .expect("invoices");
    assert_eq!(response.status(), 200, "{}", server.log());
}

fn only<'a>(
    spans: &'a [ExportedSpan],
    what: &str,
    keep: impl Fn(&ExportedSpan) -> bool,
) -> &'a ExportedSpan {
    let found: Vec<&ExportedSpan> = spans.iter().filter(|span| keep(span)).collect();
    assert_eq!(found.len(), 1, "one {what} in {}", summary(spans));
    found[0]
}

fn request_span(spans: &[ExportedSpan]) -> &ExportedSpan {
    only(spans, "request span", |span| {
        span.kind == KIND_SERVER && span.name == "GET /api/v1/billing/invoices"
    })
}

fn whmcs_span(spans: &[ExportedSpan]) -> &ExportedSpan {
    only(spans, "GetInvoices call", |span| {
        span.name == "whmcs GetInvoices"
    })
}

/// The one `GetInvoices` request the sandbox received and the trace context it carried.
fn whmcs_traceparent(app: &TestApp) -> String {
    let calls: Vec<_> = app
        .sandbox()
        .requests(System::Whmcs)
        .into_iter()
        .filter(|request| request.operation.ends_with(" GetInvoices"))
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    calls[0]
        .traceparent
        .clone()
        .expect("the call carried a traceparent")
}

/// Summary requests with forged trace contexts: all-zero ids, bytes that are not text, garbage, two
/// (valid) `traceparent`s at once, each with a trace state far over the W3C size.
async fn forged_requests(server: &ServeProcess, token: &str) -> usize {
    let valid: &[u8] = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let forgeries: [&[&[u8]]; 4] = [
        &[b"00-00000000000000000000000000000000-00f067aa0ba902b7-01"],
        &[b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-\xff\xfe"],
        &[b"garbage"],
        &[valid, valid],
    ];
    for forged in forgeries {
        let mut request = reqwest::Client::new()
            .get(server.url("/api/v1/billing/summary"))
            .bearer_auth(token)
            .header("tracestate", "x".repeat(4000));
        for value in forged {
            let value = reqwest::header::HeaderValue::from_bytes(value).expect("header bytes");
            request = request.header("traceparent", value);
        }
        let response = request.send().await.expect("summary");
        assert!(
            response.status().is_success(),
            "{forged:?}: {}",
            response.status()
        );
    }
    forgeries.len()
}

#[tokio::test]
async fn a_portal_request_that_calls_whmcs_is_one_trace_the_provider_joined() {
    let app = spawn_sandboxed_app().await;
    let token = token_of(&demo_customer(&app).await);
    let receiver = OtlpReceiver::start().await;
    let mut server = serve_exporting(&app, &receiver, r#"["127.0.0.0/8"]"#).await;
    app.sandbox().clear_requests();

    invoices(&server, &token, &portal_traceparent()).await;
    let seen_by_whmcs = whmcs_traceparent(&app);
    let state = app.sandbox().requests(System::Whmcs)[0].tracestate.clone();
    // Even from a trusted caller, a forged or malformed context is no context: a new trace, never a 500.
    app.sandbox().clear_requests();
    let forgeries = forged_requests(&server, &token).await;
    server.terminate().await;

    let spans = receiver.trace(PORTAL_TRACE);
    let request = request_span(&spans);
    // The portal's server is trusted: the request continues the portal's trace, under the portal's span.
    assert_eq!(request.parent_span_id, PORTAL_SPAN);
    assert_eq!(
        request.attribute("http.route").as_deref(),
        Some("/api/v1/billing/invoices")
    );
    assert_eq!(
        request.attribute("http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        request.attribute("http.response.status_code").as_deref(),
        Some("200")
    );
    assert!(!request.is_error());

    let call = whmcs_span(&spans);
    assert_eq!(call.kind, KIND_CLIENT);
    assert_eq!(
        call.parent_span_id, request.span_id,
        "the request span is the call's parent"
    );
    assert_eq!(call.attribute("system").as_deref(), Some("whmcs"));
    assert_eq!(call.attribute("operation").as_deref(), Some("GetInvoices"));
    assert_eq!(call.attribute("outcome").as_deref(), Some("ok"));
    assert_eq!(
        call.attribute("http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(
        call.attribute("server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        call.attribute("http.response.status_code").as_deref(),
        Some("200")
    );

    // WHMCS saw our trace, with the call's span as its parent, and the portal's trace state passed on.
    assert_eq!(
        seen_by_whmcs,
        format!("00-{PORTAL_TRACE}-{}-01", call.span_id)
    );
    assert_eq!(state.as_deref(), Some("portal=web"));

    let all = receiver.spans();
    let forged: Vec<&ExportedSpan> = all
        .iter()
        .filter(|span| span.name == "GET /api/v1/billing/summary")
        .collect();
    assert_eq!(forged.len(), forgeries, "{}", summary(&all));
    // Readiness probes (the test polled one before starting) are logged, not traced.
    assert!(
        all.iter().all(|span| !span.name.contains("/health")),
        "{}",
        summary(&all)
    );
    for span in &forged {
        assert_eq!(span.parent_span_id, "", "{}", summary(&all));
        assert_ne!(span.trace_id, PORTAL_TRACE);
    }
    for request in app.sandbox().requests(System::Whmcs) {
        let parent = request.traceparent.clone().unwrap_or_default();
        assert!(
            forged.iter().any(|span| parent.contains(&span.trace_id)),
            "{request:?}"
        );
        // 4000 characters of state are not carried into every call.
        assert_eq!(request.tracestate, None);
    }
    // Nothing of the customer's reached the trace: the WHMCS form (with its secret) is never an attribute.
    let exported = format!("{spans:?}");
    assert!(!exported.contains("demo@concierge.test"), "{exported}");
    assert!(!exported.contains("identifier"), "{exported}");
    receiver.stop().await;
}

#[tokio::test]
async fn an_untrusted_callers_traceparent_starts_a_new_trace() {
    let app = spawn_sandboxed_app().await;
    let token = token_of(&demo_customer(&app).await);
    let receiver = OtlpReceiver::start().await;
    let mut server = serve_exporting(&app, &receiver, "[]").await;
    app.sandbox().clear_requests();

    // Sampled-off, so a trusted caller would have switched tracing off for the request: a stranger cannot.
    invoices(
        &server,
        &token,
        &format!("00-{PORTAL_TRACE}-{PORTAL_SPAN}-00"),
    )
    .await;
    server.terminate().await;

    assert!(
        receiver.trace(PORTAL_TRACE).is_empty(),
        "the caller chose no trace"
    );
    let spans = receiver.spans();
    let request = request_span(&spans);
    assert_eq!(
        request.parent_span_id, "",
        "a new trace, rooted in the request"
    );
    let trace = receiver.trace(&request.trace_id);
    let call = whmcs_span(&trace);
    assert_eq!(call.parent_span_id, request.span_id);
    assert_eq!(
        whmcs_traceparent(&app),
        format!("00-{}-{}-01", request.trace_id, call.span_id)
    );
    // Nor is the stranger's trace state passed on to the providers.
    assert_eq!(app.sandbox().requests(System::Whmcs)[0].tracestate, None);
    receiver.stop().await;
}
