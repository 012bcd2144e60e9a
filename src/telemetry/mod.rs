//! Structured logs (JSON in production and tests, human-readable in development) and, when
//! `telemetry.otlp_endpoint` is set, OpenTelemetry traces exported over OTLP/HTTP (protobuf).
//!
//! Traces are made of the spans that declare an `otel.kind`: one per request, provider call, job, event
//! handled and database transaction of note. Other spans stay in the logs only, so a trace shows the hops
//! and their parents, not every helper in between; log events are never exported. With the endpoint unset
//! no OpenTelemetry layer is installed at all.

pub mod redact;
mod trace;

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use opentelemetry::trace::TracerProvider;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Metadata;
use tracing::subscriber::Interest;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, filter};

pub use trace::{TRACEPARENT, TRACESTATE, TraceContext};

use crate::config::{LogFormat, TelemetrySettings};

/// Set once the global subscriber exports traces; everything that propagates context checks it first.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces.
pub fn enabled() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// What has to outlive the process's work: the exporter, whose buffered spans [`Telemetry::shutdown`] sends.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is still buffered. Blocks (briefly): call it after the runtime has finished.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            eprintln!("concierge: exporting the last traces failed: {error}");
        }
    }
}

/// Installs the global subscriber. Safe to call more than once (later calls are ignored), which tests need.
pub fn init(settings: &TelemetrySettings) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let Some(url) = settings.otlp_traces_url() else {
        // Exactly the subscriber of a build without traces: one global filter, nothing else to consult.
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_span_events(FmtSpan::NONE);
        let _ = match settings.format {
            LogFormat::Json => builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .try_init(),
            LogFormat::Pretty => builder.compact().try_init(),
        };
        return Ok(Telemetry { provider: None });
    };

    let provider = tracer_provider(&url)?;
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("concierge"))
        .with_location(false)
        .with_threads(false)
        .with_level(false)
        .with_target(false)
        .with_filter(
            filter::dynamic_filter_fn(|metadata, _| is_traced(metadata)).with_callsite_filter(
                // "Sometimes", never "always": an always-interested callsite skips the per-layer `enabled`
                // pass, and its span then takes whatever filter state the thread was left in (a job's span
                // came out invisible to both layers).
                |metadata| match is_traced(metadata) {
                    true => Interest::sometimes(),
                    false => Interest::never(),
                },
            ),
        );
    // The log filter applies to the logs only: a quiet log level must not thin out the traces.
    let logs = logs_layer(settings.format).with_filter(filter);
    if tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()
        .is_err()
    {
        // Another subscriber was first (a test process); this one's exporter would never see a span.
        let _ = provider.shutdown();
        return Ok(Telemetry { provider: None });
    }
    EXPORTING.store(true, Ordering::Relaxed);
    tracing::info!(endpoint = %url, "exporting traces");
    Ok(Telemetry {
        provider: Some(provider),
    })
}

fn logs_layer(format: LogFormat) -> Box<dyn Layer<Registry> + Send + Sync> {
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE);
    match format {
        LogFormat::Json => layer
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => layer.compact().boxed(),
    }
}

/// The spans that make up traces: those that say which kind of OpenTelemetry span they are.
fn is_traced(metadata: &Metadata<'_>) -> bool {
    metadata.is_span() && metadata.fields().field("otel.kind").is_some()
}

/// A batching exporter on its own thread, posting protobuf to `url`. Only our setting names the endpoint:
/// `OTEL_EXPORTER_OTLP_HEADERS` (a collector's credentials), `OTEL_BSP_*` (batching) and
/// `OTEL_TRACES_SAMPLER*` are honoured as the SDK defines them.
fn tracer_provider(url: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(url)
        .build()
        .context("building the OTLP trace exporter (`telemetry.otlp_endpoint`)")?;
    let resource = Resource::builder()
        .with_service_name("concierge")
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Sets OpenTelemetry attributes on `span` when traces are on; `attributes` is not even called otherwise.
pub fn set_attributes<I>(span: &tracing::Span, attributes: impl FnOnce() -> I)
where
    I: IntoIterator<Item = opentelemetry::KeyValue>,
{
    if !enabled() {
        return;
    }
    for attribute in attributes() {
        span.set_attribute(attribute.key, attribute.value);
    }
}

/// Runs blocking work (argon2, large parsing) off the async threads while staying in the caller's span.
pub fn spawn_blocking_with_tracing<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
}
