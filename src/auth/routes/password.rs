use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration as ChronoDuration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::validation;
use crate::auth::AuthError;
use crate::auth::extractors::{AuthUser, client_info};
use crate::auth::passwords::check_policy;
use crate::auth::repo::{self, AuditEvent};
use crate::auth::reset_email::SendPasswordReset;
use crate::auth::secrets::{self, Purpose};
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
        (status = 422, response = crate::errors::responses::WeakPassword)
    ))]
pub async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    let mut conn = state.db.acquire().await?;
    let row = repo::user_by_id(&mut conn, user.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    drop(conn);
    if !auth
        .passwords
        .verify(&body.current_password, Some(&row.password_hash))
        .await
    {
        return Err(AuthError::WrongCurrentPassword.into());
    }
    if let Err(error) = check_policy(
        "new_password",
        body.new_password.expose_secret(),
        Some(&row.email),
    ) {
        return Err(AuthError::Invalid(vec![error]).into());
    }
    let hash = auth.passwords.hash(&body.new_password).await?;
    let client = client_info(&req);
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
    responses((status = 202, description = "Always the same answer, whether or not the account exists", body = Accepted)))]
pub async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ForgotPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    let client = client_info(&req);
    // No account has an implausible email: the same answer as for an unknown one.
    let user = match Email::parse(&body.email) {
        Ok(email) => repo::user_by_email(&state.db, email.as_str()).await?,
        Err(_) => None,
    };
    let mut tx = state.db.begin().await?;
    match user.filter(|user| user.disabled_at.is_none()) {
        Some(user) => {
            let reset_id = Uuid::new_v4();
            let token = auth.secrets.token(Purpose::PasswordReset, reset_id);
            let ttl = ChronoDuration::seconds(
                i64::try_from(auth.settings.password_reset_ttl_secs).unwrap_or(1800),
            );
            repo::insert_reset(
                &mut tx,
                reset_id,
                user.id,
                &secrets::hash(&token),
                Utc::now() + ttl,
            )
            .await?;
            // The email goes out from a job enqueued with the token row: both exist, or neither.
            crate::jobs::enqueue(
                &mut tx,
                &state.settings.jobs,
                &SendPasswordReset { reset_id },
                None,
            )
            .await?;
            repo::audit(
                &mut tx,
                AuditEvent::new("password_reset_requested", &client).user(user.id),
            )
            .await?;
        }
        None => {
            // Same round trips as the other branch, so the answer takes the same time.
            repo::audit(
                &mut tx,
                AuditEvent::new("password_reset_requested_unknown", &client),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(HttpResponse::Accepted().json(FORGOT_ANSWER))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    #[schema(value_type = String)]
    pub token: SecretString,
    #[schema(value_type = String, format = Password)]
    pub new_password: SecretString,
}

#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password set; every session ended"),
        (status = 400, description = "The token is unknown, used or expired", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::WeakPassword)
    ))]
pub async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ResetPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    let token = body.token.expose_secret();
    if let Err(error) = check_policy("new_password", body.new_password.expose_secret(), None) {
        validation(vec![error])?;
    }
    let hash = auth.passwords.hash(&body.new_password).await?;
    let client = client_info(&req);
    let mut tx = state.db.begin().await?;
    let user_id = if token.is_empty() || token.len() > 128 {
        None
    } else {
        repo::consume_reset(&mut tx, &secrets::hash(token)).await?
    };
    let Some(user_id) = user_id else {
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
