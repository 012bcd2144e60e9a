//! Support: the customer's Salesforce cases — list, open, read with the public conversation, and comment.
//!
//! Every Salesforce query is scoped by the customer's Account in the query itself, so another account's case
//! is indistinguishable from a case that does not exist (404 either way). A path id that is not a 15- or
//! 18-character Salesforce id is also a 404. See `salesforce::case` for how categories, priorities and
//! statuses map to Case fields.

mod authors;
pub mod domain;
mod error;
mod routes;
pub mod salesforce;

use utoipa::OpenApi;

pub use routes::routes;

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
