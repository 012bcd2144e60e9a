//! `…/brands/{brand}/social/accounts` (connect, list, read, disconnect) and `…/social/posts` (schedule with
//! `Idempotency-Key`, list, read, change or delete while scheduled).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::Social;
use super::crypto::TokenRole;
use super::domain::{
    self, Account, ConnectAccountRequest, CreatePostRequest, Network, PatchPostRequest, Post,
};
use super::publish::PublishPost;
use super::repo::{self, NewAccount, NewPost, PostRow};
use super::validation;
use crate::brands::{InBrand, Marketing};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::idempotency::{self, Fingerprint, IdempotencyKey, StoredResponse};
use crate::jobs;
use crate::state::AppState;
use crate::types::{Listing, Pagination};

pub struct Posts;

impl Listing for Posts {
    const DEFAULT_LIMIT: u16 = 20;
}

#[derive(Serialize, ToSchema)]
#[schema(as = SocialAccountList)]
pub struct AccountList {
    pub items: Vec<Account>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = SocialPostPage)]
pub struct PostPage {
    pub items: Vec<Post>,
    pub next_cursor: Option<String>,
}

fn account_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such social account in this brand.")
}

fn post_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such post in this brand.")
}

fn not_editable() -> ApiError {
    ApiError::new(ErrorCode::SocialPostNotEditable)
        .with_detail("Publishing has started: the post can no longer be changed or deleted.")
}

const MAX_TOKEN: usize = 4096;
/// How far ahead a post may be scheduled.
const MAX_AHEAD_DAYS: i64 = 366;
/// A `publish_at` this far in the past is a mistake, not "now".
const PAST_GRACE_SECS: i64 = 300;

fn token_ok(token: &str) -> bool {
    !token.is_empty() && token.len() <= MAX_TOKEN && token.bytes().all(|b| b.is_ascii_graphic())
}

fn check_connect(body: &ConnectAccountRequest) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let id = &body.external_id;
    if id.is_empty() || id.len() > 30 || !id.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(FieldError::new(
            "external_id",
            "invalid",
            "The network's numeric id (1–30 digits).",
        ));
    }
    if let Err(error) = crate::errors::required_text(&body.name, 100) {
        errors.push(FieldError::new(
            "name",
            error.code.to_string(),
            "1–100 characters.",
        ));
    } else if body.name.chars().any(char::is_control) {
        errors.push(FieldError::new("name", "invalid", "No control characters."));
    }
    if !token_ok(body.access_token.expose_secret()) {
        errors.push(FieldError::new(
            "access_token",
            "invalid",
            "1–4096 visible ASCII characters.",
        ));
    }
    match (&body.refresh_token, body.network) {
        (Some(token), _) if !token_ok(token.expose_secret()) => {
            errors.push(FieldError::new(
                "refresh_token",
                "invalid",
                "1–4096 visible ASCII characters.",
            ));
        }
        (None, Network::X) => {
            errors.push(FieldError::new(
                "refresh_token",
                "required",
                "An X account needs its refresh token.",
            ));
        }
        _ => {}
    }
    if body.expires_in.is_some_and(|s| s == 0 || s > 31_536_000) {
        errors.push(FieldError::new(
            "expires_in",
            "out_of_range",
            "1–31536000 seconds.",
        ));
    }
    errors
}

/// Connects or reconnects (same network and id: new tokens, active again). Tokens are sealed with the
/// account's id, so the id is settled before sealing.
pub(super) async fn connect(
    social: &Social,
    brand_id: Uuid,
    body: &ConnectAccountRequest,
) -> anyhow::Result<Account> {
    // Two first connects of one account race to insert; the loser finds the winner's row and reconnects it.
    match connect_once(social, brand_id, body).await {
        Err(error) if is_same_account_race(&error) => connect_once(social, brand_id, body).await,
        outcome => outcome,
    }
}

fn is_same_account_race(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.constraint())
        == Some("social_accounts_external_key")
}

