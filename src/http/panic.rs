//! The last-resort layer: a handler panic becomes the standard 500 problem (with the request id) instead of
//! a dropped connection, and is counted in `http_panics_total`. A panic is still a bug; this only keeps the
//! client's answer well-formed while the log and the counter say something is wrong.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use actix_web::Error;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use futures::FutureExt;

use crate::errors::ApiError;
use crate::telemetry::redact;

/// Runs the rest of the chain under `catch_unwind`. Mounted inside `observe`, so the 500 still carries the
/// request id header and is counted in the http metrics.
pub async fn catch_panic<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    // No clone of the request is kept: routing into scopes needs the request's only reference (a clone makes
    // actix's `match_info_mut` panic). The failure goes back as an error, rendered by `observe` and actix.
    // The call itself sits inside the future, so a panic while building the handler's future is caught too.
    let outcome = AssertUnwindSafe(async move { next.call(req).await })
        .catch_unwind()
        .await;
    match outcome {
        Ok(result) => result.map(ServiceResponse::map_into_boxed_body),
        Err(payload) => {
            tracing::error!(
                route = %route,
                panic = %redact::scrub(panic_message(payload.as_ref())),
                "handler panicked"
            );
            crate::observability::record_http_panic(&route);
            let mut error = ApiError::internal(anyhow::anyhow!("handler panicked"));
            if let Some(context) = super::request_context::current() {
                error = error.in_context(context);
            }
            Err(error.into())
        }
    }
}

/// The panic's message when it is a string (what `panic!` with a format produces); nothing else is logged.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use actix_web::http::{StatusCode, header};
    use actix_web::middleware::from_fn;
    use actix_web::test as actix_test;
    use actix_web::{App, web};
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::catch_panic;

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[test]
    fn a_handler_panic_becomes_a_counted_500_problem() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            actix_web::rt::System::new().block_on(async {
                let app = actix_test::init_service(
                    App::new()
                        .wrap(from_fn(catch_panic))
                        .route("/boom", web::get().to(boom)),
                )
                .await;
                // The guard answers with an error, which the server (here: the test) renders.
                let response = match actix_test::try_call_service(
                    &app,
                    actix_test::TestRequest::get().uri("/boom").to_request(),
                )
                .await
                {
                    Ok(response) => response.into_parts().1,
                    Err(error) => error.error_response(),
                };
                assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
                assert_eq!(
                    response
                        .headers()
                        .get(header::CONTENT_TYPE)
                        .map(|v| v.as_bytes()),
                    Some(&b"application/problem+json"[..])
                );
                let body = actix_web::body::to_bytes(response.into_body())
                    .await
                    .expect("body");
                let problem: serde_json::Value =
                    serde_json::from_slice(&body).expect("problem json");
                assert_eq!(problem["status"], 500);
            });
        });
        let rendered = handle.render();
        assert!(
            rendered.contains(r#"http_panics_total{route="/boom"} 1"#),
            "{rendered}"
        );
    }
}
