//! The SIM lines' part of a portal customer's privacy export: every SIM action taken through the portal,
//! data top-ups (each charged: kept with the invoices it produced) and plan changes.

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::privacy::ExportFile;

const RETENTION: &str = "Charged top-ups back invoices kept for 10 years (tax law); an erasure removes their personal fields, not the records.";

pub async fn export(db: PgPool, user_id: Uuid) -> anyhow::Result<Vec<ExportFile>> {
    let mut conn = db.acquire().await?;
    let actions: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(a) - 'user_id' AS "row!" FROM sim_actions a
           WHERE a.user_id = $1 ORDER BY a.id"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let top_ups: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(t) - 'user_id' - 'request_key' AS "row!" FROM sim_top_ups t
           WHERE t.user_id = $1 ORDER BY t.created_at, t.id"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let plan_changes: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT to_jsonb(p) - 'user_id' - 'request_key' AS "row!" FROM sim_plan_changes p
           WHERE p.user_id = $1 ORDER BY p.created_at, p.id"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(vec![
        ExportFile::new("sim_actions", actions),
        ExportFile::new("top_ups", top_ups).retained(RETENTION),
        ExportFile::new("plan_changes", plan_changes),
    ])
}
