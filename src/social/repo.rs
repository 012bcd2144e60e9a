//! The social tables. Every query names the brand, so another brand's ids find nothing.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::domain::{Account, Network, Target};

pub struct AccountRow {
    pub id: Uuid,
    pub network: String,
    pub external_id: String,
    pub name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub paused_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl AccountRow {
    pub fn into_account(self) -> Option<Account> {
        Some(Account {
            id: self.id,
            network: Network::parse(&self.network)?,
            external_id: self.external_id,
            name: self.name,
            status: self.status,
            status_reason: self.status_reason,
            token_expires_at: self.token_expires_at,
            paused_until: self.paused_until,
            created_at: self.created_at,
        })
    }
}

/// An account with its sealed tokens, for the publishing job only.
pub struct AccountSecrets {
    pub id: Uuid,
    pub network: String,
    pub external_id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub access_token: Vec<u8>,
    pub refresh_token: Option<Vec<u8>>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub paused_until: Option<DateTime<Utc>>,
    pub deleted: bool,
}

pub async fn live_account_id(
    conn: &mut PgConnection,
    brand_id: Uuid,
    network: &str,
    external_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM social_accounts
         WHERE brand_id = $1 AND network = $2 AND external_id = $3 AND deleted_at IS NULL FOR UPDATE",
        brand_id,
        network,
        external_id
    )
    .fetch_optional(conn)
    .await
}

pub struct NewAccount<'a> {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub network: &'a str,
    pub external_id: &'a str,
    pub name: &'a str,
    pub access_token: &'a [u8],
    pub refresh_token: Option<&'a [u8]>,
    pub token_expires_at: Option<DateTime<Utc>>,
}

/// Inserts the account, or (same id) replaces its name and tokens and makes it active again.
pub async fn upsert_account(
    conn: &mut PgConnection,
    new: &NewAccount<'_>,
) -> Result<AccountRow, sqlx::Error> {
    sqlx::query_as!(
        AccountRow,
        r#"INSERT INTO social_accounts (id, brand_id, network, external_id, name, access_token, refresh_token, token_expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, access_token = EXCLUDED.access_token,
               refresh_token = EXCLUDED.refresh_token, token_expires_at = EXCLUDED.token_expires_at,
               status = 'active', status_reason = NULL
           RETURNING id, network, external_id, name, status, status_reason, token_expires_at, paused_until, created_at"#,
        new.id,
        new.brand_id,
        new.network,
        new.external_id,
        new.name,
        new.access_token,
        new.refresh_token,
        new.token_expires_at
    )
    .fetch_one(conn)
    .await
}

pub async fn list_accounts(
    db: impl PgExecutor<'_>,
    brand_id: Uuid,
) -> Result<Vec<AccountRow>, sqlx::Error> {
    sqlx::query_as!(
        AccountRow,
        "SELECT id, network, external_id, name, status, status_reason, token_expires_at, paused_until, created_at
         FROM social_accounts WHERE brand_id = $1 AND deleted_at IS NULL ORDER BY created_at, id",
        brand_id
    )
    .fetch_all(db)
    .await
}

pub async fn account(
    db: impl PgExecutor<'_>,
    brand_id: Uuid,
    id: Uuid,
) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as!(
        AccountRow,
        "SELECT id, network, external_id, name, status, status_reason, token_expires_at, paused_until, created_at
         FROM social_accounts WHERE brand_id = $1 AND id = $2 AND deleted_at IS NULL",
        brand_id,
        id
    )
    .fetch_optional(db)
    .await
}

/// Disconnects: the tokens are wiped, and its targets not yet sent fail with that reason.
pub async fn delete_account(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "UPDATE social_accounts SET deleted_at = now(), access_token = '\\x'::bytea, refresh_token = NULL
         WHERE brand_id = $1 AND id = $2 AND deleted_at IS NULL",
        brand_id,
        id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Ok(false);
    }
    sqlx::query!(
        "UPDATE social_post_targets SET status = 'failed', error = 'The account was disconnected.', not_before = NULL
         WHERE account_id = $1 AND status IN ('scheduled', 'publishing') AND sending_at IS NULL",
        id
    )
    .execute(conn)
    .await?;
    Ok(true)
}

