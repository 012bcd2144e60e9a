//! The contract checked from the OpenAPI document itself: every path with an id is swept with intruders'
//! tokens (ownership), and every path answers the methods it does not document with 405 and `Allow`.
//! Both walk `concierge::openapi::document()`, so a new endpoint is covered without a new test.

mod fixtures;
mod methods;
mod ownership;

use serde_json::Value;

/// `(path template, method, operation)` for every operation of the document, methods upper case.
fn operations() -> Vec<(String, String, Value)> {
    let document = serde_json::to_value(concierge::openapi::document()).expect("document as JSON");
    let mut operations = Vec::new();
    for (template, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if HTTP_METHODS.contains(&method.as_str()) {
                operations.push((template.clone(), method.to_uppercase(), operation.clone()));
            }
        }
    }
    operations
}

const HTTP_METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The `{name}` parameters of a template with the collection each follows (`/orders/{id}` → `(orders, id)`).
fn path_parameters(template: &str) -> Vec<(String, String)> {
    let segments: Vec<&str> = template.split('/').collect();
    segments
        .iter()
        .enumerate()
        .filter_map(|(index, segment)| {
            let name = segment.strip_prefix('{')?.strip_suffix('}')?;
            let collection = index
                .checked_sub(1)
                .map(|i| segments[i])
                .unwrap_or_default();
            Some((collection.to_owned(), name.to_owned()))
        })
        .collect()
}

fn documents_status(operation: &Value, status: u16) -> bool {
    operation["responses"].get(status.to_string()).is_some()
}

/// What the shared extractors answer is in every operation's responses, whichever context wrote it.
#[test]
fn every_operation_documents_what_the_shared_plumbing_answers() {
    let mut missing = Vec::new();
    for (template, method, operation) in operations() {
        let secured = operation["security"]
            .as_array()
            .is_some_and(|requirements| !requirements.is_empty());
        let mut expected = Vec::new();
        if secured {
            expected.push(401);
            if !template.starts_with("/api/v1/auth/") {
                expected.push(403);
            }
        }
        let json_body = operation["requestBody"]["content"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(media, _)| media == "application/json" || media.ends_with("+json"));
        if json_body {
            expected.extend([400, 413, 415, 422]);
        }
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            match (parameter["in"].as_str(), parameter["name"].as_str()) {
                (Some("query"), Some("limit")) => expected.extend([400, 422]),
                (Some("query"), Some("cursor")) => {
                    expected.push(400);
                    if parameter["schema"]["pattern"].as_str().is_none() {
                        missing.push(format!("{method} {template}: `cursor` has no pattern"));
                    }
                }
                (Some("query"), _) => expected.push(400),
                (Some("header"), Some("Idempotency-Key")) => {
                    let schema = &parameter["schema"];
                    if schema["minLength"] != 1
                        || schema["maxLength"] != 255
                        || schema["pattern"].is_null()
                    {
                        missing.push(format!(
                            "{method} {template}: Idempotency-Key rules missing: {schema}"
                        ));
                    }
                }
                _ => {}
            }
        }
        for status in expected {
            if !documents_status(&operation, status) {
                missing.push(format!("{method} {template}: no {status}"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// A body in another JSON media type (`PATCH …/crm/profiles/{id}` takes `application/merge-patch+json`)
/// goes through the same body limit: what it answers for an oversized body is documented too.
#[tokio::test]
async fn an_oversized_merge_patch_answers_a_documented_413() {
    let app = crate::helpers::spawn_app().await;
    crate::helpers::demo_brands(&app).await;
    let marketer =
        crate::helpers::marketer_token(&app, "mkt.contract@maison.example", "maison").await;
    let template = "/api/v1/brands/{brand}/crm/profiles/{id}";
    let limit = app.state.settings.server.body_limit_bytes;
    let response = app
        .client
        .patch(app.url(&format!(
            "/api/v1/brands/maison/crm/profiles/{}",
            uuid::Uuid::now_v7()
        )))
        .bearer_auth(&marketer)
        .header("content-type", "application/merge-patch+json")
        .body(format!(
            "{{\"attributes\":{{\"note\":\"{}\"}}}}",
            "x".repeat(limit + 1)
        ))
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status(), 413);
    let (_, _, operation) = operations()
        .into_iter()
        .find(|(path, method, _)| path == template && method == "PATCH")
        .expect("the PATCH operation");
    assert!(
        documents_status(&operation, 413),
        "PATCH {template} answers 413 but documents {:?}",
        operation["responses"]
            .as_object()
            .map(|responses| responses.keys().collect::<Vec<_>>())
    );
}
