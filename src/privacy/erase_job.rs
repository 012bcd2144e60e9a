//! The erasure job: runs an erasure request's steps in order — the targets (read and kept with the request),
//! then the CRM and clienteling (the person stops being processed at once), then the linked systems
//! (Salesforce's Contact and the Tasks mirroring the interactions, WHMCS, the messaging service), then the
//! portal — each recording its receipt.
//!
//! Crash- and retry-safe like the export: every building block is idempotent and a step is marked completed
//! only with its receipt, so a rerun only runs what is not done; one run per request at a time (the same
//! transaction-scoped advisory lock). A `Retryable` failure keeps the step pending and the request running
//! and is retried by a new job with back-off, with no attempt cap (an erasure is owed until it is done); only
//! a `Permanent` refusal fails the step and the request, with the reason. A stage starts once the stages
//! before it are done: the providers are told only after the CRM stopped processing the person, and the
//! portal account is closed last.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Privacy;
use super::model::Receipt;
use super::repo::{self, Reader, RequestRow};
use crate::clienteling::erasure::TasksRedacted;
use crate::crm::erasure::Targets;
use crate::jobs::{Job, JobContext};
use crate::types::{self, ReceiptStatus, StepError};

/// The steps of an erasure request, in the order they run, with their stage.
pub const STEPS: [(&str, u8); 8] = [
    (TARGETS, 0),
    ("crm", 1),
    ("clienteling", 1),
    ("salesforce", 2),
    ("salesforce_tasks", 2),
    ("whmcs", 2),
    ("messaging", 2),
    ("portal", 3),
];

const TARGETS: &str = "targets";

pub fn step_names() -> Vec<&'static str> {
    STEPS.iter().map(|(name, _)| *name).collect()
}

fn stage_of(part: &str) -> u8 {
    STEPS
        .iter()
        .find(|(name, _)| *name == part)
        .map_or(u8::MAX, |(_, stage)| *stage)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunErasure {
    pub request_id: Uuid,
}

impl Job for RunErasure {
    const QUEUE: &'static str = "privacy.erase";
}

pub async fn run(privacy: Privacy, job: RunErasure, _ctx: JobContext) -> anyhow::Result<()> {
    let id = job.request_id;
    let mut guard = privacy.db.begin().await?;
    let locked = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock(hashtextextended('privacy-request:' || $1::text, 0)) AS "locked!""#,
        id.to_string()
    )
    .fetch_one(&mut *guard)
    .await?;
    if !locked {
        // Another run holds the request; it finishes it or enqueues its retry.
        return Ok(());
    }
    let mut conn = privacy.db.acquire().await?;
    let Some(request) = repo::request(&mut conn, id, Reader::System).await? else {
        return Ok(());
    };
    if !matches!(request.status.as_str(), "pending" | "running") {
        return Ok(());
    }
    repo::mark_running(&mut conn, id).await?;
    let mut retry_after: Option<Duration> = None;
    let mut failed = false;
    let mut open_stage: Option<u8> = None;
    for step in repo::pending_steps(&mut conn, id).await? {
        let stage = stage_of(&step.part);
        if open_stage.is_some_and(|open| stage > open) {
            // An earlier stage is not done yet: this one waits for it.
            break;
        }
        repo::step_running(&mut conn, id, &step.part).await?;
        let attempts = u32::try_from(step.attempts)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        match run_step(&privacy, &mut conn, &request, &step.part).await {
            Ok(receipt) => {
                repo::record_receipt(&mut conn, id, &step.part, &receipt).await?;
            }
            Err(error) => {
                let permanent = matches!(error, StepFailure::Permanent(_));
                tracing::warn!(
                    request_id = %id,
                    part = step.part,
                    attempts,
                    permanent,
                    error = %crate::telemetry::redact::scrub(&error.to_string()),
                    "privacy erasure step failed"
                );
                repo::step_failed(
                    &mut conn,
                    id,
                    &step.part,
                    &describe(&step.part, &error),
                    permanent,
                )
                .await?;
                open_stage = Some(stage);
                if permanent {
                    failed = true;
                } else {
                    let delay = backoff(&privacy.settings, attempts);
                    retry_after = Some(retry_after.map_or(delay, |d| d.min(delay)));
                }
            }
        }
    }
    if failed {
        // The targets stay with the failed request: an operator resolving the refusal needs them (the CRM
        // no longer has them).
        repo::fail_request(&mut conn, id).await?;
        return Ok(());
    }
    if let Some(delay) = retry_after {
        crate::jobs::enqueue(
            &mut guard,
            &privacy.jobs,
            &RunErasure { request_id: id },
            Some(delay),
        )
        .await?;
        guard.commit().await?;
        return Ok(());
    }
    repo::complete_erasure(&mut conn, id).await?;
    drop(conn);
    guard.commit().await?;
    Ok(())
}