async fn connect_once(
    social: &Social,
    brand_id: Uuid,
    body: &ConnectAccountRequest,
) -> anyhow::Result<Account> {
    let mut tx = social.db.begin().await?;
    let network = body.network.as_str();
    let id = repo::live_account_id(&mut tx, brand_id, network, &body.external_id)
        .await?
        .unwrap_or_else(Uuid::now_v7);
    let access = social
        .cipher
        .seal(id, TokenRole::Access, &body.access_token)?;
    let refresh = body
        .refresh_token
        .as_ref()
        .map(|t| social.cipher.seal(id, TokenRole::Refresh, t))
        .transpose()?;
    let expires_in = match (body.expires_in, body.network) {
        (Some(seconds), _) => Some(i64::from(seconds)),
        (None, Network::X) => Some(7200),
        (None, _) => None,
    };
    let row = repo::upsert_account(
        &mut tx,
        &NewAccount {
            id,
            brand_id,
            network,
            external_id: &body.external_id,
            name: body.name.trim(),
            access_token: &access,
            refresh_token: refresh.as_deref(),
            token_expires_at: expires_in.map(|s| Utc::now() + chrono::Duration::seconds(s)),
        },
    )
    .await?;
    tx.commit().await?;
    row.into_account()
        .ok_or_else(|| anyhow::anyhow!("a stored account has an unknown network"))
}

