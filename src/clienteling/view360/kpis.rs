//! The KPI cards: lifetime spend, purchases, average basket and last purchase (the CRM's purchases, one
//! statement), last contact, interactions in the last 90 days and the top categories of what was bought
//! (clienteling's interactions and catalogue, one statement).

use chrono::{DateTime, Utc};

use super::gate::Gate;
use super::model::{CategoryCount, Kpis};
use super::parts::{PageDb, PartError};
use super::repo;
use crate::crm::{profile, purchases};

fn days_since(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<i64> {
    at.map(|at| (now - at).num_days().max(0))
}

pub async fn fetch(db: &PageDb<'_>, gate: &Gate) -> Result<Kpis, PartError> {
    let mut part = db.conn().await?;
    let brand_id = gate.scope.brand_id;
    let currency = gate.brand_currency.as_str();
    let summary = match profile::current_id(&mut part.conn, brand_id, gate.client_id).await? {
        Some(live) => Some(purchases::summary(&mut part.conn, brand_id, live, currency).await?),
        None => None,
    };
    let (skus, quantities): (Vec<String>, Vec<i64>) = summary
        .as_ref()
        .map(|summary| summary.top_skus.iter().cloned().unzip())
        .unwrap_or_default();
    let stats = repo::contact_stats(
        &mut part.conn,
        brand_id,
        &gate.clients(),
        &skus,
        &quantities,
    )
    .await?;
    let now = Utc::now();
    let last_purchase_at = summary.as_ref().and_then(|s| s.last_purchase_at);
    Ok(Kpis {
        currency: currency.to_owned(),
        lifetime_spend: summary
            .as_ref()
            .map_or_else(|| "0.00".to_owned(), |s| s.lifetime_value.clone()),
        purchases: summary.as_ref().map_or(0, |s| s.purchases),
        average_basket: summary.as_ref().and_then(|s| s.average_basket.clone()),
        last_purchase_at,
        days_since_last_purchase: days_since(last_purchase_at, now),
        last_contact_at: stats.last_contact_at,
        days_since_last_contact: days_since(stats.last_contact_at, now),
        interactions_90d: stats.interactions_90d,
        top_categories: stats
            .categories
            .into_iter()
            .map(|(category, quantity)| CategoryCount { category, quantity })
            .collect(),
    })
}