pub async fn account_secrets(
    db: impl PgExecutor<'_>,
    id: Uuid,
    lock: bool,
) -> Result<Option<AccountSecrets>, sqlx::Error> {
    // One statement for both: FOR UPDATE only when refreshing (two jobs must not spend one refresh token).
    if lock {
        sqlx::query_as!(
            AccountSecrets,
            r#"SELECT id, network, external_id, status, status_reason, access_token, refresh_token, token_expires_at,
                      paused_until, deleted_at IS NOT NULL AS "deleted!"
               FROM social_accounts WHERE id = $1 FOR UPDATE"#,
            id
        )
        .fetch_optional(db)
        .await
    } else {
        sqlx::query_as!(
            AccountSecrets,
            r#"SELECT id, network, external_id, status, status_reason, access_token, refresh_token, token_expires_at,
                      paused_until, deleted_at IS NOT NULL AS "deleted!"
               FROM social_accounts WHERE id = $1"#,
            id
        )
        .fetch_optional(db)
        .await
    }
}

pub async fn store_tokens(
    db: impl PgExecutor<'_>,
    id: Uuid,
    access: &[u8],
    refresh: Option<&[u8]>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE social_accounts SET access_token = $2, refresh_token = COALESCE($3, refresh_token), token_expires_at = $4
         WHERE id = $1 AND deleted_at IS NULL",
        id,
        access,
        refresh,
        expires_at
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn needs_reauth(
    db: impl PgExecutor<'_>,
    id: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE social_accounts SET status = 'needs_reauth', status_reason = $2 WHERE id = $1",
        id,
        reason
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn pause(
    db: impl PgExecutor<'_>,
    id: Uuid,
    until: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE social_accounts SET paused_until = GREATEST(paused_until, $2) WHERE id = $1",
        id,
        until
    )
    .execute(db)
    .await?;
    Ok(())
}

pub struct PostRow {
    pub id: Uuid,
    pub text: String,
    pub link: Option<String>,
    pub media: Vec<String>,
    pub publish_at: DateTime<Utc>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewPost<'a> {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub text: &'a str,
    pub link: Option<&'a str>,
    pub media: &'a [String],
    pub publish_at: DateTime<Utc>,
    pub created_by: Uuid,
}

pub async fn insert_post(conn: &mut PgConnection, new: &NewPost<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO social_posts (id, brand_id, text, link, media, publish_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        new.id,
        new.brand_id,
        new.text,
        new.link,
        new.media,
        new.publish_at,
        new.created_by
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn replace_targets(
    conn: &mut PgConnection,
    post_id: Uuid,
    targets: &[(Uuid, Network)],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM social_post_targets WHERE post_id = $1",
        post_id
    )
    .execute(&mut *conn)
    .await?;
    let accounts: Vec<Uuid> = targets.iter().map(|(id, _)| *id).collect();
    let networks: Vec<String> = targets.iter().map(|(_, n)| n.as_str().to_owned()).collect();
    sqlx::query!(
        "INSERT INTO social_post_targets (post_id, account_id, network)
         SELECT $1, account_id, network FROM UNNEST($2::uuid[], $3::text[]) AS t (account_id, network)",
        post_id,
        &accounts,
        &networks
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The post (locked for an edit when `lock`).
pub async fn post(
    conn: &mut PgConnection,
    brand_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<PostRow>, sqlx::Error> {
    if lock {
        sqlx::query_as!(
            PostRow,
            "SELECT id, text, link, media, publish_at, version, created_at, updated_at
             FROM social_posts WHERE brand_id = $1 AND id = $2 FOR UPDATE",
            brand_id,
            id
        )
        .fetch_optional(conn)
        .await
    } else {
        sqlx::query_as!(
            PostRow,
            "SELECT id, text, link, media, publish_at, version, created_at, updated_at
             FROM social_posts WHERE brand_id = $1 AND id = $2",
            brand_id,
            id
        )
        .fetch_optional(conn)
        .await
    }
}

/// The job's view: the post whatever its brand.
pub async fn post_for_job(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Uuid, PostRow)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT brand_id, id, text, link, media, publish_at, version, created_at, updated_at
         FROM social_posts WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| {
        (
            r.brand_id,
            PostRow {
                id: r.id,
                text: r.text,
                link: r.link,
                media: r.media,
                publish_at: r.publish_at,
                version: r.version,
                created_at: r.created_at,
                updated_at: r.updated_at,
            },
        )
    }))
}

pub async fn update_post(
    conn: &mut PgConnection,
    id: Uuid,
    text: &str,
    link: Option<&str>,
    media: &[String],
    publish_at: DateTime<Utc>,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE social_posts SET text = $2, link = $3, media = $4, publish_at = $5, version = version + 1
         WHERE id = $1 RETURNING version",
        id,
        text,
        link,
        media,
        publish_at
    )
    .fetch_one(conn)
    .await
}

pub async fn delete_post(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM social_posts WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

pub struct TargetRow {
    pub post_id: Uuid,
    pub account_id: Uuid,
    pub network: String,
    pub status: String,
    pub sending_at: Option<DateTime<Utc>>,
    pub container_id: Option<String>,
    pub attempts: i32,
    pub not_before: Option<DateTime<Utc>>,
    pub deferred_reason: Option<String>,
    pub network_post_id: Option<String>,
    pub permalink: Option<String>,
    pub error: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
}

impl TargetRow {
    pub fn to_target(&self) -> Target {
        Target {
            account_id: self.account_id,
            network: Network::parse(&self.network).unwrap_or(Network::Facebook),
            status: self.status.clone(),
            network_post_id: self.network_post_id.clone(),
            permalink: self.permalink.clone(),
            error: self.error.clone(),
            not_before: self.not_before,
            deferred_reason: self.deferred_reason.clone(),
            attempts: self.attempts,
            published_at: self.published_at,
        }
    }
}

pub async fn targets(
    db: impl PgExecutor<'_>,
    post_ids: &[Uuid],
) -> Result<Vec<TargetRow>, sqlx::Error> {
    sqlx::query_as!(
        TargetRow,
        "SELECT post_id, account_id, network, status, sending_at, container_id, attempts, not_before,
                deferred_reason, network_post_id, permalink, error, published_at
         FROM social_post_targets WHERE post_id = ANY($1)
         ORDER BY post_id, CASE network WHEN 'facebook' THEN 1 WHEN 'instagram' THEN 2 ELSE 3 END, account_id",
        post_ids
    )
    .fetch_all(db)
    .await
}

/// A page of the brand's posts, newest first, optionally of one overall status (the same rule as
/// `domain::overall`).
pub async fn list_posts(
    db: impl PgExecutor<'_>,
    brand_id: Uuid,
    status: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<PostRow>, sqlx::Error> {
    sqlx::query_as!(
        PostRow,
        r#"SELECT p.id, p.text, p.link, p.media, p.publish_at, p.version, p.created_at, p.updated_at
           FROM social_posts p
           CROSS JOIN LATERAL (
               SELECT CASE
                   WHEN count(*) = 0 THEN 'failed'
                   WHEN count(*) FILTER (WHERE t.status = 'scheduled') = count(*) THEN 'scheduled'
                   WHEN count(*) FILTER (WHERE t.status IN ('published', 'failed', 'needs_reauth')) < count(*) THEN 'publishing'
                   WHEN count(*) FILTER (WHERE t.status = 'published') = count(*) THEN 'published'
                   WHEN count(*) FILTER (WHERE t.status = 'published') > 0 THEN 'partially_published'
                   ELSE 'failed' END AS overall
               FROM social_post_targets t WHERE t.post_id = p.id
           ) s
           WHERE p.brand_id = $1 AND ($2::text IS NULL OR s.overall = $2)
             AND ($3::uuid IS NULL OR p.id < $3)
           ORDER BY p.id DESC LIMIT $4"#,
        brand_id,
        status,
        before,
        limit
    )
    .fetch_all(db)
    .await
}

/// Posts the network account sent since `since`, and the oldest of them: through any row of it (a
/// disconnected one, another brand's), since the network counts the account, not our row.
pub async fn sent_since(
    conn: &mut PgConnection,
    account_id: Uuid,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "count!", min(l.sent_at) AS oldest
           FROM social_accounts me
           JOIN social_accounts a ON a.network = me.network AND a.external_id = me.external_id
           JOIN social_quota_ledger l ON l.account_id = a.id
           WHERE me.id = $1 AND l.sent_at > $2"#,
        account_id,
        since
    )
    .fetch_one(conn)
    .await?;
    Ok((row.count, row.oldest))
}

/// Records `sending` and its ledger entry: from here on a run must look before it sends again. `false` when
/// the account was disconnected or the target settled since the run read them: nothing is recorded and
/// nothing may be sent. The account row is share-locked, so a disconnect either commits first (and this
/// sees it) or waits for this reservation (and then leaves the target that is already sending alone).
pub async fn mark_sending(
    conn: &mut PgConnection,
    post_id: Uuid,
    account_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let connected = sqlx::query_scalar!(
        "SELECT id FROM social_accounts WHERE id = $1 AND deleted_at IS NULL FOR SHARE",
        account_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    if !connected {
        return Ok(false);
    }
    let reserved = sqlx::query!(
        "UPDATE social_post_targets SET status = 'publishing', sending_at = now(), not_before = NULL, deferred_reason = NULL
         WHERE post_id = $1 AND account_id = $2 AND status IN ('scheduled', 'publishing')",
        post_id,
        account_id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if !reserved {
        return Ok(false);
    }
    sqlx::query!(
        "INSERT INTO social_quota_ledger (account_id, post_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        account_id,
        post_id
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// The network said no before creating anything: the next run need not look first, and it does not count.
pub async fn clear_sending(
    db: impl PgExecutor<'_>,
    post_id: Uuid,
    account_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH cleared AS (
             UPDATE social_post_targets SET sending_at = NULL
             WHERE post_id = $1 AND account_id = $2 AND container_id IS NULL RETURNING account_id)
         DELETE FROM social_quota_ledger WHERE account_id IN (SELECT account_id FROM cleared) AND post_id = $1",
        post_id,
        account_id
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_container(
    db: impl PgExecutor<'_>,
    post_id: Uuid,
    account_id: Uuid,
    container: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE social_post_targets SET container_id = $3 WHERE post_id = $1 AND account_id = $2",
        post_id,
        account_id,
        container
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mark_published(
    db: impl PgExecutor<'_>,
    post_id: Uuid,
    account_id: Uuid,
    network_post_id: &str,
    permalink: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE social_post_targets SET status = 'published', network_post_id = $3, permalink = $4,
             published_at = now(), not_before = NULL, deferred_reason = NULL, error = NULL
         WHERE post_id = $1 AND account_id = $2",
        post_id,
        account_id,
        network_post_id,
        permalink
    )
    .execute(db)
    .await?;
    Ok(())
}

/// `failed` or `needs_reauth`, with the network's reason.
pub async fn mark_final(
    db: impl PgExecutor<'_>,
    post_id: Uuid,
    account_id: Uuid,
    status: &str,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE social_post_targets SET status = $3, error = $4, not_before = NULL
         WHERE post_id = $1 AND account_id = $2",
        post_id,
        account_id,
        status,
        error
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Not now: at `until`, for `reason`; `attempt` counts it against the retry limit (transient failures).
pub async fn defer(
    db: impl PgExecutor<'_>,
    post_id: Uuid,
    account_id: Uuid,
    until: DateTime<Utc>,
    reason: &str,
    attempt: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE social_post_targets SET status = 'publishing', not_before = $3, deferred_reason = $4,
             attempts = attempts + CASE WHEN $5 THEN 1 ELSE 0 END
         WHERE post_id = $1 AND account_id = $2",
        post_id,
        account_id,
        until,
        reason,
        attempt
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The post's version, read under a share lock: an edit (which locks the row) waits for the sending
/// transaction, and a run for an edited-away version sends nothing.
pub async fn version_shared(conn: &mut PgConnection, id: Uuid) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT version FROM social_posts WHERE id = $1 FOR SHARE",
        id
    )
    .fetch_optional(conn)
    .await
}
