//! The catalog served from Redis. The whole catalog is one [`CatalogSnapshot`] under two keys:
//!
//! - `catalog:snapshot`, kept for `catalog.cache_ttl_secs`: while it exists, reads never reach Salesforce;
//! - `catalog:snapshot:last-good`, kept for 7 days: only read when Salesforce fails, so the portal keeps
//!   showing the last catalog it saw (marked stale) instead of an error.
//!
//! A miss loads from Salesforce and writes both. When Redis is down every read goes to Salesforce (the
//! cache bypasses itself), so the catalog is still served, only slower.

use std::time::Duration;

use chrono::Utc;

use super::domain::CatalogSnapshot;
use super::salesforce;
use super::{Catalog, CatalogError};

pub const FRESH_KEY: &str = "catalog:snapshot";
pub const LAST_GOOD_KEY: &str = "catalog:snapshot:last-good";
const LAST_GOOD_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// A snapshot and whether it is past its TTL (served because Salesforce could not be read).
#[derive(Debug, Clone)]
pub struct Served {
    pub snapshot: CatalogSnapshot,
    pub stale: bool,
}

/// The catalog for a read: the cached snapshot, else a fresh load, else (Salesforce failing) the last good
/// snapshot marked stale. Fails only when Salesforce fails and no snapshot was ever cached.
pub async fn current(catalog: &Catalog) -> Result<Served, CatalogError> {
    if let Some(snapshot) = catalog.cache.get::<CatalogSnapshot>(FRESH_KEY).await {
        metrics::counter!("catalog_reads_total", "source" => "cache").increment(1);
        return Ok(Served {
            snapshot,
            stale: false,
        });
    }
    match refresh(catalog).await {
        Ok(snapshot) => {
            metrics::counter!("catalog_reads_total", "source" => "salesforce").increment(1);
            Ok(Served {
                snapshot,
                stale: false,
            })
        }
        Err(CatalogError::Provider(error)) => {
            let Some(snapshot) = catalog.cache.get::<CatalogSnapshot>(LAST_GOOD_KEY).await else {
                metrics::counter!("catalog_reads_total", "source" => "none").increment(1);
                return Err(CatalogError::Provider(error));
            };
            metrics::counter!("catalog_reads_total", "source" => "stale").increment(1);
            tracing::warn!(
                %error,
                fetched_at = %snapshot.fetched_at,
                "Salesforce failed; serving the last good catalog snapshot"
            );
            Ok(Served {
                snapshot,
                stale: true,
            })
        }
    }
}

/// Reads the catalog from Salesforce now and caches it under both keys. On failure nothing is written:
/// the snapshots already cached stay as they are.
pub async fn refresh(catalog: &Catalog) -> Result<CatalogSnapshot, CatalogError> {
    let settings = &catalog.settings;
    let products = salesforce::fetch_catalog(&catalog.salesforce, &settings.pricebook_name).await?;
    if products.is_empty() {
        tracing::warn!(
            pricebook = %settings.pricebook_name,
            "Salesforce returned an empty portal catalog"
        );
    }
    let snapshot = CatalogSnapshot::new(Utc::now(), products);
    let ttl = Duration::from_secs(settings.cache_ttl_secs);
    catalog.cache.set(FRESH_KEY, &snapshot, ttl).await;
    catalog
        .cache
        .set(LAST_GOOD_KEY, &snapshot, LAST_GOOD_TTL)
        .await;
    Ok(snapshot)
}
