//! The top-up rows (`sim_top_ups`) and their step journal (`sim_top_up_steps`).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Advisory-lock class of the monthly cap check (one line at a time), with the service id as the key.
const CAP_LOCK: i32 = 0x5349_4d31;
/// Advisory-lock class of a line's top-up run: one run per line at a time, so reading the line's
/// `added_mb` back reconciles only our own top-up.
pub const LINE_LOCK: i32 = 0x5349_4d32;

/// A top-up as recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TopUpRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub whmcs_client_id: i64,
    pub service_id: i64,
    pub msisdn: String,
    pub quota_mb: i32,
    pub amount_hundredths: i64,
    pub currency: String,
    pub status: String,
    pub failure: Option<String>,
    pub action_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl TopUpRow {
    pub fn is_final(&self) -> bool {
        self.status != "pending"
    }

    /// Written on the invoice, so a repeat finds the invoice an unanswered CreateInvoice made.
    pub fn reference(&self) -> String {
        format!("Concierge top-up {}", self.id)
    }
}

pub struct NewTopUp<'a> {
    pub user_id: Uuid,
    pub request_key: &'a str,
    pub whmcs_client_id: i64,
    pub service_id: i64,
    pub msisdn: &'a str,
    pub quota_mb: i32,
    pub amount_hundredths: i64,
    pub currency: &'a str,
}

/// The line's key in an advisory-lock class (WHMCS ids are PHP ints; the fold keeps any i64 usable).
pub fn line_key(service_id: i64) -> i32 {
    i32::try_from(service_id.rem_euclid(i64::from(i32::MAX))).unwrap_or_default()
}

pub fn month_of(now: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or_default()
}

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<TopUpRow>, sqlx::Error> {
    sqlx::query_as!(
        TopUpRow,
        "SELECT id, user_id, whmcs_client_id, service_id, msisdn, quota_mb, amount_hundredths, currency,
                status, failure, action_id, created_at, finished_at
         FROM sim_top_ups WHERE id = $1",
        id,
    )
    .fetch_optional(pool)
    .await
}

pub async fn find_by_key(
    conn: &mut PgConnection,
    user_id: Uuid,
    request_key: &str,
) -> Result<Option<TopUpRow>, sqlx::Error> {
    sqlx::query_as!(
        TopUpRow,
        "SELECT id, user_id, whmcs_client_id, service_id, msisdn, quota_mb, amount_hundredths, currency,
                status, failure, action_id, created_at, finished_at
         FROM sim_top_ups WHERE user_id = $1 AND request_key = $2",
        user_id,
        request_key,
    )
    .fetch_optional(conn)
    .await
}

/// Takes the line's cap lock for the rest of the transaction.
pub async fn lock_line_cap(conn: &mut PgConnection, service_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock($1, $2)",
        CAP_LOCK,
        line_key(service_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// MB topped up on the line this month, paid or still being paid (declined and failed ones do not count).
pub async fn month_total_mb(
    conn: &mut PgConnection,
    service_id: i64,
    month: NaiveDate,
) -> Result<i64, sqlx::Error> {
    let total = sqlx::query_scalar!(
        r#"SELECT COALESCE(SUM(quota_mb), 0)::bigint AS "total!" FROM sim_top_ups
           WHERE service_id = $1 AND month = $2 AND status IN ('pending', 'applied')"#,
        service_id,
        month,
    )
    .fetch_one(conn)
    .await?;
    Ok(total)
}

pub async fn insert(
    conn: &mut PgConnection,
    top_up: &NewTopUp<'_>,
    month: NaiveDate,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO sim_top_ups (id, user_id, request_key, whmcs_client_id, service_id, msisdn, quota_mb,
                                  amount_hundredths, currency, month)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        id,
        top_up.user_id,
        top_up.request_key,
        top_up.whmcs_client_id,
        top_up.service_id,
        top_up.msisdn,
        top_up.quota_mb,
        top_up.amount_hundredths,
        top_up.currency,
        month,
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Ends a pending top-up (a final one stays as it is): whether it changed.
pub async fn finish(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    failure: Option<&str>,
    action_id: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE sim_top_ups SET status = $2, failure = $3, action_id = $4, finished_at = now()
         WHERE id = $1 AND status = 'pending'",
        id,
        status,
        failure,
        action_id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn step<T: DeserializeOwned>(
    pool: &PgPool,
    id: Uuid,
    step: &str,
) -> Result<Option<T>, sqlx::Error> {
    let row = sqlx::query_scalar!(
        "SELECT result FROM sim_top_up_steps WHERE top_up_id = $1 AND step = $2",
        id,
        step,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|json| serde_json::from_value(json).ok()))
}

/// Records a step's result (the first record wins) or, for a `*_sent` marker, its latest attempt.
pub async fn record_step<T: Serialize>(
    pool: &PgPool,
    id: Uuid,
    step: &str,
    result: &T,
    replace: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO sim_top_up_steps (top_up_id, step, result) VALUES ($1, $2, $3)
         ON CONFLICT (top_up_id, step) DO UPDATE SET result = EXCLUDED.result, recorded_at = now()
         WHERE $4",
        id,
        step,
        Json(result) as _,
        replace,
    )
    .execute(pool)
    .await?;
    Ok(())
}
