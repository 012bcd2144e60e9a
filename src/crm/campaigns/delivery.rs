//! The delivery job: claims due recipients in batches (`FOR UPDATE SKIP LOCKED`, then a lease with a fencing
//! token, so replicas never share a row and a crashed run's rows come back after `lease_secs`), takes a token
//! from the campaign's shared throttle before each send, calls the one send path with the recipient's stable
//! key, and records the outcome on the row. A crash anywhere re-sends nothing: the next run calls the send
//! path with the same key, which answers what it recorded (or re-asks the provider with the same
//! Idempotency-Key).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::{Action, Status, next};
use super::person::{self, Turn};
use super::{Campaigns, recipients, repo};
use crate::brands::Brand;
use crate::crm::consent::Purpose;
use crate::crm::messages::throttle::Permit;
use crate::crm::messages::{
    self, Content, MessageChannel, MessageContext, SendError, SendOutcome, SendRequest, Throttle,
    ThrottleKey,
};
use crate::jobs::{self, Job, JobContext};

/// Works through the campaign's due recipients; schedules its own next run while some are left.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverCampaign {
    /// The brand's slug.
    pub brand: String,
    pub campaign_id: Uuid,
}

impl Job for DeliverCampaign {
    const QUEUE: &'static str = "crm-campaign-delivery";
}

/// How a delivery run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// The campaign is not sending (paused, cancelled, completed, or gone).
    Stopped,
    /// No recipient is left queued or deferred: the campaign is now completed.
    Completed,
    /// Recipients are left; the next run is due at this time.
    Continue(DateTime<Utc>),
}

/// The suppression reason of a recipient who is, since a merge, the same person as another recipient that
/// had the campaign's message.
pub const MERGED: &str = "merged";

/// The idempotency key of a recipient's message: one logical message per campaign and profile.
pub fn message_key(campaign_id: Uuid, profile_id: Uuid) -> String {
    format!("campaign:{campaign_id}:{profile_id}")
}

/// What to write on a recipient row after a send.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub status: &'static str,
    pub reason: Option<String>,
    pub message_id: Option<Uuid>,
    pub next_attempt_at: DateTime<Utc>,
    /// Whether this call counts as an attempt (a quiet-hours deferral does not).
    pub attempted: bool,
}

/// The retry's wait: base·2^(attempt-1), at most max, or the provider's Retry-After if longer.
pub fn backoff(campaigns: &Campaigns, attempts: i32, retry_after_ms: Option<u64>) -> Duration {
    let s = &campaigns.settings;
    let exponent = u32::try_from(attempts.saturating_sub(1).max(0))
        .unwrap_or(0)
        .min(20);
    let wait = s
        .retry_base_ms
        .saturating_mul(1 << exponent)
        .min(s.retry_max_ms);
    Duration::from_millis(wait.max(retry_after_ms.unwrap_or(0).min(s.retry_max_ms)))
}

/// The recipient row's new state for `outcome`, after `attempts` earlier attempts.
pub fn settle(
    campaigns: &Campaigns,
    campaign: &repo::Row,
    attempts: i32,
    outcome: &Result<SendOutcome, SendError>,
    now: DateTime<Utc>,
) -> Settlement {
    let done = |status, reason: Option<String>, message_id| Settlement {
        status,
        reason,
        message_id,
        next_attempt_at: now,
        attempted: true,
    };
    let retry = |reason: &str, message_id: Option<Uuid>, retry_after_ms: Option<u64>| {
        let attempts = attempts.saturating_add(1);
        if attempts > campaign.retry_limit {
            return done(
                "failed",
                Some(format!("retry_limit_reached: {reason}")),
                message_id,
            );
        }
        let wait = backoff(campaigns, attempts, retry_after_ms);
        Settlement {
            status: "queued",
            reason: Some(reason.to_owned()),
            message_id,
            next_attempt_at: now + chrono::Duration::from_std(wait).unwrap_or_default(),
            attempted: true,
        }
    };
    match outcome {
        Ok(SendOutcome::Sent { message_id, .. }) => done("sent", None, Some(*message_id)),
        Ok(SendOutcome::Suppressed { message_id, reason }) => done(
            "suppressed",
            Some(reason.as_str().to_owned()),
            Some(*message_id),
        ),
        Ok(SendOutcome::Deferred { message_id, until }) => Settlement {
            status: "deferred",
            reason: Some("quiet_hours".into()),
            message_id: Some(*message_id),
            next_attempt_at: (*until).max(now),
            attempted: false,
        },
        Ok(SendOutcome::Failed {
            message_id,
            retryable: true,
            reason,
            retry_after_ms,
        }) => retry(reason, *message_id, *retry_after_ms),
        Ok(SendOutcome::Failed {
            message_id, reason, ..
        }) => done("failed", Some(reason.clone()), *message_id),
        Err(SendError::KeyReused) => done("failed", Some("idempotency_key_reused".into()), None),
        Err(SendError::InvalidKey) => done("failed", Some("invalid_idempotency_key".into()), None),
        Err(SendError::Internal(error)) => {
            tracing::warn!(campaign_id = %campaign.id, error = %format!("{error:#}"), "a campaign send failed inside");
            retry("internal_error", None, None)
        }
    }
}

