//! What every provider client shares: one reqwest client per system with connect and total timeouts, no
//! redirects and a user agent; request-id and W3C trace-context propagation and one span per call (so any
//! client built on it, present or future, joins the caller's trace); retries with jittered exponential
//! back-off on transient failures only; a circuit breaker that fails fast while a system is down; metrics
//! per operation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use opentelemetry::KeyValue;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::config::ProviderSettings;
use crate::errors::{ApiError, ErrorCode};
use crate::http::request_context;
use crate::telemetry::{self, TraceContext, redact};

const USER_AGENT: &str = concat!("concierge/", env!("CARGO_PKG_VERSION"));

/// The largest answer read from a provider. Far above any real page (a Salesforce query page of 2,000
/// records is a few MiB), and low enough that a hostile or broken endpoint streaming without end cannot
/// take the process's memory.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// Unreachable, timed out, 5xx, or the circuit is open. Transient.
    #[error("{system} is unavailable: {reason}")]
    Unavailable {
        system: &'static str,
        reason: String,
    },
    /// 429 or a provider-specific limit (Salesforce `REQUEST_LIMIT_EXCEEDED`). Transient.
    #[error("{system} is rate limiting requests")]
    RateLimited {
        system: &'static str,
        retry_after: Option<Duration>,
    },
    /// The system refused the request (validation, business rule, not found). Never retried.
    #[error("{system} rejected the request: {code}: {message}")]
    Rejected {
        system: &'static str,
        status: Option<u16>,
        code: String,
        message: String,
    },
    /// Credentials were refused.
    #[error("{system} refused our credentials: {message}")]
    Auth {
        system: &'static str,
        message: String,
    },
    /// The answer could not be understood (not JSON, truncated, wrong shape).
    #[error("{system} answered with a malformed payload: {detail}")]
    Malformed {
        system: &'static str,
        detail: String,
    },
}

impl ProviderError {
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::Unavailable { .. } | ProviderError::RateLimited { .. }
        )
    }

    pub fn system(&self) -> &'static str {
        match self {
            ProviderError::Unavailable { system, .. }
            | ProviderError::RateLimited { system, .. }
            | ProviderError::Rejected { system, .. }
            | ProviderError::Auth { system, .. }
            | ProviderError::Malformed { system, .. } => system,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ProviderError::Unavailable { .. } => "unavailable",
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::Rejected { .. } => "rejected",
            ProviderError::Auth { .. } => "auth",
            ProviderError::Malformed { .. } => "malformed",
        }
    }

    pub fn rejected(
        system: &'static str,
        status: Option<u16>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ProviderError::Rejected {
            system,
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn malformed(system: &'static str, detail: impl Into<String>) -> Self {
        ProviderError::Malformed {
            system,
            detail: detail.into(),
        }
    }
}

/// The generic mapping to the API. Contexts map `Rejected` themselves where it means something to the user
/// (a 404, a 409); what reaches this is an upstream failure the client can only retry later.
impl From<ProviderError> for ApiError {
    fn from(error: ProviderError) -> Self {
        let system = error.system();
        let api = match &error {
            ProviderError::Unavailable { .. } => ApiError::new(ErrorCode::ProviderUnavailable)
                .with_detail(format!("{system} is unavailable; try again shortly."))
                .with_retry_after(5),
            ProviderError::RateLimited { retry_after, .. } => {
                ApiError::new(ErrorCode::ProviderUnavailable)
                    .with_detail(format!("{system} is busy; try again shortly."))
                    .with_retry_after(retry_after.map_or(5, |d| d.as_secs().max(1)))
            }
            _ => ApiError::new(ErrorCode::ProviderError)
                .with_detail(format!("{system} could not complete the request.")),
        };
        tracing::warn!(system, error = %redact::scrub(&error.to_string()), "provider call failed");
        api
    }
}

/// A response read in full, for the system's client to interpret.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl RawResponse {
    pub fn json<T: DeserializeOwned>(&self, system: &'static str) -> Result<T, ProviderError> {
        serde_json::from_slice(&self.body)
            .map_err(|error| ProviderError::malformed(system, error.to_string()))
    }

    pub fn text_snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        redact::scrub(&text.chars().take(300).collect::<String>())
    }

    fn retry_after(&self) -> Option<Duration> {
        let value = self.headers.get(RETRY_AFTER)?.to_str().ok()?;
        value.trim().parse::<u64>().ok().map(Duration::from_secs)
    }
}

/// The default reading of an HTTP status: 2xx is success, 408/5xx unavailable, 429 rate limited, other
/// 4xx a rejection. Clients with error conventions of their own (errors inside 200s) add to this.
pub fn classify_by_status(
    system: &'static str,
    response: RawResponse,
) -> Result<RawResponse, ProviderError> {
    let status = response.status;
    if status.is_success() {
        return Ok(response);
    }
    Err(match status.as_u16() {
        429 => ProviderError::RateLimited {
            system,
            retry_after: response.retry_after(),
        },
        408 | 500..=599 => ProviderError::Unavailable {
            system,
            reason: format!("HTTP {status}"),
        },
        401 | 403 => ProviderError::Auth {
            system,
            message: response.text_snippet(),
        },
        code => ProviderError::rejected(
            system,
            Some(code),
            format!("HTTP {code}"),
            response.text_snippet(),
        ),
    })
}

