//! What enrolls a profile and what ends an enrollment early.
//!
//! - [`JourneysHook`], an after-event hook: inside the event's transaction it enqueues an [`EnrollProfile`]
//!   job for every active journey the event triggers (its type, every filter property equal), and exits the
//!   profile's running enrollments whose version names the event's type among its exit events. One query per
//!   batch finds both; nothing slow runs there.
//! - [`SegmentEntryFeed`], an outbox sink: `crm.segment.membership.changed` (every refresh, event,
//!   schedule or manual change) enqueues an enrollment for each entered profile of the journeys triggered by
//!   that segment. A redelivered event enqueues again, and the enrollment's unique trigger reference makes
//!   that a no-op.
//! - [`enroll`], the job: under a lock per journey and profile, the re-entry policy, then the enrollment
//!   and its first run, in one transaction.

use std::collections::HashMap;

use chrono::Utc;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::definition::{Definition, Reentry};
use super::engine::RunEnrollment;
use super::repo;
use crate::config::JobSettings;
use crate::crm::events::{AfterEvent, Touched};
use crate::jobs::{self, Job};
use crate::outbox::{EventSink, OutboxEvent};

/// Enrolls a profile in a journey (if its re-entry policy lets it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollProfile {
    pub brand_id: Uuid,
    pub journey_id: Uuid,
    pub profile_id: Uuid,
    /// What triggered it (`event:<activity id>`, `segment:<outbox event id>`).
    pub trigger_ref: String,
}

impl Job for EnrollProfile {
    const QUEUE: &'static str = "crm-journeys-enroll";
}

pub struct JourneysHook {
    pub jobs: JobSettings,
}

struct Candidate {
    journey_id: Uuid,
    trigger_kind: String,
    trigger_key: String,
    filter: Option<Value>,
    exit_on: Vec<String>,
}

fn matches(filter: Option<&Value>, properties: &Value) -> bool {
    let Some(Value::Object(filter)) = filter else {
        return true;
    };
    filter
        .iter()
        .all(|(name, wanted)| properties.get(name) == Some(wanted))
}

impl AfterEvent for JourneysHook {
    fn name(&self) -> &'static str {
        "journeys"
    }

    fn after_profiles<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        touched: &'a [Touched<'a>],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut by_brand: HashMap<Uuid, Vec<String>> = HashMap::new();
            for profile in touched {
                for event in &profile.events {
                    by_brand
                        .entry(profile.brand_id)
                        .or_default()
                        .push(event.kind.clone());
                }
            }
            for (brand_id, mut kinds) in by_brand {
                kinds.sort();
                kinds.dedup();
                let candidates = sqlx::query_as!(
                    Candidate,
                    r#"SELECT v.journey_id, v.trigger_kind, v.trigger_key,
                            v.definition->'trigger'->'properties' AS "filter?", v.exit_on
                     FROM crm_journeys j
                     JOIN crm_journey_versions v ON v.journey_id = j.id
                     WHERE j.brand_id = $1 AND v.brand_id = $1
                       AND ((v.version = j.published_version AND j.status = 'active'
                             AND v.trigger_kind = 'event' AND v.trigger_key = ANY($2))
                            OR v.exit_on && $2)"#,
                    brand_id,
                    &kinds
                )
                .fetch_all(&mut *conn)
                .await?;
                if candidates.is_empty() {
                    continue;
                }
                for profile in touched.iter().filter(|p| p.brand_id == brand_id) {
                    for event in &profile.events {
                        if candidates.iter().any(|c| c.exit_on.contains(&event.kind)) {
                            // The person's enrollments, also those begun on a profile merged into it since.
                            let person =
                                super::person::person(&mut *conn, brand_id, profile.profile_id)
                                    .await?;
                            for profile_id in person {
                                exit(&mut *conn, brand_id, profile_id, &event.kind).await?;
                            }
                        }
                        for candidate in candidates.iter().filter(|c| {
                            c.trigger_kind == "event"
                                && c.trigger_key == event.kind
                                && matches(c.filter.as_ref(), &event.properties)
                        }) {
                            let job = EnrollProfile {
                                brand_id,
                                journey_id: candidate.journey_id,
                                profile_id: profile.profile_id,
                                trigger_ref: format!("event:{}", event.activity_id),
                            };
                            jobs::enqueue(&mut *conn, &self.jobs, &job, None).await?;
                        }
                    }
                }
            }
            Ok(())
        })
    }
}