/// One delivery run (the job's body; tests call it directly): up to `batches_per_run` batches.
pub async fn deliver(
    campaigns: &Campaigns,
    brand: &Brand,
    campaign_id: Uuid,
) -> anyhow::Result<RunEnd> {
    let throttle = campaigns.messages.throttle();
    let key = ThrottleKey::campaign(campaign_id);
    for _ in 0..campaigns.settings.batches_per_run.max(1) {
        let mut conn = campaigns.db.acquire().await?;
        let Some(campaign) = repo::load(&mut conn, brand.id, campaign_id, false).await? else {
            return Ok(RunEnd::Stopped);
        };
        if campaign.status() != Status::Sending {
            return stopped(campaigns, brand, campaign_id).await;
        }
        let (Some(channel), Some(purpose), Some(version)) = (
            campaign.channel(),
            campaign.purpose(),
            campaign.template_version,
        ) else {
            anyhow::bail!(
                "campaign {campaign_id} is sending without a channel, purpose or pinned version"
            );
        };
        let now = campaigns.now();
        let token = Uuid::new_v4();
        let lease_until = now + chrono::Duration::seconds(i64::from(campaigns.settings.lease_secs));
        let claimed = recipients::claim(
            &mut conn,
            campaign_id,
            token,
            now,
            lease_until,
            i64::from(campaigns.settings.batch_size.max(1)),
        )
        .await?;
        drop(conn);
        if claimed.is_empty() {
            return finish(campaigns, brand, campaign_id).await;
        }
        let shared = Arc::new(Shared {
            campaigns: campaigns.clone(),
            brand: brand.clone(),
            channel,
            purpose,
            version,
            throttle: throttle.clone(),
            key: key.clone(),
            campaign,
        });
        // Tasks of their own: a send holding a connection keeps going while this loop waits for the
        // throttle or the pool (futures polled only from here would deadlock a small pool).
        let mut in_flight = tokio::task::JoinSet::new();
        let mut stop: Option<RunEnd> = None;
        let mut unsent: Vec<Uuid> = Vec::new();
        for (index, (profile_id, attempts)) in claimed.into_iter().enumerate() {
            if stop.is_some() {
                unsent.push(profile_id);
                continue;
            }
            // A pause or a cancel stops the run within a few sends, not at the end of the batch.
            if index > 0 && index % 10 == 0 && !still_sending(campaigns, brand, campaign_id).await?
            {
                stop = Some(RunEnd::Stopped);
                unsent.push(profile_id);
                continue;
            }
            loop {
                match throttle
                    .acquire(&key, shared.campaign.throttle_per_sec)
                    .await
                {
                    Permit::Go => break,
                    Permit::Wait(wait)
                        if wait <= Duration::from_millis(campaigns.settings.max_inline_wait_ms) =>
                    {
                        tokio::time::sleep(wait).await;
                    }
                    Permit::Wait(wait) => {
                        let at =
                            campaigns.now() + chrono::Duration::from_std(wait).unwrap_or_default();
                        stop = Some(RunEnd::Continue(at));
                        break;
                    }
                }
            }
            if stop.is_some() {
                unsent.push(profile_id);
                continue;
            }
            // Boxed as Send here, where every lifetime is concrete (rustc cannot prove it otherwise).
            let send: BoxFuture<'static, anyhow::Result<()>> =
                Box::pin(send_one(shared.clone(), profile_id, attempts, token));
            in_flight.spawn(send);
            while in_flight.len() >= campaigns.settings.concurrency.max(1) as usize {
                if let Some(result) = in_flight.join_next().await {
                    result??;
                }
            }
        }
        while let Some(result) = in_flight.join_next().await {
            result??;
        }
        if !unsent.is_empty() {
            recipients::release(&campaigns.db, campaign_id, token, &unsent).await?;
        }
        match stop {
            Some(RunEnd::Stopped) => return stopped(campaigns, brand, campaign_id).await,
            Some(end) => return Ok(end),
            None => {}
        }
    }
    Ok(RunEnd::Continue(campaigns.now()))
}

