//! sObject Collections under `/composite/sobjects`: create (POST) and update (PATCH) up to 200 records of
//! any types, delete by `ids` (DELETE), read by `ids` (GET). Results come back in request order as
//! `{id, success, errors}`; with `allOrNone` one failure rolls all the writes back.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::dml;
use super::errors::SalesforceError;
use super::render::render;
use super::schema;
use super::store::Store;
use super::{api_version, error_response, lock, parse_json};
use crate::SandboxState;

const MAX_RECORDS: usize = 200;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/composite/sobjects", web::post().to(create))
        .route("/composite/sobjects", web::patch().to(update))
        .route("/composite/sobjects", web::delete().to(delete))
        .route("/composite/sobjects/{object}", web::get().to(read));
}

enum Change<'a> {
    Create(&'a Value),
    Update(&'a Value),
    Delete(&'a str),
}

async fn create(body: web::Bytes, state: web::Data<SandboxState>) -> HttpResponse {
    write_records(&body, &state, false)
}

async fn update(body: web::Bytes, state: web::Data<SandboxState>) -> HttpResponse {
    write_records(&body, &state, true)
}

async fn delete(req: HttpRequest, state: web::Data<SandboxState>) -> HttpResponse {
    let params = query_params(&req);
    let ids: Vec<&str> = param(&params, "ids")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    if let Err(error) = check_count(ids.len()) {
        return error_response(&error);
    }
    let all_or_none = param(&params, "allOrNone").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let changes: Vec<Change> = ids.into_iter().map(Change::Delete).collect();
    let results = state
        .salesforce
        .write(|store| apply(store, &changes, all_or_none));
    HttpResponse::Ok().json(results)
}

async fn read(req: HttpRequest, state: web::Data<SandboxState>) -> HttpResponse {
    let params = query_params(&req);
    let object_name = req.match_info().get("object").unwrap_or_default();
    let Some(object) = schema::object(object_name) else {
        return error_response(&SalesforceError::not_found());
    };
    let fields = match param(&params, "fields")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            object
                .field(f)
                .ok_or_else(|| SalesforceError::invalid_field(object.name, f))
        })
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(fields) if !fields.is_empty() => fields,
        Ok(_) => {
            return error_response(&SalesforceError::bad_request(
                "INVALID_FIELD",
                "The fields parameter is required",
            ));
        }
        Err(error) => return error_response(&error),
    };
    let ids: Vec<&str> = param(&params, "ids")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    if let Err(error) = check_count(ids.len()) {
        return error_response(&error);
    }
    let version = api_version(&req);
    let store = lock(&state.salesforce.store);
    let records: Vec<Value> = ids
        .iter()
        .map(|id| {
            store.find(object, id).map_or(Value::Null, |record| {
                render(&version, object, record, Some(&fields))
            })
        })
        .collect();
    HttpResponse::Ok().json(records)
}

fn query_params(req: &HttpRequest) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find_map(|(k, v)| (k == name).then_some(v.as_str()))
}

fn check_count(count: usize) -> Result<(), SalesforceError> {
    if count == 0 || count > MAX_RECORDS {
        return Err(SalesforceError::bad_request(
            "EXCEEDED_ID_LIMIT",
            format!(
                "record limit reached. cannot submit more than {MAX_RECORDS} records into this call (got {count})"
            ),
        ));
    }
    Ok(())
}

fn write_records(body: &[u8], state: &SandboxState, updating: bool) -> HttpResponse {
    let request = match parse_json(body) {
        Ok(request) => request,
        Err(error) => return error_response(&error),
    };
    let Some(records) = request.get("records").and_then(Value::as_array) else {
        return error_response(&SalesforceError::json_parser(
            "The request body needs a records array",
        ));
    };
    if let Err(error) = check_count(records.len()) {
        return error_response(&error);
    }
    let all_or_none = request.get("allOrNone").and_then(Value::as_bool) == Some(true);
    let changes: Vec<Change> = records
        .iter()
        .map(|record| {
            if updating {
                Change::Update(record)
            } else {
                Change::Create(record)
            }
        })
        .collect();
    let results = state
        .salesforce
        .write(|store| apply(store, &changes, all_or_none));
    HttpResponse::Ok().json(results)
}

struct RecordResult {
    id: Option<String>,
    /// A rolled-back insert has no id to report.
    inserted: bool,
    outcome: Result<Vec<Value>, SalesforceError>,
}

