//! The catalog as the rest of Concierge sees it: provider-agnostic products with their price, billing cycle
//! and SIM details. Serialisable because the whole catalog is cached in Redis as one [`CatalogSnapshot`];
//! clients never see these types directly (the routes answer [`super::routes::ProductView`], which leaves the
//! WHMCS product id out).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::Money;

/// How often a product is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingCycle {
    Monthly,
    Annually,
    OneTime,
}

/// The SIM plan behind a SIM product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SimDetails {
    /// Monthly data allowance as sold, e.g. `20GB` or `Unlimited`.
    pub data_size: Option<String>,
    /// The mobile network's plan code, e.g. `DATA_20GB` or `VOICE_5GB`.
    pub plan_type: Option<String>,
}

/// One product a customer may order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogProduct {
    pub sku: String,
    pub name: String,
    pub family: String,
    pub description: Option<String>,
    #[serde(with = "cached_money")]
    pub price: Money,
    pub billing_cycle: BillingCycle,
    pub sim: Option<SimDetails>,
    /// The billing system's product id, for the orders context. Never shown to clients.
    pub whmcs_product_id: i64,
}

impl CatalogProduct {
    /// The catalog's stable order: by family, then name, then sku (unique, so the order is total).
    pub fn sort_key(&self) -> (&str, &str, &str) {
        (&self.family, &self.name, &self.sku)
    }
}

/// The whole catalog as read from the source at `fetched_at`, products in [`CatalogProduct::sort_key`]
/// order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogSnapshot {
    pub fetched_at: DateTime<Utc>,
    pub products: Vec<CatalogProduct>,
}

impl CatalogSnapshot {
    pub fn new(fetched_at: DateTime<Utc>, mut products: Vec<CatalogProduct>) -> Self {
        products.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        // A sku appearing twice (two Product2 records with one code) would make lookups ambiguous: keep
        // the first in the stable order.
        let mut seen = std::collections::HashSet::new();
        products.retain(|product| {
            let fresh = seen.insert(product.sku.clone());
            if !fresh {
                tracing::warn!(sku = %product.sku, "duplicate sku in the catalog; keeping the first");
            }
            fresh
        });
        Self {
            fetched_at,
            products,
        }
    }

    pub fn find(&self, sku: &str) -> Option<&CatalogProduct> {
        self.products.iter().find(|product| product.sku == sku)
    }
}

/// `Money` is written for clients as a decimal string; the cache keeps the exact hundredths instead, so a
/// cached price reads back without any decimal parsing.
mod cached_money {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::money::Money;

    #[derive(Serialize, Deserialize)]
    struct Cached {
        hundredths: i64,
        currency: String,
    }

    pub fn serialize<S: Serializer>(money: &Money, serializer: S) -> Result<S::Ok, S::Error> {
        Cached {
            hundredths: money.hundredths(),
            currency: money.currency.clone(),
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let cached = Cached::deserialize(deserializer)?;
        Ok(Money::from_hundredths(cached.hundredths, &cached.currency))
    }
}