fn path_id(raw: &str, missing: fn() -> ApiError) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| missing())
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/social/accounts", tag = "social", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = ConnectAccountRequest,
    responses(
        (status = 201, description = "Connected (or reconnected: same network and id, new tokens, active again). Tokens are never returned", body = Account),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn connect_account(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    body: web::Json<ConnectAccountRequest>,
) -> Result<HttpResponse, ApiError> {
    let errors = check_connect(&body);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let account = connect(&state.social, in_brand.brand.id, &body).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!(
                "/api/v1/brands/{}/social/accounts/{}",
                in_brand.brand.slug, account.id
            ),
        ))
        .json(account))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/social/accounts", tag = "social", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    responses(
        (status = 200, description = "The brand's connected accounts, oldest first", body = AccountList),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn list_accounts(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
) -> Result<HttpResponse, ApiError> {
    let rows = repo::list_accounts(&state.social.db, in_brand.brand.id).await?;
    let items = rows
        .into_iter()
        .filter_map(repo::AccountRow::into_account)
        .collect();
    Ok(HttpResponse::Ok().json(AccountList { items }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/social/accounts/{id}", tag = "social", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Account id")),
    responses(
        (status = 200, description = "The account (never its tokens)", body = Account),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand or account", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_account(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path.1, account_not_found)?;
    let account = repo::account(&state.social.db, in_brand.brand.id, id)
        .await?
        .and_then(repo::AccountRow::into_account)
        .ok_or_else(account_not_found)?;
    Ok(HttpResponse::Ok().json(account))
}

#[utoipa::path(delete, path = "/api/v1/brands/{brand}/social/accounts/{id}", tag = "social", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Account id")),
    responses(
        (status = 204, description = "Disconnected: its tokens are erased, and its posts not yet sent fail with that reason"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand or account", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn delete_account(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path.1, account_not_found)?;
    let mut tx = state.social.db.begin().await?;
    if !repo::delete_account(&mut tx, in_brand.brand.id, id).await? {
        return Err(account_not_found());
    }
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Content and targets checked together: the post's own rules, then each target network's.
async fn check_post(
    social: &Social,
    brand_id: Uuid,
    text: &str,
    link: Option<&str>,
    media: &[String],
    targets: &[Uuid],
    publish_at: Option<DateTime<Utc>>,
) -> Result<Vec<(Uuid, Network)>, ApiError> {
    let mut errors = validation::check_content(text, link, media);
    if targets.is_empty() || targets.len() > 10 {
        errors.push(FieldError::new("targets", "count", "1–10 account ids."));
    }
    let now = Utc::now();
    if let Some(at) = publish_at {
        if at < now - chrono::Duration::seconds(PAST_GRACE_SECS) {
            errors.push(FieldError::new(
                "publish_at",
                "in_the_past",
                "A time from now on (leave it out to publish now).",
            ));
        } else if at > now + chrono::Duration::days(MAX_AHEAD_DAYS) {
            errors.push(FieldError::new(
                "publish_at",
                "too_far",
                "At most a year ahead.",
            ));
        }
    }
    let accounts = repo::list_accounts(&social.db, brand_id).await?;
    let mut resolved = Vec::new();
    for (index, id) in targets.iter().enumerate().take(10) {
        let field = format!("targets/{index}");
        if targets[..index].contains(id) {
            errors.push(FieldError::new(field, "duplicate", "Each account once."));
            continue;
        }
        let Some(account) = accounts.iter().find(|a| a.id == *id) else {
            errors.push(FieldError::new(
                field,
                "unknown_account",
                "No such account in this brand.",
            ));
            continue;
        };
        if account.status == "needs_reauth" {
            errors.push(FieldError::new(
                field,
                "needs_reauth",
                "The account must be connected again first.",
            ));
            continue;
        }
        let Some(network) = Network::parse(&account.network) else {
            continue;
        };
        errors.extend(validation::check_for(network, &field, text, link, media));
        resolved.push((*id, network));
    }
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(ApiError::validation(errors))
    }
}

async fn load_post(db: &sqlx::PgPool, row: PostRow) -> Result<Post, ApiError> {
    let targets: Vec<_> = repo::targets(db, &[row.id])
        .await?
        .iter()
        .map(repo::TargetRow::to_target)
        .collect();
    Ok(to_post(row, targets))
}

fn to_post(row: PostRow, targets: Vec<domain::Target>) -> Post {
    Post {
        status: domain::overall(&targets).to_owned(),
        id: row.id,
        text: row.text,
        link: row.link,
        media: row.media,
        publish_at: row.publish_at,
        targets,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn normalise_link(link: Option<&str>) -> Option<String> {
    link.map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/social/posts", tag = "social", security(("bearer" = [])),
    description = "Schedules a post to several accounts at `publish_at` (now when absent). Checked per network before acceptance: X 280 weighted characters (URLs count as 23; the link is appended to the text), Instagram exactly one image, a caption of at most 2,200 characters and 30 hashtags, Facebook a message or a link.",
    params(("brand" = String, Path, description = "Brand slug"),
        ("Idempotency-Key" = String, Header, description = "1–255 visible characters, new for each post")),
    request_body = CreatePostRequest,
    responses(
        (status = 201, description = "Scheduled", body = Post),
        (status = 400, description = "Missing or invalid Idempotency-Key", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`request-in-progress`: a request with this key is still running", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A network's rule, an unknown or disconnected account, or the key was used for another request", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn create_post(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    req: HttpRequest,
    body: web::Json<CreatePostRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = IdempotencyKey::from_request(&req)?;
    let body = body.into_inner();
    let fingerprint = Fingerprint::of_json(
        "POST",
        &format!("/api/v1/brands/{}/social/posts", in_brand.brand.slug),
        &body,
    )?;
    let brand_id = in_brand.brand.id;
    let user_id = in_brand.user.user_id;
    let pool = state.db.clone();
    idempotency::execute(&pool, user_id, &key, &fingerprint, move || async move {
        let social = &state.social;
        let link = normalise_link(body.link.as_deref());
        let targets = check_post(
            social,
            brand_id,
            &body.text,
            link.as_deref(),
            &body.media,
            &body.targets,
            body.publish_at,
        )
        .await?;
        let id = Uuid::now_v7();
        let publish_at = body.publish_at.unwrap_or_else(Utc::now);
        let mut tx = social.db.begin().await?;
        repo::insert_post(
            &mut tx,
            &NewPost {
                id,
                brand_id,
                text: body.text.trim(),
                link: link.as_deref(),
                media: &body.media,
                publish_at,
                created_by: user_id,
            },
        )
        .await?;
        repo::replace_targets(&mut tx, id, &targets).await?;
        let delay = (publish_at - Utc::now()).to_std().ok();
        jobs::enqueue(
            &mut tx,
            &social.jobs,
            &PublishPost {
                post_id: id,
                version: 1,
            },
            delay,
        )
        .await?;
        tx.commit().await?;
        let row = repo::post(&mut *social.db.acquire().await?, brand_id, id, false)
            .await?
            .ok_or_else(post_not_found)?;
        let post = load_post(&social.db, row).await?;
        StoredResponse::json(StatusCode::CREATED, &post)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PostQuery {
    /// Only posts of this overall status: `scheduled`, `publishing`, `published`, `partially_published`,
    /// `failed`.
    pub status: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Posts>,
}

const STATUSES: [&str; 5] = [
    "scheduled",
    "publishing",
    "published",
    "partially_published",
    "failed",
];

#[utoipa::path(get, path = "/api/v1/brands/{brand}/social/posts", tag = "social", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), PostQuery, Pagination<Posts>),
    responses(
        (status = 200, description = "The brand's posts, newest first", body = PostPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn list_posts(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    query: web::Query<PostQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = crate::errors::field_errors([query.page.validate()]);
    if let Some(status) = &query.status
        && !STATUSES.contains(&status.as_str())
    {
        errors.push(FieldError::new(
            "status",
            "invalid",
            "One of scheduled, publishing, published, partially_published, failed.",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let before = match &query.page.cursor {
        Some(cursor) => Some(
            URL_SAFE_NO_PAD
                .decode(cursor.as_str())
                .ok()
                .and_then(|raw| Uuid::from_slice(&raw).ok())
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidQueryParameter)
                        .with_detail("The cursor is not valid.")
                })?,
        ),
        None => None,
    };
    let limit = usize::from(query.page.size());
    let db = &state.social.db;
    let mut rows = repo::list_posts(
        db,
        in_brand.brand.id,
        query.status.as_deref(),
        before,
        (limit + 1) as i64,
    )
    .await?;
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last()
            .map(|last| URL_SAFE_NO_PAD.encode(last.id.as_bytes()))
    } else {
        None
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let targets = repo::targets(db, &ids).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let mine = targets
                .iter()
                .filter(|t| t.post_id == row.id)
                .map(repo::TargetRow::to_target)
                .collect();
            to_post(row, mine)
        })
        .collect();
    Ok(HttpResponse::Ok().json(PostPage { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/social/posts/{id}", tag = "social", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Post id")),
    responses(
        (status = 200, description = "The post with a status per target and overall", body = Post),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand or post", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_post(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path.1, post_not_found)?;
    let db = &state.social.db;
    let row = repo::post(&mut *db.acquire().await?, in_brand.brand.id, id, false)
        .await?
        .ok_or_else(post_not_found)?;
    Ok(HttpResponse::Ok().json(load_post(db, row).await?))
}

/// Locks the post and checks that no target has started.
async fn lock_scheduled(
    tx: &mut sqlx::PgConnection,
    brand_id: Uuid,
    id: Uuid,
) -> Result<PostRow, ApiError> {
    let row = repo::post(tx, brand_id, id, true)
        .await?
        .ok_or_else(post_not_found)?;
    let targets = repo::targets(&mut *tx, &[id]).await?;
    if targets
        .iter()
        .any(|t| t.status != "scheduled" || t.sending_at.is_some())
    {
        return Err(not_editable());
    }
    Ok(row)
}

#[utoipa::path(patch, path = "/api/v1/brands/{brand}/social/posts/{id}", tag = "social", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Post id")),
    request_body = PatchPostRequest,
    responses(
        (status = 200, description = "Changed and rescheduled; checked again per network", body = Post),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand or post", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`social-post-not-editable`: publishing has started", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn patch_post(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    body: web::Json<PatchPostRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path.1, post_not_found)?;
    let brand_id = in_brand.brand.id;
    let social = &state.social;
    let mut tx = social.db.begin().await?;
    let row = lock_scheduled(&mut tx, brand_id, id).await?;
    let current: Vec<Uuid> = repo::targets(&mut *tx, &[id])
        .await?
        .iter()
        .map(|t| t.account_id)
        .collect();
    let text = body.text.clone().unwrap_or(row.text);
    let link = match &body.link {
        Some(link) => normalise_link(Some(link)),
        None => row.link,
    };
    let media = body.media.clone().unwrap_or(row.media);
    let targets = body.targets.clone().unwrap_or(current);
    let resolved = check_post(
        social,
        brand_id,
        &text,
        link.as_deref(),
        &media,
        &targets,
        body.publish_at,
    )
    .await?;
    let publish_at = body.publish_at.unwrap_or(row.publish_at);
    let version = repo::update_post(
        &mut tx,
        id,
        text.trim(),
        link.as_deref(),
        &media,
        publish_at,
    )
    .await?;
    if body.targets.is_some() {
        repo::replace_targets(&mut tx, id, &resolved).await?;
    }
    let delay = (publish_at - Utc::now()).to_std().ok();
    jobs::enqueue(
        &mut tx,
        &social.jobs,
        &PublishPost {
            post_id: id,
            version,
        },
        delay,
    )
    .await?;
    tx.commit().await?;
    let row = repo::post(&mut *social.db.acquire().await?, brand_id, id, false)
        .await?
        .ok_or_else(post_not_found)?;
    Ok(HttpResponse::Ok().json(load_post(&social.db, row).await?))
}

#[utoipa::path(delete, path = "/api/v1/brands/{brand}/social/posts/{id}", tag = "social", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Post id")),
    responses(
        (status = 204, description = "Deleted before anything was sent"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand or post", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`social-post-not-editable`: publishing has started", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn delete_post(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&path.1, post_not_found)?;
    let mut tx = state.social.db.begin().await?;
    lock_scheduled(&mut tx, in_brand.brand.id, id).await?;
    repo::delete_post(&mut tx, id).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
