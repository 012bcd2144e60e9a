//! The admin API of brands and stores: `POST/GET /admin/brands`, `GET /admin/brands/{brand}`,
//! `POST/GET /admin/brands/{brand}/stores`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::access::brand_not_found;
use super::domain::{Brand, CreateBrandRequest, CreateStoreRequest, Store, is_slug};
use super::repo::{self, NewBrand, NewStore};
use crate::auth::Admin;
use crate::errors::{ApiError, ErrorCode, FieldError, field_errors};
use crate::state::AppState;
use crate::types::{Currency, Listing, Pagination};

/// Brands and stores are few: 100 a page by default.
pub struct Brands;

impl Listing for Brands {
    const DEFAULT_LIMIT: u16 = 100;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Brands>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BrandPage {
    pub items: Vec<Brand>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StorePage {
    pub items: Vec<Store>,
    pub next_cursor: Option<String>,
}

/// The page's limit and the slug or code to continue after.
fn page_bounds(page: &Pagination<Brands>) -> Result<(i64, Option<String>), ApiError> {
    page.validate()?;
    let after = match &page.cursor {
        Some(cursor) => Some(
            URL_SAFE_NO_PAD
                .decode(cursor.as_str())
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .filter(|key| is_slug(key))
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidQueryParameter)
                        .with_detail("The cursor is not valid.")
                })?,
        ),
        None => None,
    };
    Ok((i64::from(page.size()), after))
}

/// Trims the look-ahead row and returns the cursor of the last item kept.
fn finish_page<T>(items: &mut Vec<T>, limit: i64, key: impl Fn(&T) -> &str) -> Option<String> {
    if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| URL_SAFE_NO_PAD.encode(key(last)))
    } else {
        None
    }
}

async fn check_timezone(
    state: &AppState,
    field: &str,
    timezone: &str,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if !errors.iter().any(|error| error.field == field)
        && !repo::timezone_exists(&state.db, timezone).await?
    {
        errors.push(FieldError::new(
            field,
            "invalid_timezone",
            "Use an IANA time zone name, e.g. Europe/Paris.",
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/admin/brands", tag = "admin", security(("bearer" = [])), request_body = CreateBrandRequest,
    responses(
        (status = 201, description = "The brand, with `Location`", body = Brand),
        (status = 403, response = crate::errors::responses::AdminsOnly),
        (status = 409, description = "`brand-exists`: the slug is taken", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn create_brand(
    state: web::Data<AppState>,
    _admin: Admin,
    body: web::Json<CreateBrandRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = field_errors([body.validate()]);
    check_timezone(&state, "timezone", &body.timezone, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let currency = Currency::parse(&body.currency)
        .ok_or_else(|| ApiError::new(ErrorCode::ValidationFailed))?;
    let brand = repo::insert_brand(
        &state.db,
        NewBrand {
            slug: &body.slug,
            name: body.name.trim(),
            timezone: &body.timezone,
            default_locale: &body.default_locale,
            currency: currency.as_str(),
        },
    )
    .await?
    .ok_or_else(|| {
        ApiError::new(ErrorCode::BrandExists).with_detail("A brand with this slug exists.")
    })?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/admin/brands/{}", brand.slug),
        ))
        .json(brand))
}

#[utoipa::path(get, path = "/api/v1/admin/brands", tag = "admin", security(("bearer" = [])), params(Pagination<Brands>),
    responses(
        (status = 200, description = "Brands by slug", body = BrandPage),
        (status = 403, response = crate::errors::responses::AdminsOnly)
    ))]
pub async fn list_brands(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after) = page_bounds(&query.page)?;
    let mut items = repo::list_brands(&state.db, after.as_deref(), limit + 1).await?;
    let next_cursor = finish_page(&mut items, limit, |brand| &brand.slug);
    Ok(HttpResponse::Ok().json(BrandPage { items, next_cursor }))
}

async fn brand(state: &AppState, slug: &str) -> Result<Brand, ApiError> {
    if !is_slug(slug) {
        return Err(brand_not_found());
    }
    repo::brand_by_slug(&state.db, slug)
        .await?
        .ok_or_else(brand_not_found)
}

#[utoipa::path(get, path = "/api/v1/admin/brands/{brand}", tag = "admin", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    responses(
        (status = 200, description = "The brand", body = Brand),
        (status = 403, response = crate::errors::responses::AdminsOnly),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_brand(
    state: web::Data<AppState>,
    _admin: Admin,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(brand(&state, &slug).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/brands/{brand}/stores", tag = "admin", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")), request_body = CreateStoreRequest,
    responses(
        (status = 201, description = "The store, with `Location`", body = Store),
        (status = 403, response = crate::errors::responses::AdminsOnly),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`store-exists`: the brand has a store with this code", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn create_store(
    state: web::Data<AppState>,
    _admin: Admin,
    slug: web::Path<String>,
    body: web::Json<CreateStoreRequest>,
) -> Result<HttpResponse, ApiError> {
    let brand = brand(&state, &slug).await?;
    let mut errors = field_errors([body.validate()]);
    let timezone = body.timezone.as_deref().unwrap_or(&brand.timezone);
    check_timezone(&state, "timezone", timezone, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let store = repo::insert_store(
        &state.db,
        &brand.slug,
        NewStore {
            brand_id: brand.id,
            code: &body.code,
            name: body.name.trim(),
            timezone,
            country: &body.country,
        },
    )
    .await?
    .ok_or_else(|| {
        ApiError::new(ErrorCode::StoreExists).with_detail("The brand has a store with this code.")
    })?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/admin/brands/{}/stores", brand.slug),
        ))
        .json(store))
}

#[utoipa::path(get, path = "/api/v1/admin/brands/{brand}/stores", tag = "admin", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), Pagination<Brands>),
    responses(
        (status = 200, description = "The brand's stores by code", body = StorePage),
        (status = 403, response = crate::errors::responses::AdminsOnly),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn list_stores(
    state: web::Data<AppState>,
    _admin: Admin,
    slug: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let brand = brand(&state, &slug).await?;
    let (limit, after) = page_bounds(&query.page)?;
    let mut items = repo::list_stores(&state.db, brand.id, after.as_deref(), limit + 1).await?;
    let next_cursor = finish_page(&mut items, limit, |store| &store.code);
    Ok(HttpResponse::Ok().json(StorePage { items, next_cursor }))
}
