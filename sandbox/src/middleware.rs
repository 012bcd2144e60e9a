use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};
use serde_json::json;

use super::{Fault, Phase, RecordedRequest, SandboxState, System};

fn system_of(path: &str) -> Option<System> {
    if path.starts_with("/services/") || path.starts_with("/cometd/") {
        Some(System::Salesforce)
    } else if path.starts_with("/includes/") {
        Some(System::Whmcs)
    } else if path.starts_with("/emptool/") {
        Some(System::Freebit)
    } else if path.starts_with("/messaging/") {
        Some(System::Messaging)
    } else if path.starts_with("/facebook/") {
        Some(System::Facebook)
    } else if path.starts_with("/instagram/") {
        Some(System::Instagram)
    } else if path.starts_with("/x/") {
        Some(System::X)
    } else {
        None
    }
}

/// Records every provider request and applies the matching fault, if any.
pub async fn faults_and_log(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(system) = system_of(req.path()) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let mut operation = match req.query_string() {
        "" => req.path().to_owned(),
        query => format!("{}?{query}", req.path()),
    };
    if system == System::Whmcs {
        // Every WHMCS call posts to the same path: the action in the form body is what tells them apart.
        let body = req.extract::<web::Bytes>().await?;
        if let Some(action) = form_value(&body, "action") {
            operation = format!("{operation} {action}");
        }
        req.set_payload(actix_web::dev::Payload::from(body));
    }
    let Some(state) = req.app_data::<web::Data<SandboxState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    state.log.record(RecordedRequest {
        system,
        method: req.method().to_string(),
        path: req.path().to_owned(),
        operation: operation.clone(),
        traceparent: header(&req, "traceparent"),
        tracestate: header(&req, "tracestate"),
    });

    let Some(fault) = state.faults.take(system, &operation) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    if let Some(latency) = fault.latency_ms {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if !fault.fails() {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    if fault.phase == Phase::Before && !fault.truncated {
        let (http_req, _) = req.into_parts();
        let response = fault_response(system, &fault).await;
        return Ok(ServiceResponse::new(http_req, response));
    }
    let handled = next.call(req).await?;
    if fault.truncated {
        let (http_req, response) = handled.into_parts();
        let status = response.status();
        let content_type = response.headers().get("content-type").cloned();
        let body = to_bytes(response.into_body()).await.unwrap_or_default();
        let mut cut = HttpResponse::build(status);
        if let Some(content_type) = content_type {
            cut.insert_header(("content-type", content_type));
        }
        return Ok(ServiceResponse::new(
            http_req,
            cut.body(body.slice(..body.len() / 2)),
        ));
    }
    let (http_req, _) = handled.into_parts();
    Ok(ServiceResponse::new(
        http_req,
        fault_response(system, &fault).await,
    ))
}

fn header(req: &ServiceRequest, name: &str) -> Option<String> {
    let value = req.headers().get(name)?;
    Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
}

fn form_value(body: &[u8], key: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find_map(|(k, v)| (k == key).then_some(v))
}

async fn fault_response(system: System, fault: &Fault) -> HttpResponse {
    if fault.hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if let Some(body) = &fault.body {
        return HttpResponse::Ok().json(body);
    }
    if fault.malformed {
        return HttpResponse::Ok()
            .content_type("application/json")
            .body(r#"{"result": "succ"#);
    }
    let code = fault.error_code.as_deref();
    match system {
        System::Salesforce => {
            let code = code.unwrap_or("UNKNOWN_EXCEPTION");
            let status = fault.status.unwrap_or(match code {
                "INVALID_SESSION_ID" => 401,
                "REQUEST_LIMIT_EXCEEDED" => 403,
                "NOT_FOUND" => 404,
                "MALFORMED_QUERY" | "INVALID_FIELD" => 400,
                _ => 500,
            });
            status_response(status)
                .json(json!([{ "message": format!("sandbox fault: {code}"), "errorCode": code, "fields": [] }]))
        }
        System::Whmcs => match (fault.status, code) {
            // WHMCS reports business errors with HTTP 200.
            (None | Some(200), Some(code)) => {
                HttpResponse::Ok().json(json!({ "result": "error", "message": code }))
            }
            (status, _) => status_response(status.unwrap_or(500))
                .content_type("text/html")
                .body("<h1>Server Error</h1>"),
        },
        System::Freebit => match (fault.status, code) {
            (None | Some(200), Some(code)) => HttpResponse::Ok().json(
                json!({ "resultCode": code, "status": { "message": "NG", "statusCode": "500" } }),
            ),
            (status, _) => status_response(status.unwrap_or(500))
                .content_type("text/html")
                .body("<h1>Server Error</h1>"),
        },
        System::Messaging => {
            let status = fault.status.unwrap_or(500);
            let mut response = status_response(status);
            if status == 429 {
                response.insert_header(("retry-after", "1"));
            }
            response.json(json!({ "error": { "code": code.unwrap_or("sandbox_fault"), "message": "sandbox fault" } }))
        }
        // The Graph error object; `error_code` is its numeric code (4, 17, 32, 613 are rate limits, 190 a bad
        // token), `status` the HTTP status (400 unless given).
        System::Facebook | System::Instagram => {
            let graph_code = code.and_then(|c| c.parse::<u32>().ok()).unwrap_or(1);
            let status = fault
                .status
                .unwrap_or(if code.is_some() { 400 } else { 500 });
            status_response(status).json(json!({ "error": {
                "message": format!("sandbox fault: {}", code.unwrap_or("unknown")),
                "type": if graph_code == 190 { "OAuthException" } else { "GraphMethodException" },
                "code": graph_code,
                "fbtrace_id": "SbxFault",
            } }))
        }
        System::X => {
            let status = fault.status.unwrap_or(503);
            let mut response = status_response(status);
            if status == 429 {
                // X's own convention: when the window resets, never Retry-After.
                let reset = chrono::Utc::now().timestamp() + 2;
                response.insert_header(("x-rate-limit-reset", reset.to_string()));
                response.insert_header(("x-rate-limit-remaining", "0"));
            }
            response.json(json!({ "title": code.unwrap_or("Service Unavailable"), "detail": "sandbox fault", "type": "about:blank", "status": status }))
        }
    }
}

fn status_response(status: u16) -> actix_web::HttpResponseBuilder {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    )
}
