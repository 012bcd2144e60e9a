//! Brand events' part of a privacy export: every invitation of the person (each of their profiles, merged
//! ones included: an invitation keeps the profile it was made for) with its event, the RSVP, the waitlist
//! place, the check-in and the messages' outcomes. The signed link's expiry is shown; the link itself is
//! not (it is a capability, and the archive may travel).

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::privacy::ExportFile;

pub async fn export(
    db: PgPool,
    brand_id: Uuid,
    profile_id: Uuid,
) -> anyhow::Result<Vec<ExportFile>> {
    let mut conn = db.acquire().await?;
    let profiles = match crate::crm::erasure::person(&mut conn, brand_id, profile_id).await? {
        Some((_, profiles)) => profiles,
        None => vec![profile_id],
    };
    let invitations: Vec<Value> = sqlx::query_scalar!(
        r#"SELECT jsonb_build_object(
                  'invitation_id', i.id, 'profile_id', i.profile_id, 'source', i.source,
                  'status', i.status, 'waitlisted_at', i.waitlisted_at, 'responded_at', i.responded_at,
                  'responded_via', i.responded_via, 'checked_in_at', i.checked_in_at,
                  'channel', i.channel, 'message_status', i.message_status,
                  'message_reason', i.message_reason, 'notice_status', i.notice_status,
                  'link_expires_at', i.link_expires_at, 'invited_at', i.created_at,
                  'event', jsonb_build_object('id', e.id, 'name', e.name, 'store', e.store_code,
                                              'venue', e.venue, 'starts_at', e.starts_at,
                                              'ends_at', e.ends_at, 'status', e.status)) AS "row!"
           FROM brand_event_invitations i
           JOIN brand_events e ON e.id = i.event_id AND e.brand_id = i.brand_id
           WHERE i.brand_id = $1 AND i.profile_id = ANY($2)
           ORDER BY i.created_at, i.id"#,
        brand_id,
        &profiles
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(vec![ExportFile::new(
        "brand_event_invitations",
        invitations,
    )])
}
