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
