//! The privacy tables: requests, their steps, and export archives. Every read of a request names its
//! brand (staff) or its requester (a customer) in the `WHERE` clause.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::model::{Kind, Receipt, Requester, Step};

pub struct NewRequest<'a> {
    pub brand_id: Uuid,
    pub profile_id: Option<Uuid>,
    pub portal_user_id: Option<Uuid>,
    pub kind: Kind,
    pub requester: &'a Requester,
    pub parts: &'a [&'static str],
}

/// Records the request and its steps; `(id, true)` when it is new, or the request of the same kind already
/// open for the person (`false`: nothing written).
pub async fn insert_request(
    conn: &mut PgConnection,
    request: &NewRequest<'_>,
) -> Result<(Uuid, bool), sqlx::Error> {
    // The open request that blocked the insert may complete before it is read: then insert again.
    for _ in 0..3 {
        if let Some(outcome) = try_insert(conn, request).await? {
            return Ok(outcome);
        }
    }
    Err(sqlx::Error::RowNotFound)
}

async fn try_insert(
    conn: &mut PgConnection,
    request: &NewRequest<'_>,
) -> Result<Option<(Uuid, bool)>, sqlx::Error> {
    let id = Uuid::now_v7();
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO privacy_requests (id, brand_id, profile_id, portal_user_id, kind, requested_by_kind,
                                         requested_by_user, requested_by_role, due_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(days => $9))
           ON CONFLICT DO NOTHING
           RETURNING id"#,
        id,
        request.brand_id,
        request.profile_id,
        request.portal_user_id,
        request.kind.as_str(),
        request.requester.kind,
        request.requester.user_id,
        request.requester.role,
        super::model::DUE_DAYS as i32,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        // The open request of the same kind for this person (by profile, else by portal account).
        let open = sqlx::query_scalar!(
            r#"SELECT id FROM privacy_requests
               WHERE kind = $1 AND status IN ('pending', 'running')
                 AND ((brand_id = $2 AND profile_id = $3) OR portal_user_id = $4)
               ORDER BY id LIMIT 1"#,
            request.kind.as_str(),
            request.brand_id,
            request.profile_id,
            request.portal_user_id,
        )
        .fetch_optional(&mut *conn)
        .await?;
        return Ok(open.map(|id| (id, false)));
    }
    let positions: Vec<i16> = (0..request.parts.len())
        .map(|index| i16::try_from(index).unwrap_or(i16::MAX))
        .collect();
    let parts: Vec<String> = request
        .parts
        .iter()
        .map(|part| (*part).to_owned())
        .collect();
    sqlx::query!(
        "INSERT INTO privacy_request_steps (request_id, part, position)
         SELECT $1, part, position FROM unnest($2::text[], $3::int2[]) AS s (part, position)",
        id,
        &parts,
        &positions,
    )
    .execute(&mut *conn)
    .await?;
    Ok(Some((id, true)))
}

pub struct RequestRow {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub profile_id: Option<Uuid>,
    pub portal_user_id: Option<Uuid>,
    pub kind: String,
    pub status: String,
    pub requested_by_kind: String,
    pub requested_by_user: Uuid,
    pub requested_by_role: Option<String>,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl RequestRow {
    pub fn kind(&self) -> Kind {
        if self.kind == "erasure" {
            Kind::Erasure
        } else {
            Kind::Export
        }
    }

    pub fn requester(&self) -> Requester {
        Requester {
            kind: self.requested_by_kind.clone(),
            user_id: self.requested_by_user,
            role: self.requested_by_role.clone(),
        }
    }
}

/// Who may read a request: the brand's staff, or the customer who made it.
#[derive(Debug, Clone, Copy)]
pub enum Reader {
    Brand(Uuid),
    Customer(Uuid),
    /// The job and the download link (the link's signature is the authorisation).
    System,
}

pub async fn request(
    conn: &mut PgConnection,
    id: Uuid,
    reader: Reader,
) -> Result<Option<RequestRow>, sqlx::Error> {
    let (brand, customer, system) = match reader {
        Reader::Brand(brand) => (Some(brand), None, false),
        Reader::Customer(user) => (None, Some(user), false),
        Reader::System => (None, None, true),
    };
    sqlx::query_as!(
        RequestRow,
        r#"SELECT r.id, r.brand_id, r.profile_id, r.portal_user_id, r.kind, r.status,
                  r.requested_by_kind, r.requested_by_user, r.requested_by_role, r.created_at, r.due_at,
                  r.completed_at
           FROM privacy_requests r
           WHERE r.id = $1
             AND ($4 OR r.brand_id = $2
                  OR (r.requested_by_kind = 'customer' AND r.requested_by_user = $3))"#,
        id,
        brand,
        customer,
        system,
    )
    .fetch_optional(conn)
    .await
}

pub async fn steps(conn: &mut PgConnection, id: Uuid) -> Result<Vec<Step>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT part, status, attempts, last_error, counts, receipt_system, receipt_reference,
                  receipt_status, receipt_at, completed_at
           FROM privacy_request_steps WHERE request_id = $1 ORDER BY position"#,
        id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Step {
            part: row.part,
            status: row.status,
            attempts: row.attempts,
            last_error: row.last_error,
            counts: row.counts,
            receipt: match (row.receipt_system, row.receipt_status, row.receipt_at) {
                (Some(system), Some(status), Some(at)) => Some(Receipt {
                    system,
                    reference: row.receipt_reference,
                    status,
                    at,
                }),
                _ => None,
            },
            completed_at: row.completed_at,
        })
        .collect())
}

