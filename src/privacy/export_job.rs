//! The export job: runs each pending part of a request, keeps what each answered in its step, and once every
//! part is in, builds the archive, completes the request and records `crm.privacy.export.completed`.
//!
//! Crash- and retry-safe: a part's output is stored with its step, so a rerun only runs what is not done; one
//! run per request at a time (a transaction-scoped advisory lock); a failed part is retried by a new job,
//! enqueued in the transaction that holds the lock (visible only once this run has let go), with back-off,
//! until `privacy.max_step_attempts`, after which the step and the request fail.

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::Privacy;
use super::archive::{self, Contents};
use super::parts::{ExportFile, Subject};
use super::repo::{self, Reader};
use crate::integrations::ProviderError;
use crate::jobs::{Job, JobContext};
use crate::outbox::{self, NewEvent};

pub const COMPLETED_TOPIC: &str = "crm.privacy.export.completed";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunExport {
    pub request_id: Uuid,
}

impl Job for RunExport {
    const QUEUE: &'static str = "privacy.export";
}

pub async fn run(privacy: Privacy, job: RunExport, _ctx: JobContext) -> anyhow::Result<()> {
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
    let subject = Subject {
        request_id: id,
        brand_id: request.brand_id,
        profile_id: request.profile_id,
        portal_user: request.portal_user_id,
    };
    let settings = &privacy.settings;
    let mut retry_after: Option<Duration> = None;
    let mut failed = false;
    for step in repo::pending_steps(&mut conn, id).await? {
        let attempts = u32::try_from(step.attempts)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let Some(part) = privacy.parts.find(&step.part) else {
            repo::step_failed(&mut conn, id, &step.part, "no such part", true).await?;
            failed = true;
            continue;
        };
        repo::step_running(&mut conn, id, &step.part).await?;
        match part.export(&subject).await {
            Ok(files) => {
                let counts: Map<String, Value> = files
                    .iter()
                    .map(|file| (file.name.clone(), json!(file.records.len())))
                    .collect();
                let output = serde_json::to_value(&files)?;
                let kept = repo::step_completed(
                    &mut conn,
                    id,
                    &step.part,
                    &output,
                    &Value::Object(counts),
                )
                .await?;
                if !kept {
                    // Ended meanwhile (the person's erasure): nothing more is gathered.
                    return Ok(());
                }
            }
            Err(error) => {
                let give_up = attempts >= settings.max_step_attempts;
                tracing::warn!(
                    request_id = %id,
                    part = step.part,
                    attempts,
                    give_up,
                    error = %crate::telemetry::redact::scrub(&format!("{error:#}")),
                    "privacy export part failed"
                );
                repo::step_failed(&mut conn, id, &step.part, &describe(&error), give_up).await?;
                if give_up {
                    failed = true;
                } else {
                    let delay = backoff(settings, attempts);
                    retry_after = Some(retry_after.map_or(delay, |d| d.min(delay)));
                }
            }
        }
    }
    if failed {
        repo::fail_request(&mut conn, id).await?;
        return Ok(());
    }
    if let Some(delay) = retry_after {
        crate::jobs::enqueue(
            &mut guard,
            &privacy.jobs,
            &RunExport { request_id: id },
            Some(delay),
        )
        .await?;
        guard.commit().await?;
        return Ok(());
    }
    let mut parts: Vec<(String, Vec<ExportFile>)> = Vec::new();
    for (part, output) in repo::outputs(&mut conn, id).await? {
        let files: Vec<ExportFile> = match output {
            Some(output) => serde_json::from_value(output)?,
            None => Vec::new(),
        };
        parts.push((part, files));
    }
    let brand = crate::brands::slug_of(&mut *conn, request.brand_id)
        .await?
        .unwrap_or_default();
    let generated_at = Utc::now();
    let contents = Contents {
        request_id: id,
        brand: &brand,
        profile_id: request.profile_id,
        generated_at,
        parts: &parts,
    };
    let manifest = archive::manifest(&contents);
    let bytes = archive::build(&contents)?;
    let ttl =
        chrono::Duration::seconds(i64::try_from(settings.archive_ttl_secs).unwrap_or(i64::MAX / 4));
    let expires_at = generated_at + ttl;
    drop(conn);
    let mut tx = privacy.db.begin().await?;
    if repo::complete_export(&mut tx, id, &bytes, archive::CONTENT_TYPE, expires_at).await? {
        outbox::record(
            &mut tx,
            NewEvent {
                topic: COMPLETED_TOPIC,
                aggregate_type: "privacy_request",
                aggregate_id: id.to_string(),
                payload: json!({
                    "request_id": id,
                    "brand": brand,
                    "profile_id": request.profile_id,
                    "parts": manifest["parts"],
                    "expires_at": expires_at,
                }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    guard.commit().await?;
    Ok(())
}

/// What the request view says about a failed attempt: the system and the kind of failure, never a
/// provider's text (it may quote personal data).
fn describe(error: &anyhow::Error) -> String {
    match error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ProviderError>())
    {
        Some(ProviderError::Unavailable { system, .. }) => format!("{system} is unavailable"),
        Some(ProviderError::RateLimited { system, .. }) => {
            format!("{system} is rate limiting requests")
        }
        Some(ProviderError::Rejected { system, .. }) => format!("{system} rejected the request"),
        Some(ProviderError::Auth { system, .. }) => format!("{system} refused our credentials"),
        Some(ProviderError::Malformed { system, .. }) => {
            format!("{system} answered with a malformed payload")
        }
        None => "an internal error (logged)".to_owned(),
    }
}

/// Attempt n waits base·2^(n-1), capped.
fn backoff(settings: &crate::config::PrivacySettings, attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    Duration::from_millis(
        settings
            .retry_base_ms
            .saturating_mul(1_u64 << exponent)
            .min(settings.retry_max_ms),
    )
}
