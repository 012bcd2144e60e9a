//! Invitations — the guests — and their SQL. Every query names the event (whose brand the caller checked)
//! or the brand.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a guest stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = BrandEventGuestStatus)]
pub enum GuestStatus {
    /// Invited, no answer yet.
    Invited,
    /// Accepted, with a place.
    Confirmed,
    /// Accepted past capacity: waiting for a place, in order.
    Waitlisted,
    Declined,
    /// Checked in at the event.
    Attended,
}

pub const STATUSES: [&str; 5] = ["invited", "confirmed", "waitlisted", "declined", "attended"];

impl GuestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GuestStatus::Invited => "invited",
            GuestStatus::Confirmed => "confirmed",
            GuestStatus::Waitlisted => "waitlisted",
            GuestStatus::Declined => "declined",
            GuestStatus::Attended => "attended",
        }
    }

    pub fn parse(text: &str) -> Option<GuestStatus> {
        [
            GuestStatus::Invited,
            GuestStatus::Confirmed,
            GuestStatus::Waitlisted,
            GuestStatus::Declined,
            GuestStatus::Attended,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// What became of a message to the guest (the invitation, or the notice of a promotion).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BrandEventMessageOutcome)]
pub struct MessageOutcome {
    /// `none` (no message: invited in person), `pending`, `sent`, `suppressed` or `failed`.
    pub status: String,
    /// Why it was suppressed (`no_consent`, `consent_denied`, `no_address`, `frequency_cap`) or failed.
    pub reason: Option<String>,
    /// The CRM message (the send path's ledger row).
    pub message_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BrandEventGuest)]
pub struct Guest {
    /// The invitation's id.
    pub id: Uuid,
    pub event_id: Uuid,
    /// The CRM profile (the client).
    pub profile_id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: GuestStatus,
    /// `segment` or `advisor`.
    pub source: String,
    pub segment_id: Option<Uuid>,
    pub invited_by: Option<Uuid>,
    /// The channel the invitation goes on (`null`: invited in person).
    pub channel: Option<String>,
    pub invitation: MessageOutcome,
    /// The message telling a guest promoted from the waitlist (`none` until promoted).
    pub promotion_notice: MessageOutcome,
    pub waitlisted_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    /// `link` or `staff`.
    pub responded_via: Option<String>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = BrandEventGuestPage)]
pub struct GuestPage {
    pub items: Vec<Guest>,
    pub next_cursor: Option<String>,
    /// Every guest the caller sees, per status (whatever the filter).
    pub counts: super::model::Counts,
}

#[derive(Debug, Clone)]
pub struct GuestRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub profile_id: Uuid,
    pub source: String,
    pub segment_id: Option<Uuid>,
    pub invited_by: Option<Uuid>,
    pub status: String,
    pub waitlisted_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub responded_via: Option<String>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub channel: Option<String>,
    pub message_status: String,
    pub message_reason: Option<String>,
    pub message_id: Option<Uuid>,
    pub notice_status: String,
    pub notice_reason: Option<String>,
    pub notice_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl GuestRow {
    pub fn status(&self) -> GuestStatus {
        GuestStatus::parse(&self.status).unwrap_or(GuestStatus::Declined)
    }

    /// As the API shows it, with the profile's name (when the CRM still has the profile).
    pub fn into_guest(self, name: Option<(Option<String>, Option<String>)>) -> Guest {
        let status = self.status();
        let (first_name, last_name) = name.unwrap_or_default();
        Guest {
            id: self.id,
            event_id: self.event_id,
            profile_id: self.profile_id,
            first_name,
            last_name,
            status,
            source: self.source,
            segment_id: self.segment_id,
            invited_by: self.invited_by,
            channel: self.channel,
            invitation: MessageOutcome {
                status: self.message_status,
                reason: self.message_reason,
                message_id: self.message_id,
            },
            promotion_notice: MessageOutcome {
                status: self.notice_status,
                reason: self.notice_reason,
                message_id: self.notice_id,
            },
            waitlisted_at: self.waitlisted_at,
            responded_at: self.responded_at,
            responded_via: self.responded_via,
            checked_in_at: self.checked_in_at,
            created_at: self.created_at,
        }
    }
}

/// `sqlx::query_as!` of [`GuestRow`] with the query's tail after `FROM` (one column list for every read).
macro_rules! guest_query {
    ($tail:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            GuestRow,
            "SELECT id, event_id, profile_id, source, segment_id, invited_by, status, waitlisted_at,
                    responded_at, responded_via, checked_in_at, channel, message_status, message_reason,
                    message_id, notice_status, notice_reason, notice_id, created_at
             FROM brand_event_invitations " + $tail
            $(, $arg)*
        )
    };
}

