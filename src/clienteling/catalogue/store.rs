//! `clienteling_products`: upserts from the sync, the deactivation of products Salesforce no longer has,
//! and the look-ups other parts of clienteling use (enrichment reads products by SKU).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::wire::{Incoming, Skip};

/// What one upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
    Unchanged,
}

/// Inserts or updates the brand's product named by its Salesforce id. A record older than the row (a replayed
/// or reordered page) changes nothing; a SKU another product of the brand holds (in any case) is refused.
pub async fn upsert(
    conn: &mut PgConnection,
    brand_id: Uuid,
    product: &Incoming,
) -> Result<Result<Upserted, Skip>, sqlx::Error> {
    let holder = sqlx::query_scalar!(
        r#"SELECT salesforce_id FROM clienteling_products
           WHERE brand_id = $1 AND lower(sku) COLLATE "C" = lower($2) COLLATE "C""#,
        brand_id,
        product.sku
    )
    .fetch_optional(&mut *conn)
    .await?;
    if holder.is_some_and(|holder| holder != product.salesforce_id) {
        return Ok(Err(Skip::DuplicateSku));
    }
    let (price, currency) = match &product.price {
        Some((hundredths, currency)) => (Some(*hundredths), Some(currency.as_str())),
        None => (None, None),
    };
    let inactive_reason = (!product.active).then_some("inactive");
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO clienteling_products AS p
               (id, brand_id, salesforce_id, sku, name, category, colour, material, description, image_url,
                price_hundredths, currency, active, inactive_reason, source_modified_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (brand_id, salesforce_id) DO UPDATE SET
               sku = EXCLUDED.sku, name = EXCLUDED.name, category = EXCLUDED.category,
               colour = EXCLUDED.colour, material = EXCLUDED.material, description = EXCLUDED.description,
               image_url = EXCLUDED.image_url, price_hundredths = EXCLUDED.price_hundredths,
               currency = EXCLUDED.currency, active = EXCLUDED.active,
               inactive_reason = EXCLUDED.inactive_reason, source_modified_at = EXCLUDED.source_modified_at,
               updated_at = now()
           WHERE EXCLUDED.source_modified_at >= p.source_modified_at
             AND (p.sku, p.name, p.category, p.colour, p.material, p.description, p.image_url,
                  p.price_hundredths, p.currency, p.active, p.inactive_reason)
                 IS DISTINCT FROM
                 (EXCLUDED.sku, EXCLUDED.name, EXCLUDED.category, EXCLUDED.colour, EXCLUDED.material,
                  EXCLUDED.description, EXCLUDED.image_url, EXCLUDED.price_hundredths, EXCLUDED.currency,
                  EXCLUDED.active, EXCLUDED.inactive_reason)
           RETURNING (xmax = 0) AS "inserted!""#,
        Uuid::now_v7(),
        brand_id,
        product.salesforce_id,
        product.sku,
        product.name,
        product.category,
        product.colour,
        product.material,
        product.description,
        product.image_url,
        price,
        currency,
        product.active,
        inactive_reason,
        product.modified_at,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(Ok(match inserted {
        Some(true) => Upserted::Created,
        Some(false) => Upserted::Updated,
        None => Upserted::Unchanged,
    }))
}

/// Sets aside the SKUs of the brand's products with these Salesforce ids (a placeholder no SKU can be), so
/// that products exchanging SKUs can take each other's in one transaction; each must then be upserted.
pub async fn release_skus(
    conn: &mut PgConnection,
    brand_id: Uuid,
    salesforce_ids: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE clienteling_products SET sku = chr(1) || id::text
         WHERE brand_id = $1 AND salesforce_id = ANY($2)",
        brand_id,
        salesforce_ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The Salesforce id of the product holding each of these (lower-cased) SKUs: (lower-cased SKU, id).
pub async fn sku_holders(
    conn: &mut PgConnection,
    brand_id: Uuid,
    lowered: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT lower(sku) AS "sku!", salesforce_id FROM clienteling_products
           WHERE brand_id = $1 AND lower(sku) COLLATE "C" = ANY($2)"#,
        brand_id,
        lowered
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.sku, row.salesforce_id))
        .collect())
}

