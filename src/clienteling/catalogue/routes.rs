//! `GET …/clienteling/products` (search), `GET …/products/{id}`, `POST …/products/sync` and
//! `GET …/products/sync/{run}`. The catalogue is the brand's, not a store's: every advisor and manager of
//! the brand reads all of it (another brand's is a 404, customers and marketers 403); only managers and
//! admins start a sync.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::runs::{self, Run, Trigger};
use super::search::{self, After, Filters, Text};
use super::store::ProductRow;
use crate::auth::Role;
use crate::brands::{Clienteling, InBrand};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::money::Money;
use crate::state::AppState;
use crate::types::{Listing, Pagination};
use validator::Validate;

pub struct Products;

impl Listing for Products {
    const DEFAULT_LIMIT: u16 = 20;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProductQuery {
    /// Words of a name, SKU (or its prefix), category, colour, material or description, misspellings
    /// tolerated; 1–100 characters with at least one letter or digit. Without a word of three characters
    /// (the first letters typed), a prefix of the SKU or the name only.
    pub q: Option<String>,
    /// Only this category (Salesforce `Family`), case-insensitive.
    pub category: Option<String>,
    /// Only this colour, case-insensitive.
    pub colour: Option<String>,
    /// Only this material, case-insensitive.
    pub material: Option<String>,
    /// `true` (the default): products on sale; `false`: retired or gone from Salesforce; `any`: both.
    #[param(value_type = Option<String>, pattern = "^(true|false|any)$")]
    pub active: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Products>,
}

/// A product of the brand's catalogue.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingProduct)]
pub struct Product {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    pub colour: Option<String>,
    pub material: Option<String>,
    pub description: Option<String>,
    /// An `https` image of the product.
    pub image_url: Option<String>,
    /// The Standard Price Book's price.
    pub price: Option<Money>,
    pub active: bool,
    /// Why an inactive product is: `inactive` in Salesforce, or `missing` from it.
    pub inactive_reason: Option<String>,
    /// Salesforce's `LastModifiedDate` of the version synced.
    pub modified_at: DateTime<Utc>,
    pub synced_at: DateTime<Utc>,
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        let price = match (row.price_hundredths, row.currency) {
            (Some(hundredths), Some(currency)) => {
                Some(Money::from_hundredths(hundredths, &currency))
            }
            _ => None,
        };
        Product {
            id: row.id,
            sku: row.sku,
            name: row.name,
            category: row.category,
            colour: row.colour,
            material: row.material,
            description: row.description,
            image_url: row.image_url,
            price,
            active: row.active,
            inactive_reason: row.inactive_reason,
            modified_at: row.source_modified_at,
            synced_at: row.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingProductPage)]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub next_cursor: Option<String>,
}

fn text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value?.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "invalid",
            format!("1–{max} characters, without control characters."),
        ));
        return None;
    }
    Some(value.to_owned())
}

fn filters(query: &ProductQuery) -> Result<Filters, ApiError> {
    let mut errors = crate::errors::field_errors([query.page.validate()]);
    let q = match text("q", query.q.as_deref(), 100, &mut errors) {
        Some(q) => {
            let parsed = Text::parse(&q);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    "q",
                    "invalid",
                    "At least one letter or digit.",
                ));
            }
            parsed
        }
        None => None,
    };
    let category = text("category", query.category.as_deref(), 100, &mut errors);
    let colour = text("colour", query.colour.as_deref(), 100, &mut errors);
    let material = text("material", query.material.as_deref(), 100, &mut errors);
    let active = match query.active.as_deref() {
        None | Some("true") => Some(true),
        Some("false") => Some(false),
        Some("any") => None,
        Some(_) => {
            errors.push(FieldError::new("active", "invalid", "true, false or any."));
            None
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let after = match &query.page.cursor {
        Some(cursor) => {
            let after = After::decode(cursor.as_str())
                // A cursor from a search with `q` carries a score; one without does not.
                .filter(|after| after.score.is_some() == q.is_some())
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidQueryParameter)
                        .with_detail("The cursor is not valid.")
                })?;
            Some(after)
        }
        None => None,
    };
    Ok(Filters {
        q,
        category,
        colour,
        material,
        active,
        after,
    })
}

fn not_found() -> ApiError {
    ApiError::not_found().with_detail("No such product in this brand's catalogue.")
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/products", operation_id = "search_clienteling_products", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ProductQuery, Pagination<Products>),
    responses(
        (status = 200, description = "The brand's products matching the search, best match first (SKU order without `q`)", body = ProductPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn search_products(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    query: web::Query<ProductQuery>,
) -> Result<HttpResponse, ApiError> {
    let filters = filters(&query)?;
    let mut tx = state.db.begin().await?;
    let (rows, next) = search::page(
        &mut tx,
        in_brand.brand.id,
        &filters,
        i64::from(query.page.size()),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(ProductPage {
        items: rows.into_iter().map(Product::from).collect(),
        next_cursor: next.map(|after| after.encode()),
    }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/products/{id}", operation_id = "get_clienteling_product", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product, active or not", body = Product),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such product in its catalogue", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_product(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path.1).map_err(|_| not_found())?;
    let mut conn = state.db.acquire().await?;
    let row = super::store::by_id(&mut conn, in_brand.brand.id, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(Product::from(row)))
}

fn run_path(brand: &str, id: Uuid) -> String {
    format!("/api/v1/brands/{brand}/clienteling/products/sync/{id}")
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/products/sync", operation_id = "request_clienteling_catalogue_sync", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    responses(
        (status = 202, description = "The sync is queued (or the one already queued or running), with `Location` naming its status", body = Run),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a manager of the brand (client advisors may not start a sync)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn request_sync(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
) -> Result<HttpResponse, ApiError> {
    if !(in_brand.is_admin() || in_brand.user.has_role(Role::Manager)) {
        return Err(ApiError::new(ErrorCode::Forbidden)
            .with_detail("Only managers and admins start a catalogue sync."));
    }
    let brand = &in_brand.brand;
    let mut tx = state.db.begin().await?;
    let run_id = super::enqueue_sync(
        &mut tx,
        &state.settings.jobs,
        brand.id,
        &brand.slug,
        Trigger::Request,
        Some(in_brand.user.user_id),
    )
    .await?;
    let run = runs::get(&mut tx, brand.id, run_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the run just opened is gone")))?;
    tx.commit().await?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, run_path(&brand.slug, run_id)))
        .json(run))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/products/sync/{run}", operation_id = "get_clienteling_catalogue_sync", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("run" = Uuid, Path, description = "Sync run id")),
    responses(
        (status = 200, description = "The run's status and counts", body = Run),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such run of its catalogue", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_sync(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let missing = || ApiError::not_found().with_detail("No such catalogue sync in this brand.");
    let id = Uuid::parse_str(&path.1).map_err(|_| missing())?;
    let mut conn = state.db.acquire().await?;
    let run = runs::get(&mut conn, in_brand.brand.id, id)
        .await?
        .ok_or_else(missing)?;
    Ok(HttpResponse::Ok().json(run))
}
