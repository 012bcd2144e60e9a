//! Running enrollments. Each job takes an enrollment one step at a time: it reads the enrollment and its
//! step, performs the step's effect outside any lock (the send path, the event path: each idempotent per
//! enrollment, step and visit), then records the outcome and moves on in a short transaction that checks
//! the enrollment is still where it was read (an exit, or a duplicate job, may have moved it meanwhile).
//! A wait is a delayed job enqueued in the transaction that records the wait: durable, on any replica.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::definition::{ACTION_EVENT, Definition, Step, parse_time, settable};
use super::repo::{self, Enrollment};
use crate::brands::Brand;
use crate::clienteling::tasks::{self, JourneyTask, JourneyTaskOutcome};
use crate::config::{JobSettings, JourneySettings};
use crate::crm::Crm;
use crate::crm::events::EventStatus;
use crate::crm::identifiers::{EMAIL, PHONE, PORTAL_USER};
use crate::crm::messages::{self, Content, MessageContext, Messages, SendOutcome, SendRequest};
use crate::crm::profile::{self, Profile};
use crate::crm::segments::{membership, repo as segments, rule};
use crate::jobs::{self, Job, JobContext};
use crate::outbox::{self, NewEvent};

/// The outbox topic of `emit` steps.
pub const EMITTED: &str = "crm.journey.emitted";
/// Steps one job takes before handing the enrollment to a fresh job.
const STEPS_PER_RUN: usize = 100;

/// Takes the enrollment as far as it goes now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunEnrollment {
    pub enrollment_id: Uuid,
    /// A wait's wake-up: the `step_count` it was scheduled at (a later one makes it stale).
    #[serde(default)]
    pub wait_at_step: Option<i32>,
}

impl RunEnrollment {
    pub fn now(enrollment_id: Uuid) -> Self {
        Self {
            enrollment_id,
            wait_at_step: None,
        }
    }
}

impl Job for RunEnrollment {
    const QUEUE: &'static str = "crm-journeys-run";
}

/// What journeys' jobs need: the CRM (its pool and event path), the send path and the settings.
#[derive(Clone)]
pub struct Engine {
    pub(super) crm: Crm,
    pub(super) messages: Messages,
    pub(super) jobs: JobSettings,
    pub(super) settings: JourneySettings,
}

/// What a step did, to be recorded.
enum Effect {
    /// Record the step with this outcome and go to `next` (none: completed).
    Advance {
        outcome: String,
        detail: Value,
        next: Option<String>,
        emit: Option<Value>,
    },
    /// Wait (a wait step, or a deferred send) until then, at this step.
    Wait { until: DateTime<Utc>, detail: Value },
    /// The step failed for good: the enrollment is `failed`.
    Fail { reason: String, detail: Value },
}

enum Next {
    Continue,
    Stop,
}

pub fn running(status: &str) -> bool {
    matches!(status, "active" | "waiting")
}

impl Engine {
    pub async fn run(&self, job: RunEnrollment, ctx: JobContext) -> anyhow::Result<()> {
        let mut current = job.clone();
        for _ in 0..STEPS_PER_RUN {
            let step: futures::future::BoxFuture<'_, anyhow::Result<Next>> =
                Box::pin(self.step(&current, &ctx));
            if let Next::Stop = step.await? {
                return Ok(());
            }
            // Past the wait it woke up for, the run goes on as any run.
            current.wait_at_step = None;
        }
        let mut conn = self.crm.db().acquire().await?;
        jobs::enqueue(
            &mut conn,
            &self.jobs,
            &RunEnrollment::now(job.enrollment_id),
            None,
        )
        .await
    }

