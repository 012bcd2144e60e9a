//! `GET …/clienteling/clients/{id}/360?fields=…&limit=&cursor=`: the parts asked for, fetched at the same
//! time, each within the part timeout. `limit` and `cursor` page the timeline part.

use std::future::Future;

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;
use validator::Validate;

use super::model::View360;
use super::parts::{self, PageDb, Part};
use super::timeline::Position;
use super::{appointments, crm_parts, gate, header, kpis, salesforce, tasks, timeline};
use crate::brands::{Clienteling, InBrand};
use crate::clienteling::routes_clients::client_id;
use crate::errors::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::types::{Listing, Pagination};

/// The timeline part's page.
pub struct Timeline360;

impl Listing for Timeline360 {
    const DEFAULT_LIMIT: u16 = 20;
    const CURSOR_DESCRIPTION: &'static str =
        "The timeline part's `next_cursor` (ask for `fields=timeline` to page it alone).";
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct View360Params {
    /// The parts, comma-separated: `header`, `kpis`, `timeline`, `scores`, `consent`, `salesforce`,
    /// `appointments`, `tasks`. Absent: all of them. An unknown part or an empty list is a 400.
    #[param(example = "header,kpis")]
    pub fields: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Timeline360>,
}

/// Runs `work` only when the part was asked for.
async fn when<T>(wanted: bool, work: impl Future<Output = T>) -> Option<T> {
    if wanted { Some(work.await) } else { None }
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/clients/{id}/360", tag = "clienteling",
    operation_id = "clienteling_client_360", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Client (CRM profile) id"),
        View360Params, Pagination<Timeline360>),
    responses(
        (status = 200, description = "The parts asked for, each `{status: ok, data}` or `{status: degraded, reason}` (a part that failed or ran past `part_timeout_ms`); the page answers 200 either way", body = View360),
        (status = 400, description = "`fields` names an unknown part or none, or the cursor is not one", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such client in the caller's book", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn client_360(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    query: web::Query<View360Params>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path.1)?;
    let wanted = parts::requested(query.fields.as_deref())?;
    let errors = crate::errors::field_errors([query.page.validate()]);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let after = match &query.page.cursor {
        Some(cursor) => Some(Position::decode(cursor.as_str()).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidQueryParameter).with_detail("The cursor is not valid.")
        })?),
        None => None,
    };
    let limit = query.page.size();
    let gate = gate::open(&state.db, &in_brand, id).await?;
    let settings = &state.settings.clienteling.view360;
    let db = PageDb::new(&state.db, settings);
    let wants = |part: Part| wanted.contains(&part);
    let (header, kpis, timeline, scores, consent, salesforce, appointments, tasks) = tokio::join!(
        when(
            wants(Part::Header),
            parts::run(Part::Header, settings, header::fetch(&db, &state.db, &gate))
        ),
        when(
            wants(Part::Kpis),
            parts::run(Part::Kpis, settings, kpis::fetch(&db, &gate))
        ),
        when(
            wants(Part::Timeline),
            parts::run(
                Part::Timeline,
                settings,
                timeline::fetch(&db, &gate, after, limit)
            )
        ),
        when(
            wants(Part::Scores),
            parts::run(Part::Scores, settings, crm_parts::scores(&db, &gate))
        ),
        when(
            wants(Part::Consent),
            parts::run(Part::Consent, settings, crm_parts::consent(&db, &gate))
        ),
        when(
            wants(Part::Salesforce),
            parts::run(
                Part::Salesforce,
                settings,
                salesforce::fetch(&db, state.clienteling.salesforce(), &gate)
            )
        ),
        when(
            wants(Part::Appointments),
            parts::run(
                Part::Appointments,
                settings,
                appointments::fetch(&db, &gate)
            )
        ),
        when(
            wants(Part::Tasks),
            parts::run(Part::Tasks, settings, tasks::fetch(&db, &gate))
        ),
    );
    Ok(HttpResponse::Ok().json(View360 {
        client_id: id,
        generated_at: Utc::now(),
        header,
        kpis,
        timeline,
        scores,
        consent,
        salesforce,
        appointments,
        tasks,
    }))
}
