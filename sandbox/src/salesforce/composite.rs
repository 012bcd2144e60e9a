//! `POST /composite`: up to 25 subrequests (sObject create/get/update/delete/upsert by external id, query) run in order on one
//! locked store, later ones referring to earlier results with `@{referenceId.path}`. With `allOrNone` the
//! first failure rolls every write back and every other subrequest answers `PROCESSING_HALTED`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::errors::SalesforceError;
use super::operations::{self, Context, Operation};
use super::store::Store;
use super::{api_version, error_response, is_api_version, parse_json};
use crate::SandboxState;

const MAX_SUBREQUESTS: usize = 25;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/composite", web::post().to(composite))
        .route("/composite/", web::post().to(composite));
}

#[derive(Deserialize)]
struct CompositeRequest {
    #[serde(default, rename = "allOrNone")]
    all_or_none: bool,
    #[serde(rename = "compositeRequest")]
    subrequests: Vec<Subrequest>,
}

#[derive(Deserialize)]
struct Subrequest {
    method: String,
    url: String,
    #[serde(rename = "referenceId")]
    reference_id: String,
    #[serde(default)]
    body: Option<Value>,
}

struct Outcome {
    reference_id: String,
    status: StatusCode,
    body: Value,
    headers: Map<String, Value>,
}

impl Outcome {
    fn failed(reference_id: &str, error: &SalesforceError) -> Self {
        Self {
            reference_id: reference_id.to_owned(),
            status: error.status,
            body: error.body(),
            headers: Map::new(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "body": self.body,
            "httpHeaders": self.headers,
            "httpStatusCode": self.status.as_u16(),
            "referenceId": self.reference_id,
        })
    }
}

async fn composite(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<SandboxState>,
) -> HttpResponse {
    let request = match parse_json(&body).and_then(|value| {
        serde_json::from_value::<CompositeRequest>(value)
            .map_err(|e| SalesforceError::json_parser(e.to_string()))
    }) {
        Ok(request) => request,
        Err(error) => return error_response(&error),
    };
    if let Err(error) = check_request(&request) {
        return error_response(&error);
    }
    let version = api_version(&req);
    let page_size = state.config.query_page_size.max(1);
    let salesforce = &state.salesforce;
    let outcomes = salesforce.write(|store| {
        let context = Context {
            version: &version,
            page_size,
            cursors: &salesforce.cursors,
        };
        run(&context, store, &request)
    });
    let responses: Vec<Value> = outcomes.iter().map(Outcome::to_json).collect();
    HttpResponse::Ok().json(json!({ "compositeResponse": responses }))
}

fn check_request(request: &CompositeRequest) -> Result<(), SalesforceError> {
    if request.subrequests.is_empty() || request.subrequests.len() > MAX_SUBREQUESTS {
        return Err(SalesforceError::bad_request(
            "INVALID_INPUT",
            format!(
                "compositeRequest must hold between 1 and {MAX_SUBREQUESTS} subrequests, not {}",
                request.subrequests.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for subrequest in &request.subrequests {
        let id = &subrequest.reference_id;
        let well_formed = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return Err(SalesforceError::bad_request(
                "INVALID_INPUT",
                format!(
                    "Invalid referenceId '{id}': it must start with a letter or a number and contain only letters, numbers and underscores"
                ),
            ));
        }
        if !seen.insert(id.as_str()) {
            return Err(SalesforceError::bad_request(
                "INVALID_INPUT",
                format!("Duplicate referenceId '{id}' provided"),
            ));
        }
    }
    Ok(())
}

fn run(context: &Context<'_>, store: &mut Store, request: &CompositeRequest) -> Vec<Outcome> {
    let snapshot = request.all_or_none.then(|| store.clone());
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(request.subrequests.len());
    for subrequest in &request.subrequests {
        let outcome = resolve(subrequest, &outcomes)
            .and_then(|(url, body)| {
                execute(context, store, &subrequest.method, &url, body.as_ref())
                    .map(|reply| (url, reply))
            })
            .map_or_else(
                |error| Outcome::failed(&subrequest.reference_id, &error),
                |(_, reply)| {
                    let mut headers = Map::new();
                    if let Some(location) = reply.location {
                        headers.insert("Location".into(), location.into());
                    }
                    Outcome {
                        reference_id: subrequest.reference_id.clone(),
                        status: reply.status,
                        body: reply.body.unwrap_or(Value::Null),
                        headers,
                    }
                },
            );
        let failed = outcome.status.is_client_error() || outcome.status.is_server_error();
        outcomes.push(outcome);
        if failed && let Some(snapshot) = snapshot {
            *store = snapshot;
            return halt_all_but_last(request, outcomes);
        }
    }
    outcomes
}

/// After a rolled-back failure: its own error stays, every other subrequest is reported halted.
fn halt_all_but_last(request: &CompositeRequest, outcomes: Vec<Outcome>) -> Vec<Outcome> {
    let failed_index = outcomes.len().saturating_sub(1);
    let halted = SalesforceError::bad_request(
        "PROCESSING_HALTED",
        "The transaction was rolled back since another operation in the same transaction failed.",
    );
    let mut failure = outcomes.into_iter().nth(failed_index);
    request
        .subrequests
        .iter()
        .enumerate()
        .map(
            |(index, subrequest)| match failure.take_if(|_| index == failed_index) {
                Some(outcome) => outcome,
                None => Outcome::failed(&subrequest.reference_id, &halted),
            },
        )
        .collect()
}

/// The subrequest's URL and body with every `@{ref.path}` replaced by the earlier result it names.
fn resolve(
    subrequest: &Subrequest,
    earlier: &[Outcome],
) -> Result<(String, Option<Value>), SalesforceError> {
    let url = substitute_text(&subrequest.url, earlier)?;
    let body = subrequest
        .body
        .as_ref()
        .map(|body| substitute_value(body, earlier))
        .transpose()?;
    Ok((url, body))
}

fn substitute_value(value: &Value, earlier: &[Outcome]) -> Result<Value, SalesforceError> {
    Ok(match value {
        Value::String(text) => {
            let whole = text
                .strip_prefix("@{")
                .and_then(|rest| rest.strip_suffix('}'))
                .filter(|inner| !inner.contains('}'));
            match whole {
                // A whole-string reference keeps the referenced value's JSON type.
                Some(expression) => lookup(expression, earlier)?,
                None => Value::String(substitute_text(text, earlier)?),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| substitute_value(item, earlier))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), substitute_value(v, earlier)?)))
                .collect::<Result<_, SalesforceError>>()?,
        ),
        other => other.clone(),
    })
}

