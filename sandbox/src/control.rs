//! `/__sandbox/…`: reset, faults and the request log. System-specific controls (approve an order, read sent
//! messages) live in each system's module.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{Fault, SandboxState, System};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/__sandbox/reset", web::post().to(reset))
        .route("/__sandbox/faults", web::get().to(list_faults))
        .route("/__sandbox/faults", web::delete().to(clear_all_faults))
        .route("/__sandbox/faults/{system}", web::put().to(add_fault))
        .route("/__sandbox/faults/{system}", web::post().to(add_fault))
        .route("/__sandbox/faults/{system}", web::delete().to(clear_faults))
        .route("/__sandbox/requests", web::get().to(requests))
        .route("/__sandbox/requests", web::delete().to(clear_requests));
}

async fn reset(state: web::Data<SandboxState>) -> HttpResponse {
    state.reset();
    HttpResponse::NoContent().finish()
}

async fn list_faults(state: web::Data<SandboxState>) -> HttpResponse {
    let faults: Vec<_> = state
        .faults
        .list()
        .into_iter()
        .map(|(system, fault)| serde_json::json!({ "system": system, "fault": fault }))
        .collect();
    HttpResponse::Ok().json(faults)
}

async fn add_fault(
    state: web::Data<SandboxState>,
    system: web::Path<System>,
    fault: web::Json<Fault>,
) -> HttpResponse {
    state.faults.add(*system, fault.into_inner());
    HttpResponse::NoContent().finish()
}

async fn clear_faults(state: web::Data<SandboxState>, system: web::Path<System>) -> HttpResponse {
    state.faults.clear(Some(*system));
    HttpResponse::NoContent().finish()
}

async fn clear_all_faults(state: web::Data<SandboxState>) -> HttpResponse {
    state.faults.clear(None);
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
struct RequestFilter {
    system: Option<System>,
}

async fn requests(
    state: web::Data<SandboxState>,
    filter: web::Query<RequestFilter>,
) -> HttpResponse {
    HttpResponse::Ok().json(state.log.list(filter.system))
}

async fn clear_requests(state: web::Data<SandboxState>) -> HttpResponse {
    state.log.clear();
    HttpResponse::NoContent().finish()
}
