//! The durable replay-id store: the last processed event per channel, so a restarted subscriber resumes
//! where the previous one stopped.

use sqlx::{PgConnection, PgPool};

pub async fn load_replay_id(pool: &PgPool, channel: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT replay_id FROM salesforce_replay_ids WHERE channel = $1",
        channel
    )
    .fetch_optional(pool)
    .await
}

/// Records that the event `replay_id` of `channel` was processed; pass the transaction of that processing so
/// both commit together. Never moves backwards, so a late or replayed older event cannot rewind the channel.
pub async fn store_replay_id(
    conn: &mut PgConnection,
    channel: &str,
    replay_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO salesforce_replay_ids (channel, replay_id) VALUES ($1, $2) \
         ON CONFLICT (channel) DO UPDATE \
         SET replay_id = GREATEST(salesforce_replay_ids.replay_id, EXCLUDED.replay_id)",
        channel,
        replay_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}