/// Ends the profile's running enrollments whose version exits on `kind`.
async fn exit(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    kind: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE crm_journey_enrollments e SET status = 'exited', reason = 'exit_event:' || $3::text,
             ended_at = now(), wake_at = NULL
         FROM crm_journey_versions v
         WHERE v.journey_id = e.journey_id AND v.version = e.version
           AND e.brand_id = $1 AND e.profile_id = $2 AND e.status IN ('active', 'waiting')
           AND $3 = ANY(v.exit_on)",
        brand_id,
        profile_id,
        kind
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Enqueues the enrollments of `profile_ids` in the brand's active journeys triggered by entering `segment`.
pub async fn segment_entered(
    conn: &mut PgConnection,
    jobs_settings: &JobSettings,
    brand_id: Uuid,
    segment: Uuid,
    profile_ids: &[Uuid],
    trigger_ref: &str,
) -> anyhow::Result<usize> {
    if profile_ids.is_empty() {
        return Ok(0);
    }
    let journeys = sqlx::query_scalar!(
        "SELECT j.id FROM crm_journeys j
         JOIN crm_journey_versions v ON v.journey_id = j.id AND v.version = j.published_version
         WHERE j.brand_id = $1 AND j.status = 'active' AND v.trigger_kind = 'segment_entry'
           AND v.trigger_key = $2",
        brand_id,
        segment.to_string()
    )
    .fetch_all(&mut *conn)
    .await?;
    let jobs: Vec<EnrollProfile> = journeys
        .iter()
        .flat_map(|journey_id| {
            profile_ids.iter().map(|profile_id| EnrollProfile {
                brand_id,
                journey_id: *journey_id,
                profile_id: *profile_id,
                trigger_ref: trigger_ref.to_owned(),
            })
        })
        .collect();
    // One statement per thousand: a refresh that adds 100k members fans out without 100k round trips.
    jobs::enqueue_many(&mut *conn, jobs_settings, &jobs).await?;
    Ok(jobs.len())
}

/// The outbox sink reading segment entries.
#[derive(Clone)]
pub struct SegmentEntryFeed {
    pub(super) db: sqlx::PgPool,
    pub(super) jobs: JobSettings,
}

impl EventSink for SegmentEntryFeed {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        if event.topic != "crm.segment.membership.changed" {
            return Ok(());
        }
        #[derive(Deserialize)]
        struct Changed {
            brand_id: Uuid,
            segment_id: Uuid,
            #[serde(default)]
            entered: Vec<Uuid>,
        }
        let changed: Changed = serde_json::from_value(event.payload.clone())?;
        let mut tx = self.db.begin().await?;
        segment_entered(
            &mut tx,
            &self.jobs,
            changed.brand_id,
            changed.segment_id,
            &changed.entered,
            &format!("segment:{}", event.id),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Why a trigger did not enroll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    NotActive,
    Running,
    Reentry,
    Duplicate,
}

/// The enrollment job: the journey's current version, its re-entry policy, the enrollment and its first
/// run, in one transaction under a lock per journey and profile (concurrent triggers enroll once).
pub async fn enroll(
    conn: &mut PgConnection,
    jobs_settings: &JobSettings,
    job: &EnrollProfile,
) -> anyhow::Result<Result<Uuid, Refused>> {
    // The person, enrolled on its current profile: a trigger that saw a profile merged since, and the
    // enrollments begun on profiles merged into it, count as the same person's.
    let mut person = super::person::person(&mut *conn, job.brand_id, job.profile_id).await?;
    if person.is_empty() {
        person.push(job.profile_id);
    }
    let profile_id = person.first().copied().unwrap_or(job.profile_id);
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text || $2::uuid::text, 21))",
        job.journey_id,
        profile_id
    )
    .execute(&mut *conn)
    .await?;
    let current = sqlx::query!(
        "SELECT status, published_version FROM crm_journeys WHERE brand_id = $1 AND id = $2",
        job.brand_id,
        job.journey_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(("active", Some(version))) = current
        .as_ref()
        .map(|c| (c.status.as_str(), c.published_version))
    else {
        return Ok(Err(Refused::NotActive));
    };
    let Some(definition): Option<Definition> =
        repo::version(&mut *conn, job.journey_id, version).await?
    else {
        return Ok(Err(Refused::NotActive));
    };
    let previous = sqlx::query!(
        r#"SELECT coalesce(bool_or(status IN ('active', 'waiting')), false) AS "running!",
                  max(entered_at) AS last
           FROM crm_journey_enrollments WHERE journey_id = $1 AND profile_id = ANY($2)"#,
        job.journey_id,
        &person
    )
    .fetch_one(&mut *conn)
    .await?;
    let (running, last) = (previous.running, previous.last);
    if running {
        return Ok(Err(Refused::Running));
    }
    let allowed = match (definition.reentry, last) {
        (_, None) | (Reentry::Always, _) => true,
        (Reentry::Once, Some(_)) => false,
        (Reentry::AfterDays { days }, Some(last)) => {
            last + chrono::Duration::days(i64::from(days)) <= Utc::now()
        }
    };
    if !allowed {
        return Ok(Err(Refused::Reentry));
    }
    let id = Uuid::now_v7();
    let inserted = sqlx::query!(
        "INSERT INTO crm_journey_enrollments (id, brand_id, journey_id, version, profile_id, status, current_step, trigger_ref)
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $7)
         ON CONFLICT (journey_id, profile_id, trigger_ref) DO NOTHING",
        id,
        job.brand_id,
        job.journey_id,
        version,
        profile_id,
        &definition.start,
        &job.trigger_ref
    )
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Err(Refused::Duplicate));
    }
    jobs::enqueue(&mut *conn, jobs_settings, &RunEnrollment::now(id), None).await?;
    Ok(Ok(id))
}
