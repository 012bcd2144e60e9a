use std::time::{Duration, Instant};

use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, ResponseError, web};
use opentelemetry::KeyValue;
use tracing::Instrument;

use super::request_context::{self, RequestContext};
use crate::errors::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::telemetry::{self, TraceContext};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The outermost middleware: assigns the request id, opens the request span, bounds the handler's time,
/// and records the request's metrics by route template once the response is known.
pub async fn observe<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
    timeout: Duration,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let method = known_method(req.method()).to_owned();
    // Matched against the route table up front: a timed-out request is gone by the time we learn of it.
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let probe = route.starts_with("/health");
    let span = if probe {
        // Probes arrive every few seconds from every orchestrator: logged, never a trace of their own.
        tracing::info_span!(
            "http_request",
            request_id = %request_id,
            method = %method,
            route = %route,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
    } else {
        tracing::info_span!(
            "http_request",
            otel.kind = "server",
            otel.name = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            method = %method,
            route = %route,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
    };
    if telemetry::enabled() && !probe {
        trace_server_span(&req, &span, &method, &route);
    }
    let context = RequestContext {
        request_id: request_id.clone(),
        path: req.path().to_owned(),
    };

    let outcome = request_context::scope(
        context.clone(),
        tokio::time::timeout(timeout, next.call(req)).instrument(span.clone()),
    )
    .await;
    let result = match outcome {
        Ok(result) => result.map(ServiceResponse::map_into_boxed_body),
        Err(_elapsed) => Err(ApiError::new(ErrorCode::RequestTimeout)
            .in_context(context.clone())
            .into()),
    };

    let status = match &result {
        Ok(response) => response.status().as_u16(),
        Err(error) => error.as_response_error().status_code().as_u16(),
    };
    let elapsed = started.elapsed();
    crate::observability::record_http_request(&method, &route, status, elapsed);
    span.record("status", status);
    span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
    if telemetry::enabled() && !probe {
        // Semantic conventions: a server span is an error for 5xx only; 4xx are the client's.
        if status >= 500 {
            span.record("otel.status_code", "error");
        }
        telemetry::set_attributes(&span, || {
            [KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            )]
        });
    }
    span.in_scope(|| {
        if route.starts_with("/health") || route == "/metrics" {
            tracing::debug!("request completed");
        } else if status >= 500 {
            tracing::error!("request failed");
        } else {
            tracing::info!("request completed");
        }
    });

    let mut response = as_problem_if_bare(result?, context);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}

/// The request span as OpenTelemetry's HTTP server span. It continues the caller's trace only when the
/// caller is one of `server.trusted_proxies` (the portal's server, our load balancer): anyone else could
/// otherwise graft requests onto a trace of their choosing, or turn sampling off for their own (W3C Trace
/// Context, "restart the trace" for untrusted callers).
fn trace_server_span(req: &ServiceRequest, span: &tracing::Span, method: &str, route: &str) {
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.settings.server.trusted_proxies.as_slice())
        .unwrap_or_default();
    let peer_trusted = req.peer_addr().is_some_and(|peer| {
        trusted
            .iter()
            .any(|cidr| cidr.contains(peer.ip().to_canonical()))
    });
    if peer_trusted {
        // Two `traceparent`s make neither valid (W3C); a `tracestate` split over several lines is dropped.
        let header = |name: &str| {
            let mut values = req.headers().get_all(name);
            match (values.next(), values.next()) {
                (Some(value), None) => value.to_str().ok(),
                _ => None,
            }
        };
        if let Some(parent) = header(telemetry::TRACEPARENT)
            .and_then(|traceparent| TraceContext::parse(traceparent, header(telemetry::TRACESTATE)))
        {
            parent.adopt(span);
        }
    }
    span.record("otel.name", format!("{method} {route}"));
    let scheme = req.connection_info().scheme().to_owned();
    let version = match req.version() {
        actix_web::http::Version::HTTP_10 => "1.0",
        actix_web::http::Version::HTTP_2 => "2",
        actix_web::http::Version::HTTP_3 => "3",
        _ => "1.1",
    };
    telemetry::set_attributes(span, || {
        [
            KeyValue::new("http.request.method", method.to_owned()),
            // The route template, never the path: a CRM identifier is addressed by its value
            // (`…/identifiers/email/jane@example.com`), so a path can be personal data, as the provider calls'
            // paths and queries are.
            KeyValue::new("http.route", route.to_owned()),
            KeyValue::new("url.scheme", scheme),
            KeyValue::new("network.protocol.version", version),
        ]
    });
}

/// Error statuses that reach us without a body (a resource's 405, a bare 404 from a library service) are
/// turned into problem documents, so clients see one error format whatever produced the error.
fn as_problem_if_bare(
    response: ServiceResponse<BoxBody>,
    context: RequestContext,
) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let bare = (status.is_client_error() || status.is_server_error())
        && !response.headers().contains_key(header::CONTENT_TYPE);
    if !bare {
        return response;
    }
    let mut problem = ApiError::new(ErrorCode::for_status(status))
        .in_context(context)
        .error_response();
    *problem.status_mut() = status;
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = response.headers().get(&name).cloned() {
            problem.headers_mut().insert(name, value);
        }
    }
    response.into_response(problem)
}

/// The request's method as metrics and traces label it: HTTP lets a client invent methods, and each would be a
/// series of its own (an anonymous caller could grow the registry without bound), so the others are `_OTHER`,
/// as OpenTelemetry's HTTP conventions name them.
fn known_method(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}

/// A caller-supplied id is kept only when it is short and plain, so it cannot smuggle anything into logs.
fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?.trim();
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    (plain && !value.is_empty() && value.len() <= 128).then(|| value.to_owned())
}

/// Headers every API response carries. `/docs` sets its own CSP first so its scripts can load.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .add((
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
        .add((
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// The docs page only loads what the binary itself serves.
pub fn docs_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
        ))
        .add((header::CACHE_CONTROL, "public, max-age=300"))
}

/// Only the configured portal origins may call the API from a browser, with credentials (the refresh cookie).
/// `context_headers` are response headers contexts define that the portal must be able to read.
pub fn cors(allowed_origins: &[String], context_headers: &[&'static str]) -> Cors {
    let cors = allowed_origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin));
    cors.supports_credentials()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static(REQUEST_ID_HEADER),
        ])
        .expose_headers(
            [
                HeaderName::from_static(REQUEST_ID_HEADER),
                header::RETRY_AFTER,
                header::LOCATION,
            ]
            .into_iter()
            .chain(context_headers.iter().copied().map(HeaderName::from_static)),
        )
        .max_age(600)
}
