//! The `brands` and `stores` tables. Only this module touches them.

use sqlx::PgExecutor;
use uuid::Uuid;

use super::domain::{Brand, Store};

pub struct NewBrand<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub timezone: &'a str,
    pub default_locale: &'a str,
    pub currency: &'a str,
}

pub struct NewStore<'a> {
    pub brand_id: Uuid,
    pub code: &'a str,
    pub name: &'a str,
    pub timezone: &'a str,
    pub country: &'a str,
}

/// Whether PostgreSQL knows the IANA zone (its list is the one `AT TIME ZONE` uses).
pub async fn timezone_exists(db: impl PgExecutor<'_>, name: &str) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS "found!""#,
        name
    )
    .fetch_one(db)
    .await?;
    Ok(found)
}

/// `None` when the slug is taken.
pub async fn insert_brand(
    db: impl PgExecutor<'_>,
    brand: NewBrand<'_>,
) -> Result<Option<Brand>, sqlx::Error> {
    sqlx::query_as!(
        Brand,
        "INSERT INTO brands (id, slug, name, timezone, default_locale, currency)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (slug) DO NOTHING
         RETURNING id, slug, name, timezone, default_locale, currency, created_at",
        Uuid::now_v7(),
        brand.slug,
        brand.name,
        brand.timezone,
        brand.default_locale,
        brand.currency,
    )
    .fetch_optional(db)
    .await
}

pub async fn brand_by_slug(
    db: impl PgExecutor<'_>,
    slug: &str,
) -> Result<Option<Brand>, sqlx::Error> {
    sqlx::query_as!(
        Brand,
        "SELECT id, slug, name, timezone, default_locale, currency, created_at
         FROM brands WHERE slug = $1",
        slug
    )
    .fetch_optional(db)
    .await
}

/// Brands ordered by slug, after `after` when given.
pub async fn list_brands(
    db: impl PgExecutor<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Brand>, sqlx::Error> {
    sqlx::query_as!(
        Brand,
        "SELECT id, slug, name, timezone, default_locale, currency, created_at
         FROM brands WHERE $1::text IS NULL OR slug > $1
         ORDER BY slug LIMIT $2",
        after,
        limit
    )
    .fetch_all(db)
    .await
}

/// `None` when the brand already has a store with this code.
pub async fn insert_store(
    db: impl PgExecutor<'_>,
    brand_slug: &str,
    store: NewStore<'_>,
) -> Result<Option<Store>, sqlx::Error> {
    sqlx::query_as!(
        Store,
        r#"INSERT INTO stores (id, brand_id, code, name, timezone, country)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (brand_id, code) DO NOTHING
           RETURNING id, $7::text AS "brand!", code, name, timezone, country AS "country!", created_at"#,
        Uuid::now_v7(),
        store.brand_id,
        store.code,
        store.name,
        store.timezone,
        store.country,
        brand_slug,
    )
    .fetch_optional(db)
    .await
}

/// The brand's stores ordered by code, after `after` when given.
pub async fn list_stores(
    db: impl PgExecutor<'_>,
    brand_id: Uuid,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Store>, sqlx::Error> {
    sqlx::query_as!(
        Store,
        r#"SELECT s.id, b.slug AS brand, s.code, s.name, s.timezone, s.country AS "country!", s.created_at
           FROM stores s JOIN brands b ON b.id = s.brand_id
           WHERE s.brand_id = $1 AND ($2::text IS NULL OR s.code > $2)
           ORDER BY s.code LIMIT $3"#,
        brand_id,
        after,
        limit
    )
    .fetch_all(db)
    .await
}

/// The codes among `codes` that are not stores of the brand `slug` (all of them when the brand does not
/// exist).
pub async fn missing_stores(
    db: impl PgExecutor<'_>,
    slug: &str,
    codes: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT code AS "code!" FROM unnest($2::text[]) AS wanted (code)
           WHERE NOT EXISTS (
               SELECT 1 FROM stores s JOIN brands b ON b.id = s.brand_id
               WHERE b.slug = $1 AND s.code = wanted.code)
           ORDER BY code"#,
        slug,
        codes
    )
    .fetch_all(db)
    .await
}
