//! The publishing job: at `publish_at`, one run per post at a time (an advisory lock), each target in turn,
//! each step recorded before the next. `sending` is recorded (with the ledger entry) before the network
//! call that creates the post; a run that finds it set looks the post up on the network before sending
//! again, so a crash between the network's answer and our record never posts twice. Rate limits and quotas
//! defer a target (no attempt used); transient failures retry with back-off up to `social.max_attempts`;
//! refusals fail that target only; a refused token marks the account `needs_reauth`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Social;
use super::crypto::TokenRole;
use super::domain::Network;
use super::repo::{self, AccountSecrets, PostRow, TargetRow};
use super::validation::compose;
use crate::integrations::ProviderError;
use crate::integrations::social::{ContainerStatus, FacebookClient, XClient};
use crate::jobs::{self, Job, JobContext};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishPost {
    pub post_id: Uuid,
    /// The post's version when enqueued: a job for an edited-away schedule does nothing.
    pub version: i32,
}

impl Job for PublishPost {
    const QUEUE: &'static str = "concierge.social.publish";
}

/// What became of one target in this run.
enum Outcome {
    Published {
        id: String,
        permalink: Option<String>,
    },
    Deferred {
        until: DateTime<Utc>,
        reason: String,
    },
    Transient(String),
    Failed(String),
    NeedsReauth(String),
    /// The post was edited or deleted under this run: nothing recorded, the edit's job takes over.
    Stale,
}

pub async fn run(social: Social, job: PublishPost, _ctx: JobContext) -> anyhow::Result<()> {
    let mut lock_conn = social.db.acquire().await?;
    let key = lock_key(job.post_id);
    let locked = sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1) AS "locked!""#, key)
        .fetch_one(&mut *lock_conn)
        .await?;
    if !locked {
        // Another run holds the post; it re-enqueues whatever it leaves pending. Try again shortly in case
        // it was finishing as this one started.
        enqueue_at(&social, &job, Utc::now() + chrono::Duration::seconds(2)).await?;
        return Ok(());
    }
    let outcome = run_locked(&social, &job).await;
    let unlocked = sqlx::query_scalar!("SELECT pg_advisory_unlock($1)", key)
        .fetch_one(&mut *lock_conn)
        .await;
    if unlocked.is_err() {
        lock_conn.detach();
    }
    outcome
}

fn lock_key(post_id: Uuid) -> i64 {
    let (high, low) = post_id.as_u64_pair();
    i64::from_ne_bytes((high ^ low.rotate_left(23) ^ 0x0050_c1a1).to_ne_bytes())
}

async fn enqueue_at(social: &Social, job: &PublishPost, at: DateTime<Utc>) -> anyhow::Result<()> {
    let delay = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    let mut conn = social.db.acquire().await?;
    jobs::enqueue(&mut conn, &social.jobs, job, Some(delay)).await
}

