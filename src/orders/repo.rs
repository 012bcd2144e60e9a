//! The orders tables: `orders` (one row per portal order), `order_events` (every status change, read by the
//! SSE stream on any replica) and `order_steps` (the recorded result of each provisioning step).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::domain::{Activation, Order, OrderEvent, OrderItem, OrderStatus, SimChoice, StoredItem};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub salesforce_order_id: String,
    pub status: String,
    pub failure_reason: Option<String>,
    pub items: Json<Vec<StoredItem>>,
    pub activation: Option<Json<Activation>>,
    pub sim: Option<Json<SimChoice>>,
    #[allow(
        dead_code,
        reason = "part of the row; written by provisioning, read by operators only"
    )]
    pub whmcs_order_id: Option<i64>,
    pub service_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrderRow {
    pub fn status(&self) -> OrderStatus {
        // The column's CHECK constraint admits only known statuses.
        OrderStatus::parse(&self.status).unwrap_or(OrderStatus::Failed)
    }

    pub fn to_order(&self) -> Order {
        Order {
            id: self.id,
            status: self.status(),
            failure_reason: self.failure_reason.clone(),
            items: self.items.0.iter().map(OrderItem::from).collect(),
            activation: self.activation.as_ref().map(|json| json.0.clone()),
            sim: self.sim.as_ref().map(|json| json.0.clone()),
            service_ids: self.service_ids.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

pub struct NewOrderRow<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub salesforce_order_id: &'a str,
    pub items: &'a [StoredItem],
    pub activation: Option<&'a Activation>,
    pub sim: Option<&'a SimChoice>,
}

/// Inserts a new order (`pending_review`) with its first event.
pub async fn insert(
    conn: &mut PgConnection,
    order: &NewOrderRow<'_>,
) -> Result<OrderRow, sqlx::Error> {
    let row = sqlx::query_as!(
        OrderRow,
        r#"INSERT INTO orders (id, user_id, salesforce_order_id, status, items, activation, sim)
           VALUES ($1, $2, $3, 'pending_review', $4, $5, $6)
           RETURNING id, user_id, salesforce_order_id, status, failure_reason,
                  items AS "items: Json<Vec<StoredItem>>",
                  activation AS "activation: Json<Activation>",
                  sim AS "sim: Json<SimChoice>",
                  whmcs_order_id, service_ids, created_at, updated_at"#,
        order.id,
        order.user_id,
        order.salesforce_order_id,
        Json(order.items) as _,
        order.activation.map(Json) as _,
        order.sim.map(Json) as _,
    )
    .fetch_one(&mut *conn)
    .await?;
    append_event(conn, order.id, OrderStatus::PendingReview, None).await?;
    Ok(row)
}

/// The customer's order, `None` when it is someone else's or does not exist.
pub async fn find_for_user(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as!(
        OrderRow,
        r#"SELECT id, user_id, salesforce_order_id, status, failure_reason,
                  items AS "items: Json<Vec<StoredItem>>",
                  activation AS "activation: Json<Activation>",
                  sim AS "sim: Json<SimChoice>",
                  whmcs_order_id, service_ids, created_at, updated_at
           FROM orders WHERE id = $1 AND user_id = $2"#,
        id,
        user_id,
    )
    .fetch_optional(pool)
    .await
}

pub async fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as!(
        OrderRow,
        r#"SELECT id, user_id, salesforce_order_id, status, failure_reason,
                  items AS "items: Json<Vec<StoredItem>>",
                  activation AS "activation: Json<Activation>",
                  sim AS "sim: Json<SimChoice>",
                  whmcs_order_id, service_ids, created_at, updated_at
           FROM orders WHERE id = $1"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

pub async fn find_by_salesforce_id(
    conn: &mut PgConnection,
    salesforce_order_id: &str,
) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as!(
        OrderRow,
        r#"SELECT id, user_id, salesforce_order_id, status, failure_reason,
                  items AS "items: Json<Vec<StoredItem>>",
                  activation AS "activation: Json<Activation>",
                  sim AS "sim: Json<SimChoice>",
                  whmcs_order_id, service_ids, created_at, updated_at
           FROM orders WHERE salesforce_order_id = $1"#,
        salesforce_order_id,
    )
    .fetch_optional(conn)
    .await
}

/// Newest first; `after` is the (created_at, id) of the last order of the previous page.
pub async fn list_for_user(
    pool: &PgPool,
    user_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    let (at, id) = after.unzip();
    sqlx::query_as!(
        OrderRow,
        r#"SELECT id, user_id, salesforce_order_id, status, failure_reason,
                  items AS "items: Json<Vec<StoredItem>>",
                  activation AS "activation: Json<Activation>",
                  sim AS "sim: Json<SimChoice>",
                  whmcs_order_id, service_ids, created_at, updated_at
           FROM orders
           WHERE user_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
           ORDER BY created_at DESC, id DESC LIMIT $4"#,
        user_id,
        at,
        id,
        limit,
    )
    .fetch_all(pool)
    .await
}

pub async fn append_event(
    conn: &mut PgConnection,
    order_id: Uuid,
    status: OrderStatus,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO order_events (order_id, status, reason) VALUES ($1, $2, $3)",
        order_id,
        status.as_str(),
        reason,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the order to `status` and records the change (no-op when it is already there).
pub async fn set_status(
    conn: &mut PgConnection,
    order_id: Uuid,
    status: OrderStatus,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query!(
        "UPDATE orders SET status = $2, failure_reason = $3 WHERE id = $1 AND status <> $2",
        order_id,
        status.as_str(),
        reason,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 1 {
        append_event(conn, order_id, status, reason).await?;
    }
    Ok(changed == 1)
}

/// Marks the first request to provision the order with this Salesforce id; `None` when it was requested
/// before (or is not a portal order).
pub async fn claim_provision_request(
    conn: &mut PgConnection,
    salesforce_order_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE orders SET provision_requested_at = now()
         WHERE salesforce_order_id = $1 AND provision_requested_at IS NULL RETURNING id",
        salesforce_order_id,
    )
    .fetch_optional(conn)
    .await
}

/// Forgets the request to provision (the CRM did not approve after all), so a later one is claimed again.
pub async fn clear_provision_request(
    conn: &mut PgConnection,
    order_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE orders SET provision_requested_at = NULL WHERE id = $1",
        order_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores what provisioning created in WHMCS: the order, its services, and the items with their services.
pub async fn record_provisioned(
    conn: &mut PgConnection,
    order_id: Uuid,
    whmcs_order_id: i64,
    service_ids: &[i64],
    items: &[StoredItem],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE orders SET whmcs_order_id = $2, service_ids = $3, items = $4 WHERE id = $1",
        order_id,
        whmcs_order_id,
        service_ids,
        Json(items) as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Events after `after_sequence`, oldest first.
pub async fn events_after(
    pool: &PgPool,
    order_id: Uuid,
    after_sequence: i64,
) -> Result<Vec<OrderEvent>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, status, reason, created_at FROM order_events
         WHERE order_id = $1 AND id > $2 ORDER BY id",
        order_id,
        after_sequence,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            OrderStatus::parse(&row.status).map(|status| OrderEvent {
                sequence: row.id,
                status,
                reason: row.reason,
                at: row.created_at,
            })
        })
        .collect())
}

/// The recorded result of a provisioning step, if it ran to completion before.
pub async fn step<T: DeserializeOwned>(
    pool: &PgPool,
    order_id: Uuid,
    step: &str,
) -> Result<Option<T>, sqlx::Error> {
    let row = sqlx::query_scalar!(
        "SELECT result FROM order_steps WHERE order_id = $1 AND step = $2",
        order_id,
        step,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|json| serde_json::from_value(json).ok()))
}

/// Removes a step's record (a marker whose premise turned out false).
pub async fn forget_step(pool: &PgPool, order_id: Uuid, step: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM order_steps WHERE order_id = $1 AND step = $2",
        order_id,
        step,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a step's result (the first record wins).
pub async fn record_step<T: Serialize>(
    conn: &mut PgConnection,
    order_id: Uuid,
    step: &str,
    result: &T,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO order_steps (order_id, step, result) VALUES ($1, $2, $3)
         ON CONFLICT (order_id, step) DO NOTHING",
        order_id,
        step,
        Json(result) as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}