fn substitute_text(text: &str, earlier: &[Outcome]) -> Result<String, SalesforceError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        let Some(length) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let expression = &rest[start + 2..start + length];
        match lookup(expression, earlier)? {
            Value::String(s) => out.push_str(&s),
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[start + length + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `refOrder.id` or `refQuery.records[0].Id` in the earlier successful results.
fn lookup(expression: &str, earlier: &[Outcome]) -> Result<Value, SalesforceError> {
    let (reference_id, path) = expression.split_once('.').unwrap_or((expression, ""));
    let invalid = || {
        SalesforceError::bad_request(
            "PROCESSING_HALTED",
            format!(
                "Invalid reference specified. No value for {expression} found in {reference_id}. Provided referenceId ('{reference_id}') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_')."
            ),
        )
    };
    let outcome = earlier
        .iter()
        .find(|o| o.reference_id == reference_id && o.status.is_success())
        .ok_or_else(invalid)?;
    let mut current = &outcome.body;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (name, indexes) = match segment.split_once('[') {
            Some((name, rest)) => (name, Some(rest)),
            None => (segment, None),
        };
        if !name.is_empty() {
            current = current.get(name).ok_or_else(invalid)?;
        }
        for index in indexes.into_iter().flat_map(|rest| rest.split('[')) {
            let index: usize = index.trim_end_matches(']').parse().map_err(|_| invalid())?;
            current = current.get(index).ok_or_else(invalid)?;
        }
    }
    if current.is_null() || current.is_object() || current.is_array() {
        return Err(invalid());
    }
    Ok(current.clone())
}

/// A percent-encoded path segment as text.
fn decode(segment: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!(
        "v={}",
        segment.replace('+', "%2B")
    ))
    .ok()
    .and_then(|pairs| pairs.into_iter().next())
    .map_or_else(|| segment.to_owned(), |(_, value)| value)
}

/// Routes a subrequest URL (`/services/data/v60.0/sobjects/Order/801…`) to its operation.
fn execute(
    context: &Context<'_>,
    store: &mut Store,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<operations::Reply, SalesforceError> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find_map(|(k, v)| (k == name).then_some(v.as_str()))
    };
    let segments: Vec<&str> = path
        .strip_prefix("/services/data/")
        .ok_or_else(SalesforceError::not_found)?
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let Some((version, resource)) = segments.split_first() else {
        return Err(SalesforceError::not_found());
    };
    if !is_api_version(version) {
        return Err(SalesforceError::not_found());
    }
    let context = Context {
        version,
        page_size: context.page_size,
        cursors: context.cursors,
    };
    let method = method.to_ascii_uppercase();
    let upsert_value;
    let null = Value::Null;
    let body = body.unwrap_or(&null);
    let operation = match (resource, method.as_str()) {
        (["sobjects", object], "POST") => Operation::Create { object, body },
        (["sobjects", object, id], "GET") => Operation::Read {
            object,
            id,
            fields: param("fields"),
        },
        (["sobjects", object, id], "PATCH") => Operation::Update { object, id, body },
        (["sobjects", object, id], "DELETE") => Operation::Delete { object, id },
        (["sobjects", object, field, value], "PATCH") => {
            upsert_value = decode(value);
            Operation::Upsert {
                object,
                field,
                value: &upsert_value,
                body,
            }
        }
        (["query" | "queryAll"], "GET") => Operation::Query {
            soql: param("q").ok_or_else(|| {
                SalesforceError::bad_request(
                    "MALFORMED_QUERY",
                    "A query string has to be specified",
                )
            })?,
        },
        (["query" | "queryAll", locator], "GET") => Operation::QueryMore { locator },
        (
            ["sobjects", _]
            | ["sobjects", _, _]
            | ["sobjects", _, _, _]
            | ["query" | "queryAll"]
            | ["query" | "queryAll", _],
            _,
        ) => {
            return Err(SalesforceError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                format!("HTTP Method '{method}' not allowed here"),
            ));
        }
        _ => return Err(SalesforceError::not_found()),
    };
    operations::perform(&context, store, operation)
}
