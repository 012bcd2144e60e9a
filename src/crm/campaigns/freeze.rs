//! The freeze at `send_at`: one recipient row per member of the segment at that moment, `queued`, or
//! `suppressed` with the reason the send path would give (no address for the channel, no or a denied
//! consent), in one INSERT … SELECT. Idempotent: the campaign row is locked and must still be `scheduled`,
//! and (campaign, profile) is unique, so a re-run after a crash adds nothing.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Action, Status, next};
use super::{Campaigns, DeliverCampaign, repo};
use crate::brands::Brand;
use crate::jobs::{self, Job, JobContext};

/// Freezes the campaign's audience once `send_at` has come.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FreezeCampaign {
    /// The brand's slug.
    pub brand: String,
    pub campaign_id: Uuid,
}

impl Job for FreezeCampaign {
    const QUEUE: &'static str = "crm-campaign-freeze";
}

/// What a freeze did: `None` when there was nothing to do (not scheduled any more, or not yet due and
/// rescheduled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frozen {
    pub queued: u64,
    pub suppressed: u64,
}

/// Mirrors the send path's address and consent checks (`crm::messages` address.rs, `crm::consent::decide`)
/// over the whole audience. Where it cannot be as exact (an e-mail attribute's full syntax) it is looser:
/// the send path checks each recipient again, so a recipient queued here may still be suppressed at send,
/// never the other way round.
///
/// No `ON CONFLICT`: the caller holds the campaign row locked and still `scheduled`, and the transaction
/// that inserts the rows also moves it to `sending`, so no row of this campaign can exist yet (a speculative
/// insertion per row would cost for nothing; a row that did exist would be a bug, and the primary key makes
/// it an error rather than a silent skip). Rows go in in profile order, so the primary key (the campaign
/// id is a UUIDv7, the newest is the right-most) grows at its right edge instead of being descended per row.
async fn insert_recipients(
    conn: &mut PgConnection,
    campaign: &repo::Row,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Frozen, sqlx::Error> {
    let rows = sqlx::query!(
        r#"WITH inserted AS (
             INSERT INTO crm_campaign_recipients (campaign_id, profile_id, status, reason, next_attempt_at)
             SELECT $1, p.id, CASE WHEN r.reason IS NULL THEN 'queued' ELSE 'suppressed' END, r.reason, $6
             FROM crm_segment_members m
             JOIN crm_profiles p ON p.id = m.profile_id AND p.brand_id = $2 AND p.merged_into IS NULL
             LEFT JOIN crm_consents c ON c.profile_id = p.id AND c.brand_id = $2 AND c.channel = $4
                                     AND c.purpose = $5 AND (c.expires_at IS NULL OR c.expires_at > $6)
             CROSS JOIN LATERAL (SELECT CASE
                 WHEN NOT (CASE $4
                     WHEN 'email' THEN btrim(coalesce(p.email, '')) LIKE '%_@_%'
                         OR EXISTS (SELECT 1 FROM crm_identifiers i
                                    WHERE i.profile_id = p.id AND i.brand_id = $2 AND i.kind = 'email')
                     WHEN 'sms' THEN btrim(coalesce(p.phone, '')) ~ '^\+[1-9][0-9]{7,14}$'
                         OR EXISTS (SELECT 1 FROM crm_identifiers i
                                    WHERE i.profile_id = p.id AND i.brand_id = $2 AND i.kind = 'phone')
                     WHEN 'whatsapp' THEN btrim(coalesce(p.phone, '')) ~ '^\+[1-9][0-9]{7,14}$'
                         OR EXISTS (SELECT 1 FROM crm_identifiers i
                                    WHERE i.profile_id = p.id AND i.brand_id = $2 AND i.kind = 'phone')
                     WHEN 'line' THEN EXISTS (SELECT 1 FROM crm_identifiers i
                                    WHERE i.profile_id = p.id AND i.brand_id = $2 AND i.kind = 'line_user')
                     WHEN 'push' THEN EXISTS (SELECT 1 FROM crm_identifiers i
                                    WHERE i.profile_id = p.id AND i.brand_id = $2 AND i.kind = 'portal_user')
                     ELSE false END) THEN 'no_address'
                 WHEN c.status = 'denied' THEN 'consent_denied'
                 WHEN c.status = 'granted' OR $5 = 'service' THEN NULL
                 ELSE 'no_consent' END AS reason) r
             WHERE m.segment_id = $3 AND m.brand_id = $2
             ORDER BY m.profile_id
             RETURNING status)
           SELECT count(*) FILTER (WHERE status = 'queued') AS "queued!",
                  count(*) FILTER (WHERE status = 'suppressed') AS "suppressed!"
           FROM inserted"#,
        campaign.id,
        campaign.brand_id,
        campaign.segment_id,
        campaign.channel,
        campaign.purpose,
        now
    )
    .fetch_one(conn)
    .await?;
    Ok(Frozen {
        queued: u64::try_from(rows.queued).unwrap_or(0),
        suppressed: u64::try_from(rows.suppressed).unwrap_or(0),
    })
}

/// Freezes the audience of a scheduled campaign whose `send_at` has come, then hands it to delivery.
pub async fn freeze(
    campaigns: &Campaigns,
    brand: &Brand,
    campaign_id: Uuid,
) -> anyhow::Result<Option<Frozen>> {
    let brand_id = brand.id;
    let now = campaigns.now();
    let mut tx = campaigns.db.begin().await?;
    let Some(campaign) = repo::load(&mut tx, brand_id, campaign_id, true).await? else {
        return Ok(None);
    };
    let Some(to) = next(campaign.status(), Action::Freeze, None) else {
        // Paused (resume schedules a new freeze), cancelled, or frozen already by an earlier run.
        return Ok(None);
    };
    if let Some(wait) = campaign
        .send_at
        .and_then(|send_at| (send_at - now).to_std().ok())
        .filter(|wait| !wait.is_zero())
    {
        let job = FreezeCampaign {
            brand: brand.slug.clone(),
            campaign_id,
        };
        jobs::enqueue(&mut tx, &campaigns.jobs, &job, Some(wait)).await?;
        tx.commit().await?;
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let frozen = insert_recipients(&mut tx, &campaign, now).await?;
    repo::set_status(&mut tx, campaign_id, to, None, now).await?;
    let job = DeliverCampaign {
        brand: brand.slug.clone(),
        campaign_id,
    };
    jobs::enqueue(&mut tx, &campaigns.jobs, &job, None).await?;
    tx.commit().await?;
    tracing::info!(%campaign_id, queued = frozen.queued, suppressed = frozen.suppressed,
        took_ms = started.elapsed().as_millis() as u64, "campaign audience frozen");
    debug_assert_eq!(to, Status::Sending);
    Ok(Some(frozen))
}

pub async fn run(
    campaigns: Campaigns,
    job: FreezeCampaign,
    _ctx: JobContext,
) -> anyhow::Result<()> {
    let Some(brand) = crate::brands::find(&campaigns.db, &job.brand).await? else {
        tracing::warn!(brand = %job.brand, "a campaign's brand is gone; nothing to freeze");
        return Ok(());
    };
    freeze(&campaigns, &brand, job.campaign_id).await?;
    Ok(())
}