async fn run_locked(social: &Social, job: &PublishPost) -> anyhow::Result<()> {
    let mut conn = social.db.acquire().await?;
    let Some((_, post)) = repo::post_for_job(&mut conn, job.post_id).await? else {
        return Ok(()); // deleted while scheduled
    };
    if post.version != job.version {
        return Ok(()); // edited: the edit enqueued its own job
    }
    let now = Utc::now();
    if post.publish_at > now {
        enqueue_at(social, job, post.publish_at).await?;
        return Ok(());
    }
    let targets = repo::targets(&mut *conn, &[post.id]).await?;
    drop(conn);
    let mut next: Option<DateTime<Utc>> = None;
    for target in targets {
        if matches!(
            target.status.as_str(),
            "published" | "failed" | "needs_reauth"
        ) {
            continue;
        }
        if let Some(at) = target.not_before
            && at > Utc::now()
        {
            next = Some(next.map_or(at, |n| n.min(at)));
            continue;
        }
        let outcome = step(social, &post, &target).await?;
        if let Some(at) = record(social, &post, &target, outcome).await? {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    if let Some(at) = next {
        enqueue_at(social, job, at).await?;
    }
    Ok(())
}

/// Writes the outcome; answers when the target wants another run.
async fn record(
    social: &Social,
    post: &PostRow,
    target: &TargetRow,
    outcome: Outcome,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let (post_id, account_id) = (post.id, target.account_id);
    match outcome {
        Outcome::Published { id, permalink } => {
            repo::mark_published(&social.db, post_id, account_id, &id, permalink.as_deref())
                .await?;
            tracing::info!(%post_id, %account_id, network = target.network, "social post published");
            Ok(None)
        }
        Outcome::Deferred { until, reason } => {
            repo::defer(&social.db, post_id, account_id, until, &reason, false).await?;
            tracing::info!(%post_id, %account_id, %until, reason, "social post deferred");
            Ok(Some(until))
        }
        Outcome::Transient(reason) => {
            let attempts = u32::try_from(target.attempts).unwrap_or(0) + 1;
            if attempts >= social.settings.max_attempts {
                let error = format!("Gave up after {attempts} attempts: {reason}");
                repo::mark_final(&social.db, post_id, account_id, "failed", &error).await?;
                return Ok(None);
            }
            let base = social.settings.retry_base_secs.max(1);
            let wait = base
                .saturating_mul(1u64 << attempts.min(16))
                .min(social.settings.retry_max_secs.max(base));
            let until = Utc::now() + chrono::Duration::seconds(i64::try_from(wait).unwrap_or(60));
            repo::defer(&social.db, post_id, account_id, until, &reason, true).await?;
            tracing::warn!(%post_id, %account_id, attempts, reason, "social post attempt failed");
            Ok(Some(until))
        }
        Outcome::Failed(error) => {
            repo::mark_final(&social.db, post_id, account_id, "failed", &error).await?;
            tracing::warn!(%post_id, %account_id, error, "social post failed");
            Ok(None)
        }
        Outcome::NeedsReauth(error) => {
            repo::mark_final(&social.db, post_id, account_id, "needs_reauth", &error).await?;
            Ok(None)
        }
        Outcome::Stale => Ok(None),
    }
}

/// What a provider error means for the target. `Auth` marks the account first.
async fn classify(social: &Social, account: Uuid, error: ProviderError) -> anyhow::Result<Outcome> {
    Ok(match error {
        ProviderError::RateLimited {
            retry_after,
            system,
        } => {
            let until = Utc::now()
                + chrono::Duration::from_std(retry_after.unwrap_or(Duration::from_secs(60)))
                    .unwrap_or(chrono::Duration::seconds(60));
            repo::pause(&social.db, account, until).await?;
            Outcome::Deferred {
                until,
                reason: format!("{system} is rate limiting this account"),
            }
        }
        ProviderError::Auth { system, message } => {
            let reason = format!("{system} refused the account's token: {message}");
            repo::needs_reauth(&social.db, account, &reason).await?;
            Outcome::NeedsReauth(reason)
        }
        ProviderError::Rejected {
            system,
            code,
            message,
            ..
        } => {
            if code == "duplicate_content" {
                Outcome::Failed(format!("{system} refused duplicate content: {message}"))
            } else {
                Outcome::Failed(format!("{system} refused the post ({code}): {message}"))
            }
        }
        error @ (ProviderError::Unavailable { .. } | ProviderError::Malformed { .. }) => {
            Outcome::Transient(error.to_string())
        }
    })
}

/// A refused or definite "not created" answer to a create: the ledger entry and `sending` go.
fn created_nothing(error: &ProviderError) -> bool {
    matches!(
        error,
        ProviderError::RateLimited { .. }
            | ProviderError::Auth { .. }
            | ProviderError::Rejected { .. }
    )
}

async fn step(social: &Social, post: &PostRow, target: &TargetRow) -> anyhow::Result<Outcome> {
    let Some(account) = repo::account_secrets(&social.db, target.account_id, false).await? else {
        return Ok(Outcome::Failed("The account no longer exists.".into()));
    };
    if account.deleted {
        return Ok(Outcome::Failed("The account was disconnected.".into()));
    }
    if account.status == "needs_reauth" {
        return Ok(Outcome::NeedsReauth(
            account
                .status_reason
                .unwrap_or_else(|| "The account must be connected again.".into()),
        ));
    }
    if let Some(until) = account.paused_until
        && until > Utc::now()
    {
        return Ok(Outcome::Deferred {
            until,
            reason: "The network asked this account to slow down.".into(),
        });
    }
    let Some(network) = Network::parse(&account.network) else {
        return Ok(Outcome::Failed("Unknown network.".into()));
    };
    let token = match token(social, &account, network).await? {
        Ok(token) => token,
        Err(outcome) => return Ok(outcome),
    };
    let text = compose(network, &post.text, post.link.as_deref());
    // An earlier run may have posted and not lived to record it: look before sending again.
    if let Some(since) = target.sending_at {
        let found = match network {
            Network::Facebook => {
                social
                    .facebook
                    .find(
                        &account.external_id,
                        &token,
                        Some(&text),
                        post.link.as_deref(),
                        since,
                    )
                    .await
            }
            Network::Instagram => {
                social
                    .instagram
                    .find(&account.external_id, &token, &text, since)
                    .await
            }
            Network::X => {
                social
                    .x
                    .find(&account.external_id, &token, &text, since)
                    .await
            }
        };
        match found {
            Ok(Some(id)) => {
                let permalink = permalink(social, network, &id, &token).await;
                return Ok(Outcome::Published { id, permalink });
            }
            Ok(None) => {}
            Err(error) => return classify(social, account.id, error).await,
        }
    }
    // An Instagram container already made was reserved with it; anything else reserves its send now.
    let reserved = network == Network::Instagram && target.container_id.is_some();
    if !reserved
        && let Some(deferred) = reserve(social, post.id, post.version, &account, network).await?
    {
        return Ok(deferred);
    }
    match network {
        Network::Facebook => {
            let message = (!text.is_empty()).then_some(text.as_str());
            match social
                .facebook
                .publish(&account.external_id, &token, message, post.link.as_deref())
                .await
            {
                Ok(accepted) => {
                    pause_after(social, account.id, accepted.pause_for).await?;
                    let permalink = Some(FacebookClient::permalink(&accepted.id));
                    Ok(Outcome::Published {
                        id: accepted.id,
                        permalink,
                    })
                }
                Err(error) => create_failed(social, post.id, account.id, error).await,
            }
        }
        Network::X => match social.x.post(&token, &text).await {
            Ok(accepted) => {
                pause_after(social, account.id, accepted.pause_for).await?;
                let permalink = Some(XClient::permalink(&accepted.id));
                Ok(Outcome::Published {
                    id: accepted.id,
                    permalink,
                })
            }
            Err(error) => create_failed(social, post.id, account.id, error).await,
        },
        Network::Instagram => instagram(social, post, target, &account, &token, &text).await,
    }
}

async fn create_failed(
    social: &Social,
    post_id: Uuid,
    account: Uuid,
    error: ProviderError,
) -> anyhow::Result<Outcome> {
    if created_nothing(&error) {
        repo::clear_sending(&social.db, post_id, account).await?;
    }
    classify(social, account, error).await
}

async fn pause_after(
    social: &Social,
    account: Uuid,
    pause: Option<Duration>,
) -> anyhow::Result<()> {
    if let Some(pause) = pause {
        let until =
            Utc::now() + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::seconds(60));
        repo::pause(&social.db, account, until).await?;
    }
    Ok(())
}

async fn permalink(
    social: &Social,
    network: Network,
    id: &str,
    token: &SecretString,
) -> Option<String> {
    match network {
        Network::Facebook => Some(FacebookClient::permalink(id)),
        Network::X => Some(XClient::permalink(id)),
        Network::Instagram => social.instagram.permalink(id, token).await.ok().flatten(),
    }
}

/// Our ledger decides whether the account may send now; when it may, `sending` and the ledger entry are
/// recorded together under the (network) account's lock, so two posts cannot both take the last slot.
async fn reserve(
    social: &Social,
    post_id: Uuid,
    version: i32,
    account: &AccountSecrets,
    network: Network,
) -> anyhow::Result<Option<Outcome>> {
    let limit = match network {
        Network::Facebook => social.settings.limits.facebook,
        Network::Instagram => social.settings.limits.instagram,
        Network::X => social.settings.limits.x,
    };
    let mut tx = social.db.begin().await?;
    // Locked per network account, like the ledger: every row of it (any brand's) takes this lock.
    let ledger = format!(
        "concierge.social.ledger:{}:{}",
        account.network, account.external_id
    );
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        ledger
    )
    .fetch_one(&mut *tx)
    .await?;
    let now = Utc::now();
    for (window, allowed) in [
        (chrono::Duration::hours(24), limit.per_day),
        (chrono::Duration::minutes(15), limit.per_15_min),
    ] {
        let (sent, oldest) = repo::sent_since(&mut tx, account.id, now - window).await?;
        if sent >= i64::from(allowed) {
            let until = oldest.map_or(now + window, |oldest| oldest + window)
                + chrono::Duration::seconds(1);
            return Ok(Some(Outcome::Deferred {
                until,
                reason: format!(
                    "The account's own quota of {allowed} posts per {} is used.",
                    if window.num_hours() >= 24 {
                        "24 hours"
                    } else {
                        "15 minutes"
                    }
                ),
            }));
        }
    }
    if repo::version_shared(&mut tx, post_id).await? != Some(version) {
        return Ok(Some(Outcome::Stale));
    }
    if !repo::mark_sending(&mut tx, post_id, account.id).await? {
        return Ok(Some(Outcome::Stale));
    }
    tx.commit().await?;
    Ok(None)
}

