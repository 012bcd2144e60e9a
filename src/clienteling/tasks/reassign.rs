//! Reassigning a client moves their open tasks held by the previous primary advisor to the new one (in the
//! reassignment's transaction), each with a `clienteling.task.reassigned` event (`reason: "reassigned"`).
//! Closed tasks stay with whoever held them: they are history.

use futures::future::BoxFuture;
use serde_json::json;
use sqlx::PgConnection;

use super::{repo, rules};
use crate::clienteling::assign::{OnReassign, Reassignment};

pub struct MoveTasks;

impl OnReassign for MoveTasks {
    fn name(&self) -> &'static str {
        "tasks"
    }

    fn moved<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        change: &'a Reassignment,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(move_open(conn, change))
    }
}

async fn move_open(conn: &mut PgConnection, change: &Reassignment) -> anyhow::Result<()> {
    let Some(from) = change.from else {
        return Ok(());
    };
    let open = repo::open_held_by(conn, change.brand_id, change.client_id, from).await?;
    if open.is_empty() {
        return Ok(());
    }
    let brand = crate::brands::slug_of(&mut *conn, change.brand_id)
        .await?
        .unwrap_or_default();
    for id in open {
        repo::set_assignee(conn, id, change.to).await?;
        if let Some(task) = repo::by_id(conn, id).await? {
            let details = json!({"reason": "reassigned", "previous": {"assignee_id": from}});
            rules::record(
                conn,
                "reassigned",
                &brand,
                &task,
                "system:reassignment",
                details,
            )
            .await?;
        }
    }
    Ok(())
}
