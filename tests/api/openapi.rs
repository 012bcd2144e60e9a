use serde_json::Value;

use crate::helpers::spawn_app;

fn committed_document() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    let text = std::fs::read_to_string(&path).expect("docs/openapi.json is committed");
    serde_json::from_str(&text).expect("docs/openapi.json is JSON")
}

#[tokio::test]
async fn the_served_openapi_document_equals_the_committed_copy() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/openapi.json").await;

    assert_eq!(response.status(), 200);
    let served: Value = response.json().await.unwrap();
    assert!(
        served["openapi"].as_str().unwrap().starts_with("3."),
        "OpenAPI 3.x"
    );
    assert_eq!(
        served,
        committed_document(),
        "docs/openapi.json is stale: regenerate it with `cargo run -- openapi > docs/openapi.json`"
    );
}

#[tokio::test]
async fn the_document_describes_the_problem_format_and_operational_routes() {
    let document = concierge::openapi::document();
    let json = serde_json::to_value(&document).unwrap();

    for path in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/problems/{slug}",
    ] {
        assert!(json["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(json["components"]["schemas"].get("Problem").is_some());
}

#[tokio::test]
async fn the_docs_page_loads_nothing_from_other_origins() {
    let app = spawn_app().await;

    let redirect = app.get("/docs").await;
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers()["location"], "/docs/");

    let page = app.get("/docs/").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    for attribute in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(
            !html.contains(attribute),
            "the docs page references an external URL: {attribute}"
        );
    }

    let initializer = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains("/api/v1/openapi.json"),
        "{initializer}"
    );
    assert!(!initializer.contains("https://"), "{initializer}");
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-ui-standalone-preset.js",
    ] {
        assert_eq!(
            app.get(&format!("/docs/{asset}")).await.status(),
            200,
            "{asset}"
        );
    }
    assert_eq!(app.get("/docs/missing.js").await.status(), 404);
}
