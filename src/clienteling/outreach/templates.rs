//! `GET …/clienteling/outreach/templates?channel=`: the brand's outreach templates an advisor picks from.
//! Managing templates stays the marketers' (`…/crm/templates`); advisors see only those with purpose
//! `outreach`, without their bodies' versions history, so the app can offer them and preview one.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::model::CHANNELS;
use crate::brands::{Clienteling, InBrand};
use crate::crm::consent::Purpose;
use crate::crm::messages::templates;
use crate::errors::{ApiError, FieldError};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TemplateFilter {
    /// Only this channel's templates (`email`, `sms`, `whatsapp`, `line`, …).
    pub channel: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingOutreachTemplate)]
pub struct OutreachTemplate {
    pub id: Uuid,
    pub name: String,
    pub channel: String,
    /// The current version (what a send and a preview use).
    pub version: i32,
    /// The languages it is written in; the fallback serves any other.
    pub languages: Vec<String>,
    pub fallback_language: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingOutreachTemplates)]
pub struct OutreachTemplates {
    pub items: Vec<OutreachTemplate>,
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/outreach/templates", tag = "clienteling", operation_id = "list_clienteling_outreach_templates", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), TemplateFilter),
    responses(
        (status = 200, description = "The brand's templates with purpose outreach, by name", body = OutreachTemplates),
        (status = 400, description = "A malformed query string", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn list_outreach_templates(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    query: web::Query<TemplateFilter>,
) -> Result<HttpResponse, ApiError> {
    let channel = query.channel.as_deref().map(str::trim);
    if let Some(channel) = channel
        && !CHANNELS.contains(&channel)
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "channel",
            "unknown_channel",
            format!("One of {}.", CHANNELS.join(", ")),
        )]));
    }
    let mut conn = state.db.acquire().await?;
    let mut items: Vec<OutreachTemplate> = templates::list(&mut conn, in_brand.brand.id)
        .await?
        .into_iter()
        .filter(|template| template.purpose == Purpose::Outreach)
        .filter(|template| channel.is_none_or(|wanted| template.channel.as_str() == wanted))
        .map(|template| OutreachTemplate {
            id: template.id,
            name: template.name,
            channel: template.channel.as_str().to_owned(),
            version: template.version,
            languages: template.variants.into_iter().map(|v| v.language).collect(),
            fallback_language: template.fallback_language,
        })
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(HttpResponse::Ok().json(OutreachTemplates { items }))
}
