use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::email::issue_verification;
use super::password::Accepted;
use super::{clear_refresh_cookie, name, new_account, refresh_cookie};
use crate::auth::AuthError;
use crate::auth::extractors::{AuthUser, client_info};
use crate::auth::limiter::Action;
use crate::auth::model::{User, UserKind};
use crate::auth::repo::{self, AuditEvent, NewUser};
use crate::auth::service::TokenResponse;
use crate::auth::verify_email::SendRegistrationNotice;
use crate::errors::{ApiError, ErrorCode, field_errors};
use crate::state::AppState;
use crate::types::Email;

// The password policy is checked by hand: it needs the email, and a secret is never handed to `validator`
// (which would copy the value into its error).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
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
}

const REGISTER_ANSWER: Accepted = Accepted {
    status: "accepted",
    message: "Check your inbox: we sent a link to confirm your email address.",
};

/// Creates an unverified customer account and emails it a verification link. An address that already has
/// an account gets the same answer, and its owner a "someone tried to register with your address" message
/// instead, so register cannot tell anyone which addresses have accounts.
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 202, description = "Always the same answer, whether or not the email already has an account", body = Accepted),
        (status = 422, response = crate::errors::responses::ValidationFailed),
        (status = 429, response = crate::errors::responses::TooManyRequests)
    )
)]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let client = client_info(&req);
    let typed = Email::normalize(&body.email);
    (state.auth)
        .throttle(Action::Register, Some(&typed), client.limit_key.as_deref())
        .await?;
    let email = new_account(field_errors([body.validate()]), &body.email, &body.password)?;

    // Both paths hash the password (one argon2 run, the bulk of the request's time) and then make the same
    // five statements in one transaction, so neither the answer nor its timing says whether the email is taken.
    let hash = state.auth.passwords.hash(&body.password).await?;
    let mut tx = state.db.begin().await?;
    let created = repo::insert_user(
        &mut tx,
        NewUser {
            id: Uuid::now_v7(),
            email: email.as_str(),
            password_hash: &hash,
            first_name: body.first_name.trim(),
            last_name: body.last_name.trim(),
            kind: UserKind::Customer,
            roles: &["customer".to_owned()],
            brand_id: None,
            store_ids: &[],
        },
    )
    .await?;
    match created {
        Some(user) => {
            crate::customers::on_registered(&mut tx, user.id).await?;
            issue_verification(
                &mut tx,
                &state.auth,
                &state.settings.jobs,
                user.id,
                &user.email,
            )
            .await?;
            repo::audit(
                &mut tx,
                AuditEvent::new("user_registered", &client)
                    .user(user.id)
                    .actor(user.id)
                    .details(json!({ "kind": "customer" })),
            )
            .await?;
        }
        None => {
            let owner = repo::user_id_by_email(&mut tx, email.as_str()).await?;
            if let Some(owner) = owner {
                let notice_id = Uuid::new_v4();
                repo::insert_notice(&mut tx, notice_id, owner).await?;
                crate::jobs::enqueue(
                    &mut tx,
                    &state.settings.jobs,
                    &SendRegistrationNotice { notice_id },
                    None,
                )
                .await?;
            }
            repo::audit(
                &mut tx,
                AuditEvent::new("registration_email_taken", &client).user(owner),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(HttpResponse::Accepted().json(REGISTER_ANSWER))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the refresh token is also set as an HttpOnly cookie", body = TokenResponse),
        (status = 401, description = "Wrong email or password (one answer for both)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures; see Retry-After", body = crate::errors::Problem, content_type = "application/problem+json")
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    // Failures are counted against the email as typed (normalised), even one that cannot be an account's.
    let email = Email::normalize(&body.email);
    if email.is_empty()
        || email.len() > Email::MAX_LENGTH
        || body.password.expose_secret().chars().count() > 1024
    {
        return Err(AuthError::InvalidCredentials.into());
    }
    let client = client_info(&req);
    // Reserved (counted) before the password is verified, so a burst cannot outrun the limit.
    let attempt = auth
        .limiter
        .begin(&email, client.limit_key.as_deref())
        .await
        .map_err(|retry_after| AuthError::RateLimited { retry_after })?;
    let user = match Email::parse(&email) {
        Ok(email) => repo::user_by_email(&state.db, email.as_str()).await?,
        // No account has an implausible email: the same answer as for an unknown one.
        Err(_) => None,
    };
    // Always one argon2 verification, against a dummy hash for unknown emails: same answer, same time.
    let verified = auth
        .passwords
        .verify(
            &body.password,
            user.as_ref().map(|u| u.password_hash.as_str()),
        )
        .await;
    let user = match user {
        Some(user) if verified && user.disabled_at.is_none() => user,
        user => {
            attempt.failed().await;
            let mut conn = state.db.acquire().await?;
            let reason = match &user {
                None => "unknown_email",
                Some(user) if user.disabled_at.is_some() && verified => "disabled",
                Some(_) => "wrong_password",
            };
            repo::audit(
                &mut conn,
                AuditEvent::new("login_failed", &client)
                    .user(user.as_ref().map(|u| u.id))
                    .details(json!({ "reason": reason })),
            )
            .await?;
            return Err(AuthError::InvalidCredentials.into());
        }
    };
    attempt.succeeded().await;

    let mut tx = state.db.begin().await?;
    let session = auth
        .start_session(&mut tx, user.id, &user.roles, &client)
        .await?;
    repo::audit(
        &mut tx,
        AuditEvent::new("login_succeeded", &client)
            .user(user.id)
            .actor(user.id)
            .session(session.session_id),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok()
        .cookie(refresh_cookie(auth, &session.refresh_token))
        .json(TokenResponse {
            access_token: session.access_token,
            token_type: "Bearer",
            expires_in: auth.keys.ttl_secs(),
            refresh_token: session.refresh_token,
            user: user.to_user(),
        }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// For non-browser clients; browsers send the HttpOnly cookie instead.
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<SecretString>,
}

#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "auth", request_body(content = RefreshRequest, description = "Optional when the cookie is sent"),
    responses(
        (status = 200, description = "A rotated token pair (or, within the grace window, the family's current pair)", body = TokenResponse),
        (status = 401, description = "Unknown, expired or revoked refresh token; reuse outside the grace window revokes the family", body = crate::errors::Problem, content_type = "application/problem+json")
    )
)]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let parsed: RefreshRequest = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(ErrorCode::MalformedJson).with_detail(e.to_string()))?;
        parsed
            .refresh_token
            .map(|token| token.expose_secret().to_owned())
    };
    let presented = from_body
        .or_else(|| {
            req.cookie(&auth.settings.refresh_cookie_name)
                .map(|cookie| cookie.value().to_owned())
        })
        .filter(|token| !token.is_empty() && token.len() <= 128)
        .ok_or(AuthError::NoRefreshToken)?;
    let client = client_info(&req);
    let refreshed = match auth.refresh(&presented, &client).await {
        Ok(refreshed) => refreshed,
        Err(error) => match AuthError::from(error) {
            AuthError::InvalidRefreshToken => {
                let mut response = ApiError::from(AuthError::InvalidRefreshToken).error_response();
                clear_refresh_cookie(auth, &mut response);
                return Ok(response);
            }
            error => return Err(error.into()),
        },
    };
    Ok(HttpResponse::Ok()
        .cookie(refresh_cookie(auth, &refreshed.refresh_token))
        .json(TokenResponse {
            access_token: refreshed.access_token,
            token_type: "Bearer",
            expires_in: auth.keys.ttl_secs(),
            refresh_token: refreshed.refresh_token,
            user: refreshed.user,
        }))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "This session ended")))]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    end_sessions(&state, &req, &user, false).await
}

