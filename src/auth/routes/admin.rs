use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{require_text, validation};
use crate::auth::AuthError;
use crate::auth::extractors::{Admin, client_info};
use crate::auth::model::{Role, User, UserKind, is_valid_email, normalize_email};
use crate::auth::passwords::check_policy;
use crate::auth::repo::{self, AuditEvent, NewUser};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    pub first_name: String,
    pub last_name: String,
    pub roles: Vec<Role>,
    #[serde(default)]
    pub brand_id: Option<String>,
    #[serde(default)]
    pub store_ids: Vec<String>,
}

fn check_roles(errors: &mut Vec<FieldError>, roles: &[Role]) {
    if roles.is_empty() {
        errors.push(FieldError::new(
            "roles",
            "required",
            "Give at least one staff role.",
        ));
    }
    if roles.contains(&Role::Customer) {
        errors.push(FieldError::new(
            "roles",
            "invalid",
            "Staff accounts cannot hold the customer role.",
        ));
    }
}

fn check_scope(errors: &mut Vec<FieldError>, brand_id: Option<&str>, store_ids: &[String]) {
    if brand_id.is_some_and(|brand| brand.trim().is_empty() || brand.len() > 64) {
        errors.push(FieldError::new(
            "brand_id",
            "invalid",
            "A brand id is 1–64 characters.",
        ));
    }
    if store_ids.len() > 100
        || store_ids
            .iter()
            .any(|store| store.trim().is_empty() || store.len() > 64)
    {
        errors.push(FieldError::new(
            "store_ids",
            "invalid",
            "Store ids are 1–64 characters, at most 100.",
        ));
    }
}

fn role_names(roles: &[Role]) -> Vec<String> {
    let mut names: Vec<String> = roles.iter().map(|role| role.as_str().to_owned()).collect();
    names.sort();
    names.dedup();
    names
}

#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), request_body = CreateStaffRequest,
    responses(
        (status = 201, description = "The staff account", body = User),
        (status = 403, response = crate::errors::responses::AdminsOnly),
        (status = 409, response = crate::errors::responses::EmailTaken)
    ))]
pub async fn create_staff(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    body: web::Json<CreateStaffRequest>,
) -> Result<HttpResponse, ApiError> {
    let email = normalize_email(&body.email);
    let mut errors = Vec::new();
    if !is_valid_email(&email) {
        errors.push(FieldError::new(
            "email",
            "invalid",
            "Enter a valid email address.",
        ));
    }
    require_text(&mut errors, "first_name", &body.first_name, 100);
    require_text(&mut errors, "last_name", &body.last_name, 100);
    check_roles(&mut errors, &body.roles);
    check_scope(&mut errors, body.brand_id.as_deref(), &body.store_ids);
    if let Err(error) = check_policy("password", body.password.expose_secret(), Some(&email)) {
        errors.push(error);
    }
    validation(errors)?;

    let hash = state.auth.passwords.hash(&body.password).await?;
    let roles = role_names(&body.roles);
    let client = client_info(&req, state.auth.settings.trust_forwarded_for);
    let mut tx = state.db.begin().await?;
    let user = repo::insert_user(
        &mut tx,
        NewUser {
            id: Uuid::now_v7(),
            email: &email,
            password_hash: &hash,
            first_name: body.first_name.trim(),
            last_name: body.last_name.trim(),
            kind: UserKind::Staff,
            roles: &roles,
            brand_id: body.brand_id.as_deref(),
            store_ids: &body.store_ids,
        },
    )
    .await?
    .ok_or(AuthError::EmailTaken)?;
    repo::audit(
        &mut tx,
        AuditEvent::new("staff_created", &client)
            .user(user.id)
            .actor(admin.0.user_id)
            .session(admin.0.session_id)
            .details(
                json!({ "roles": roles, "brand_id": body.brand_id, "store_ids": body.store_ids }),
            ),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(user.to_user()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListUsersQuery {
    /// `customer` or `staff`; both when absent.
    pub kind: Option<UserKind>,
    /// 1–100, default 50.
    pub limit: Option<u16>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<User>,
    pub next_cursor: Option<String>,
}

fn encode_cursor(user: &User) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", user.created_at.to_rfc3339(), user.id))
}

fn decode_cursor(cursor: &str) -> Option<(chrono::DateTime<chrono::Utc>, Uuid)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (at, id) = raw.split_once('|')?;
    Some((
        chrono::DateTime::parse_from_rfc3339(at).ok()?.to_utc(),
        id.parse().ok()?,
    ))
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), params(ListUsersQuery),
    responses((status = 200, description = "Users, newest first", body = UserPage)))]
pub async fn list_users(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<ListUsersQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = i64::from(query.limit.unwrap_or(50));
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation(vec![FieldError::new(
            "limit",
            "out_of_range",
            "Use 1–100.",
        )]));
    }
    let after = match &query.cursor {
        Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidQueryParameter).with_detail("The cursor is not valid.")
        })?),
        None => None,
    };
    let kind = query.kind.map(|kind| match kind {
        UserKind::Customer => "customer",
        UserKind::Staff => "staff",
    });
    let rows = repo::list_users(&state.db, kind, after, limit + 1).await?;
    let mut items: Vec<User> = rows.iter().map(repo::UserRow::to_user).collect();
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(encode_cursor)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(UserPage { items, next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStaffRequest {
    pub roles: Option<Vec<Role>>,
    /// `true` disables the account and ends its sessions at once.
    pub disabled: Option<bool>,
    /// `null` removes the brand.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub brand_id: Option<Option<String>>,
    pub store_ids: Option<Vec<String>>,
}

/// Tells an absent field (no change) from an explicit `null` (clear it).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::deserialize(deserializer)?))
    }
}

#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Staff user id")), request_body = UpdateStaffRequest,
    responses(
        (status = 200, description = "The updated staff account", body = User),
        (status = 404, description = "No staff account has this id", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn update_staff(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    id: web::Path<Uuid>,
    body: web::Json<UpdateStaffRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    if let Some(roles) = &body.roles {
        check_roles(&mut errors, roles);
    }
    check_scope(
        &mut errors,
        body.brand_id.as_ref().and_then(Option::as_deref),
        body.store_ids.as_deref().unwrap_or_default(),
    );
    if *id == admin.0.user_id
        && (body.disabled == Some(true)
            || body
                .roles
                .as_ref()
                .is_some_and(|r| !r.contains(&Role::Admin)))
    {
        errors.push(FieldError::new(
            "id",
            "self_lockout",
            "An admin cannot disable or demote themselves.",
        ));
    }
    validation(errors)?;

    let roles = body.roles.as_deref().map(role_names);
    let client = client_info(&req, state.auth.settings.trust_forwarded_for);
    let mut tx = state.db.begin().await?;
    let user = repo::update_staff(
        &mut tx,
        *id,
        roles.as_deref(),
        body.disabled,
        body.brand_id.as_ref().map(Option::as_deref),
        body.store_ids.as_deref(),
    )
    .await?
    .ok_or(AuthError::StaffNotFound)?;
    let mut ended = 0;
    if body.disabled == Some(true) {
        ended = repo::revoke_all(&mut tx, user.id, None, "user_disabled").await?;
    }
    repo::audit(
        &mut tx,
        AuditEvent::new("staff_updated", &client)
            .user(user.id)
            .actor(admin.0.user_id)
            .session(admin.0.session_id)
            .details(
                json!({ "roles": roles, "disabled": body.disabled, "brand_id": body.brand_id,
                             "store_ids": body.store_ids, "sessions_ended": ended }),
            ),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(user.to_user()))
}
