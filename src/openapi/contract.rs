//! What every operation answers because of the plumbing it goes through rather than its own code: the
//! extractors (authentication and roles, JSON bodies, query strings) and shared headers. Applied to the whole
//! merged document, so an operation a context adds is described the same way without repeating it in its
//! `#[utoipa::path]`. An operation that documents one of these statuses itself keeps its own description.

use utoipa::ToResponse;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, Ref, RefOr};

use crate::errors::responses;
use crate::idempotency;

/// Secured operations under these prefixes admit any signed-in account (they are about the caller's own
/// sign-in): no role is refused there, so they never answer 403. Every other secured operation is for some
/// kinds or roles only (customers, staff, admins, a brand's staff) and refuses the others with 403.
const ANY_SIGNED_IN_ACCOUNT: &[&str] = &["/api/v1/auth/"];

const JSON: &str = "application/json";

pub fn apply(document: &mut OpenApi) {
    register_responses(document);
    for (path, item) in document.paths.paths.iter_mut() {
        for (_, operation) in operations_mut(item) {
            describe(path, operation);
        }
    }
}

/// The methods a path documents, upper case, in a fixed order (the `Allow` header of its 405).
pub fn methods(item: &PathItem) -> Vec<&'static str> {
    [
        ("GET", item.get.is_some()),
        ("HEAD", item.head.is_some()),
        ("POST", item.post.is_some()),
        ("PUT", item.put.is_some()),
        ("PATCH", item.patch.is_some()),
        ("DELETE", item.delete.is_some()),
        ("OPTIONS", item.options.is_some()),
        ("TRACE", item.trace.is_some()),
    ]
    .into_iter()
    .filter_map(|(method, present)| present.then_some(method))
    .collect()
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("GET", item.get.as_mut()),
        ("HEAD", item.head.as_mut()),
        ("POST", item.post.as_mut()),
        ("PUT", item.put.as_mut()),
        ("PATCH", item.patch.as_mut()),
        ("DELETE", item.delete.as_mut()),
        ("OPTIONS", item.options.as_mut()),
        ("TRACE", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
}

fn register_responses(document: &mut OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    for (name, response) in [
        responses::Unauthorized::response(),
        responses::Forbidden::response(),
        responses::MalformedBody::response(),
        responses::PayloadTooLarge::response(),
        responses::UnsupportedMediaType::response(),
        responses::ValidationFailed::response(),
        responses::InvalidQuery::response(),
        responses::InvalidPath::response(),
        responses::LimitOutOfRange::response(),
    ] {
        components
            .responses
            .entry(name.to_owned())
            .or_insert(response);
    }
}

fn describe(path: &str, operation: &mut Operation) {
    if is_secured(operation) {
        // The authentication extractor runs before anything else the operation reads.
        add(operation, 401, "Unauthorized");
        if !ANY_SIGNED_IN_ACCOUNT
            .iter()
            .any(|prefix| path.starts_with(prefix))
        {
            add(operation, 403, "Forbidden");
        }
    }
    if takes_json_body(operation) {
        // `errors::json_config`: malformed JSON, an oversized body, another content type, and well-formed
        // JSON of the wrong shape (a missing field, a wrong type, an unknown field or enum value).
        add(operation, 400, "MalformedBody");
        add(operation, 413, "PayloadTooLarge");
        add(operation, 415, "UnsupportedMediaType");
        add(operation, 422, "ValidationFailed");
    }
    if has_parameter_in(operation, |place| matches!(place, ParameterIn::Query)) {
        // `errors::query_config`: an unknown parameter, or a value of the wrong type.
        add(operation, 400, "InvalidQuery");
    }
    if has_typed_path_parameter(operation) {
        // `errors::path_config`: a malformed number or UUID in the path is a 400, not a 404.
        add(operation, 400, "InvalidPath");
    }
    if has_query_parameter(operation, "limit") {
        // `types::Pagination`: a page size outside 1–100 fails validation.
        add(operation, 422, "LimitOutOfRange");
    }
    constrain_parameters(operation);
}

fn is_secured(operation: &Operation) -> bool {
    operation.security.as_ref().is_some_and(|requirements| {
        // An empty requirement (`{}`) makes authentication optional; every requirement must name a scheme.
        !requirements.is_empty()
            && requirements.iter().all(|requirement| {
                serde_json::to_value(requirement)
                    .ok()
                    .and_then(|value| value.as_object().map(|map| !map.is_empty()))
                    .unwrap_or(false)
            })
    })
}

fn takes_json_body(operation: &Operation) -> bool {
    operation
        .request_body
        .as_ref()
        .is_some_and(|body| match body {
            // `application/merge-patch+json` and its kin go through the same body limit and JSON parser.
            RefOr::T(body) => body
                .content
                .keys()
                .any(|media| media == JSON || media.ends_with("+json")),
            RefOr::Ref(_) => true,
        })
}

fn has_parameter_in(operation: &Operation, place: impl Fn(&ParameterIn) -> bool) -> bool {
    operation
        .parameters
        .iter()
        .flatten()
        .any(|parameter| match parameter {
            RefOr::T(parameter) => place(&parameter.parameter_in),
            RefOr::Ref(_) => false,
        })
}

fn has_typed_path_parameter(operation: &Operation) -> bool {
    operation.parameters.iter().flatten().any(|parameter| {
        let RefOr::T(parameter) = parameter else {
            return false;
        };
        let Some(RefOr::T(Schema::Object(schema))) = &parameter.schema else {
            return false;
        };
        let typed = serde_json::to_value(schema)
            .ok()
            .is_some_and(|schema| schema["type"] == "integer" || schema["format"] == "uuid");
        matches!(parameter.parameter_in, ParameterIn::Path) && typed
    })
}

fn has_query_parameter(operation: &Operation, name: &str) -> bool {
    operation
        .parameters
        .iter()
        .flatten()
        .any(|parameter| match parameter {
            RefOr::T(parameter) => {
                matches!(parameter.parameter_in, ParameterIn::Query) && parameter.name == name
            }
            RefOr::Ref(_) => false,
        })
}

fn add(operation: &mut Operation, status: u16, component: &str) {
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(component)));
}

/// Rules the shared extractors enforce on parameters every context uses.
fn constrain_parameters(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() else {
            continue;
        };
        match (&parameter.parameter_in, parameter.name.as_str()) {
            (ParameterIn::Header, name) if name.eq_ignore_ascii_case(idempotency::HEADER) => {
                // `idempotency::IdempotencyKey::parse`.
                schema.min_length = Some(1);
                schema.max_length = Some(idempotency::MAX_KEY_LEN);
                schema.pattern = Some("^[!-~]+$".to_owned());
            }
            _ => {}
        }
    }
}