/// The guest `id` of the event; `lock` holds the row for the transaction.
pub async fn load(
    conn: &mut PgConnection,
    event_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<GuestRow>, sqlx::Error> {
    if lock {
        guest_query!("WHERE event_id = $1 AND id = $2 FOR UPDATE", event_id, id)
            .fetch_optional(conn)
            .await
    } else {
        guest_query!("WHERE event_id = $1 AND id = $2", event_id, id)
            .fetch_optional(conn)
            .await
    }
}

/// The invitation by id alone, within the brand (the RSVP link names only the invitation).
pub async fn load_in_brand(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<Option<GuestRow>, sqlx::Error> {
    guest_query!("WHERE brand_id = $1 AND id = $2", brand_id, id)
        .fetch_optional(conn)
        .await
}

/// A page of the event's guests after `after` (by id).
pub async fn page(
    conn: &mut PgConnection,
    event_id: Uuid,
    status: Option<&str>,
    invited_by: Option<Uuid>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<GuestRow>, sqlx::Error> {
    guest_query!(
        "WHERE event_id = $1 AND ($2::text IS NULL OR status = $2)
               AND ($3::uuid IS NULL OR invited_by = $3) AND ($4::uuid IS NULL OR id > $4)
             ORDER BY id LIMIT $5",
        event_id,
        status,
        invited_by,
        after,
        limit
    )
    .fetch_all(conn)
    .await
}

/// The invitation of the event held by any of `profiles` (the ids one person has had).
pub async fn of_person(
    conn: &mut PgConnection,
    event_id: Uuid,
    profiles: &[Uuid],
) -> Result<Option<GuestRow>, sqlx::Error> {
    guest_query!(
        "WHERE event_id = $1 AND profile_id = ANY($2) ORDER BY id LIMIT 1",
        event_id,
        profiles
    )
    .fetch_optional(conn)
    .await
}

/// Every profile the event invited.
pub async fn invited_profiles(
    conn: &mut PgConnection,
    event_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT profile_id FROM brand_event_invitations WHERE event_id = $1",
        event_id
    )
    .fetch_all(conn)
    .await
}

/// Places taken now (confirmed and checked-in guests).
pub async fn taken(conn: &mut PgConnection, event_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM brand_event_invitations
           WHERE event_id = $1 AND status IN ('confirmed', 'attended')"#,
        event_id
    )
    .fetch_one(conn)
    .await
}

/// The first guest of the waitlist, locked.
pub async fn waitlist_head(
    conn: &mut PgConnection,
    event_id: Uuid,
) -> Result<Option<GuestRow>, sqlx::Error> {
    guest_query!("WHERE event_id = $1 AND status = 'waitlisted' ORDER BY waitlisted_at, id LIMIT 1 FOR UPDATE",
        event_id
    )
    .fetch_optional(conn)
    .await
}

/// What a new invitation is.
pub struct NewInvitation<'a> {
    pub event_id: Uuid,
    pub brand_id: Uuid,
    pub source: &'a str,
    pub segment_id: Option<Uuid>,
    pub invited_by: Option<Uuid>,
    pub channel: Option<&'a str>,
    pub template_id: Option<Uuid>,
    pub link_expires_at: DateTime<Utc>,
}

/// Inserts one invitation per profile not invited yet; answers the new rows' `(id, profile_id)`.
pub async fn insert_many(
    conn: &mut PgConnection,
    new: &NewInvitation<'_>,
    profiles: &[Uuid],
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let ids: Vec<Uuid> = profiles.iter().map(|_| Uuid::now_v7()).collect();
    let message_status = if new.channel.is_some() {
        "pending"
    } else {
        "none"
    };
    let rows = sqlx::query!(
        "INSERT INTO brand_event_invitations (id, event_id, brand_id, profile_id, source, segment_id, invited_by,
                                              status, channel, template_id, link_expires_at, message_status)
         SELECT i.id, $3, $4, i.profile_id, $5, $6, $7, 'invited', $8, $9, $10, $11
         FROM unnest($1::uuid[], $2::uuid[]) AS i (id, profile_id)
         ORDER BY i.id
         ON CONFLICT ON CONSTRAINT brand_event_invitations_person_key DO NOTHING
         RETURNING id, profile_id",
        &ids,
        profiles,
        new.event_id,
        new.brand_id,
        new.source,
        new.segment_id,
        new.invited_by,
        new.channel,
        new.template_id,
        new.link_expires_at,
        message_status
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.profile_id)).collect())
}

/// The guest's new status after an RSVP (its version moves on; the waitlist time is set or cleared).
pub async fn set_response(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    responded_at: DateTime<Utc>,
    via: &str,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE brand_event_invitations
         SET status = $2, responded_at = $3, responded_via = $4, version = version + 1,
             waitlisted_at = CASE WHEN $2 = 'waitlisted' THEN clock_timestamp() END
         WHERE id = $1
         RETURNING version",
        id,
        status,
        responded_at,
        via
    )
    .fetch_one(conn)
    .await
}

/// A waitlisted guest given a place, with the notice to send (`pending` with its template, or `failed`
/// with why none can go).
pub async fn promote(
    conn: &mut PgConnection,
    id: Uuid,
    notice_status: &str,
    notice_reason: Option<&str>,
    notice_template_id: Option<Uuid>,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE brand_event_invitations
         SET status = 'confirmed', waitlisted_at = NULL, promotions = promotions + 1, version = version + 1,
             notice_status = $2, notice_reason = $3, notice_template_id = $4, notice_id = NULL
         WHERE id = $1
         RETURNING version",
        id,
        notice_status,
        notice_reason,
        notice_template_id
    )
    .fetch_one(conn)
    .await
}

pub async fn check_in(
    conn: &mut PgConnection,
    id: Uuid,
    at: DateTime<Utc>,
    by: Uuid,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE brand_event_invitations
         SET status = 'attended', checked_in_at = $2, checked_in_by = $3, version = version + 1
         WHERE id = $1 AND status = 'confirmed'
         RETURNING version",
        id,
        at,
        by
    )
    .fetch_one(conn)
    .await
}

/// The names of the profiles, as the CRM has them (a profile it no longer has shows no name).
pub async fn with_names(
    conn: &mut PgConnection,
    brand_id: Uuid,
    rows: Vec<GuestRow>,
) -> Result<Vec<Guest>, sqlx::Error> {
    let mut guests = Vec::with_capacity(rows.len());
    for row in rows {
        let name = crate::crm::profile::load(&mut *conn, brand_id, row.profile_id)
            .await?
            .map(|p| (p.attributes.first_name, p.attributes.last_name));
        guests.push(row.into_guest(name));
    }
    Ok(guests)
}
