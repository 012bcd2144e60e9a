//! `/sobjects/{Type}/` (create, or publish a platform event), `/sobjects/{Type}/{id}` (get, update,
//! delete) and `/sobjects/{Type}/{ExternalIdField}/{value}` (upsert).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::operations::Operation;
use super::{error_response, parse_json, respond};
use crate::SandboxState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sobjects/{object}", web::post().to(create))
        .route("/sobjects/{object}/", web::post().to(create))
        .route("/sobjects/{object}/{id}", web::get().to(read))
        .route("/sobjects/{object}/{id}", web::patch().to(update))
        .route("/sobjects/{object}/{id}", web::delete().to(delete))
        .route(
            "/sobjects/{object}/{field}/{value}",
            web::patch().to(upsert),
        );
}

#[derive(Deserialize)]
struct ExternalIdPath {
    object: String,
    field: String,
    value: String,
}

async fn upsert(
    req: HttpRequest,
    path: web::Path<ExternalIdPath>,
    body: web::Bytes,
    state: web::Data<SandboxState>,
) -> HttpResponse {
    match parse_json(&body) {
        Ok(body) => respond(
            &req,
            &state,
            Operation::Upsert {
                object: &path.object,
                field: &path.field,
                value: &path.value,
                body: &body,
            },
        ),
        Err(error) => error_response(&error),
    }
}

#[derive(Deserialize)]
struct ObjectPath {
    object: String,
}

#[derive(Deserialize)]
struct RecordPath {
    object: String,
    id: String,
}

#[derive(Deserialize)]
struct ReadParams {
    fields: Option<String>,
}

async fn create(
    req: HttpRequest,
    path: web::Path<ObjectPath>,
    body: web::Bytes,
    state: web::Data<SandboxState>,
) -> HttpResponse {
    match parse_json(&body) {
        Ok(body) => respond(
            &req,
            &state,
            Operation::Create {
                object: &path.object,
                body: &body,
            },
        ),
        Err(error) => error_response(&error),
    }
}

async fn read(
    req: HttpRequest,
    path: web::Path<RecordPath>,
    state: web::Data<SandboxState>,
) -> HttpResponse {
    let params: Option<ReadParams> = serde_urlencoded::from_str(req.query_string()).ok();
    let fields = params.and_then(|p| p.fields);
    respond(
        &req,
        &state,
        Operation::Read {
            object: &path.object,
            id: &path.id,
            fields: fields.as_deref(),
        },
    )
}

async fn update(
    req: HttpRequest,
    path: web::Path<RecordPath>,
    body: web::Bytes,
    state: web::Data<SandboxState>,
) -> HttpResponse {
    match parse_json(&body) {
        Ok(body) => respond(
            &req,
            &state,
            Operation::Update {
                object: &path.object,
                id: &path.id,
                body: &body,
            },
        ),
        Err(error) => error_response(&error),
    }
}

async fn delete(
    req: HttpRequest,
    path: web::Path<RecordPath>,
    state: web::Data<SandboxState>,
) -> HttpResponse {
    respond(
        &req,
        &state,
        Operation::Delete {
            object: &path.object,
            id: &path.id,
        },
    )
}
