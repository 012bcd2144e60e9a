//! The outreach log (`clienteling_outreach`): one row per refused request, one per message sent — the
//! latter unique on the message, so the interaction of a message is logged once whatever the retries.

use sqlx::PgConnection;
use uuid::Uuid;

pub struct Attempt<'a> {
    pub brand_id: Uuid,
    pub client_id: Uuid,
    pub advisor_id: Uuid,
    pub channel: &'a str,
    pub template_id: Option<Uuid>,
}

pub async fn suppressed(
    conn: &mut PgConnection,
    attempt: &Attempt<'_>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO clienteling_outreach
               (id, brand_id, profile_id, advisor_id, channel, template_id, status, reason)
           VALUES ($1, $2, $3, $4, $5, $6, 'suppressed', $7)"#,
        Uuid::now_v7(),
        attempt.brand_id,
        attempt.client_id,
        attempt.advisor_id,
        attempt.channel,
        attempt.template_id,
        reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the sent message; `Err(interaction)` when it was recorded already (with its interaction, if
/// the earlier attempt logged one), `Ok(row id)` when this is the first time.
pub async fn sent(
    conn: &mut PgConnection,
    attempt: &Attempt<'_>,
    message_id: Uuid,
) -> Result<Result<Uuid, Option<Uuid>>, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO clienteling_outreach
               (id, brand_id, profile_id, advisor_id, channel, template_id, status, message_id)
           VALUES ($1, $2, $3, $4, $5, $6, 'sent', $7)
           ON CONFLICT (message_id) DO NOTHING
           RETURNING id"#,
        Uuid::now_v7(),
        attempt.brand_id,
        attempt.client_id,
        attempt.advisor_id,
        attempt.channel,
        attempt.template_id,
        message_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = inserted {
        return Ok(Ok(id));
    }
    let interaction = sqlx::query_scalar!(
        "SELECT interaction_id FROM clienteling_outreach WHERE message_id = $1 FOR UPDATE",
        message_id
    )
    .fetch_one(conn)
    .await?;
    Ok(Err(interaction))
}

pub async fn set_interaction(
    conn: &mut PgConnection,
    message_id: Uuid,
    interaction_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE clienteling_outreach SET interaction_id = $2 WHERE message_id = $1",
        message_id,
        interaction_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
