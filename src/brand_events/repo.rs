//! The events' SQL. Every query names the brand.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Checked, Counts, Event, EventRequest, Status};

#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub name: String,
    pub description: String,
    pub store_code: Option<String>,
    pub venue: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: Option<i32>,
    pub rsvp_deadline: Option<DateTime<Utc>>,
    pub status: String,
    pub promotion_template_id: Option<Uuid>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EventRow {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Cancelled)
    }

    /// RSVPs are taken until then.
    pub fn deadline(&self) -> DateTime<Utc> {
        self.rsvp_deadline.unwrap_or(self.starts_at)
    }

    /// Where, as a message says it: the venue, else the store's code.
    pub fn location(&self) -> String {
        self.venue
            .clone()
            .or_else(|| self.store_code.clone())
            .unwrap_or_default()
    }

    pub fn into_event(self, counts: Counts) -> Event {
        let status = self.status();
        Event {
            id: self.id,
            name: self.name,
            description: self.description,
            store: self.store_code,
            venue: self.venue,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            capacity: self.capacity,
            rsvp_deadline: self.rsvp_deadline,
            status,
            promotion_template_id: self.promotion_template_id,
            counts,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The event; `lock` holds its row for the transaction (every RSVP, invitation and change takes it, so
/// the places are counted one change at a time).
pub async fn load(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<EventRow>, sqlx::Error> {
    if lock {
        sqlx::query_as!(
            EventRow,
            "SELECT id, brand_id, name, description, store_code, venue, starts_at, ends_at, capacity,
                    rsvp_deadline, status, promotion_template_id, created_by, created_at, updated_at
             FROM brand_events WHERE brand_id = $1 AND id = $2 FOR UPDATE",
            brand_id,
            id
        )
        .fetch_optional(conn)
        .await
    } else {
        sqlx::query_as!(
            EventRow,
            "SELECT id, brand_id, name, description, store_code, venue, starts_at, ends_at, capacity,
                    rsvp_deadline, status, promotion_template_id, created_by, created_at, updated_at
             FROM brand_events WHERE brand_id = $1 AND id = $2",
            brand_id,
            id
        )
        .fetch_optional(conn)
        .await
    }
}

/// The events after `after` (by id, the creation order), drafts only when `drafts`.
pub async fn list(
    conn: &mut PgConnection,
    brand_id: Uuid,
    drafts: bool,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as!(
        EventRow,
        "SELECT id, brand_id, name, description, store_code, venue, starts_at, ends_at, capacity,
                rsvp_deadline, status, promotion_template_id, created_by, created_at, updated_at
         FROM brand_events
         WHERE brand_id = $1 AND ($2 OR status <> 'draft') AND ($3::text IS NULL OR status = $3)
           AND ($4::uuid IS NULL OR id > $4)
         ORDER BY id LIMIT $5",
        brand_id,
        drafts,
        status,
        after,
        limit
    )
    .fetch_all(conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    brand_id: Uuid,
    request: &EventRequest,
    checked: &Checked,
    created_by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO brand_events (id, brand_id, name, description, store_code, venue, starts_at, ends_at,
                                   capacity, rsvp_deadline, status, promotion_template_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'draft', $11, $12)",
        id,
        brand_id,
        checked.name,
        checked.description,
        checked.store,
        checked.venue,
        request.starts_at,
        request.ends_at,
        request.capacity,
        request.rsvp_deadline,
        request.promotion_template_id,
        created_by
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn replace(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    request: &EventRequest,
    checked: &Checked,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE brand_events SET name = $3, description = $4, store_code = $5, venue = $6, starts_at = $7,
                ends_at = $8, capacity = $9, rsvp_deadline = $10, promotion_template_id = $11
         WHERE brand_id = $1 AND id = $2",
        brand_id,
        id,
        checked.name,
        checked.description,
        checked.store,
        checked.venue,
        request.starts_at,
        request.ends_at,
        request.capacity,
        request.rsvp_deadline,
        request.promotion_template_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_status(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    status: Status,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE brand_events SET status = $3 WHERE brand_id = $1 AND id = $2",
        brand_id,
        id,
        status.as_str()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a draft (with nothing of it anywhere: a draft takes no invitations).
pub async fn delete_draft(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM brand_events WHERE brand_id = $1 AND id = $2 AND status = 'draft'",
        brand_id,
        id
    )
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected() == 1)
}

/// The event's guests per status; `invited_by` limits them to one staff member's invitations.
pub async fn counts(
    conn: &mut PgConnection,
    event_id: Uuid,
    invited_by: Option<Uuid>,
) -> Result<Counts, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE status = 'invited') AS "invited!",
                  count(*) FILTER (WHERE status = 'confirmed') AS "confirmed!",
                  count(*) FILTER (WHERE status = 'waitlisted') AS "waitlisted!",
                  count(*) FILTER (WHERE status = 'declined') AS "declined!",
                  count(*) FILTER (WHERE status = 'attended') AS "attended!"
           FROM brand_event_invitations
           WHERE event_id = $1 AND ($2::uuid IS NULL OR invited_by = $2)"#,
        event_id,
        invited_by
    )
    .fetch_one(conn)
    .await?;
    Ok(Counts {
        invited: row.invited,
        confirmed: row.confirmed,
        waitlisted: row.waitlisted,
        declined: row.declined,
        attended: row.attended,
    })
}