/// Container (recorded once created), its status until `FINISHED`, the publishing quota, then publish.
async fn instagram(
    social: &Social,
    post: &PostRow,
    target: &TargetRow,
    account: &AccountSecrets,
    token: &SecretString,
    caption: &str,
) -> anyhow::Result<Outcome> {
    let ig = &social.instagram;
    let container = match &target.container_id {
        Some(container) => container.clone(),
        None => {
            let Some(image) = post.media.first() else {
                return Ok(Outcome::Failed("Instagram needs an image.".into()));
            };
            match ig
                .create_container(&account.external_id, token, image, caption)
                .await
            {
                Ok(container) => {
                    repo::set_container(&social.db, post.id, account.id, &container).await?;
                    container
                }
                Err(error) => return create_failed(social, post.id, account.id, error).await,
            }
        }
    };
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(social.settings.container_timeout_secs);
    let mut wait = Duration::from_millis(social.settings.container_poll_ms.max(10));
    loop {
        match ig.container_status(&container, token).await {
            Ok(ContainerStatus::Finished) => break,
            Ok(ContainerStatus::Published) => {
                // Published by a run that did not record it; the media list names it.
                return match ig
                    .find(
                        &account.external_id,
                        token,
                        caption,
                        target.sending_at.unwrap_or(post.created_at),
                    )
                    .await
                {
                    Ok(Some(id)) => {
                        let permalink = ig.permalink(&id, token).await.ok().flatten();
                        Ok(Outcome::Published { id, permalink })
                    }
                    Ok(None) => Ok(Outcome::Transient(
                        "the container is published but its media is not listed yet".into(),
                    )),
                    Err(error) => classify(social, account.id, error).await,
                };
            }
            Ok(ContainerStatus::Failed(status)) => {
                return Ok(Outcome::Failed(format!(
                    "Instagram could not process the media (container {status})."
                )));
            }
            Ok(ContainerStatus::InProgress) => {}
            Err(error) => return classify(social, account.id, error).await,
        }
        if tokio::time::Instant::now() + wait > deadline {
            return Ok(Outcome::Failed(
                "Instagram did not finish processing the media in time.".into(),
            ));
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
    match ig.publishing_quota(&account.external_id, token).await {
        Ok(quota) if quota.total.is_some_and(|total| quota.usage >= total) => {
            let until = Utc::now() + chrono::Duration::hours(1);
            return Ok(Outcome::Deferred {
                until,
                reason: format!(
                    "Instagram's content publishing limit ({} per 24 hours) is reached.",
                    quota.total.unwrap_or_default()
                ),
            });
        }
        Ok(_) => {}
        Err(error) => return classify(social, account.id, error).await,
    }
    match ig.publish(&account.external_id, token, &container).await {
        Ok(id) => {
            let permalink = ig.permalink(&id, token).await.ok().flatten();
            Ok(Outcome::Published { id, permalink })
        }
        Err(error) => classify(social, account.id, error).await,
    }
}

/// The longest token lifetime believed from the network (a year, as for a connect's `expires_in`).
const MAX_TOKEN_LIFETIME_SECS: u64 = 31_536_000;

/// The account's access token, refreshed first when it is an X token about to expire. The refresh runs
/// with the account row locked, so two runs never spend one (rotating) refresh token.
async fn token(
    social: &Social,
    account: &AccountSecrets,
    network: Network,
) -> anyhow::Result<Result<SecretString, Outcome>> {
    let margin = chrono::Duration::seconds(
        i64::try_from(social.settings.refresh_margin_secs).unwrap_or(300),
    );
    let due = account
        .token_expires_at
        .is_some_and(|at| at - margin <= Utc::now());
    if network != Network::X || !due {
        return Ok(Ok(social.cipher.open(
            account.id,
            TokenRole::Access,
            &account.access_token,
        )?));
    }
    let mut tx = social.db.begin().await?;
    let Some(fresh) = repo::account_secrets(&mut *tx, account.id, true).await? else {
        return Ok(Err(Outcome::Failed("The account no longer exists.".into())));
    };
    if fresh
        .token_expires_at
        .is_some_and(|at| at - margin > Utc::now())
    {
        // Another run refreshed it meanwhile.
        return Ok(Ok(social.cipher.open(
            account.id,
            TokenRole::Access,
            &fresh.access_token,
        )?));
    }
    let Some(sealed_refresh) = fresh.refresh_token.as_deref() else {
        let reason = "The X token expired and there is no refresh token.".to_owned();
        repo::needs_reauth(&mut *tx, account.id, &reason).await?;
        tx.commit().await?;
        return Ok(Err(Outcome::NeedsReauth(reason)));
    };
    let refresh_token = social
        .cipher
        .open(account.id, TokenRole::Refresh, sealed_refresh)?;
    match social.x.refresh(&refresh_token).await {
        Ok(tokens) => {
            let access = social
                .cipher
                .seal(account.id, TokenRole::Access, &tokens.access_token)?;
            let refresh = tokens
                .refresh_token
                .as_ref()
                .map(|t| social.cipher.seal(account.id, TokenRole::Refresh, t))
                .transpose()?;
            // The network's word, within what a connect accepts: an absurd `expires_in` must not overflow
            // the clock (the rotated refresh token would die with the run).
            let lifetime = tokens
                .expires_in
                .unwrap_or(Duration::from_secs(7200))
                .min(Duration::from_secs(MAX_TOKEN_LIFETIME_SECS));
            let expires = Utc::now()
                + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(2));
            repo::store_tokens(
                &mut *tx,
                account.id,
                &access,
                refresh.as_deref(),
                Some(expires),
            )
            .await?;
            tx.commit().await?;
            tracing::info!(account_id = %account.id, "X token refreshed");
            Ok(Ok(tokens.access_token))
        }
        Err(ProviderError::Auth { .. }) => {
            let reason = "X refused the refresh token: connect the account again.".to_owned();
            repo::needs_reauth(&mut *tx, account.id, &reason).await?;
            tx.commit().await?;
            Ok(Err(Outcome::NeedsReauth(reason)))
        }
        Err(error) => Ok(Err(Outcome::Transient(error.to_string()))),
    }
}