/// Opens after `threshold` consecutive transient failures; while open, calls fail at once. After the
/// cooldown one call is let through to probe; its success closes the breaker.
struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: AtomicU32,
    opened_at_ms: AtomicU64,
    epoch: Instant,
}

impl Breaker {
    fn allows(&self) -> bool {
        if self.failures.load(Ordering::Relaxed) < self.threshold {
            return true;
        }
        let opened = self.opened_at_ms.load(Ordering::Relaxed);
        let now = self.epoch.elapsed().as_millis() as u64;
        if now.saturating_sub(opened) >= self.cooldown.as_millis() as u64 {
            // Half-open: let this call probe, and push the window so concurrent calls keep failing fast.
            self.opened_at_ms.store(now, Ordering::Relaxed);
            return true;
        }
        false
    }

    fn record(&self, transient_failure: bool) {
        if transient_failure {
            let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            if failures == self.threshold {
                self.opened_at_ms
                    .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
            }
        } else {
            self.failures.store(0, Ordering::Relaxed);
        }
    }
}

#[derive(Clone)]
pub struct ProviderClient {
    system: &'static str,
    http: reqwest::Client,
    max_retries: usize,
    retry_base: Duration,
    retry_max: Duration,
    breaker: Arc<Breaker>,
    max_response_bytes: usize,
}

impl ProviderClient {
    pub fn new(system: &'static str, settings: &ProviderSettings) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .timeout(Duration::from_millis(settings.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()?;
        Ok(Self {
            system,
            http,
            max_retries: settings.max_retries,
            retry_base: Duration::from_millis(settings.retry_base_ms),
            retry_max: Duration::from_millis(settings.retry_max_ms),
            breaker: Arc::new(Breaker {
                threshold: settings.breaker_failure_threshold.max(1),
                cooldown: Duration::from_millis(settings.breaker_cooldown_ms),
                failures: AtomicU32::new(0),
                opened_at_ms: AtomicU64::new(0),
                epoch: Instant::now(),
            }),
            max_response_bytes: MAX_RESPONSE_BYTES,
        })
    }

    /// The same client reading at most `limit` bytes of an answer (tests use a small one).
    pub fn with_max_response_bytes(&self, limit: usize) -> Self {
        Self {
            max_response_bytes: limit,
            ..self.clone()
        }
    }

