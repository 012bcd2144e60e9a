//! The Salesforce mirror: every interaction is a `Task` (WhoId = the client's Salesforce contact when the
//! profile has one, Subject, Description, ActivityDate, Type = the channel, `Concierge_Context__c`), written
//! by a durable job per write in **one** composite call holding one upsert on the external id
//! `Concierge_Interaction_Id__c` = our interaction id.
//!
//! - Exactly once: an upsert by external id creates the Task the first time and updates it after, so a
//!   retry after a timeout (the write happened, the answer was lost) updates the same Task.
//! - Order: the job always sends the interaction's *current* state with `Concierge_Version__c` = the last
//!   version a person wrote; the org's validation rule on Task refuses a lower version
//!   (`FIELD_CUSTOM_VALIDATION_EXCEPTION`), so two jobs racing cannot put an older state over a newer one,
//!   and a job whose version is already mirrored makes no call at all.
//! - Deletion marks the Task (`Concierge_Deleted__c = true`) instead of deleting it: a deleted Task frees
//!   its external id, and any late upsert would then create a second one; a marked Task keeps refusing
//!   older versions.
//! - A success appends `mirrored {status: "mirrored", task_id, content_version}`; a job that used up its
//!   attempts appends `mirrored {status: "failed", …}` (operator-visible on the interaction and as a dead
//!   job in `apalis.jobs`), and a later write mirrors again.

use anyhow::Context;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::model::State;
use super::store::{self, NewEvent};
use crate::clienteling::Clienteling;
use crate::crm::identifiers::SALESFORCE_CONTACT;
use crate::integrations::ProviderError;
use crate::integrations::salesforce::{composite_failure, has_error_code, salesforce_errors, soql};
use crate::jobs::{Job, JobContext};

pub const EXTERNAL_ID: &str = "Concierge_Interaction_Id__c";
const STALE: &str = "FIELD_CUSTOM_VALIDATION_EXCEPTION";

/// The job: mirror `interaction_id` after the write of `version`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mirror {
    pub brand_id: Uuid,
    pub interaction_id: Uuid,
    pub version: i32,
}

impl Job for Mirror {
    const QUEUE: &'static str = "clienteling.interaction.mirror";
}

/// The content version the projection says is mirrored (a failed mirror counts as none).
fn mirrored_version(state: &State) -> Option<i64> {
    state
        .mirror
        .as_ref()
        .filter(|mirror| mirror["status"] == "mirrored")
        .and_then(|mirror| mirror["content_version"].as_i64())
}

/// The Task's fields for `state` at `content_version`.
pub fn task(state: &State, content_version: i32, who_id: Option<&str>) -> Value {
    let subject = state
        .subject
        .clone()
        .unwrap_or_else(|| format!("{} · {}", state.channel, state.context.replace('_', " ")));
    let mut task = json!({
        "Subject": subject,
        "Description": state.note,
        "ActivityDate": state.occurred_at.date_naive().to_string(),
        "Status": "Completed",
        "Type": state.channel,
        "Concierge_Context__c": state.context,
        "Concierge_Version__c": content_version,
        "Concierge_Deleted__c": state.deleted_at.is_some(),
    });
    if let Some(who_id) = who_id {
        task["WhoId"] = json!(who_id);
    }
    task
}

/// The client's Salesforce contact, when their profile has a well-formed one.
async fn who_id(
    clienteling: &Clienteling,
    brand_id: Uuid,
    client_id: Uuid,
) -> anyhow::Result<Option<String>> {
    let mut conn = clienteling.db().acquire().await?;
    let profile = crate::crm::profile::load(&mut conn, brand_id, client_id).await?;
    Ok(profile.and_then(|profile| {
        profile
            .identifiers
            .into_iter()
            .find(|identifier| {
                identifier.kind == SALESFORCE_CONTACT && soql::is_id(&identifier.value)
            })
            .map(|identifier| identifier.value)
    }))
}

enum Sent {
    Mirrored(String),
    /// Salesforce holds a newer version already (its job records it).
    Stale,
}

/// One composite call; when Salesforce refuses only the contact (deleted, merged away, or a profile's
/// identifier that was never a Contact), the Task is written again without `WhoId` rather than never.
async fn send(
    clienteling: &Clienteling,
    state: &State,
    content_version: i32,
    who: Option<&str>,
) -> Result<Sent, ProviderError> {
    match send_once(clienteling, state, content_version, who).await {
        Err(error) if who.is_some() && refuses_who(&error) => {
            tracing::warn!(interaction = %state.id, error = %error, "Salesforce refused the contact; mirroring without WhoId");
            send_once(clienteling, state, content_version, None).await
        }
        other => other,
    }
}