    async fn step(&self, job: &RunEnrollment, ctx: &JobContext) -> anyhow::Result<Next> {
        let id = job.enrollment_id;
        let db = self.crm.db();
        let mut conn = db.acquire().await?;
        let Some(enrollment) = repo::enrollment_by_id(&mut conn, id).await? else {
            return Ok(Next::Stop);
        };
        if !running(&enrollment.status) {
            return Ok(Next::Stop);
        }
        if journey_paused(&mut conn, &enrollment).await? {
            // Resuming enqueues every running enrollment again.
            return Ok(Next::Stop);
        }
        let now = Utc::now();
        if enrollment.status == "waiting"
            && let Some(wake_at) = enrollment.wake_at
            && wake_at > now + chrono::Duration::milliseconds(500)
        {
            // Early. The wait's own wake-up (its queue's clock and ours differ) sleeps again for what is
            // left; any other run (a resume, a duplicate) leaves it to that one.
            if job.wait_at_step == Some(enrollment.step_count) {
                let left = (wake_at - now).to_std().unwrap_or(Duration::ZERO);
                jobs::enqueue(&mut conn, &self.jobs, job, Some(left)).await?;
            }
            return Ok(Next::Stop);
        }
        if job
            .wait_at_step
            .is_some_and(|step| step != enrollment.step_count)
        {
            // A wake-up for a step the enrollment has left.
            return Ok(Next::Stop);
        }
        let definition = repo::version(&mut conn, enrollment.journey_id, enrollment.version)
            .await?
            .ok_or_else(|| anyhow::anyhow!("journey version missing for enrollment {id}"))?;
        let step_id = enrollment.current_step.clone().unwrap_or_default();
        let effect = match definition.step(&step_id) {
            None => Effect::Fail {
                reason: "unknown_step".into(),
                detail: json!({ "step_id": step_id }),
            },
            Some(step) => {
                let visit = repo::visits(&mut conn, id, &step_id).await?;
                drop(conn);
                // Boxed: the future is proven Send here, with concrete lifetimes.
                let effect: futures::future::BoxFuture<'_, anyhow::Result<Effect>> =
                    Box::pin(self.effect(&enrollment, &definition, step, visit, now, ctx));
                effect.await?
            }
        };
        self.record(&enrollment, &definition, effect).await
    }

