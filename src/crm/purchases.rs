//! A profile's purchases, as the clienteling 360° view shows them: the figures of its KPI cards in one
//! statement ([`summary`]) and its purchases newest first on the timeline's keyset ([`page`]). Both read the
//! `purchase` activities only; the caller passes the profile's live id (`profile::current_id`). The
//! clienteling dashboard reads a set of profiles' biggest spenders ([`top_spenders`]) and the purchases that
//! followed contacts ([`after_contacts`]).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// What the KPI cards need from a profile's purchases.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Every purchase, whatever its currency.
    pub purchases: i64,
    /// The profile's lifetime value (in the brand's currency, kept by the event path), as a decimal string
    /// with two decimals, as the dashboard shows it.
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
                  (SELECT round(lifetime_value, 2)::text FROM crm_profiles WHERE brand_id = $1 AND id = $2) AS lifetime_value,
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
        lifetime_value: row.lifetime_value.unwrap_or_else(|| "0.00".to_owned()),
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

/// A profile among the biggest spenders of a set (the clienteling dashboard's "keep in touch" list).
#[derive(Debug, Clone, PartialEq)]
pub struct Spender {
    pub profile_id: Uuid,
    /// The lifetime value in the brand's currency, a decimal string with two places.
    pub lifetime_value: String,
    pub last_purchase_at: Option<DateTime<Utc>>,
}

/// Of `profiles` (ids of live profiles; merged-away ones are skipped), the `limit` with the highest
/// lifetime value, highest first (ties by id), with their last purchase.
pub async fn top_spenders(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profiles: &[Uuid],
    limit: i64,
) -> Result<Vec<Spender>, sqlx::Error> {
    sqlx::query_as!(
        Spender,
        r#"SELECT p.id AS profile_id, round(p.lifetime_value, 2)::text AS "lifetime_value!",
                  (SELECT max(a.occurred_at) FROM crm_activities a
                   WHERE a.brand_id = p.brand_id AND a.profile_id = p.id AND a.type = 'purchase') AS last_purchase_at
           FROM crm_profiles p
           WHERE p.brand_id = $1 AND p.id = ANY($2) AND p.merged_into IS NULL
           ORDER BY p.lifetime_value DESC, p.id
           LIMIT $3"#,
        brand_id,
        profiles,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Contacts with profiles that purchases are attributed to: `profiles[i]` was contacted at `at[i]` on
/// behalf of `keys[i]` (an advisor, for clienteling). The three slices have the same length.
#[derive(Debug, Clone, Copy)]
pub struct Contacts<'a> {
    pub profiles: &'a [Uuid],
    pub at: &'a [DateTime<Utc>],
    pub keys: &'a [Uuid],
}

/// Purchases attributed to one key, or to all of them (`key` `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct AttributedSales {
    pub key: Option<Uuid>,
    pub purchases: i64,
    /// The sum in the brand's currency (purchases in another currency count but add nothing), two places.
    pub amount: String,
}

/// The purchases made in `[from, to]` by the contacted profiles within `window` after one of their
/// contacts, each attributed to the key of the latest contact before it: per key, and in total (the
/// `None` row, always present).
pub async fn after_contacts(
    conn: &mut PgConnection,
    brand_id: Uuid,
    currency: &str,
    contacts: Contacts<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<Vec<AttributedSales>, sqlx::Error> {
    // As in `summary`: only a well-formed amount reaches the arithmetic.
    let rows = sqlx::query!(
        r#"WITH contacts AS (
               SELECT * FROM unnest($2::uuid[], $3::timestamptz[], $4::uuid[]) AS c(profile_id, at, key)
           ), bought AS (
               SELECT a.profile_id, a.occurred_at,
                      CASE WHEN a.properties->>'currency' = $5 AND a.properties->>'amount' ~ '^[0-9]{1,14}(\.[0-9]{1,4})?$'
                           THEN (a.properties->>'amount')::numeric ELSE 0 END AS amount
               FROM crm_activities a
               WHERE a.brand_id = $1 AND a.type = 'purchase' AND a.profile_id = ANY($2)
                 AND a.occurred_at >= $6 AND a.occurred_at <= $7
           ), attributed AS (
               SELECT b.amount,
                      (SELECT c.key FROM contacts c
                       WHERE c.profile_id = b.profile_id AND c.at <= b.occurred_at
                         AND c.at >= b.occurred_at - make_interval(secs => $8)
                       ORDER BY c.at DESC, c.key
                       LIMIT 1) AS key
               FROM bought b
           )
           SELECT key, count(*) AS "purchases!", round(coalesce(sum(amount), 0), 2)::text AS "amount!",
                  GROUPING(key) = 1 AS "total!"
           FROM attributed
           WHERE key IS NOT NULL
           GROUP BY GROUPING SETS ((key), ())"#,
        brand_id,
        contacts.profiles,
        contacts.at,
        contacts.keys,
        currency,
        from,
        to,
        window.num_seconds() as f64
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| AttributedSales {
            key: if row.total { None } else { row.key },
            purchases: row.purchases,
            amount: row.amount,
        })
        .collect())
}
