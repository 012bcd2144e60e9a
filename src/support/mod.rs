//! Support: the customer's Salesforce cases — list, open, read with the public conversation, and comment.
//!
//! Every Salesforce query is scoped by the customer's Account in the query itself, so another account's case
//! is indistinguishable from a case that does not exist (404 either way). A path id that is not a 15- or
//! 18-character Salesforce id is also a 404. See `salesforce::case` for how categories, priorities and
//! statuses map to Case fields.

mod domain;
mod error;
mod repo;
mod routes;
mod salesforce;

#[cfg(test)]
mod proptests;

use actix_web::web;
use sqlx::PgPool;
use utoipa::OpenApi;

use crate::http::resource;
use crate::integrations::salesforce::SalesforceClient;
use crate::jobs::Runner;

/// What support needs from the process, built once in `cli::build_state` and reached as `state.support`: the
/// Salesforce client (cases and comments live there) and the pool (`support_comments`, who wrote what).
#[derive(Clone)]
pub struct Support {
    db: PgPool,
    salesforce: SalesforceClient,
}

impl Support {
    pub fn new(db: PgPool, salesforce: SalesforceClient) -> Self {
        Self { db, salesforce }
    }
}

/// This context's part of the OpenAPI document, merged into the whole in `crate::openapi`.
#[derive(OpenApi)]
#[openapi(
    paths(routes::list_cases, routes::create_case, routes::get_case, routes::add_comment),
    components(schemas(
        routes::CasePage,
        routes::CreateCaseRequest,
        routes::AddCommentRequest,
        domain::CaseSummary,
        domain::CaseDetail,
        domain::CaseComment,
        domain::CaseStatus,
        domain::Priority,
        domain::Category,
        domain::CommentAuthor,
        domain::StatusFilter,
    )),
    tags((name = "support", description = "The customer's support cases (Salesforce Case)"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/support/cases")
            .route(web::get().to(routes::list_cases))
            .route(web::post().to(routes::create_case)),
    )
    .service(resource("/support/cases/{id}").route(web::get().to(routes::get_case)))
    .service(resource("/support/cases/{id}/comments").route(web::post().to(routes::add_comment)));
}

/// Registers this context's jobs: none yet (support works within requests).
pub fn jobs(runner: Runner, _support: &Support) -> anyhow::Result<Runner> {
    Ok(runner)
}
