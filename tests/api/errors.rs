//! Every framework error comes out as the same problem document, through the app's real configuration.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use concierge::errors::{ApiError, ErrorCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestOptions, problem, spawn_app_with};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Order {
    #[allow(dead_code)]
    quantity: u32,
    #[allow(dead_code)]
    kind: Kind,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Physical,
    Esim,
}

#[derive(Debug, Deserialize)]
struct Paging {
    #[allow(dead_code)]
    limit: u16,
}

async fn accept_json(body: web::Json<Order>) -> HttpResponse {
    let _ = matches!(body.kind, Kind::Physical | Kind::Esim);
    HttpResponse::Created().finish()
}

async fn item(id: web::Path<uuid::Uuid>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "id": *id }))
}

async fn list(query: web::Query<Paging>) -> HttpResponse {
    let _ = query.limit;
    HttpResponse::Ok().finish()
}

async fn slow() -> HttpResponse {
    tokio::time::sleep(Duration::from_secs(5)).await;
    HttpResponse::Ok().finish()
}

async fn broken() -> Result<HttpResponse, ApiError> {
    Err(ApiError::internal(anyhow::anyhow!(
        "password=hunter2 at db-primary.internal:5432"
    )))
}

pub fn probe_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/probe/orders", web::post().to(accept_json))
        .route("/probe/items/{id}", web::get().to(item))
        .route("/probe/items", web::get().to(list))
        .route("/probe/slow", web::get().to(slow))
        .route("/probe/broken", web::get().to(broken));
}

async fn probe_app() -> TestApp {
    spawn_app_with(TestOptions {
        configure: Box::new(|settings| {
            settings.server.body_limit_bytes = 1024;
            settings.server.request_timeout_ms = 300;
        }),
        routes: Box::new(probe_routes),
        ..Default::default()
    })
    .await
}

fn assert_problem_shape(body: &Value, status: u16, code: &str) {
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], format!("/problems/{code}"), "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["request_id"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn a_valid_request_passes_the_probe() {
    let app = probe_app().await;
    let response = app
        .post_raw(
            "/probe/orders",
            "application/json",
            r#"{"quantity":1,"kind":"esim"}"#,
        )
        .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = probe_app().await;

    let response = app
        .post_raw("/probe/orders", "application/json", r#"{"quantity": 1,"#)
        .await;

    assert_eq!(response.status(), 400);
    let body = problem(response).await;
    assert_problem_shape(&body, 400, "malformed-json");
    assert_eq!(body["instance"], "/probe/orders");
}

#[tokio::test]
async fn invalid_utf8_is_a_400_problem() {
    let app = probe_app().await;

    let response = app
        .post_raw(
            "/probe/orders",
            "application/json",
            vec![b'{', 0xff, 0xfe, b'}'],
        )
        .await;

    assert_eq!(response.status(), 400);
    assert_problem_shape(&problem(response).await, 400, "malformed-json");
}

#[tokio::test]
async fn wrong_types_unknown_fields_and_unknown_enum_values_are_422_problems() {
    let app = probe_app().await;
    for body in [
        r#"{"quantity":"one","kind":"esim"}"#,
        r#"{"quantity":1,"kind":"hologram"}"#,
        r#"{"quantity":1,"kind":"esim","admin":true}"#,
        r#"{"kind":"esim"}"#,
        r#"{"quantity":-1,"kind":"esim"}"#,
    ] {
        let response = app
            .post_raw("/probe/orders", "application/json", body)
            .await;
        assert_eq!(response.status(), 422, "{body}");
        assert_problem_shape(&problem(response).await, 422, "validation-failed");
    }
}

#[tokio::test]
async fn a_wrong_content_type_is_a_415_problem() {
    let app = probe_app().await;

    let response = app
        .post_raw(
            "/probe/orders",
            "text/plain",
            r#"{"quantity":1,"kind":"esim"}"#,
        )
        .await;

    assert_eq!(response.status(), 415);
    assert_problem_shape(&problem(response).await, 415, "unsupported-media-type");
}

