//! The appointments' SQL. Reads carry the caller's scope: an appointment is visible to its advisor and to
//! whoever's scope covers its store.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Appointment, Slot};
use crate::clienteling::scope::Scope;

pub struct NewAppointment<'a> {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub client_id: Uuid,
    pub advisor_id: Uuid,
    pub store: &'a str,
    pub kind: &'a str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub notes: &'a str,
    pub booked_by: Uuid,
}

/// The exclusion constraint refused the slot (SQLSTATE 23P01).
pub fn is_double_booking(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("23P01"))
}

pub async fn insert(
    conn: &mut PgConnection,
    new: &NewAppointment<'_>,
) -> Result<Appointment, sqlx::Error> {
    sqlx::query_as!(
        Appointment,
        r#"INSERT INTO clienteling_appointments
               (id, brand_id, profile_id, advisor_id, store_code, kind, starts_at, ends_at, notes, booked_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING id, profile_id AS client_id, advisor_id, store_code AS store, kind, status, starts_at,
                     ends_at, notes, version, interaction_id, booked_by, cancel_reason, created_at, updated_at"#,
        new.id,
        new.brand_id,
        new.client_id,
        new.advisor_id,
        new.store,
        new.kind,
        new.starts_at,
        new.ends_at,
        new.notes,
        new.booked_by
    )
    .fetch_one(conn)
    .await
}

/// The appointment if the scope reaches it; locked for a write.
pub async fn visible_for_update(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<Appointment>, sqlx::Error> {
    sqlx::query_as!(
        Appointment,
        r#"SELECT id, profile_id AS client_id, advisor_id, store_code AS store, kind, status, starts_at,
                  ends_at, notes, version, interaction_id, booked_by, cancel_reason, created_at, updated_at
           FROM clienteling_appointments
           WHERE brand_id = $1 AND id = $2 AND ($3 OR store_code = ANY($4) OR advisor_id = $5)
           FOR UPDATE"#,
        scope.brand_id,
        id,
        scope.brand_wide,
        &scope.stores,
        scope.user_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn visible(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<Appointment>, sqlx::Error> {
    sqlx::query_as!(
        Appointment,
        r#"SELECT id, profile_id AS client_id, advisor_id, store_code AS store, kind, status, starts_at,
                  ends_at, notes, version, interaction_id, booked_by, cancel_reason, created_at, updated_at
           FROM clienteling_appointments
           WHERE brand_id = $1 AND id = $2 AND ($3 OR store_code = ANY($4) OR advisor_id = $5)"#,
        scope.brand_id,
        id,
        scope.brand_wide,
        &scope.stores,
        scope.user_id
    )
    .fetch_optional(conn)
    .await
}

/// Writes the appointment's changeable fields and bumps its version.
pub async fn save(conn: &mut PgConnection, next: &Appointment) -> Result<Appointment, sqlx::Error> {
    sqlx::query_as!(
        Appointment,
        r#"UPDATE clienteling_appointments
           SET advisor_id = $2, kind = $3, status = $4, starts_at = $5, ends_at = $6, notes = $7,
               interaction_id = $8, cancel_reason = $9, version = version + 1, updated_at = now()
           WHERE id = $1
           RETURNING id, profile_id AS client_id, advisor_id, store_code AS store, kind, status, starts_at,
                     ends_at, notes, version, interaction_id, booked_by, cancel_reason, created_at, updated_at"#,
        next.id,
        next.advisor_id,
        next.kind,
        next.status,
        next.starts_at,
        next.ends_at,
        next.notes,
        next.interaction_id,
        next.cancel_reason
    )
    .fetch_one(conn)
    .await
}

pub struct ListQuery<'a> {
    pub advisor: Option<Uuid>,
    pub client: Option<Uuid>,
    pub store: Option<&'a str>,
    pub status: Option<&'a str>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// By start time, then id; the cursor is the last (start, id) shown.
pub async fn list(
    conn: &mut PgConnection,
    scope: &Scope,
    query: &ListQuery<'_>,
) -> Result<Vec<Appointment>, sqlx::Error> {
    let (after_at, after_id) = query.after.unzip();
    sqlx::query_as!(
        Appointment,
        r#"SELECT id, profile_id AS client_id, advisor_id, store_code AS store, kind, status, starts_at,
                  ends_at, notes, version, interaction_id, booked_by, cancel_reason, created_at, updated_at
           FROM clienteling_appointments
           WHERE brand_id = $1 AND ($2 OR store_code = ANY($3) OR advisor_id = $4)
             AND ($5::uuid IS NULL OR advisor_id = $5)
             AND ($6::uuid IS NULL OR profile_id = $6)
             AND ($7::text IS NULL OR store_code = $7)
             AND ($8::text IS NULL OR status = $8)
             AND starts_at >= $9 AND starts_at < $10
             AND ($11::timestamptz IS NULL OR (starts_at, id) > ($11, $12::uuid))
           ORDER BY starts_at, id
           LIMIT $13"#,
        scope.brand_id,
        scope.brand_wide,
        &scope.stores,
        scope.user_id,
        query.advisor,
        query.client,
        query.store,
        query.status,
        query.from,
        query.to,
        after_at,
        after_id,
        query.limit
    )
    .fetch_all(conn)
    .await
}

/// Whether `[starts_at, ends_at)` lies within one open interval of the store (local hours in `timezone`,
/// closed dates left out). PostgreSQL turns each local day's hours into instants, so DST days are right.
pub async fn within_opening_hours(
    conn: &mut PgConnection,
    brand_id: Uuid,
    store: &str,
    timezone: &str,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH days AS (
               SELECT g.at::date AS day
               FROM generate_series((($4::timestamptz AT TIME ZONE $3)::date - 1)::timestamp,
                                    (($5::timestamptz AT TIME ZONE $3)::date + 1)::timestamp,
                                    interval '1 day') AS g(at)
           ), spans AS (
               SELECT (d.day + h.opens) AT TIME ZONE $3 AS opens, (d.day + h.closes) AT TIME ZONE $3 AS closes
               FROM days d
               JOIN clienteling_opening_hours h
                 ON h.brand_id = $1 AND h.store_code = $2 AND h.weekday = extract(isodow FROM d.day)
               WHERE NOT EXISTS (SELECT 1 FROM clienteling_closed_dates c
                                 WHERE c.brand_id = $1 AND c.store_code = $2 AND c.day = d.day)
           )
           SELECT coalesce((SELECT range_agg(tstzrange(opens, closes)) FROM spans WHERE opens < closes)
                           @> tstzrange($4, $5), false) AS "fits!""#,
        brand_id,
        store,
        timezone,
        starts_at,
        ends_at
    )
    .fetch_one(conn)
    .await
}

/// The store's open time within `[from, to)` minus the advisor's booked and completed appointments.
pub async fn free_slots(
    conn: &mut PgConnection,
    brand_id: Uuid,
    store: &str,
    timezone: &str,
    advisor_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Slot>, sqlx::Error> {
    sqlx::query_as!(
        Slot,
        r#"WITH days AS (
               SELECT g.at::date AS day
               FROM generate_series((($4::timestamptz AT TIME ZONE $3)::date - 1)::timestamp,
                                    (($5::timestamptz AT TIME ZONE $3)::date + 1)::timestamp,
                                    interval '1 day') AS g(at)
           ), spans AS (
               SELECT (d.day + h.opens) AT TIME ZONE $3 AS opens, (d.day + h.closes) AT TIME ZONE $3 AS closes
               FROM days d
               JOIN clienteling_opening_hours h
                 ON h.brand_id = $1 AND h.store_code = $2 AND h.weekday = extract(isodow FROM d.day)
               WHERE NOT EXISTS (SELECT 1 FROM clienteling_closed_dates c
                                 WHERE c.brand_id = $1 AND c.store_code = $2 AND c.day = d.day)
           ), open AS (
               SELECT coalesce(range_agg(tstzrange(opens, closes)), '{}'::tstzmultirange) AS hours
               FROM spans WHERE opens < closes
           ), busy AS (
               SELECT coalesce(range_agg(tstzrange(starts_at, ends_at)), '{}'::tstzmultirange) AS taken
               FROM clienteling_appointments
               WHERE advisor_id = $6 AND status IN ('booked', 'completed')
                 AND tstzrange(starts_at, ends_at) && tstzrange($4, $5)
           )
           SELECT lower(f) AS "starts_at!", upper(f) AS "ends_at!",
                  lower(f) AT TIME ZONE $3 AS "local_starts_at!", upper(f) AT TIME ZONE $3 AS "local_ends_at!"
           FROM open, busy,
                unnest((open.hours * tstzmultirange(tstzrange($4, $5))) - busy.taken) AS f
           ORDER BY 1"#,
        brand_id,
        store,
        timezone,
        from,
        to,
        advisor_id
    )
    .fetch_all(conn)
    .await
}

/// The client's upcoming booked appointments with `advisor`, locked (reassignment moves them).
pub async fn upcoming_of(
    conn: &mut PgConnection,
    brand_id: Uuid,
    client_id: Uuid,
    advisor_id: Uuid,
) -> Result<Vec<Appointment>, sqlx::Error> {
    sqlx::query_as!(
        Appointment,
        r#"SELECT id, profile_id AS client_id, advisor_id, store_code AS store, kind, status, starts_at,
                  ends_at, notes, version, interaction_id, booked_by, cancel_reason, created_at, updated_at
           FROM clienteling_appointments
           WHERE brand_id = $1 AND profile_id = $2 AND advisor_id = $3 AND status = 'booked'
             AND starts_at > now()
           ORDER BY starts_at, id
           FOR UPDATE"#,
        brand_id,
        client_id,
        advisor_id
    )
    .fetch_all(conn)
    .await
}
