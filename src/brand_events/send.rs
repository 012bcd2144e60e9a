//! The sending job: every invitation of the event still to be messaged, and every waitlist promotion still to
//! be told, handed to the CRM's one send path with purpose `events` (consent, caps and the ledger there).
//!
//! Exactly once across crashes and retries: each message has a stable idempotency key —
//! `brand-event-invitation:<invitation id>` and `brand-event-promotion:<invitation id>:<promotion number>` —
//! and a request that never changes (the RSVP link is derived from the invitation's fixed expiry), so a run
//! that starts again after a crash gets the recorded outcome from the send path instead of a second message.
//! Rows are leased (`FOR UPDATE SKIP LOCKED`) so two runs at once never hand the same row over together. The
//! outcome is written on the invitation, with the `event_invited` step in the same transaction when sent.
//! A retryable failure leaves the row pending and fails the run, which the job runner retries with back-off.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::BrandEvents;
use super::activity::{self, Step};
use super::repo::{self, EventRow};
use crate::brands::Brand;
use crate::crm::consent::Purpose;
use crate::crm::messages::{
    self, Content, EventContext, MessageChannel, MessageContext, SendError, SendOutcome,
    SendRequest,
};
use crate::jobs::{Job, JobContext};

/// Sends what the event has pending.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendEventMessages {
    /// The brand's slug.
    pub brand: String,
    pub event_id: Uuid,
}

impl Job for SendEventMessages {
    const QUEUE: &'static str = "brand-event-messages";
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: u32,
    pub suppressed: u32,
    pub failed: u32,
    /// Left pending for another run (a retryable failure, a deferral).
    pub retry: u32,
}

const BATCH: i64 = 50;
const LEASE_SECS: f64 = 120.0;
/// How long a row whose message is to be tried again stays out of the runs.
const RETRY_HOLD_SECS: f64 = 5.0;

struct Pending {
    id: Uuid,
    profile_id: Uuid,
    channel: Option<String>,
    template_id: Option<Uuid>,
    link_expires_at: chrono::DateTime<chrono::Utc>,
    message_status: String,
    notice_status: String,
    notice_template_id: Option<Uuid>,
    promotions: i32,
}

/// Which message of the invitation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invitation,
    Notice,
}

/// Sends the event's pending messages until none is left to lease.
pub async fn send_pending(
    events: &BrandEvents,
    brand: &Brand,
    event_id: Uuid,
) -> anyhow::Result<SendReport> {
    let mut report = SendReport::default();
    let event = {
        let mut conn = events.db.acquire().await?;
        repo::load(&mut conn, brand.id, event_id, false).await?
    };
    let Some(event) = event else {
        return Ok(report);
    };
    let starts_at = local_time(events, &event, &brand.timezone).await?;
    loop {
        let batch = lease(events, brand.id, event_id).await?;
        if batch.is_empty() {
            break;
        }
        for row in batch {
            if row.message_status == "pending" {
                deliver(
                    events,
                    brand,
                    &event,
                    &starts_at,
                    &row,
                    Kind::Invitation,
                    &mut report,
                )
                .await?;
            }
            if row.notice_status == "pending" {
                deliver(
                    events,
                    brand,
                    &event,
                    &starts_at,
                    &row,
                    Kind::Notice,
                    &mut report,
                )
                .await?;
            }
        }
    }
    if report.retry > 0 {
        anyhow::bail!(
            "{} message(s) of event {event_id} are to be sent again",
            report.retry
        );
    }
    Ok(report)
}

/// The event's start as a message reads it: in the brand's time zone.
async fn local_time(events: &BrandEvents, event: &EventRow, zone: &str) -> anyhow::Result<String> {
    let text = sqlx::query_scalar!(
        r#"SELECT to_char($1::timestamptz AT TIME ZONE $2::text, 'YYYY-MM-DD HH24:MI') AS "text!""#,
        event.starts_at,
        zone
    )
    .fetch_one(&events.db)
    .await?;
    Ok(text)
}