    async fn effect(
        &self,
        enrollment: &Enrollment,
        definition: &Definition,
        step: &Step,
        visit: i64,
        now: DateTime<Utc>,
        ctx: &JobContext,
    ) -> anyhow::Result<Effect> {
        let _ = definition;
        let key = if visit == 0 {
            format!("journey:{}:{}", enrollment.id, step.id())
        } else {
            format!("journey:{}:{}:{visit}", enrollment.id, step.id())
        };
        let db = self.crm.db();
        let mut conn = db.acquire().await?;
        let Some(profile) =
            profile::load(&mut conn, enrollment.brand_id, enrollment.profile_id).await?
        else {
            return Ok(Effect::Fail {
                reason: "profile_gone".into(),
                detail: json!({}),
            });
        };
        Ok(match step {
            Step::Wait {
                duration_secs,
                until_time,
                next,
                ..
            } => {
                if enrollment.status == "waiting" {
                    advance("waited", json!({ "until": enrollment.wake_at }), next)
                } else {
                    let until = match (duration_secs, until_time.as_deref().and_then(parse_time)) {
                        (Some(secs), _) => {
                            let scaled = (*secs as f64 * self.settings.time_scale).max(0.0);
                            now + chrono::Duration::milliseconds((scaled * 1000.0) as i64)
                        }
                        (None, Some(time)) => {
                            let brand = brand(db, &profile).await?;
                            let zone = timezone(&mut conn, &profile, &brand.timezone).await?;
                            next_local_time(&mut conn, now, time, &zone).await?
                        }
                        (None, None) => now,
                    };
                    Effect::Wait {
                        until,
                        detail: json!({ "duration_secs": duration_secs, "until_time": until_time }),
                    }
                }
            }
            Step::Condition {
                rule: raw, yes, no, ..
            } => {
                let catalogue = segments::catalogue(&mut conn, enrollment.brand_id).await?;
                match rule::parse(raw, &catalogue) {
                    Err(_) => Effect::Fail {
                        reason: "rule_invalid".into(),
                        detail: json!({ "step_id": step.id() }),
                    },
                    Ok((node, _)) => {
                        let matched = membership::matching(
                            &mut conn,
                            enrollment.brand_id,
                            &node,
                            &[profile.id],
                            now,
                        )
                        .await?;
                        if matched.is_empty() {
                            advance("no", json!({}), no)
                        } else {
                            advance("yes", json!({}), yes)
                        }
                    }
                }
            }
            Step::Send {
                template_id,
                template_version,
                channel,
                purpose,
                next,
                ..
            } => {
                let brand = brand(db, &profile).await?;
                drop(conn);
                let request = SendRequest {
                    profile_id: profile.id,
                    channel: *channel,
                    purpose: *purpose,
                    content: Content::Template {
                        id: *template_id,
                        version: *template_version,
                    },
                    idempotency_key: key,
                    context: MessageContext::default(),
                    language: None,
                    exempt_from_cap: false,
                };
                let outcome = send_owned(self.messages.clone(), brand, request).await?;
                match outcome {
                    SendOutcome::Sent { message_id, .. } => {
                        advance("sent", json!({ "message_id": message_id }), next)
                    }
                    SendOutcome::Suppressed { message_id, reason } => advance(
                        "suppressed",
                        json!({ "message_id": message_id, "reason": reason.as_str() }),
                        next,
                    ),
                    SendOutcome::Deferred { message_id, until } => Effect::Wait {
                        until,
                        detail: json!({ "message_id": message_id, "deferred": true }),
                    },
                    SendOutcome::Failed {
                        message_id,
                        retryable,
                        reason,
                        ..
                    } => {
                        if retryable && ctx.attempt < ctx.max_attempts as usize {
                            anyhow::bail!("the send failed ({reason}); the step is retried");
                        }
                        Effect::Fail {
                            reason: format!("send_failed: {reason}"),
                            detail: json!({ "message_id": message_id }),
                        }
                    }
                }
            }
            Step::UpdateAttribute {
                attribute,
                value,
                next,
                ..
            } => {
                let traits = serde_json::to_value(settable(attribute, value))?;
                let brand = brand(db, &profile).await?;
                drop(conn);
                self.profile_event(
                    &brand,
                    &profile,
                    enrollment,
                    step,
                    &key,
                    "update_attribute",
                    traits,
                )
                .await?;
                advance(
                    "updated",
                    json!({ "attribute": attribute, "value": value }),
                    next,
                )
            }
            Step::AddTag { tag, next, .. } => {
                let brand = brand(db, &profile).await?;
                drop(conn);
                let traits = json!({ "tags": [tag.trim()] });
                self.profile_event(&brand, &profile, enrollment, step, &key, "add_tag", traits)
                    .await?;
                advance("tagged", json!({ "tag": tag }), next)
            }
            Step::CreateAdvisorTask {
                title,
                notes,
                due_in_hours,
                priority,
                next,
                ..
            } => {
                drop(conn);
                let hours = i64::from(due_in_hours.unwrap_or(24));
                let task = JourneyTask {
                    brand_id: enrollment.brand_id,
                    client_id: profile.id,
                    key: &key,
                    title: title.trim(),
                    notes: notes.as_deref().unwrap_or_default().trim(),
                    due_at: now + chrono::Duration::hours(hours),
                    priority: priority.as_deref().unwrap_or("normal"),
                };
                match tasks::create_for_journey(db, &task).await? {
                    JourneyTaskOutcome::Created {
                        task_id,
                        assignee_id,
                    } => advance(
                        "task_created",
                        json!({ "task_id": task_id, "assignee_id": assignee_id }),
                        next,
                    ),
                    JourneyTaskOutcome::NotAClient => {
                        advance("skipped", json!({ "reason": "not_a_client" }), next)
                    }
                    JourneyTaskOutcome::NoAssignee => {
                        advance("skipped", json!({ "reason": "no_advisor" }), next)
                    }
                }
            }
            Step::Emit {
                name,
                payload,
                next,
                ..
            } => Effect::Advance {
                outcome: "emitted".into(),
                detail: json!({ "name": name }),
                next: next.clone(),
                emit: Some(json!({
                    "brand_id": enrollment.brand_id,
                    "journey_id": enrollment.journey_id,
                    "version": enrollment.version,
                    "enrollment_id": enrollment.id,
                    "profile_id": profile.id,
                    "step_id": step.id(),
                    "key": key,
                    "name": name,
                    "payload": payload,
                })),
            },
        })
    }

