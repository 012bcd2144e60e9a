use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::{name, new_account, validation};
use crate::auth::AuthError;
use crate::auth::extractors::{Admin, client_info};
use crate::auth::model::{Role, User, UserKind};
use crate::auth::repo::{self, AuditEvent, NewUser};
use crate::errors::{ApiError, ErrorCode, FieldError, field_errors, rule};
use crate::state::AppState;
use crate::types::{Email, Listing, Pagination};

// The password policy is checked by hand, as at registration.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    #[schema(format = Email)]
    #[validate(custom(function = "Email::check"))]
    pub email: String,
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 128)]
    pub password: SecretString,
    #[schema(min_length = 1, max_length = 100)]
    #[validate(custom(function = "name"))]
    pub first_name: String,
    #[schema(min_length = 1, max_length = 100)]
    #[validate(custom(function = "name"))]
    pub last_name: String,
    #[schema(min_items = 1)]
    #[validate(custom(function = "some_role"), custom(function = "staff_roles"))]
    pub roles: Vec<Role>,
    #[serde(default)]
    #[validate(custom(function = "brand"))]
    pub brand_id: Option<String>,
    #[serde(default)]
    #[schema(max_items = 100)]
    #[validate(custom(function = "stores"))]
    pub store_ids: Vec<String>,
}

fn some_role(roles: &[Role]) -> Result<(), ValidationError> {
    if roles.is_empty() {
        Err(rule("required", "Give at least one staff role."))
    } else {
        Ok(())
    }
}

fn staff_roles(roles: &[Role]) -> Result<(), ValidationError> {
    if roles.contains(&Role::Customer) {
        Err(rule(
            "invalid",
            "Staff accounts cannot hold the customer role.",
        ))
    } else {
        Ok(())
    }
}

/// 1–64 bytes, not blank.
fn brand(brand_id: &str) -> Result<(), ValidationError> {
    if brand_id.trim().is_empty() || brand_id.len() > 64 {
        Err(rule("invalid", "A brand id is 1–64 characters."))
    } else {
        Ok(())
    }
}

/// At most 100, each 1–64 bytes and not blank.
fn stores(store_ids: &[String]) -> Result<(), ValidationError> {
    if store_ids.len() > 100
        || store_ids
            .iter()
            .any(|store| store.trim().is_empty() || store.len() > 64)
    {
        Err(rule(
            "invalid",
            "Store ids are 1–64 characters, at most 100.",
        ))
    } else {
        Ok(())
    }
}

/// A staff member's brand and stores must exist, and the stores must be the brand's.
async fn scope_errors(
    state: &AppState,
    brand: Option<&str>,
    stores: &[String],
) -> Result<Vec<FieldError>, ApiError> {
    let mut errors = Vec::new();
    match brand {
        None if !stores.is_empty() => errors.push(FieldError::new(
            "store_ids",
            "store_without_brand",
            "Stores belong to a brand: give `brand_id` too.",
        )),
        None => {}
        Some(slug) => {
            if crate::brands::find(&state.db, slug).await?.is_none() {
                errors.push(FieldError::new(
                    "brand_id",
                    "unknown_brand",
                    "No brand has this slug.",
                ));
            } else {
                let missing = crate::brands::missing_stores(&state.db, slug, stores).await?;
                if !missing.is_empty() {
                    errors.push(FieldError::new(
                        "store_ids",
                        "unknown_store",
                        format!("Not stores of {slug}: {}.", missing.join(", ")),
                    ));
                }
            }
        }
    }
    Ok(errors)
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
    let mut errors = field_errors([body.validate()]);
    if errors.is_empty() {
        errors.extend(scope_errors(&state, body.brand_id.as_deref(), &body.store_ids).await?);
    }
    let email = new_account(errors, &body.email, &body.password)?;

    let hash = state.auth.passwords.hash(&body.password).await?;
    let roles = role_names(&body.roles);
    let client = client_info(&req);
    let mut tx = state.db.begin().await?;
    let user = repo::insert_user(
        &mut tx,
        NewUser {
            id: Uuid::now_v7(),
            email: email.as_str(),
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
    // The admin vouches for a colleague's address (Keycloak's "email verified" switch at creation); staff
    // are never linked to customer records, and their first reset link would prove the address anyway.
    repo::mark_verified(&mut tx, user.id).await?;
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

/// The user list's pagination: 50 a page by default.
pub struct Users;

impl Listing for Users {
    const DEFAULT_LIMIT: u16 = 50;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListUsersQuery {
    /// `customer` or `staff`; both when absent.
    pub kind: Option<UserKind>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Users>,
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

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), params(ListUsersQuery, Pagination<Users>),
    responses((status = 200, description = "Users, newest first", body = UserPage)))]
pub async fn list_users(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<ListUsersQuery>,
) -> Result<HttpResponse, ApiError> {
    query.page.validate()?;
    let limit = i64::from(query.page.size());
    let after = match &query.page.cursor {
        Some(cursor) => Some(decode_cursor(cursor.as_str()).ok_or_else(|| {
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

// Whether an admin locks themselves out is checked by hand: it needs the path id and the caller.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateStaffRequest {
    #[schema(min_items = 1)]
    #[validate(custom(function = "some_role"), custom(function = "staff_roles"))]
    pub roles: Option<Vec<Role>>,
    /// `true` disables the account and ends its sessions at once.
    pub disabled: Option<bool>,
    /// `null` removes the brand.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[validate(custom(function = "brand"))]
    pub brand_id: Option<Option<String>>,
    #[schema(max_items = 100)]
    #[validate(custom(function = "stores"))]
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
    let mut errors = field_errors([body.validate()]);
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
    let client = client_info(&req);
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
    // Checked on the result, so a change of brand alone is refused while the stores are the old brand's.
    validation(scope_errors(&state, user.brand_id.as_deref(), &user.store_ids).await?)?;
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