/// Why a step did not finish: retried later, or refused for good.
#[derive(Debug, thiserror::Error)]
enum StepFailure {
    #[error("retryable: {0:#}")]
    Retryable(anyhow::Error),
    #[error("permanent: {0}")]
    Permanent(String),
}

impl From<StepError> for StepFailure {
    fn from(error: StepError) -> Self {
        match error {
            StepError::Retryable(reason) => StepFailure::Retryable(anyhow::anyhow!(reason)),
            StepError::Permanent(reason) => StepFailure::Permanent(reason),
        }
    }
}

impl From<anyhow::Error> for StepFailure {
    fn from(error: anyhow::Error) -> Self {
        StepFailure::Retryable(error)
    }
}

impl From<sqlx::Error> for StepFailure {
    fn from(error: sqlx::Error) -> Self {
        StepFailure::Retryable(error.into())
    }
}

/// What the request view says about a failed step: the system and the kind of failure, never the system's
/// text (it may quote personal data).
fn describe(part: &str, error: &StepFailure) -> String {
    match error {
        StepFailure::Retryable(_) => format!("{part} could not be reached or failed; retrying"),
        StepFailure::Permanent(_) => {
            format!("{part} refused the erasure; a person must resolve it (details logged)")
        }
    }
}

fn receipt_of(receipt: &types::Receipt) -> Receipt {
    Receipt {
        system: receipt.system.clone(),
        reference: Some(receipt.reference.clone()),
        status: status_of(receipt.status).to_owned(),
        at: receipt.at,
    }
}

fn status_of(status: ReceiptStatus) -> &'static str {
    match status {
        ReceiptStatus::Done => "done",
        ReceiptStatus::AlreadyDone => "already_done",
    }
}

