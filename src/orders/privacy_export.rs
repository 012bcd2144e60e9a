//! The orders' part of a portal customer's privacy export: their orders and each order's event history.
//! Orders are commercial records the law requires to keep (an erasure removes their personal fields only).

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::privacy::ExportFile;

const RETENTION: &str = "Orders are commercial records kept for 10 years (commercial and tax law); an erasure removes their personal fields, not the orders.";

pub async fn export(db: PgPool, user_id: Uuid) -> anyhow::Result<Vec<ExportFile>> {
    let orders: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(o) - 'user_id'
                  || jsonb_build_object('events', COALESCE((
                         SELECT jsonb_agg(to_jsonb(e) - 'order_id' ORDER BY e.id)
                         FROM order_events e WHERE e.order_id = o.id), '[]'::jsonb)) AS "row!"
           FROM orders o WHERE o.user_id = $1 ORDER BY o.created_at, o.id"#,
        user_id
    )
    .fetch_all(&db)
    .await?;
    Ok(vec![ExportFile::new("orders", orders).retained(RETENTION)])
}