/// How many of these products still have the placeholder `release_skus` set.
pub async fn released_left(
    conn: &mut PgConnection,
    brand_id: Uuid,
    salesforce_ids: &[String],
) -> Result<i64, sqlx::Error> {
    let left = sqlx::query_scalar!(
        r#"SELECT count(*) AS "left!" FROM clienteling_products
           WHERE brand_id = $1 AND salesforce_id = ANY($2) AND sku = chr(1) || id::text"#,
        brand_id,
        salesforce_ids
    )
    .fetch_one(conn)
    .await?;
    Ok(left)
}

/// Marks the brand's active products whose Salesforce id is not in `present` as missing; never deletes.
pub async fn deactivate_missing(
    conn: &mut PgConnection,
    brand_id: Uuid,
    present: &[String],
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE clienteling_products
         SET active = false, inactive_reason = 'missing', updated_at = now()
         WHERE brand_id = $1 AND active AND NOT (salesforce_id = ANY($2))",
        brand_id,
        present
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Merges the search indexes' pending lists into the indexes (see the migration): after a sync, searches
/// read the indexes alone.
pub async fn flush_search_indexes(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"SELECT gin_clean_pending_list('clienteling_products_fts'::regclass) AS "fts",
                  gin_clean_pending_list('clienteling_products_trgm'::regclass) AS "trgm""#
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

/// The Salesforce ids of the brand's records refused for their SKU by an earlier run.
pub async fn deferred(conn: &mut PgConnection, brand_id: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT salesforce_id FROM clienteling_catalogue_deferred WHERE brand_id = $1 ORDER BY salesforce_id",
        brand_id
    )
    .fetch_all(conn)
    .await
}

/// The records this run refused for their SKU, (Salesforce id, SKU), replace the brand's earlier ones: every
/// earlier one was read again by this run, and either got in, is refused again, or is gone from the brand.
/// A record refused again keeps the time it first waited from.
pub async fn replace_deferred(
    conn: &mut PgConnection,
    brand_id: Uuid,
    run_id: Uuid,
    refused: &[(String, String)],
) -> Result<(), sqlx::Error> {
    let (ids, skus): (Vec<String>, Vec<String>) = refused.iter().cloned().unzip();
    sqlx::query!(
        "DELETE FROM clienteling_catalogue_deferred WHERE brand_id = $1 AND NOT (salesforce_id = ANY($2))",
        brand_id,
        &ids
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO clienteling_catalogue_deferred (brand_id, salesforce_id, sku, run_id)
         SELECT $1, id, sku, $4 FROM unnest($2::text[], $3::text[]) AS r (id, sku)
         ON CONFLICT (brand_id, salesforce_id) DO UPDATE SET sku = EXCLUDED.sku, run_id = EXCLUDED.run_id",
        brand_id,
        &ids,
        &skus,
        run_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Products marked missing that Salesforce has again (restored from its recycle bin): to be read anew.
pub async fn reappeared(
    conn: &mut PgConnection,
    brand_id: Uuid,
    present: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT salesforce_id FROM clienteling_products
         WHERE brand_id = $1 AND inactive_reason = 'missing' AND salesforce_id = ANY($2)",
        brand_id,
        present
    )
    .fetch_all(conn)
    .await
}

/// A catalogue product as clienteling shows and uses it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    pub colour: Option<String>,
    pub material: Option<String>,
    pub description: Option<String>,
    pub image_url: Option<String>,
    pub price_hundredths: Option<i64>,
    pub currency: Option<String>,
    pub active: bool,
    pub inactive_reason: Option<String>,
    pub source_modified_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn by_id(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<Option<ProductRow>, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        "SELECT id, sku, name, category, colour, material, description, image_url, price_hundredths, currency,
                active, inactive_reason, source_modified_at, updated_at
         FROM clienteling_products WHERE brand_id = $1 AND id = $2",
        brand_id,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The brand's products with these SKUs (exact, case-sensitive as Salesforce keeps them), inactive ones too.
pub async fn by_skus(
    conn: &mut PgConnection,
    brand_id: Uuid,
    skus: &[String],
) -> Result<Vec<ProductRow>, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        "SELECT id, sku, name, category, colour, material, description, image_url, price_hundredths, currency,
                active, inactive_reason, source_modified_at, updated_at
         FROM clienteling_products WHERE brand_id = $1 AND sku = ANY($2) ORDER BY sku",
        brand_id,
        skus
    )
    .fetch_all(conn)
    .await
}