#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Every session of the user ended")))]
pub async fn logout_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    end_sessions(&state, &req, &user, true).await
}

async fn end_sessions(
    state: &AppState,
    req: &HttpRequest,
    user: &AuthUser,
    all: bool,
) -> Result<HttpResponse, ApiError> {
    let client = client_info(req);
    let mut tx = state.db.begin().await?;
    let ended = if all {
        repo::revoke_all(&mut tx, user.user_id, None, "logout_all").await?
    } else {
        u64::from(
            repo::revoke_session(&mut tx, user.session_id, Some(user.user_id), "logout").await?,
        )
    };
    repo::audit(
        &mut tx,
        AuditEvent::new(if all { "logout_all" } else { "logout" }, &client)
            .user(user.user_id)
            .actor(user.user_id)
            .session(user.session_id)
            .details(json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    let mut response = HttpResponse::NoContent().finish();
    clear_refresh_cookie(&state.auth, &mut response);
    Ok(response)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session this request was made with.
    pub current: bool,
}

#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The user's active sessions, most recently used first", body = [SessionView])))]
pub async fn sessions(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let idle = state.auth.settings.refresh_idle_timeout_secs as f64;
    let sessions: Vec<SessionView> = repo::active_sessions(&state.db, user.user_id, idle)
        .await?
        .into_iter()
        .map(|s| SessionView {
            current: s.id == user.session_id,
            id: s.id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect();
    Ok(HttpResponse::Ok().json(sessions))
}

#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "The session ended"),
        (status = 404, description = "No such active session of yours", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn revoke_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let client = client_info(&req);
    let mut tx = state.db.begin().await?;
    // Ownership is part of the query: another user's session id is simply not found.
    if !repo::revoke_session(&mut tx, *id, Some(user.user_id), "revoked_by_user").await? {
        return Err(AuthError::SessionNotFound.into());
    }
    repo::audit(
        &mut tx,
        AuditEvent::new("session_revoked", &client)
            .user(user.user_id)
            .actor(user.user_id)
            .session(*id),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The signed-in user", body = User)))]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.acquire().await?;
    let row = repo::user_by_id(&mut conn, user.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(row.to_user()))
}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "Public keys that verify access tokens (Ed25519, by kid)")))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=300"))
        .json(state.auth.keys.jwks())
}