    pub fn system(&self) -> &'static str {
        self.system
    }

    /// The same client (connection pool, circuit breaker, metrics) with retries off, for calls the system
    /// does not de-duplicate: a timeout may arrive after the effect, so the caller must look before repeating.
    pub fn without_retries(&self) -> Self {
        Self {
            max_retries: 0,
            ..self.clone()
        }
    }

    /// Sends the request `build` makes (called again for each attempt), reads the whole body, and lets
    /// `classify` decide success, a transient failure (retried with back-off) or a permanent error.
    pub async fn execute<B, C>(
        &self,
        operation: &'static str,
        build: B,
        classify: C,
    ) -> Result<RawResponse, ProviderError>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        C: Fn(RawResponse) -> Result<RawResponse, ProviderError>,
    {
        let span = tracing::info_span!(
            "provider_call",
            otel.kind = "client",
            otel.name = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            system = self.system,
            operation,
            outcome = tracing::field::Empty,
        );
        if telemetry::enabled() {
            span.record("otel.name", format!("{} {operation}", self.system));
        }
        let result = self
            .execute_in_span(operation, &build, &classify)
            .instrument(span.clone())
            .await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => error.kind(),
        };
        span.record("outcome", outcome);
        if result.is_err() {
            span.record("otel.status_code", "error");
            telemetry::set_attributes(&span, || [KeyValue::new("error.type", outcome)]);
        }
        result
    }

    async fn execute_in_span<B, C>(
        &self,
        operation: &'static str,
        build: &B,
        classify: &C,
    ) -> Result<RawResponse, ProviderError>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        C: Fn(RawResponse) -> Result<RawResponse, ProviderError>,
    {
        if !self.breaker.allows() {
            metrics::counter!("provider_errors_total", "system" => self.system, "operation" => operation, "kind" => "circuit_open")
                .increment(1);
            return Err(ProviderError::Unavailable {
                system: self.system,
                reason: "circuit open after repeated failures".into(),
            });
        }
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry_base)
            .with_max_delay(self.retry_max)
            .with_max_times(self.max_retries)
            .with_jitter();
        let attempts = AtomicU32::new(0);
        let result = (|| {
            let resend_count = attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt(operation, build, classify, resend_count)
        })
        .retry(backoff)
        .when(ProviderError::is_transient)
        .notify(|error, delay| {
            tracing::debug!(system = self.system, operation, error = %redact::scrub(&error.to_string()), ?delay, "retrying provider call");
        })
        .await;
        self.breaker
            .record(matches!(&result, Err(error) if error.is_transient()));
        result
    }

    async fn attempt<B, C>(
        &self,
        operation: &'static str,
        build: &B,
        classify: &C,
        resend_count: u32,
    ) -> Result<RawResponse, ProviderError>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        C: Fn(RawResponse) -> Result<RawResponse, ProviderError>,
    {
        let started = Instant::now();
        let outcome = async {
            let mut request = build(&self.http)
                .build()
                .map_err(|error| self.transport_error(error))?;
            self.propagate(&mut request, resend_count);
            let response = self
                .http
                .execute(request)
                .await
                .map_err(|error| self.transport_error(error))?;
            let status = response.status();
            telemetry::set_attributes(&tracing::Span::current(), || {
                [KeyValue::new(
                    "http.response.status_code",
                    i64::from(status.as_u16()),
                )]
            });
            let headers = response.headers().clone();
            let body = self.read_body(response).await?;
            classify(RawResponse {
                status,
                headers,
                body,
            })
        }
        .await;
        metrics::histogram!("provider_request_duration_seconds", "system" => self.system, "operation" => operation)
            .record(started.elapsed().as_secs_f64());
        let kind = match &outcome {
            Ok(_) => "ok",
            Err(error) => error.kind(),
        };
        metrics::counter!("provider_requests_total", "system" => self.system, "operation" => operation, "outcome" => kind)
            .increment(1);
        outcome
    }

    /// The request id and, with traces on, the W3C trace context of the provider call's span (the current
    /// one), so the provider's side of the call joins our trace; plus the call's HTTP attributes.
    fn propagate(&self, request: &mut reqwest::Request, resend_count: u32) {
        if let Some(request_id) = request_context::current_request_id()
            && let Ok(value) = HeaderValue::from_str(&request_id)
        {
            let headers = request.headers_mut();
            headers.insert("x-request-id", value.clone());
            headers.insert("x-correlation-id", value);
        }
        let Some(trace) = TraceContext::current() else {
            return;
        };
        let headers = request.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&trace.traceparent) {
            headers.insert(telemetry::TRACEPARENT, value);
        }
        match trace.tracestate.as_deref().map(HeaderValue::from_str) {
            Some(Ok(value)) => {
                headers.insert(telemetry::TRACESTATE, value);
            }
            // Whatever `build` set is not this call's context.
            _ => {
                headers.remove(telemetry::TRACESTATE);
            }
        }
        let url = request.url();
        let mut attributes = vec![
            KeyValue::new("http.request.method", request.method().as_str().to_owned()),
            KeyValue::new("url.scheme", url.scheme().to_owned()),
        ];
        // Never the path or query: a SOQL lookup by e-mail or a phone number would end up in the trace.
        if let Some(host) = url.host_str() {
            attributes.push(KeyValue::new("server.address", host.to_owned()));
        }
        if let Some(port) = url.port_or_known_default() {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
        if resend_count > 0 {
            attributes.push(KeyValue::new(
                "http.request.resend_count",
                i64::from(resend_count),
            ));
        }
        telemetry::set_attributes(&tracing::Span::current(), || attributes);
    }

    /// Reads the answer chunk by chunk, refusing it as soon as it outgrows the limit (a `Content-Length`
    /// over the limit is refused before reading): an oversized answer is never what we asked for, so it is a
    /// malformed payload, not worth a retry.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Bytes, ProviderError> {
        let limit = self.max_response_bytes;
        let too_large = || {
            ProviderError::malformed(
                self.system,
                format!("the answer is larger than {limit} bytes"),
            )
        };
        let announced = response.content_length().unwrap_or(0);
        if usize::try_from(announced).map_or(true, |announced| announced > limit) {
            return Err(too_large());
        }
        // The announcement is the provider's word: reserve at most a little up front.
        let reserve = usize::try_from(announced).map_or(0, |announced| announced.min(1 << 20));
        let mut body = bytes::BytesMut::with_capacity(reserve);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.transport_error(error))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn transport_error(&self, error: reqwest::Error) -> ProviderError {
        let reason = if error.is_timeout() {
            "timed out".to_owned()
        } else if error.is_connect() {
            "connection failed".to_owned()
        } else if error.is_body() || error.is_decode() {
            // A body cut short mid-transfer: the connection failed, the next attempt may not.
            "incomplete response body".to_owned()
        } else {
            // reqwest names the URL, whose query string may hold personal data (a SOQL lookup by e-mail):
            // keep the error and its causes, never the URL.
            let error = error.without_url();
            let mut reason = format!("transport error: {error}");
            let mut cause = std::error::Error::source(&error);
            while let Some(inner) = cause {
                reason.push_str(": ");
                reason.push_str(&inner.to_string());
                cause = inner.source();
            }
            redact::scrub(&reason)
        };
        ProviderError::Unavailable {
            system: self.system,
            reason,
        }
    }
}
