//! The catalogue as interaction enrichment's product source: the SKUs an advisor named, read from the synced
//! table (one indexed query, no call to Salesforce), so the timeline shows names, images and prices.

use futures::future::BoxFuture;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::routes::Product;
use super::store;
use crate::clienteling::interactions::enrich::ProductSource;

pub struct CatalogueProducts {
    db: PgPool,
}

impl CatalogueProducts {
    pub fn new(db: PgPool) -> Self {
        Self { db }
    }
}

impl ProductSource for CatalogueProducts {
    fn products<'a>(
        &'a self,
        brand_id: Uuid,
        skus: &'a [String],
    ) -> BoxFuture<'a, anyhow::Result<Vec<Value>>> {
        Box::pin(async move {
            let mut conn = self.db.acquire().await?;
            let rows = store::by_skus(&mut conn, brand_id, skus).await?;
            Ok(rows
                .into_iter()
                .map(|row| {
                    let product = Product::from(row);
                    json!({
                        "sku": product.sku,
                        "name": product.name,
                        "image_url": product.image_url,
                        "price": product.price.as_ref().map(|money| money.amount.to_string()),
                        "currency": product.price.as_ref().map(|money| money.currency.clone()),
                        "active": product.active,
                    })
                })
                .collect())
        })
    }
}
