use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::validation;
use crate::auth::AuthError;
use crate::auth::extractors::{AuthUser, client_info};
use crate::auth::limiter::Action;
use crate::auth::passwords::check_policy;
use crate::auth::repo::{self, AuditEvent};
use crate::auth::reset_request::RequestPasswordReset;
use crate::auth::secrets;
use crate::errors::ApiError;
use crate::state::AppState;
use crate::types::Email;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(value_type = String, format = Password)]
    pub current_password: SecretString,
    #[schema(value_type = String, format = Password)]
    pub new_password: SecretString,
}

#[utoipa::path(post, path = "/api/v1/auth/password/change", tag = "auth", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; every other session ended"),
        (status = 401, description = "The current password is wrong", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::WeakPassword),
        (status = 429, response = crate::errors::responses::TooManyRequests)
    ))]
pub async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    let client = client_info(&req);
    // Also bounds guessing the current password with a stolen session.
    auth.throttle(
        Action::PasswordChange,
        Some(&user.user_id.to_string()),
        client.limit_key.as_deref(),
    )
    .await?;
    let mut conn = state.db.acquire().await?;
    let row = repo::user_by_id(&mut conn, user.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    drop(conn);
    // The policy before any argon2 work: a weak new password costs no hash.
    if let Err(error) = check_policy(
        "new_password",
        body.new_password.expose_secret(),
        Some(&row.email),
    ) {
        return Err(AuthError::Invalid(vec![error]).into());
    }
    if !auth
        .passwords
        .verify_current(&body.current_password, &row.password_hash)
        .await
    {
        return Err(AuthError::WrongCurrentPassword.into());
    }
    let hash = auth.passwords.hash(&body.new_password).await?;
    let mut tx = state.db.begin().await?;
    repo::set_password(&mut tx, user.user_id, &hash).await?;
    repo::void_resets(&mut tx, user.user_id).await?;
    let ended = repo::revoke_all(
        &mut tx,
        user.user_id,
        Some(user.session_id),
        "password_changed",
    )
    .await?;
    repo::audit(
        &mut tx,
        AuditEvent::new("password_changed", &client)
            .user(user.user_id)
            .actor(user.user_id)
            .session(user.session_id)
            .details(json!({ "other_sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotPasswordRequest {
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub status: &'static str,
    pub message: &'static str,
}

const FORGOT_ANSWER: Accepted = Accepted {
    status: "accepted",
    message: "If an account exists for this email, a reset link is on its way.",
};

#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", request_body = ForgotPasswordRequest,
    responses(
        (status = 202, description = "Always the same answer, whether or not the account exists", body = Accepted),
        (status = 429, response = crate::errors::responses::TooManyRequests)
    ))]
pub async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ForgotPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    let client = client_info(&req);
    let email = Email::normalize(&body.email);
    auth.throttle(
        Action::ForgotPassword,
        Some(&email),
        client.limit_key.as_deref(),
    )
    .await?;
    // The same two writes whether or not the account exists, and no look-up here: the job does that, off
    // the request path, so neither the answer nor its timing nor the store tells the two apart.
    let email = if email.len() > Email::MAX_LENGTH {
        String::new()
    } else {
        email
    };
    let mut tx = state.db.begin().await?;
    crate::jobs::enqueue(
        &mut tx,
        &state.settings.jobs,
        &RequestPasswordReset {
            reset_id: Uuid::new_v4(),
            email,
            requested_at: chrono::Utc::now(),
        },
        None,
    )
    .await?;
    repo::audit(
        &mut tx,
        AuditEvent::new("password_reset_requested", &client),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Accepted().json(FORGOT_ANSWER))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    #[schema(value_type = String)]
    pub token: SecretString,
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 128)]
    pub new_password: SecretString,
}

#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password set; every session ended"),
        (status = 400, description = "The token is malformed, unknown, used or expired", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::WeakPassword),
        (status = 429, response = crate::errors::responses::TooManyRequests)
    ))]
pub async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ResetPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    let client = client_info(&req);
    auth.throttle(Action::ResetPassword, None, client.limit_key.as_deref())
        .await?;
    // Everything cheap before the hash: the policy, the token's shape, then whether it is usable at all.
    let token = body.token.expose_secret();
    if let Err(error) = check_policy("new_password", body.new_password.expose_secret(), None) {
        validation(vec![error])?;
    }
    if !secrets::is_token_shaped(token) {
        return Err(AuthError::InvalidResetToken.into());
    }
    let token_hash = secrets::hash(token);
    let mut conn = state.db.acquire().await?;
    let owner = repo::reset_owner(&mut conn, &token_hash).await?;
    drop(conn);
    let owner = owner.ok_or(AuthError::InvalidResetToken)?;
    auth.throttle(Action::ResetPassword, Some(&owner.to_string()), None)
        .await?;
    let hash = auth.passwords.hash(&body.new_password).await?;
    let mut tx = state.db.begin().await?;
    // Used here, atomically: of two resets racing with one token, one wins.
    let Some(user_id) = repo::consume_reset(&mut tx, &token_hash).await? else {
        return Err(AuthError::InvalidResetToken.into());
    };
    repo::set_password(&mut tx, user_id, &hash).await?;
    repo::void_resets(&mut tx, user_id).await?;
    let ended = repo::revoke_all(&mut tx, user_id, None, "password_reset").await?;
    repo::audit(
        &mut tx,
        AuditEvent::new("password_reset", &client)
            .user(user_id)
            .actor(user_id)
            .details(json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