fn apply(store: &mut Store, changes: &[Change<'_>], all_or_none: bool) -> Vec<Value> {
    let snapshot = all_or_none.then(|| store.clone());
    let results: Vec<RecordResult> = changes
        .iter()
        .map(|change| apply_one(store, change))
        .collect();
    let any_failed = results.iter().any(|r| r.outcome.is_err());
    if any_failed && let Some(snapshot) = snapshot {
        *store = snapshot;
        let rolled_back = SalesforceError::bad_request(
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "Record rolled back because not all records were valid and the request was using AllOrNone header",
        );
        return results
            .into_iter()
            .map(|r| {
                let error = r.outcome.err().unwrap_or_else(|| rolled_back.clone());
                entry(r.id.filter(|_| !r.inserted), Err(error))
            })
            .collect();
    }
    results
        .into_iter()
        .map(|r| entry(r.id, r.outcome))
        .collect()
}

fn entry(id: Option<String>, outcome: Result<Vec<Value>, SalesforceError>) -> Value {
    let mut fields = Map::new();
    if let Some(id) = id {
        fields.insert("id".into(), id.into());
    }
    match outcome {
        Ok(errors) => {
            fields.insert("success".into(), true.into());
            fields.insert("errors".into(), errors.into());
        }
        Err(error) => {
            fields.insert("success".into(), false.into());
            fields.insert("errors".into(), json!([error.collection_entry()]));
        }
    }
    Value::Object(fields)
}

fn apply_one(store: &mut Store, change: &Change<'_>) -> RecordResult {
    match change {
        Change::Create(record) => {
            let result = type_of(record).and_then(|object| {
                if record.get("Id").is_some_and(|id| !id.is_null()) {
                    return Err(SalesforceError::bad_request(
                        "INVALID_FIELD",
                        "cannot specify Id in an insert call",
                    )
                    .with_fields(vec!["Id".into()]));
                }
                dml::create(store, object, record)
            });
            match result {
                Ok(created) => {
                    let errors = created.event_uuid.map_or_else(Vec::new, |uuid| {
                        vec![json!({ "statusCode": "OPERATION_ENQUEUED", "message": uuid, "fields": [] })]
                    });
                    RecordResult {
                        id: Some(created.id),
                        inserted: true,
                        outcome: Ok(errors),
                    }
                }
                Err(error) => RecordResult {
                    id: None,
                    inserted: false,
                    outcome: Err(error),
                },
            }
        }
        Change::Update(record) => {
            let id = record.get("Id").and_then(Value::as_str).map(str::to_owned);
            let outcome = type_of(record).and_then(|object| {
                let id = id.as_deref().ok_or_else(|| {
                    SalesforceError::bad_request(
                        "MISSING_ARGUMENT",
                        "Id not specified in an update call",
                    )
                    .with_fields(vec!["Id".into()])
                })?;
                let mut fields = (*record).clone();
                if let Value::Object(fields) = &mut fields {
                    fields.remove("Id");
                }
                dml::update(store, object, id, &fields).map_err(entity_missing_for_collections)
            });
            RecordResult {
                id,
                inserted: false,
                outcome: outcome.map(|()| Vec::new()),
            }
        }
        Change::Delete(id) => {
            let outcome = schema::object_of_id(id)
                .ok_or_else(|| {
                    SalesforceError::bad_request("MALFORMED_ID", format!("malformed id {id}"))
                })
                .and_then(|object| dml::delete(store, object.name, id))
                .map_err(entity_missing_for_collections);
            RecordResult {
                id: Some((*id).to_owned()),
                inserted: false,
                outcome: outcome.map(|()| Vec::new()),
            }
        }
    }
}

/// Collections report a missing record as `ENTITY_IS_DELETED` inside the result, not as a 404.
fn entity_missing_for_collections(error: SalesforceError) -> SalesforceError {
    if error.status == StatusCode::NOT_FOUND {
        SalesforceError::bad_request("ENTITY_IS_DELETED", "entity is deleted")
    } else {
        error
    }
}

fn type_of(record: &Value) -> Result<&str, SalesforceError> {
    let name = record
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            SalesforceError::bad_request("INVALID_TYPE", "Must specify a type in attributes")
        })?;
    if schema::object(name).is_none() && !schema::is_platform_event(name) {
        return Err(SalesforceError::bad_request(
            "INVALID_TYPE",
            format!("sObject type '{name}' is not supported."),
        ));
    }
    Ok(name)
}