fn refuses_who(error: &ProviderError) -> bool {
    salesforce_errors(error)
        .iter()
        .any(|entry| entry.fields.iter().any(|field| field == "WhoId"))
}

async fn send_once(
    clienteling: &Clienteling,
    state: &State,
    content_version: i32,
    who: Option<&str>,
) -> Result<Sent, ProviderError> {
    let salesforce = clienteling.salesforce();
    let upsert = salesforce.subrequests().upsert(
        "task",
        "Task",
        EXTERNAL_ID,
        &state.id.to_string(),
        task(state, content_version, who),
    )?;
    let responses = salesforce.composite(true, vec![upsert]).await?;
    if let Some(error) = composite_failure(&responses) {
        if has_error_code(&error, STALE) {
            return Ok(Sent::Stale);
        }
        return Err(error);
    }
    let id = responses
        .first()
        .and_then(|response| response.id())
        .filter(|id| soql::is_id(id))
        .ok_or_else(|| ProviderError::malformed("salesforce", "the upsert answered no Task id"))?;
    Ok(Sent::Mirrored(id.to_owned()))
}

/// Appends `mirrored` with `payload` when `wanted` holds for the state under the projection's row lock.
async fn record(
    clienteling: &Clienteling,
    job: &Mirror,
    payload: Value,
    wanted: impl Fn(&State) -> bool,
) -> anyhow::Result<()> {
    let mut tx = clienteling.db().begin().await?;
    let Some(state) = store::by_id(&mut tx, job.brand_id, job.interaction_id, true).await? else {
        return Ok(());
    };
    if !wanted(&state) {
        return Ok(());
    }
    let id = state.id;
    let event = store::append(
        &mut tx,
        NewEvent {
            brand_id: job.brand_id,
            stream_id: id,
            version: state.version + 1,
            kind: "mirrored",
            payload,
            actor: "job:salesforce-mirror",
        },
    )
    .await?;
    let next = State::apply(Some(state), id, &event)
        .with_context(|| format!("interaction {id}: mirrored cannot follow"))?;
    store::project(&mut tx, job.brand_id, &next).await?;
    tx.commit().await?;
    Ok(())
}

/// Runs one mirror job; an error retries it with back-off until its last attempt.
pub async fn run(clienteling: Clienteling, job: Mirror, ctx: JobContext) -> anyhow::Result<()> {
    let mut conn = clienteling.db().acquire().await?;
    let Some(state) = store::by_id(&mut conn, job.brand_id, job.interaction_id, false).await?
    else {
        return Ok(());
    };
    let content_version = store::content_version(&mut conn, job.brand_id, job.interaction_id)
        .await?
        .map_or(state.version, |(version, _)| version);
    drop(conn);
    if mirrored_version(&state) >= Some(i64::from(content_version)) {
        // Redelivered, or an older job after a newer one: that state is in Salesforce already.
        return Ok(());
    }
    let who = who_id(&clienteling, job.brand_id, state.client_id).await?;
    match send(&clienteling, &state, content_version, who.as_deref()).await {
        Ok(Sent::Mirrored(task_id)) => {
            metrics::counter!("clienteling_mirror_total", "outcome" => "mirrored").increment(1);
            let payload = json!({
                "status": "mirrored", "task_id": task_id, "content_version": content_version,
                "deleted": state.deleted_at.is_some(), "mirrored_at": Utc::now(),
            });
            record(&clienteling, &job, payload, |current| {
                mirrored_version(current) < Some(i64::from(content_version))
            })
            .await
        }
        Ok(Sent::Stale) => {
            metrics::counter!("clienteling_mirror_total", "outcome" => "stale").increment(1);
            Ok(())
        }
        Err(error) => {
            metrics::counter!("clienteling_mirror_total", "outcome" => "failed").increment(1);
            if ctx.attempt >= ctx.max_attempts as usize {
                let code = match &error {
                    ProviderError::Rejected { code, .. } => code.clone(),
                    other => other.to_string().chars().take(120).collect(),
                };
                let failed = json!({
                    "status": "failed", "content_version": content_version, "error": code,
                    "attempts": ctx.attempt, "failed_at": Utc::now(),
                });
                // Once per failed version, and only when nothing as new mirrored meanwhile.
                record(&clienteling, &job, failed, |current| {
                    let shown = current.mirror.as_ref().is_some_and(|mirror| {
                        mirror["status"] == "failed" && mirror["content_version"] == content_version
                    });
                    !shown && mirrored_version(current) < Some(i64::from(content_version))
                })
                .await?;
            }
            Err(anyhow::Error::new(error).context(format!(
                "mirroring interaction {} v{content_version} to Salesforce",
                job.interaction_id
            )))
        }
    }
}
