//! Which case comments customers wrote through the portal (Salesforce cannot tell: the integration user
//! writes them all). Only this module touches `support_comments`.

use std::collections::HashSet;

use sqlx::PgPool;
use uuid::Uuid;

/// Records that the customer `user_id` wrote `comment_id` on `case_id`.
pub async fn record(
    pool: &PgPool,
    comment_id: &str,
    case_id: &str,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO support_comments (comment_id, case_id, user_id) VALUES ($1, $2, $3)
         ON CONFLICT (comment_id) DO NOTHING",
        comment_id,
        case_id,
        user_id,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The ids of the comments on `case_id` that customers posted through the portal.
pub async fn customer_comments(
    pool: &PgPool,
    case_id: &str,
) -> Result<HashSet<String>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "SELECT comment_id FROM support_comments WHERE case_id = $1",
        case_id
    )
    .fetch_all(pool)
    .await?;
    Ok(ids.into_iter().collect())
}