/// Takes up to a batch of the event's rows with something pending and not leased by another run.
async fn lease(
    events: &BrandEvents,
    brand_id: Uuid,
    event_id: Uuid,
) -> anyhow::Result<Vec<Pending>> {
    let rows = sqlx::query_as!(
        Pending,
        "UPDATE brand_event_invitations i SET lease_until = now() + make_interval(secs => $4)
         WHERE i.id IN (
             SELECT id FROM brand_event_invitations
             WHERE event_id = $1 AND brand_id = $2
               AND (message_status = 'pending' OR notice_status = 'pending')
               AND (lease_until IS NULL OR lease_until < now())
             ORDER BY id LIMIT $3
             FOR UPDATE SKIP LOCKED)
         RETURNING i.id, i.profile_id, i.channel, i.template_id, i.link_expires_at, i.message_status,
                   i.notice_status, i.notice_template_id, i.promotions",
        event_id,
        brand_id,
        BATCH,
        LEASE_SECS
    )
    .fetch_all(&events.db)
    .await?;
    Ok(rows)
}

async fn deliver(
    events: &BrandEvents,
    brand: &Brand,
    event: &EventRow,
    starts_at: &str,
    row: &Pending,
    kind: Kind,
    report: &mut SendReport,
) -> anyhow::Result<()> {
    let template = match kind {
        Kind::Invitation => row.template_id,
        Kind::Notice => row.notice_template_id,
    };
    let channel = row.channel.as_deref().and_then(MessageChannel::parse);
    let (Some(template), Some(channel)) = (template, channel) else {
        report.failed += 1;
        return settle(
            events,
            brand,
            event,
            row,
            kind,
            Settled::Failed("no_template"),
        )
        .await;
    };
    let key = match kind {
        Kind::Invitation => format!("brand-event-invitation:{}", row.id),
        Kind::Notice => format!("brand-event-promotion:{}:{}", row.id, row.promotions),
    };
    let request = SendRequest {
        profile_id: row.profile_id,
        channel,
        purpose: Purpose::Events,
        content: Content::Template {
            id: template,
            version: None,
        },
        idempotency_key: key,
        context: MessageContext {
            advisor: None,
            event: Some(EventContext {
                name: event.name.chars().take(200).collect(),
                starts_at: starts_at.to_owned(),
                location: event.location().chars().take(200).collect(),
                rsvp_url: events.rsvp_url(&brand.slug, event.id, row.id, row.link_expires_at),
            }),
        },
        language: None,
        exempt_from_cap: matches!(kind, Kind::Notice),
    };
    let outcome = match messages::send(&events.messages, brand, &request).await {
        Ok(outcome) => outcome,
        Err(SendError::Internal(error)) => {
            release(events, row.id).await?;
            return Err(error);
        }
        // The request changed since the key's first attempt (the event was edited meanwhile): that attempt's
        // outcome is the send path's, and this row is not sent again.
        Err(SendError::KeyReused) => {
            report.failed += 1;
            return settle(
                events,
                brand,
                event,
                row,
                kind,
                Settled::Failed("changed_since_first_attempt"),
            )
            .await;
        }
        Err(SendError::InvalidKey) => {
            report.failed += 1;
            return settle(
                events,
                brand,
                event,
                row,
                kind,
                Settled::Failed("invalid_key"),
            )
            .await;
        }
    };
    match outcome {
        SendOutcome::Sent { message_id, .. } => {
            report.sent += 1;
            settle(events, brand, event, row, kind, Settled::Sent(message_id)).await
        }
        SendOutcome::Suppressed { message_id, reason } => {
            report.suppressed += 1;
            settle(
                events,
                brand,
                event,
                row,
                kind,
                Settled::Suppressed(message_id, reason.as_str()),
            )
            .await
        }
        SendOutcome::Failed {
            retryable: false,
            message_id,
            reason,
            ..
        } => {
            report.failed += 1;
            let reason: String = reason.chars().take(300).collect();
            settle_failed(events, row, kind, message_id, &reason).await
        }
        SendOutcome::Failed { .. } | SendOutcome::Deferred { .. } => {
            // Not picked again by this run; the run fails at its end and the runner retries it.
            report.retry += 1;
            hold(events, row.id, RETRY_HOLD_SECS).await
        }
    }
}