#[tokio::test]
async fn an_oversized_body_is_a_413_problem() {
    let app = probe_app().await;
    let padding = "x".repeat(4096);

    let response = app
        .post_raw(
            "/probe/orders",
            "application/json",
            format!(r#"{{"quantity":1,"kind":"esim","p":"{padding}"}}"#),
        )
        .await;

    assert_eq!(response.status(), 413);
    assert_problem_shape(&problem(response).await, 413, "payload-too-large");
}

#[tokio::test]
async fn a_bad_path_parameter_is_a_400_problem() {
    let app = probe_app().await;

    let response = app.get("/probe/items/not-a-uuid").await;

    assert_eq!(response.status(), 400);
    assert_problem_shape(&problem(response).await, 400, "invalid-path-parameter");
}

#[tokio::test]
async fn a_bad_query_parameter_is_a_400_problem() {
    let app = probe_app().await;

    for query in ["?limit=many", "?limit=70000", ""] {
        let response = app.get(&format!("/probe/items{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_problem_shape(&problem(response).await, 400, "invalid-query-parameter");
    }
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = probe_app().await;

    let response = app.get("/api/v1/nothing-here").await;

    assert_eq!(response.status(), 404);
    assert_problem_shape(&problem(response).await, 404, "not-found");
}

#[tokio::test]
async fn a_slow_handler_is_cut_off_with_a_504_problem() {
    let app = probe_app().await;

    let response = app.get("/probe/slow").await;

    assert_eq!(response.status(), 504);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = problem(response).await;
    assert_problem_shape(&body, 504, "request-timeout");
    assert_eq!(body["request_id"], request_id);
}

#[tokio::test]
async fn an_internal_error_is_a_bare_500_that_leaks_nothing() {
    let app = probe_app().await;

    let response = app.get("/probe/broken").await;

    assert_eq!(response.status(), 500);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("db-primary"),
        "{text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_problem_shape(&body, 500, "internal");
    assert!(body.get("detail").is_none(), "{body}");
}

#[tokio::test]
async fn the_request_id_is_taken_from_the_caller_when_plain_and_generated_otherwise() {
    let app = probe_app().await;

    let given = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "portal-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "portal-abc-123");

    let hostile = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "abc\" injected=\"1")
        .send()
        .await
        .unwrap();
    let generated = hostile.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");
}

#[tokio::test]
async fn problem_types_are_described_at_their_uri() {
    let app = probe_app().await;

    let response = app.get("/problems/payload-too-large").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], 413);

    let unknown = app.get("/problems/no-such-thing").await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn every_registered_code_is_described_at_its_problem_uri() {
    let app = probe_app().await;

    for code in ErrorCode::ALL {
        let spec = code.spec();
        let response = app.get(&format!("/problems/{}", spec.slug)).await;

        assert_eq!(response.status(), 200, "{}", spec.slug);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], code.type_uri(), "{body}");
        assert_eq!(body["type"], format!("/problems/{}", spec.slug), "{body}");
        assert_eq!(body["code"], spec.slug, "{body}");
        assert_eq!(body["status"], spec.status.as_u16(), "{body}");
        assert_eq!(body["title"], spec.title, "{body}");
    }
}

#[test]
fn every_code_serializes_as_its_registry_slug() {
    for code in ErrorCode::ALL {
        assert_eq!(
            serde_json::to_value(code).unwrap(),
            Value::from(code.spec().slug),
            "{code:?}"
        );
        assert_eq!(ErrorCode::from_slug(code.spec().slug), Some(code));
    }
}

#[test]
fn a_problem_names_its_code_by_the_registry_slug() {
    for code in ErrorCode::ALL {
        let problem = serde_json::to_value(ApiError::new(code).problem()).unwrap();
        assert_eq!(problem["code"], code.spec().slug, "{problem}");
        assert_eq!(problem["type"], code.type_uri(), "{problem}");
    }
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = probe_app().await;

    let response = app.get("/health/live").await;

    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(headers.contains_key("strict-transport-security"));
    assert_eq!(headers["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn cors_admits_only_the_configured_portal_origin_with_credentials() {
    let app = probe_app().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/openapi.json"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };

    let allowed = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );

    let denied = preflight("https://evil.example").await.unwrap();
    assert!(!denied.headers().contains_key("access-control-allow-origin"));
}

#[test]
fn logged_error_chains_are_scrubbed_of_secrets() {
    let scrubbed = concierge::telemetry::redact::scrub(
        "password=hunter2 at db-primary.internal:5432 for jane@example.com",
    );
    assert!(
        !scrubbed.contains("hunter2") && !scrubbed.contains("jane@"),
        "{scrubbed}"
    );
}

#[tokio::test]
async fn a_known_path_with_the_wrong_method_is_a_405_problem() {
    let app = probe_app().await;

    let response = app.post_raw("/health/live", "application/json", "{}").await;

    assert_eq!(response.status(), 405);
    assert_problem_shape(&problem(response).await, 405, "method-not-allowed");
}
