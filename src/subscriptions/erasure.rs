//! A customer's SIM records after an erasure: top-ups and plan changes are billed (kept, like invoices,
//! for the books: amount, currency, month, plan, status, times), without the line's number (`msisdn`) and
//! without the provider steps' answers; the SIM actions audit keeps action, outcome and time without its
//! parameters, provider reference and error. Idempotent; answers how many rows changed.

use sqlx::PgPool;
use uuid::Uuid;

pub async fn forget_lines(db: &PgPool, user_id: Uuid) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let mut changed = 0;
    for statement in [
        sqlx::query!(
            "UPDATE sim_top_ups SET msisdn = '', failure = NULL
             WHERE user_id = $1 AND (msisdn <> '' OR failure IS NOT NULL)",
            user_id
        ),
        sqlx::query!(
            "UPDATE sim_top_up_steps s SET result = '{}'::jsonb FROM sim_top_ups t
             WHERE t.id = s.top_up_id AND t.user_id = $1 AND s.result <> '{}'::jsonb",
            user_id
        ),
        sqlx::query!(
            "UPDATE sim_plan_changes SET msisdn = '', failure = NULL
             WHERE user_id = $1 AND (msisdn <> '' OR failure IS NOT NULL)",
            user_id
        ),
        sqlx::query!(
            "UPDATE sim_plan_change_steps s SET result = '{}'::jsonb FROM sim_plan_changes p
             WHERE p.id = s.plan_change_id AND p.user_id = $1 AND s.result <> '{}'::jsonb",
            user_id
        ),
        sqlx::query!(
            "UPDATE sim_actions SET parameters = '{}'::jsonb, provider_reference = NULL, error = NULL
             WHERE user_id = $1
               AND (parameters <> '{}'::jsonb OR provider_reference IS NOT NULL OR error IS NOT NULL)",
            user_id
        ),
    ] {
        changed += statement.execute(&mut *tx).await?.rows_affected();
    }
    tx.commit().await?;
    Ok(changed)
}
