//! Brands and their stores: the tenancy every CRM and clienteling row belongs to. One deployment serves the
//! portal's operator brand and several Maisons, each isolated from the others.
//!
//! Published: [`InBrand`] (the extractor of every `/api/v1/brands/{brand}/…` handler, with the role sets
//! [`Marketing`] and [`Clienteling`]), [`Brand`]/[`Store`], [`find`] and [`missing_stores`] (for the staff
//! admin's scope checks), [`ensure_brand`]/[`ensure_store`] for demo data, the admin routes and `ApiDoc`.

mod access;
mod cache;
mod domain;
mod repo;
mod routes;

use actix_web::web;
use sqlx::PgExecutor;
use utoipa::OpenApi;

pub use access::{BrandRoles, Clienteling, InBrand, Marketing, belongs, brand_not_found};
pub use domain::{Brand, Store, is_locale, is_slug};

use crate::http::resource;

/// The brand with this slug.
pub async fn find(db: impl PgExecutor<'_>, slug: &str) -> Result<Option<Brand>, sqlx::Error> {
    if !is_slug(slug) {
        return Ok(None);
    }
    repo::brand_by_slug(db, slug).await
}

/// The store codes among `codes` that are not stores of the brand `slug` (every one of them when the brand
/// does not exist), sorted.
pub async fn missing_stores(
    db: impl PgExecutor<'_>,
    slug: &str,
    codes: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    repo::missing_stores(db, slug, codes).await
}

/// The codes of the brand's stores, sorted (synthetic CRM data names them in its activities).
pub async fn store_codes(
    db: impl PgExecutor<'_>,
    brand_id: uuid::Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    let stores = repo::list_stores(db, brand_id, None, 10_000).await?;
    Ok(stores.into_iter().map(|store| store.code).collect())
}

/// The name of the brand's store `code` (clienteling snapshots it on an interaction).
pub async fn store_name(
    db: impl PgExecutor<'_>,
    brand_id: uuid::Uuid,
    code: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT name FROM stores WHERE brand_id = $1 AND code = $2",
        brand_id,
        code
    )
    .fetch_optional(db)
    .await
}

/// The IANA time zone of the brand's store `code` (opening hours and availability are in its local time).
pub async fn store_timezone(
    db: impl PgExecutor<'_>,
    brand_id: uuid::Uuid,
    code: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT timezone FROM stores WHERE brand_id = $1 AND code = $2",
        brand_id,
        code
    )
    .fetch_optional(db)
    .await
}

/// The slug of the brand `id` (hooks that are handed only the id name the brand in their events).
pub async fn slug_of(
    db: impl PgExecutor<'_>,
    id: uuid::Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT slug FROM brands WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

/// Demo data and tests: the brand, created when absent (an existing one is left as it is).
pub async fn ensure_brand(
    db: &sqlx::PgPool,
    slug: &str,
    name: &str,
    timezone: &str,
    default_locale: &str,
    currency: &str,
) -> Result<Brand, sqlx::Error> {
    repo::insert_brand(
        db,
        repo::NewBrand {
            slug,
            name,
            timezone,
            default_locale,
            currency,
        },
    )
    .await?;
    repo::brand_by_slug(db, slug)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// Demo data and tests: the brand's store, created when absent. `false` when the brand does not exist.
pub async fn ensure_store(
    db: &sqlx::PgPool,
    brand_slug: &str,
    code: &str,
    name: &str,
    timezone: &str,
    country: &str,
) -> Result<bool, sqlx::Error> {
    let Some(brand) = repo::brand_by_slug(db, brand_slug).await? else {
        return Ok(false);
    };
    repo::insert_store(
        db,
        brand_slug,
        repo::NewStore {
            brand_id: brand.id,
            code,
            name,
            timezone,
            country,
        },
    )
    .await?;
    Ok(true)
}

/// This context's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        routes::create_brand,
        routes::list_brands,
        routes::get_brand,
        routes::create_store,
        routes::list_stores
    ),
    components(schemas(
        Brand,
        Store,
        domain::CreateBrandRequest,
        domain::CreateStoreRequest,
        routes::BrandPage,
        routes::StorePage,
    ))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/admin/brands")
            .route(web::get().to(routes::list_brands))
            .route(web::post().to(routes::create_brand)),
    )
    .service(resource("/admin/brands/{brand}").route(web::get().to(routes::get_brand)))
    .service(
        resource("/admin/brands/{brand}/stores")
            .route(web::get().to(routes::list_stores))
            .route(web::post().to(routes::create_store)),
    );
}