enum Settled<'a> {
    Sent(Uuid),
    Suppressed(Uuid, &'a str),
    Failed(&'a str),
}

/// Writes the outcome on the row (still pending: a concurrent run may have settled it), with the
/// `event_invited` step when an invitation went out.
async fn settle(
    events: &BrandEvents,
    brand: &Brand,
    event: &EventRow,
    row: &Pending,
    kind: Kind,
    settled: Settled<'_>,
) -> anyhow::Result<()> {
    let (status, reason, message_id) = match settled {
        Settled::Sent(id) => ("sent", None, Some(id)),
        Settled::Suppressed(id, reason) => ("suppressed", Some(reason), Some(id)),
        Settled::Failed(reason) => ("failed", Some(reason), None),
    };
    let mut tx = events.db.begin().await?;
    let version = match kind {
        Kind::Invitation => {
            sqlx::query_scalar!(
                "UPDATE brand_event_invitations
                 SET message_status = $2, message_reason = $3, message_id = $4, lease_until = NULL,
                     version = version + CASE WHEN $2 = 'sent' THEN 1 ELSE 0 END
                 WHERE id = $1 AND message_status = 'pending'
                 RETURNING version",
                row.id,
                status,
                reason,
                message_id
            )
            .fetch_optional(&mut *tx)
            .await?
        }
        Kind::Notice => {
            sqlx::query_scalar!(
                "UPDATE brand_event_invitations
                 SET notice_status = $2, notice_reason = $3, notice_id = $4, lease_until = NULL
                 WHERE id = $1 AND notice_status = 'pending' AND promotions = $5
                 RETURNING version",
                row.id,
                status,
                reason,
                message_id,
                row.promotions
            )
            .fetch_optional(&mut *tx)
            .await?
        }
    };
    if let (Some(version), Kind::Invitation, "sent") = (version, kind, status) {
        let mut step = Step::new(
            &brand.slug,
            event,
            row.id,
            row.profile_id,
            version,
            events.now(),
        );
        step.source = Some(source_of(&mut tx, row.id).await?);
        activity::record(&mut tx, activity::INVITED, &step).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn settle_failed(
    events: &BrandEvents,
    row: &Pending,
    kind: Kind,
    message_id: Option<Uuid>,
    reason: &str,
) -> anyhow::Result<()> {
    match kind {
        Kind::Invitation => {
            sqlx::query!(
                "UPDATE brand_event_invitations
                 SET message_status = 'failed', message_reason = $2, message_id = $3, lease_until = NULL
                 WHERE id = $1 AND message_status = 'pending'",
                row.id,
                reason,
                message_id
            )
            .execute(&events.db)
            .await?;
        }
        Kind::Notice => {
            sqlx::query!(
                "UPDATE brand_event_invitations
                 SET notice_status = 'failed', notice_reason = $2, notice_id = $3, lease_until = NULL
                 WHERE id = $1 AND notice_status = 'pending' AND promotions = $4",
                row.id,
                reason,
                message_id,
                row.promotions
            )
            .execute(&events.db)
            .await?;
        }
    }
    Ok(())
}

async fn source_of(conn: &mut sqlx::PgConnection, id: Uuid) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar!(
        "SELECT source FROM brand_event_invitations WHERE id = $1",
        id
    )
    .fetch_one(conn)
    .await?)
}

/// Gives the row back to the next run now.
async fn release(events: &BrandEvents, id: Uuid) -> anyhow::Result<()> {
    hold(events, id, 0.0).await
}

/// Keeps the row from every run for `secs`.
async fn hold(events: &BrandEvents, id: Uuid, secs: f64) -> anyhow::Result<()> {
    sqlx::query!(
        "UPDATE brand_event_invitations SET lease_until = now() + make_interval(secs => $2) WHERE id = $1",
        id,
        secs
    )
    .execute(&events.db)
    .await?;
    Ok(())
}

pub async fn run(
    events: BrandEvents,
    job: SendEventMessages,
    _ctx: JobContext,
) -> anyhow::Result<()> {
    let Some(brand) = crate::brands::find(&events.db, &job.brand).await? else {
        tracing::warn!(brand = %job.brand, "an event's brand is gone; nothing to send");
        return Ok(());
    };
    let report = send_pending(&events, &brand, job.event_id).await?;
    tracing::info!(event_id = %job.event_id, sent = report.sent, suppressed = report.suppressed,
        failed = report.failed, "event messages sent");
    Ok(())
}
