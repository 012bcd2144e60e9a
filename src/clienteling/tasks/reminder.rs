//! The reminder: a replica-safe cron tick (`[clienteling.tasks] reminder_cron`, once per tick across
//! replicas through `cron_ticks`) enqueues [`RemindDueTasks`], which marks every open task whose due time
//! has passed as reminded and records a `task_due` notification for its assignee, with a
//! `clienteling.task.due` outbox event. Rows are claimed with `FOR UPDATE SKIP LOCKED` and the notification
//! is unique per task, kind and assignee, so two runs at once (a slow tick overlapping the next) never notify
//! twice, while a task reassigned after its reminder is reminded to its new holder. An assignee who is no
//! longer active staff of the brand (disabled, or moved to another brand) is not notified (the task is
//! marked, and reminded once reassigned); one who moved to another store of the brand still is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;

use super::repo;
use super::rules;
use crate::jobs::Job;

/// Tasks claimed per transaction.
const BATCH: i64 = 200;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemindDueTasks {
    pub scheduled_for: DateTime<Utc>,
}

impl Job for RemindDueTasks {
    const QUEUE: &'static str = "clienteling-tasks-remind";
}

/// Reminds every task due by `now`; the number reminded.
pub async fn remind_due(db: &PgPool, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut total = 0u64;
    loop {
        let mut tx = db.begin().await?;
        let due = repo::claim_due(&mut tx, now, BATCH).await?;
        for task in &due {
            let brand = crate::brands::slug_of(&mut *tx, task.brand_id)
                .await?
                .unwrap_or_default();
            if !rules::still_staff(&mut tx, &brand, task.assignee_id).await? {
                // Marked all the same, or the task would be claimed again on every tick.
                repo::mark_reminded(&mut tx, task.id, now).await?;
                tracing::info!(task_id = %task.id, store = %task.store, "task reminder skipped: its assignee left the brand");
                continue;
            }
            let payload = json!({
                "task_id": task.id,
                "client_id": task.client_id,
                "title": task.title,
                "due_at": task.due_at,
            });
            repo::remind(&mut tx, task, &payload, now).await?;
            let Some(full) = repo::by_id(&mut tx, task.id).await? else {
                continue;
            };
            rules::record(&mut tx, "due", &brand, &full, "system:reminder", json!({})).await?;
        }
        tx.commit().await?;
        total += due.len() as u64;
        if (due.len() as i64) < BATCH {
            break;
        }
    }
    if total > 0 {
        metrics::counter!("clienteling_task_reminders_total").increment(total);
    }
    Ok(total)
}