/// One receipt for a system reached once per target: their references, `done` when any was erased now.
fn combined(system: &str, receipts: &[types::Receipt]) -> Receipt {
    if receipts.is_empty() {
        return nothing_held(system);
    }
    let done = receipts.iter().any(|r| r.status == ReceiptStatus::Done);
    Receipt {
        system: system.to_owned(),
        reference: Some(
            receipts
                .iter()
                .map(|r| r.reference.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        status: if done { "done" } else { "already_done" }.to_owned(),
        at: chrono::Utc::now(),
    }
}

/// The receipt of a system that held nothing of the person.
fn nothing_held(system: &str) -> Receipt {
    Receipt {
        system: system.to_owned(),
        reference: None,
        status: "nothing_held".to_owned(),
        at: chrono::Utc::now(),
    }
}

async fn kept_targets(
    conn: &mut sqlx::PgConnection,
    request: &RequestRow,
) -> Result<Targets, StepFailure> {
    let value = repo::targets(conn, request.id)
        .await?
        .ok_or_else(|| StepFailure::Permanent("the request's targets are missing".to_owned()))?;
    serde_json::from_value(value).map_err(|error| {
        StepFailure::Permanent(format!("the request's targets are unreadable: {error}"))
    })
}

fn actor(request: &RequestRow) -> String {
    match &request.requested_by_role {
        Some(role) => format!("{role}:{}", request.requested_by_user),
        None => format!(
            "{}:{}",
            request.requested_by_kind, request.requested_by_user
        ),
    }
}

async fn run_step(
    privacy: &Privacy,
    conn: &mut sqlx::PgConnection,
    request: &RequestRow,
    part: &str,
) -> Result<Receipt, StepFailure> {
    let eraser = &privacy.eraser;
    let brand_id = request.brand_id;
    if part == TARGETS {
        let mut targets = match request.profile_id {
            Some(profile_id) => crate::crm::erasure::targets(&privacy.db, brand_id, profile_id)
                .await?
                .unwrap_or_default(),
            None => Targets::default(),
        };
        // Portal accounts are the portal brand's: only a request naming one reaches the portal.
        targets.portal_users = request.portal_user_id.into_iter().collect();
        let profiles: Vec<Uuid> = targets
            .profiles
            .iter()
            .copied()
            .chain(request.profile_id)
            .collect();
        // The person's earlier exports are personal data this system holds too.
        repo::forget_exports(conn, brand_id, &profiles, &targets.portal_users).await?;
        repo::store_targets(
            conn,
            request.id,
            &serde_json::to_value(&targets).map_err(anyhow::Error::from)?,
        )
        .await?;
        return Ok(Receipt {
            system: "concierge".to_owned(),
            reference: Some(request.id.to_string()),
            status: "done".to_owned(),
            at: chrono::Utc::now(),
        });
    }
    let targets = kept_targets(conn, request).await?;
    match part {
        "crm" => {
            let Some(profile_id) = request.profile_id else {
                return Ok(nothing_held("crm"));
            };
            let erased = crate::crm::erasure::erase_profile(
                &privacy.db,
                brand_id,
                profile_id,
                &actor(request),
            )
            .await?;
            let Some(erased) = erased else {
                return Ok(nothing_held("crm"));
            };
            // A profile merged into the person after the targets were read was erased too: clienteling
            // must reach its client as well.
            let mut targets = targets;
            let joined: Vec<Uuid> = erased
                .profiles
                .iter()
                .filter(|id| !targets.profiles.contains(id))
                .copied()
                .collect();
            if !joined.is_empty() {
                targets.profiles.extend(joined);
                repo::store_targets(
                    conn,
                    request.id,
                    &serde_json::to_value(&targets).map_err(anyhow::Error::from)?,
                )
                .await?;
            }
            Ok(receipt_of(&erased.receipt))
        }
        "clienteling" => {
            if targets.profiles.is_empty() {
                return Ok(nothing_held("clienteling"));
            }
            let (receipt, _) = crate::clienteling::erasure::erase_clients(
                &eraser.clienteling,
                &privacy.jobs,
                brand_id,
                &targets.profiles,
            )
            .await?;
            Ok(receipt_of(&receipt))
        }
        "salesforce" => {
            let mut receipts = Vec::new();
            for contact in &targets.salesforce_contacts {
                receipts.push(
                    crate::customers::erasure::erase_salesforce_contact(
                        &eraser.salesforce,
                        contact,
                        eraser.contact_erasure,
                    )
                    .await?,
                );
            }
            Ok(combined("salesforce", &receipts))
        }
        "salesforce_tasks" => {
            if targets.profiles.is_empty() {
                return Ok(nothing_held("salesforce"));
            }
            match crate::clienteling::erasure::salesforce_tasks_redacted(
                &eraser.clienteling,
                &privacy.jobs,
                brand_id,
                &targets.profiles,
            )
            .await?
            {
                TasksRedacted::Done(receipt) if receipt.reference.is_empty() => {
                    Ok(nothing_held("salesforce"))
                }
                TasksRedacted::Done(receipt) => Ok(receipt_of(&receipt)),
                TasksRedacted::Refused(tasks) => Err(StepFailure::Permanent(format!(
                    "Salesforce refused the redacted content of {tasks} Tasks (a newer version there, or \
                     the write itself refused)"
                ))),
            }
        }
        "whmcs" => {
            let mut receipts = Vec::new();
            for client in &targets.whmcs_clients {
                let Ok(client) = u64::try_from(*client) else {
                    continue;
                };
                receipts.push(
                    crate::customers::erasure::erase_whmcs_client(&eraser.whmcs, client).await?,
                );
            }
            Ok(combined("whmcs", &receipts))
        }
        "messaging" => {
            let addresses: Vec<String> = targets
                .emails
                .iter()
                .chain(&targets.phones)
                .cloned()
                .collect();
            let receipts =
                crate::crm::messages::erasure::forget_addresses(&eraser.messaging, &addresses)
                    .await?;
            Ok(combined("messaging", &receipts))
        }
        "portal" => {
            let mut receipts = Vec::new();
            for user in &targets.portal_users {
                receipts.push(erase_portal_user(&privacy.db, *user).await?);
            }
            Ok(combined("portal", &receipts))
        }
        other => Err(StepFailure::Permanent(format!(
            "no such erasure step `{other}`"
        ))),
    }
}

/// The portal's part for one account: closed first (no more logins), then what the other portal contexts
/// hold of the customer.
async fn erase_portal_user(db: &sqlx::PgPool, user: Uuid) -> Result<types::Receipt, StepFailure> {
    let closed = crate::auth::erasure::close_account(db, user).await?;
    crate::subscriptions::erasure::forget_lines(db, user).await?;
    crate::idempotency::forget_user(db, user).await?;
    // An order still in flight keeps the step pending (retried: everything here is idempotent) before the
    // billing link its provisioning needs is forgotten.
    let orders = crate::orders::erasure::anonymise_orders(db, user).await?;
    crate::customers::erasure::forget_customer(db, user).await?;
    let status = match &closed {
        Some(receipt) if receipt.status == ReceiptStatus::Done => ReceiptStatus::Done,
        _ if orders.status == ReceiptStatus::Done => ReceiptStatus::Done,
        _ => ReceiptStatus::AlreadyDone,
    };
    Ok(types::Receipt::new("portal", user.to_string(), status))
}

/// Attempt n waits base·2^(n-1), capped (at the cap it keeps retrying: there is no attempt limit).
fn backoff(settings: &crate::config::PrivacySettings, attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    Duration::from_millis(
        settings
            .retry_base_ms
            .saturating_mul(1_u64 << exponent)
            .min(settings.retry_max_ms),
    )
}
