//! `…/crm/templates`: create, list, read, replace (a new version), delete, and preview for a real profile.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::placeholders::{MessageContext, Values, profile_values};
use super::render;
use super::templates::{self, MessageChannel, Template, TemplateRequest};
use crate::brands::{InBrand, Marketing};
use crate::crm::profile;
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;

fn template_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such template in this brand.")
}

fn template_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| template_not_found())
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmTemplateList)]
pub struct TemplateList {
    pub items: Vec<Template>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmTemplatePreviewRequest)]
pub struct PreviewRequest {
    /// A profile of the brand.
    pub profile_id: Uuid,
    /// The language wanted; else the profile's locale, the brand's, then the fallback.
    pub language: Option<String>,
    /// The advisor and event values a send would carry (empty when absent).
    #[serde(default)]
    pub context: MessageContext,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CrmTemplatePreview)]
pub struct Preview {
    /// The variant's language that was rendered.
    pub language: String,
    pub version: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
    /// Context objects the template names that the request did not give: a send without them fails.
    pub missing_context: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/templates", tag = "crm", operation_id = "create_message_template", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = TemplateRequest,
    responses(
        (status = 201, description = "Created, version 1", body = Template),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`template-limit`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A rule broken: a syntax error or an unknown placeholder names its field (`variants/0/body`) and the placeholder", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn create(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    body: web::Json<TemplateRequest>,
) -> Result<HttpResponse, ApiError> {
    let errors = templates::check(&body);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    if templates::count_locked(&mut tx, brand_id).await? >= templates::MAX_TEMPLATES {
        return Err(ApiError::new(ErrorCode::TemplateLimit));
    }
    let id = Uuid::now_v7();
    templates::save(&mut tx, brand_id, id, &body, &in_brand.actor(), true).await?;
    let template = templates::load(&mut tx, brand_id, id)
        .await?
        .ok_or_else(template_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(template))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/templates", tag = "crm", operation_id = "list_message_templates", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    responses(
        (status = 200, description = "The brand's templates, oldest first", body = TemplateList),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn list(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.crm.db().acquire().await?;
    let items = templates::list(&mut conn, in_brand.brand.id).await?;
    Ok(HttpResponse::Ok().json(TemplateList { items }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/crm/templates/{id}", tag = "crm", operation_id = "get_message_template", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Template id")),
    responses(
        (status = 200, description = "The template at its current version", body = Template),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such template in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = template_id(&path.1)?;
    let mut conn = state.crm.db().acquire().await?;
    let template = templates::load(&mut conn, in_brand.brand.id, id)
        .await?
        .ok_or_else(template_not_found)?;
    Ok(HttpResponse::Ok().json(template))
}

#[utoipa::path(put, path = "/api/v1/brands/{brand}/crm/templates/{id}", tag = "crm", operation_id = "replace_message_template", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Template id")),
    request_body = TemplateRequest,
    responses(
        (status = 200, description = "The template at its new version (sends pinned to an older one are unchanged)", body = Template),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such template in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn replace(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    body: web::Json<TemplateRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = template_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    if templates::load(&mut tx, brand_id, id).await?.is_none() {
        return Err(template_not_found());
    }
    let errors = templates::check(&body);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if !templates::save(&mut tx, brand_id, id, &body, &in_brand.actor(), false).await? {
        return Err(template_not_found());
    }
    let template = templates::load(&mut tx, brand_id, id)
        .await?
        .ok_or_else(template_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(template))
}

#[utoipa::path(delete, path = "/api/v1/brands/{brand}/crm/templates/{id}", tag = "crm", operation_id = "delete_message_template", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Template id")),
    responses(
        (status = 204, description = "Deleted; its versions stay for sends that pinned one"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such template in it", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn delete(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = template_id(&path.1)?;
    let mut conn = state.crm.db().acquire().await?;
    if !templates::delete(&mut conn, in_brand.brand.id, id).await? {
        return Err(template_not_found());
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/templates/{id}/preview", tag = "crm", operation_id = "preview_message_template", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Template id")),
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "The template rendered for the profile (nothing is sent)", body = Preview),
        (status = 400, description = "Malformed JSON", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, template or profile in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn preview(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    body: web::Json<PreviewRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = template_id(&path.1)?;
    let brand = &in_brand.brand;
    let mut errors = Vec::new();
    if let Some(language) = &body.language
        && !crate::brands::is_locale(language)
    {
        errors.push(FieldError::new(
            "language",
            "invalid_locale",
            "A BCP 47 language tag, e.g. fr or fr-FR.",
        ));
    }
    if let Err((field, message)) = body.context.check() {
        errors.push(FieldError::new(field, "invalid", message));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut conn = state.crm.db().acquire().await?;
    let template = templates::load(&mut conn, brand.id, id)
        .await?
        .ok_or_else(template_not_found)?;
    let profile = profile::load(&mut conn, brand.id, body.profile_id)
        .await?
        .ok_or_else(|| ApiError::not_found().with_detail("No such profile in this brand."))?;
    let mut wanted: Vec<&str> = body.language.iter().map(String::as_str).collect();
    if let Some(locale) = profile.attributes.locale.as_deref() {
        wanted.push(locale);
    }
    wanted.push(&brand.default_locale);
    let variant = template
        .variant_for(wanted)
        .ok_or_else(template_not_found)?;
    let values = Values {
        profile: profile_values(&profile),
        brand_name: brand.name.clone(),
        context: body.context.clone(),
    }
    .to_value();
    let unrenderable = |error: String| {
        ApiError::validation(vec![FieldError::new("template", "render_failed", error)])
    };
    let html = template.channel == MessageChannel::Email;
    let rendered = render::render(&variant.body, &values, html).map_err(unrenderable)?;
    let subject = match &variant.subject {
        Some(subject) => Some(render::render(subject, &values, false).map_err(unrenderable)?),
        None => None,
    };
    let mut used = render::used(&variant.body);
    if let Some(subject) = &variant.subject {
        used.extend(render::used(subject));
    }
    let mut missing = Vec::new();
    let mut context = body.context.clone();
    while let Some(object) = context.missing(used.iter().map(String::as_str)) {
        missing.push(object.to_owned());
        match object {
            "advisor" => context.advisor = Some(Default::default()),
            _ => context.event = Some(Default::default()),
        }
    }
    Ok(HttpResponse::Ok().json(Preview {
        language: variant.language.clone(),
        version: template.version,
        subject,
        body: rendered,
        missing_context: missing,
    }))
}
