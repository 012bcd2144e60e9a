//! The plan-change rows (`sim_plan_changes`) and their step journal (`sim_plan_change_steps`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanChangeRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub whmcs_client_id: i64,
    pub service_id: i64,
    pub msisdn: String,
    pub plan_code: String,
    pub from_product_id: i64,
    pub to_product_id: i64,
    pub billing_cycle: String,
    pub effective_date: NaiveDate,
    pub status: String,
    pub failure: Option<String>,
    pub action_id: Option<i64>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl PlanChangeRow {
    pub fn is_final(&self) -> bool {
        self.status != "pending"
    }
}

pub struct NewPlanChange<'a> {
    pub user_id: Uuid,
    pub request_key: &'a str,
    pub whmcs_client_id: i64,
    pub service_id: i64,
    pub msisdn: &'a str,
    pub plan_code: &'a str,
    pub from_product_id: i64,
    pub to_product_id: i64,
    pub billing_cycle: &'a str,
    pub effective_date: NaiveDate,
}

pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<PlanChangeRow>, sqlx::Error> {
    sqlx::query_as!(
        PlanChangeRow,
        "SELECT id, user_id, whmcs_client_id, service_id, msisdn, plan_code, from_product_id, to_product_id,
                billing_cycle, effective_date, status, failure, action_id, finished_at
         FROM sim_plan_changes WHERE id = $1",
        id,
    )
    .fetch_optional(pool)
    .await
}

/// The plan change this request's key recorded, if any.
pub async fn find_by_key(
    conn: &mut PgConnection,
    user_id: Uuid,
    request_key: &str,
) -> Result<Option<PlanChangeRow>, sqlx::Error> {
    sqlx::query_as!(
        PlanChangeRow,
        "SELECT id, user_id, whmcs_client_id, service_id, msisdn, plan_code, from_product_id, to_product_id,
                billing_cycle, effective_date, status, failure, action_id, finished_at
         FROM sim_plan_changes WHERE user_id = $1 AND request_key = $2",
        user_id,
        request_key,
    )
    .fetch_optional(conn)
    .await
}

pub async fn insert(
    conn: &mut PgConnection,
    change: &NewPlanChange<'_>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO sim_plan_changes (id, user_id, request_key, whmcs_client_id, service_id, msisdn, plan_code,
                                       from_product_id, to_product_id, billing_cycle, effective_date)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        id,
        change.user_id,
        change.request_key,
        change.whmcs_client_id,
        change.service_id,
        change.msisdn,
        change.plan_code,
        change.from_product_id,
        change.to_product_id,
        change.billing_cycle,
        change.effective_date,
    )
    .execute(conn)
    .await?;
    Ok(id)
}

pub async fn finish(
    pool: &PgPool,
    id: Uuid,
    status: &str,
    failure: Option<&str>,
    action_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE sim_plan_changes SET status = $2, failure = $3, action_id = $4, finished_at = now()
         WHERE id = $1 AND status = 'pending'",
        id,
        status,
        failure,
        action_id,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn step<T: DeserializeOwned>(
    pool: &PgPool,
    id: Uuid,
    step: &str,
) -> Result<Option<T>, sqlx::Error> {
    let row = sqlx::query_scalar!(
        "SELECT result FROM sim_plan_change_steps WHERE plan_change_id = $1 AND step = $2",
        id,
        step,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|json| serde_json::from_value(json).ok()))
}

/// Records a step's result; the first record wins.
pub async fn record_step<T: Serialize>(
    pool: &PgPool,
    id: Uuid,
    step: &str,
    result: &T,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO sim_plan_change_steps (plan_change_id, step, result) VALUES ($1, $2, $3)
         ON CONFLICT (plan_change_id, step) DO NOTHING",
        id,
        step,
        Json(result) as _,
    )
    .execute(pool)
    .await?;
    Ok(())
}
