//! A profile's purchases, as the clienteling 360° view shows them: the figures of its KPI cards in one
//! statement ([`summary`]) and its purchases newest first on the timeline's keyset ([`page`]). Both read the
//! `purchase` activities only; the caller passes the profile's live id (`profile::current_id`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// What the KPI cards need from a profile's purchases.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Every purchase, whatever its currency.
    pub purchases: i64,
    /// The profile's lifetime value (in the brand's currency, kept by the event path), as a decimal string.
    pub lifetime_value: String,
    /// The average purchase in the brand's currency (purchases in other currencies are not averaged in).
    pub average_basket: Option<String>,
    pub last_purchase_at: Option<DateTime<Utc>>,
    /// The SKUs bought most, most first (by quantity, then SKU), at most 50: `(sku, quantity)`.
    pub top_skus: Vec<(String, i64)>,
}

/// The summary of the profile's purchases; `currency` is the brand's.
pub async fn summary(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    currency: &str,
) -> Result<Summary, sqlx::Error> {
    // The event path checked every purchase's amount and items, but a cast that fails would fail the whole
    // statement: the patterns keep anything else out of the arithmetic.
    let row = sqlx::query!(
        r#"WITH bought AS (
               SELECT occurred_at, properties FROM crm_activities
               WHERE brand_id = $1 AND profile_id = $2 AND type = 'purchase'
           ), priced AS (
               SELECT occurred_at,
                      CASE WHEN properties->>'currency' = $3 AND properties->>'amount' ~ '^[0-9]{1,14}(\.[0-9]{1,4})?$'
                           THEN (properties->>'amount')::numeric END AS amount
               FROM bought
           ), items AS (
               SELECT item->>'sku' AS sku,
                      sum(CASE WHEN item->>'quantity' ~ '^[0-9]{1,5}$' THEN (item->>'quantity')::bigint ELSE 1 END)::bigint
                          AS quantity
               FROM bought
               CROSS JOIN LATERAL jsonb_array_elements(
                   CASE WHEN jsonb_typeof(bought.properties->'items') = 'array' THEN bought.properties->'items'
                        ELSE '[]'::jsonb END) AS item
               WHERE jsonb_typeof(item->'sku') = 'string'
               GROUP BY 1
               ORDER BY 2 DESC, 1
               LIMIT 50
           )
           SELECT (SELECT count(*) FROM priced) AS "purchases!",
                  (SELECT round(avg(amount), 2)::text FROM priced) AS average_basket,
                  (SELECT max(occurred_at) FROM priced) AS last_purchase_at,
                  (SELECT lifetime_value::text FROM crm_profiles WHERE brand_id = $1 AND id = $2) AS lifetime_value,
                  coalesce((SELECT array_agg(sku ORDER BY quantity DESC, sku) FROM items), '{}') AS "skus!",
                  coalesce((SELECT array_agg(quantity ORDER BY quantity DESC, sku) FROM items), '{}') AS "quantities!""#,
        brand_id,
        profile_id,
        currency
    )
    .fetch_one(conn)
    .await?;
    Ok(Summary {
        purchases: row.purchases,
        lifetime_value: row.lifetime_value.unwrap_or_else(|| "0".to_owned()),
        average_basket: row.average_basket,
        last_purchase_at: row.last_purchase_at,
        top_skus: row.skus.into_iter().zip(row.quantities).collect(),
    })
}

/// One purchase as a timeline shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub order_id: Option<String>,
    /// A decimal string, as sent.
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub store: Option<String>,
    /// The items' SKUs, in order.
    pub skus: Vec<String>,
}

fn text(properties: &Value, name: &str) -> Option<String> {
    match properties.get(name)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

impl Purchase {
    fn from_row(id: Uuid, occurred_at: DateTime<Utc>, properties: &Value) -> Purchase {
        let skus = properties
            .get("items")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.get("sku").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Purchase {
            id,
            occurred_at,
            order_id: text(properties, "order_id"),
            amount: text(properties, "amount"),
            currency: text(properties, "currency"),
            store: text(properties, "store"),
            skus,
        }
    }
}

/// The profile's purchases strictly older than `before` (`(occurred_at, id)`, the timeline's keyset order),
/// newest first, at most `limit`.
pub async fn page(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    before: (DateTime<Utc>, Uuid),
    limit: i64,
) -> Result<Vec<Purchase>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, occurred_at, properties FROM crm_activities
           WHERE brand_id = $1 AND profile_id = $2 AND type = 'purchase' AND (occurred_at, id) < ($3, $4)
           ORDER BY occurred_at DESC, id DESC
           LIMIT $5"#,
        brand_id,
        profile_id,
        before.0,
        before.1,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| Purchase::from_row(row.id, row.occurred_at, &row.properties))
        .collect())
}