pub struct ArchiveMeta {
    pub size_bytes: i64,
    pub expires_at: DateTime<Utc>,
}

/// The archive's size and expiry while it can be downloaded.
pub async fn archive_meta(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ArchiveMeta>, sqlx::Error> {
    sqlx::query_as!(
        ArchiveMeta,
        "SELECT size_bytes, expires_at FROM privacy_archives WHERE request_id = $1 AND expires_at > now()",
        id
    )
    .fetch_optional(conn)
    .await
}

pub struct Archive {
    pub content: Vec<u8>,
    pub content_type: String,
}

pub async fn archive(pool: &PgPool, id: Uuid) -> Result<Option<Archive>, sqlx::Error> {
    sqlx::query_as!(
        Archive,
        "SELECT content, content_type FROM privacy_archives WHERE request_id = $1 AND expires_at > now()",
        id
    )
    .fetch_optional(pool)
    .await
}

/// A step of a request the job still has to run.
pub struct PendingStep {
    pub part: String,
    pub attempts: i32,
}

pub async fn pending_steps(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Vec<PendingStep>, sqlx::Error> {
    sqlx::query_as!(
        PendingStep,
        "SELECT part, attempts FROM privacy_request_steps
         WHERE request_id = $1 AND status IN ('pending', 'running') ORDER BY position",
        id
    )
    .fetch_all(conn)
    .await
}

pub async fn mark_running(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE privacy_requests SET status = 'running' WHERE id = $1 AND status = 'pending'",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn step_running(
    conn: &mut PgConnection,
    id: Uuid,
    part: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE privacy_request_steps SET status = 'running', attempts = attempts + 1
         WHERE request_id = $1 AND part = $2 AND status IN ('pending', 'running')",
        id,
        part
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps a gathered part; `false` (nothing kept) when the request is no longer open — an erasure of the
/// person ended it meanwhile, and what was gathered must not stay.
pub async fn step_completed(
    conn: &mut PgConnection,
    id: Uuid,
    part: &str,
    output: &Value,
    counts: &Value,
) -> Result<bool, sqlx::Error> {
    let kept = sqlx::query!(
        "UPDATE privacy_request_steps
         SET status = 'completed', output = $3, counts = $4, last_error = NULL, completed_at = now()
         WHERE request_id = $1 AND part = $2
           AND EXISTS (SELECT 1 FROM privacy_requests
                       WHERE id = $1 AND status IN ('pending', 'running'))",
        id,
        part,
        output,
        counts
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(kept == 1)
}

/// Records a failed attempt: back to `pending` for the next one, or `failed` when `give_up`.
pub async fn step_failed(
    conn: &mut PgConnection,
    id: Uuid,
    part: &str,
    error: &str,
    give_up: bool,
) -> Result<(), sqlx::Error> {
    let status = if give_up { "failed" } else { "pending" };
    sqlx::query!(
        "UPDATE privacy_request_steps SET status = $3, last_error = $4
         WHERE request_id = $1 AND part = $2",
        id,
        part,
        status,
        error
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Fails the request; the parts it had gathered (copies of the person's data) go with it.
pub async fn fail_request(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE privacy_requests SET status = 'failed', completed_at = now()
         WHERE id = $1 AND status IN ('pending', 'running')",
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE privacy_request_steps SET output = NULL WHERE request_id = $1 AND output IS NOT NULL",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Every completed step's part name and files, in order.
pub async fn outputs(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Vec<(String, Option<Value>)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT part, output FROM privacy_request_steps WHERE request_id = $1 AND status = 'completed'
         ORDER BY position",
        id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.part, row.output)).collect())
}

/// Stores the archive, completes the request and drops the steps' copies of the data; `false` when the
/// request was no longer running (another run finished it).
pub async fn complete_export(
    conn: &mut PgConnection,
    id: Uuid,
    content: &[u8],
    content_type: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    // An erasure of the person that had not finished when the export began wins: the data gathered may be
    // what it erased, so no archive is kept (the export fails instead).
    let completed = sqlx::query!(
        "UPDATE privacy_requests r SET status = 'completed', completed_at = now()
         WHERE r.id = $1 AND r.status IN ('pending', 'running')
           AND NOT EXISTS (
               SELECT 1 FROM privacy_requests e
               WHERE e.kind = 'erasure' AND e.id <> r.id
                 AND (e.status IN ('pending', 'running')
                      OR (e.status = 'completed' AND e.completed_at > r.created_at))
                 AND ((e.brand_id = r.brand_id AND e.profile_id = r.profile_id)
                      OR (e.brand_id = r.brand_id
                          AND jsonb_exists(e.erasure_targets -> 'profiles', r.profile_id::text))
                      OR e.portal_user_id = r.portal_user_id))",
        id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if completed == 0 {
        fail_superseded_export(conn, id).await?;
        // Whatever ended it, the gathered parts go (an erasure may have failed it before they were kept).
        clear_outputs(conn, id).await?;
        return Ok(false);
    }
    sqlx::query!(
        "INSERT INTO privacy_archives (request_id, content, content_type, size_bytes, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        id,
        content,
        content_type,
        i64::try_from(content.len()).unwrap_or(i64::MAX),
        expires_at
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE privacy_request_steps SET output = NULL WHERE request_id = $1",
        id
    )
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Completes a step with the system's receipt (what it answered, their reference, when); `false` when the
/// request has no such step still open.
pub async fn record_receipt(
    conn: &mut PgConnection,
    request_id: Uuid,
    part: &str,
    receipt: &Receipt,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query!(
        "UPDATE privacy_request_steps
         SET status = 'completed', receipt_system = $3, receipt_reference = $4, receipt_status = $5,
             receipt_at = $6, last_error = NULL, completed_at = now()
         WHERE request_id = $1 AND part = $2 AND status IN ('pending', 'running')",
        request_id,
        part,
        receipt.system,
        receipt.reference,
        receipt.status,
        receipt.at
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Deletes the archives past their expiry; how many went.
pub async fn purge_expired(pool: &PgPool) -> Result<u64, sqlx::Error> {
    // A request that ended without clearing its gathered parts (a crash between the two) keeps no copy.
    sqlx::query!(
        "UPDATE privacy_request_steps s SET output = NULL FROM privacy_requests r
         WHERE r.id = s.request_id AND r.status IN ('completed', 'failed') AND s.output IS NOT NULL"
    )
    .execute(pool)
    .await?;
    Ok(
        sqlx::query!("DELETE FROM privacy_archives WHERE expires_at <= now()")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// Puts a failed request back to `pending` with its failed steps, their attempts and last errors kept (the
/// completed ones stay done).
pub async fn resume(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let resumed = sqlx::query!(
        "UPDATE privacy_requests SET status = 'pending', completed_at = NULL
         WHERE id = $1 AND status = 'failed'",
        id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if resumed == 0 {
        // Another resume got there first (it queued the job).
        return Ok(false);
    }
    sqlx::query!(
        "UPDATE privacy_request_steps SET status = 'pending' WHERE request_id = $1 AND status = 'failed'",
        id
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// Keeps the erasure's targets with the request (read once, before the CRM step deletes their sources).
pub async fn store_targets(
    conn: &mut PgConnection,
    id: Uuid,
    targets: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE privacy_requests SET erasure_targets = $2 WHERE id = $1",
        id,
        targets
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn targets(conn: &mut PgConnection, id: Uuid) -> Result<Option<Value>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "SELECT erasure_targets FROM privacy_requests WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await?
    .flatten())
}

/// Completes an erasure once every step is done and drops its kept targets (personal data); `false` when a
/// step is still open or the request was no longer running.
pub async fn complete_erasure(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let completed = sqlx::query!(
        "UPDATE privacy_requests SET status = 'completed', completed_at = now(), erasure_targets = NULL
         WHERE id = $1 AND status IN ('pending', 'running')
           AND NOT EXISTS (SELECT 1 FROM privacy_request_steps
                           WHERE request_id = $1 AND status <> 'completed')",
        id
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(completed == 1)
}

async fn clear_outputs(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE privacy_request_steps SET output = NULL WHERE request_id = $1 AND output IS NOT NULL",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Fails an export that an erasure overtook, keeping none of what it gathered.
async fn fail_superseded_export(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    let failed = sqlx::query!(
        "UPDATE privacy_requests SET status = 'failed', completed_at = now()
         WHERE id = $1 AND status IN ('pending', 'running')",
        id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if failed == 1 {
        clear_superseded_steps(conn, &[id]).await?;
    }
    Ok(())
}

async fn clear_superseded_steps(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE privacy_request_steps
         SET output = NULL,
             status = CASE WHEN status = 'completed' THEN status ELSE 'failed' END,
             last_error = CASE WHEN status = 'completed' THEN last_error
                               ELSE 'the person''s data was erased; nothing of it is exported' END
         WHERE request_id = ANY($1)",
        ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends every export of the person an erasure reaches: their archives deleted (a link already sent answers
/// 410), the ones in flight failed, and what any of them gathered cleared. How many exports it touched.
pub async fn forget_exports(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profiles: &[Uuid],
    portal_users: &[Uuid],
) -> Result<u64, sqlx::Error> {
    use sqlx::Connection;
    // One transaction: the requests stay locked until their archives and parts are gone, so an export
    // completing meanwhile waits and then finds itself failed.
    let mut tx = conn.begin().await?;
    let forgotten = forget_exports_in(&mut tx, brand_id, profiles, portal_users).await?;
    tx.commit().await?;
    Ok(forgotten)
}

async fn forget_exports_in(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profiles: &[Uuid],
    portal_users: &[Uuid],
) -> Result<u64, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "SELECT id FROM privacy_requests
         WHERE kind = 'export'
           AND ((brand_id = $1 AND profile_id = ANY($2)) OR portal_user_id = ANY($3))
         FOR UPDATE",
        brand_id,
        profiles,
        portal_users
    )
    .fetch_all(&mut *conn)
    .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    sqlx::query!(
        "DELETE FROM privacy_archives WHERE request_id = ANY($1)",
        &ids
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE privacy_requests SET status = 'failed', completed_at = now()
         WHERE id = ANY($1) AND status IN ('pending', 'running')",
        &ids
    )
    .execute(&mut *conn)
    .await?;
    clear_superseded_steps(conn, &ids).await?;
    Ok(u64::try_from(ids.len()).unwrap_or(u64::MAX))
}

/// The open erasure of the person, if one is in flight (an export asked for meanwhile would be overtaken).
pub async fn open_erasure(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Option<Uuid>,
    portal_user_id: Option<Uuid>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM privacy_requests
         WHERE kind = 'erasure' AND status IN ('pending', 'running')
           AND ((brand_id = $1 AND profile_id = $2) OR portal_user_id = $3)
         LIMIT 1",
        brand_id,
        profile_id,
        portal_user_id
    )
    .fetch_optional(conn)
    .await
}

/// Open requests nothing has touched for `idle_secs`: candidates for a job that died for good.
pub async fn idle_open(pool: &PgPool, idle_secs: i64) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, kind FROM privacy_requests
         WHERE status IN ('pending', 'running') AND updated_at < now() - make_interval(secs => $1)
         ORDER BY updated_at LIMIT 1000",
        idle_secs as f64
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|row| (row.id, row.kind)).collect())
}

/// Takes an idle open request for a restart: locked (a concurrent restarter skips it) and touched, so the
/// next sweep no longer finds it idle; `false` when it is locked elsewhere or no longer idle and open.
pub async fn claim_idle(
    conn: &mut PgConnection,
    id: Uuid,
    idle_secs: i64,
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query_scalar!(
        "SELECT id FROM privacy_requests
         WHERE id = $1 AND status IN ('pending', 'running') AND updated_at < now() - make_interval(secs => $2)
         FOR UPDATE SKIP LOCKED",
        id,
        idle_secs as f64
    )
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    if claimed {
        sqlx::query!(
            "UPDATE privacy_requests SET updated_at = now() WHERE id = $1",
            id
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(claimed)
}