    /// A `journey_action` activity carrying the traits: the profile changes through the event path (its
    /// segments and scores follow), once per key (the event id).
    #[allow(clippy::too_many_arguments)]
    async fn profile_event(
        &self,
        brand: &Brand,
        profile: &Profile,
        enrollment: &Enrollment,
        step: &Step,
        key: &str,
        action: &str,
        traits: Value,
    ) -> anyhow::Result<()> {
        let rank = |kind: &str| match kind {
            PORTAL_USER => 0,
            EMAIL => 1,
            PHONE => 3,
            _ => 2,
        };
        let Some(identifier) = profile
            .identifiers
            .iter()
            .min_by_key(|identifier| (rank(&identifier.kind), identifier.kind.clone()))
        else {
            anyhow::bail!("profile {} holds no identifier", profile.id);
        };
        let event = json!({
            "id": key,
            "type": ACTION_EVENT,
            "occurred_at": Utc::now().to_rfc3339(),
            "identifiers": [{ "kind": identifier.kind, "value": identifier.value }],
            "traits": traits,
            "properties": {
                "journey_id": enrollment.journey_id.to_string(),
                "enrollment_id": enrollment.id.to_string(),
                "step_id": step.id(),
                "action": action,
            },
        });
        let result = crate::crm::events::apply_internal(
            &self.crm,
            brand,
            std::slice::from_ref(&event),
            "journeys",
        )
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no result for the journey's event"))?;
        match result.status {
            EventStatus::Accepted | EventStatus::Duplicate => Ok(()),
            other => anyhow::bail!("the journey's event was {other:?}: {:?}", result.detail),
        }
    }

