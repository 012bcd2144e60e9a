//! A customer's orders after an erasure. Orders are commercial records the law requires to keep (tax and
//! accounting: what was sold, when, for how much — ten years in several EU states), so they stay, without
//! their personal fields:
//! - kept: id, status and its history (`order_events`), `items` (products, quantities, prices), the
//!   Salesforce and WHMCS order ids, the service ids and the times;
//! - emptied: `activation` (the activation request: scheduled time, MNP transfer details with the line
//!   holder's name and number), `sim` (EID, phone number), `failure_reason` and the provisioning steps'
//!   `result` (provider answers naming the line).
//!
//! An order awaiting review or being provisioned (`pending_review`, `approved`, `provisioning`) needs those
//! fields: the step is then retryable, and completes once the order is settled. The orders are locked while
//! they are checked and emptied, so an approval cannot slip in between. Idempotent.

use sqlx::PgPool;
use uuid::Uuid;

use crate::types::{Receipt, ReceiptStatus, StepError};

/// An order in these states still needs its activation and SIM details: one awaiting review may yet be
/// approved and provisioned from them.
const IN_FLIGHT: [&str; 3] = ["pending_review", "approved", "provisioning"];

pub async fn anonymise_orders(db: &PgPool, user_id: Uuid) -> Result<Receipt, StepError> {
    let database = |error: sqlx::Error| StepError::Retryable(format!("database: {error}"));
    let mut tx = db.begin().await.map_err(database)?;
    // Locked first: an approval arriving meanwhile waits until the fields are checked and emptied, and a
    // settled order is never approved again.
    let statuses = sqlx::query_scalar!(
        "SELECT status FROM orders WHERE user_id = $1 ORDER BY id FOR UPDATE",
        user_id
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(database)?;
    let in_flight = statuses
        .iter()
        .filter(|status| IN_FLIGHT.contains(&status.as_str()))
        .count();
    if in_flight > 0 {
        return Err(StepError::Retryable(format!(
            "{in_flight} orders are awaiting review or being provisioned; erased once they are done"
        )));
    }
    let changed = sqlx::query!(
        "UPDATE orders SET activation = NULL, sim = NULL, failure_reason = NULL
         WHERE user_id = $1 AND (activation IS NOT NULL OR sim IS NOT NULL OR failure_reason IS NOT NULL)",
        user_id
    )
    .execute(&mut *tx)
    .await
    .map_err(database)?
    .rows_affected();
    sqlx::query!(
        "UPDATE order_steps s SET result = '{}'::jsonb FROM orders o
         WHERE o.id = s.order_id AND o.user_id = $1 AND s.result <> '{}'::jsonb",
        user_id
    )
    .execute(&mut *tx)
    .await
    .map_err(database)?;
    sqlx::query!(
        "UPDATE order_events e SET reason = NULL FROM orders o
         WHERE o.id = e.order_id AND o.user_id = $1 AND e.reason IS NOT NULL",
        user_id
    )
    .execute(&mut *tx)
    .await
    .map_err(database)?;
    tx.commit().await.map_err(database)?;
    let status = if changed == 0 {
        ReceiptStatus::AlreadyDone
    } else {
        ReceiptStatus::Done
    };
    Ok(
        Receipt::new("portal", user_id.to_string(), status).with_detail(format!(
            "orders kept without personal fields ({changed} changed)"
        )),
    )
}