/// What every send of a batch shares.
struct Shared {
    campaigns: Campaigns,
    brand: Brand,
    channel: MessageChannel,
    purpose: Purpose,
    version: i32,
    throttle: Throttle,
    key: ThrottleKey,
    campaign: repo::Row,
}

/// One recipient: the send path with its stable key, a 429 reported to the throttle, the outcome recorded.
async fn send_one(
    shared: Arc<Shared>,
    profile_id: Uuid,
    attempts: i32,
    token: Uuid,
) -> anyhow::Result<()> {
    let Shared {
        campaigns,
        brand,
        campaign,
        ..
    } = &*shared;
    if person::turn(&campaigns.db, brand.id, campaign.id, profile_id, token).await? == Turn::Merged
    {
        let settlement = Settlement {
            status: "suppressed",
            reason: Some(MERGED.into()),
            message_id: None,
            next_attempt_at: campaigns.now(),
            attempted: false,
        };
        return recipients::record(&campaigns.db, campaign.id, profile_id, token, &settlement)
            .await;
    }
    let request = SendRequest {
        profile_id,
        channel: shared.channel,
        purpose: shared.purpose,
        content: Content::Template {
            id: campaign.template_id,
            version: Some(shared.version),
        },
        idempotency_key: message_key(campaign.id, profile_id),
        context: MessageContext::default(),
        language: None,
        exempt_from_cap: false,
    };
    let outcome = messages::send(&campaigns.messages, brand, &request).await;
    if let Ok(SendOutcome::Failed {
        reason,
        retry_after_ms,
        ..
    }) = &outcome
        && reason == "rate_limited"
    {
        shared
            .throttle
            .rate_limited(
                &shared.key,
                campaign.throttle_per_sec,
                retry_after_ms.map(Duration::from_millis),
            )
            .await;
    }
    let settlement = settle(campaigns, campaign, attempts, &outcome, campaigns.now());
    recipients::record(&campaigns.db, campaign.id, profile_id, token, &settlement).await
}

/// The run ends because the campaign is not sending; after a cancel, whoever is still waiting is marked
/// cancelled (a send that was in flight during the cancel may have left its row queued).
async fn stopped(
    campaigns: &Campaigns,
    brand: &Brand,
    campaign_id: Uuid,
) -> anyhow::Result<RunEnd> {
    let mut conn = campaigns.db.acquire().await?;
    let cancelled = repo::load(&mut conn, brand.id, campaign_id, false)
        .await?
        .is_some_and(|c| c.status() == Status::Cancelled);
    if cancelled {
        recipients::cancel_waiting(&mut conn, campaign_id, campaigns.now()).await?;
    }
    Ok(RunEnd::Stopped)
}

async fn still_sending(
    campaigns: &Campaigns,
    brand: &Brand,
    campaign_id: Uuid,
) -> anyhow::Result<bool> {
    let mut conn = campaigns.db.acquire().await?;
    Ok(repo::load(&mut conn, brand.id, campaign_id, false)
        .await?
        .is_some_and(|c| c.status() == Status::Sending))
}

/// Nothing due: completed when nothing is left at all, else the time the next row is due.
async fn finish(campaigns: &Campaigns, brand: &Brand, campaign_id: Uuid) -> anyhow::Result<RunEnd> {
    let now = campaigns.now();
    let mut tx = campaigns.db.begin().await?;
    let Some(campaign) = repo::load(&mut tx, brand.id, campaign_id, true).await? else {
        return Ok(RunEnd::Stopped);
    };
    if campaign.status() != Status::Sending {
        return Ok(RunEnd::Stopped);
    }
    if let Some(due) = recipients::next_due(&mut tx, campaign_id).await? {
        return Ok(RunEnd::Continue(due.max(now)));
    }
    if let Some(to) = next(campaign.status(), Action::Complete, None) {
        repo::set_status(&mut tx, campaign_id, to, None, now).await?;
    }
    tx.commit().await?;
    tracing::info!(%campaign_id, "campaign completed");
    Ok(RunEnd::Completed)
}

pub async fn run(
    campaigns: Campaigns,
    job: DeliverCampaign,
    _ctx: JobContext,
) -> anyhow::Result<()> {
    let Some(brand) = crate::brands::find(&campaigns.db, &job.brand).await? else {
        tracing::warn!(brand = %job.brand, "a campaign's brand is gone; nothing to deliver");
        return Ok(());
    };
    if let RunEnd::Continue(at) = deliver(&campaigns, &brand, job.campaign_id).await? {
        let delay = (at - campaigns.now())
            .to_std()
            .ok()
            .filter(|d| !d.is_zero());
        let mut conn = campaigns.db.acquire().await?;
        jobs::enqueue(&mut conn, &campaigns.jobs, &job, delay).await?;
    }
    Ok(())
}