    async fn record(
        &self,
        read: &Enrollment,
        definition: &Definition,
        effect: Effect,
    ) -> anyhow::Result<Next> {
        let _ = definition;
        let mut tx = self.crm.db().begin().await?;
        let Some(now_row) = repo::lock_enrollment(&mut tx, read.id).await? else {
            return Ok(Next::Stop);
        };
        if !running(&now_row.status)
            || now_row.step_count != read.step_count
            || now_row.current_step != read.current_step
            || now_row.status != read.status
        {
            // Exited, or another run of this enrollment moved it on.
            return Ok(Next::Stop);
        }
        let step_id = read.current_step.clone().unwrap_or_default();
        let kind = definition
            .step(&step_id)
            .map_or("unknown", Step::kind)
            .to_owned();
        let next = match effect {
            Effect::Advance {
                outcome,
                detail,
                next,
                emit,
            } => {
                insert_step(&mut tx, read, &step_id, &kind, &outcome, &detail).await?;
                if let Some(payload) = emit {
                    outbox::record(
                        &mut tx,
                        NewEvent {
                            topic: EMITTED,
                            aggregate_type: "crm_journey_enrollment",
                            aggregate_id: read.id.to_string(),
                            payload,
                        },
                    )
                    .await?;
                }
                match &next {
                    Some(next_step) => {
                        sqlx::query!(
                            "UPDATE crm_journey_enrollments SET status = 'active', current_step = $2,
                                 step_count = step_count + 1, wake_at = NULL WHERE id = $1",
                            read.id,
                            next_step
                        )
                        .execute(&mut *tx)
                        .await?;
                        Next::Continue
                    }
                    None => {
                        sqlx::query!(
                            "UPDATE crm_journey_enrollments SET status = 'completed', step_count = step_count + 1,
                                 wake_at = NULL, ended_at = now() WHERE id = $1",
                            read.id
                        )
                        .execute(&mut *tx)
                        .await?;
                        Next::Stop
                    }
                }
            }
            Effect::Wait { until, detail } => {
                let _ = detail;
                sqlx::query!(
                    "UPDATE crm_journey_enrollments SET status = 'waiting', wake_at = $2 WHERE id = $1",
                    read.id,
                    until
                )
                .execute(&mut *tx)
                .await?;
                let delay = (until - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                jobs::enqueue(
                    &mut tx,
                    &self.jobs,
                    &RunEnrollment {
                        enrollment_id: read.id,
                        wait_at_step: Some(read.step_count),
                    },
                    Some(delay),
                )
                .await?;
                Next::Stop
            }
            Effect::Fail { reason, detail } => {
                insert_step(&mut tx, read, &step_id, &kind, "failed", &detail).await?;
                sqlx::query!(
                    "UPDATE crm_journey_enrollments SET status = 'failed', reason = $2, step_count = step_count + 1,
                         wake_at = NULL, ended_at = now() WHERE id = $1",
                    read.id,
                    &reason
                )
                .execute(&mut *tx)
                .await?;
                Next::Stop
            }
        };
        tx.commit().await?;
        Ok(next)
    }
}

async fn send_owned(
    handle: Messages,
    brand: Brand,
    request: SendRequest,
) -> anyhow::Result<SendOutcome> {
    messages::send(&handle, &brand, &request)
        .await
        .map_err(|e| anyhow::anyhow!("send: {e:?}"))
}

fn advance(outcome: &str, detail: Value, next: &Option<String>) -> Effect {
    Effect::Advance {
        outcome: outcome.into(),
        detail,
        next: next.clone(),
        emit: None,
    }
}

async fn insert_step(
    conn: &mut PgConnection,
    read: &Enrollment,
    step_id: &str,
    kind: &str,
    outcome: &str,
    detail: &Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO crm_journey_steps (enrollment_id, seq, step_id, kind, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        read.id,
        read.step_count,
        step_id,
        kind,
        outcome,
        detail
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn journey_paused(conn: &mut PgConnection, enrollment: &Enrollment) -> sqlx::Result<bool> {
    let status = sqlx::query_scalar!(
        "SELECT status FROM crm_journeys WHERE brand_id = $1 AND id = $2",
        enrollment.brand_id,
        enrollment.journey_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(status.as_deref() == Some("paused"))
}

pub async fn brand(db: &sqlx::PgPool, profile: &Profile) -> anyhow::Result<Brand> {
    crate::brands::find(db, &profile.brand)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the profile's brand is gone"))
}

/// The profile's time zone as the send path has it: its `timezone` custom attribute when PostgreSQL knows
/// the zone, else the brand's.
pub async fn timezone(
    conn: &mut PgConnection,
    profile: &Profile,
    brand_timezone: &str,
) -> sqlx::Result<String> {
    if let Some(zone) = profile.custom.get("timezone").and_then(Value::as_str) {
        let known = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS "known!""#,
            zone
        )
        .fetch_one(&mut *conn)
        .await?;
        if known {
            return Ok(zone.to_owned());
        }
    }
    Ok(brand_timezone.to_owned())
}

/// The next instant after `now` when the local time in `zone` is `time`.
pub async fn next_local_time(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    time: chrono::NaiveTime,
    zone: &str,
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar!(
        r#"SELECT ((CASE WHEN ($1::timestamptz AT TIME ZONE $3::text)::time < $2::time
                      THEN ($1::timestamptz AT TIME ZONE $3::text)::date + $2::time
                      ELSE ($1::timestamptz AT TIME ZONE $3::text)::date + 1 + $2::time END)
                  AT TIME ZONE $3::text) AS "at!""#,
        now,
        time,
        zone
    )
    .fetch_one(conn)
    .await
}
