use serde_json::Value;

use concierge::config::Environment;

use crate::helpers::{TestOptions, spawn_app, spawn_app_with};

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

    for path in ["/health/live", "/health/ready", "/problems/{slug}"] {
        assert!(json["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(
        json["paths"].get("/metrics").is_none(),
        "/metrics is on its own listener, not part of the API"
    );
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

/// The name each `ToSchema` type in `src/` (outside the sandbox, which has its own document) is documented
/// under: `#[schema(as = …)]` if given, else the type's name. Read from the source, so a type counts even
/// before it is registered in an `ApiDoc` (utoipa also collects schemas a path refers to).
fn schema_names_in_source() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("sandbox") {
                    walk(&path, files);
                }
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let derives_schema = trimmed.starts_with("#[derive(")
                && trimmed
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|word| word == "ToSchema");
            if !derives_schema {
                continue;
            }
            // The attributes up to the item: an `as = …` override, then `struct Name` / `enum Name`.
            let mut rename = None;
            for item in &lines[index..] {
                let item = item.trim_start();
                if let Some(at) = item.find("schema(as = ").filter(|_| item.starts_with("#[")) {
                    let path: String = item[at + "schema(as = ".len()..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    rename = Some(path.replace("::", "."));
                }
                if item.starts_with("#[") || item.starts_with("//") {
                    continue;
                }
                let words: Vec<&str> = item.split_whitespace().collect();
                if let Some(at) = words.iter().position(|w| *w == "struct" || *w == "enum") {
                    let ident: String = words
                        .get(at + 1)
                        .unwrap_or(&"")
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    // A type a macro declares (`struct $name`) has no name to read here.
                    if ident.is_empty() {
                        break;
                    }
                    let location =
                        format!("{}::{ident}", file.strip_prefix(root).unwrap().display());
                    found.push((rename.unwrap_or(ident), location));
                    break;
                }
            }
        }
    }
    found
}

#[test]
fn no_two_schema_types_share_a_name() {
    let names = schema_names_in_source();
    assert!(
        names.len() > 50 && names.iter().any(|(name, _)| name == "Problem"),
        "the scan finds the schema types: {names:?}"
    );

    let mut by_name: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (name, location) in &names {
        by_name.entry(name).or_default().push(location);
    }
    let collisions: Vec<_> = by_name
        .into_iter()
        .filter(|(_, types)| types.len() > 1)
        .collect();
    assert!(
        collisions.is_empty(),
        "utoipa keeps one schema per name and silently drops the others; rename one type or give it \
         #[schema(as = …)]: {collisions:#?}"
    );
}

#[test]
fn every_part_of_the_document_keeps_its_own_components() {
    let whole = serde_json::to_value(concierge::openapi::document()).unwrap();

    let mut differing = Vec::new();
    for (part, document) in concierge::openapi::parts() {
        let part_json = serde_json::to_value(&document).unwrap();
        for kind in ["schemas", "responses"] {
            let Some(components) = part_json["components"][kind].as_object() else {
                continue;
            };
            for (name, component) in components {
                if whole["components"][kind][name] != *component {
                    differing.push(format!(
                        "{part}: {kind}/{name} is {component}, the document has {}",
                        whole["components"][kind][name]
                    ));
                }
            }
        }
    }
    assert!(differing.is_empty(), "{differing:#?}");
}

#[test]
fn every_reference_in_the_document_resolves() {
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let document = serde_json::to_value(concierge::openapi::document()).unwrap();
    let mut found = Vec::new();
    refs(&document, &mut found);

    assert!(found.contains(&"#/components/responses/Unauthorized"));
    let dangling: Vec<_> = found
        .into_iter()
        .filter(|target| {
            let pointer = target.strip_prefix('#').unwrap_or(target);
            document.pointer(pointer).is_none()
        })
        .collect();
    assert!(dangling.is_empty(), "{dangling:?}");
}

async fn swagger_initializer(environment: Option<Environment>) -> String {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(move |settings| {
            if let Some(environment) = environment {
                settings.environment = environment;
            }
        }),
        ..Default::default()
    })
    .await;
    let response = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Swagger UI's config as the initializer embeds it, without whitespace.
fn compact(initializer: &str) -> String {
    initializer.split_whitespace().collect()
}

#[tokio::test]
async fn the_docs_page_offers_try_it_out_outside_production() {
    let initializer = compact(&swagger_initializer(None).await);

    assert!(
        initializer.contains(r#""tryItOutEnabled":true"#),
        "{initializer}"
    );
    assert!(
        initializer.contains(r#""supportedSubmitMethods":["get","#),
        "{initializer}"
    );
}

#[tokio::test]
async fn the_docs_page_has_no_try_it_out_in_production() {
    let initializer = compact(&swagger_initializer(Some(Environment::Production)).await);

    assert!(
        initializer.contains(r#""tryItOutEnabled":false"#),
        "{initializer}"
    );
    assert!(
        initializer.contains(r#""supportedSubmitMethods":[]"#),
        "no method may be sent from the page: {initializer}"
    );
}

/// Generated clients name each operation by its id: two operations with one id make the portal's client
/// fail to compile (`Duplicate identifier 'get_product'` once the clienteling catalogue arrived).
#[test]
fn no_two_operations_share_an_id() {
    let document = committed_document();
    let mut seen = std::collections::HashMap::new();
    let mut duplicates = Vec::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            if let Some(first) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                duplicates.push(format!("{id}: {first} and {method} {path}"));
            }
        }
    }
    assert!(duplicates.is_empty(), "{duplicates:#?}");
}
