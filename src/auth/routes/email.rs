//! Proving control of the account's email: the verification link register sends, used while signed in as
//! its account (Keycloak's "verify email" required action: the link alone, clicked by whoever reads the
//! mailbox, is not enough, so an account pre-registered by someone else with a victim's address cannot be
//! verified by the victim clicking it), resending it, and, for an existing WHMCS customer, proving the
//! address at once with the WHMCS password that goes with it.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration as ChronoDuration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::password::Accepted;
use crate::auth::AuthError;
use crate::auth::extractors::{AuthUser, client_info};
use crate::auth::limiter::Action;
use crate::auth::repo::{self, AuditEvent};
use crate::auth::secrets::{self, Purpose};
use crate::auth::service::{AuthService, ClientInfo};
use crate::auth::verify_email::SendEmailVerification;
use crate::config::JobSettings;
use crate::errors::ApiError;
use crate::state::AppState;

/// Creates a verification link for `email` and enqueues its email, in the caller's transaction.
pub(super) async fn issue_verification(
    conn: &mut PgConnection,
    auth: &AuthService,
    jobs: &JobSettings,
    user_id: Uuid,
    email: &str,
) -> anyhow::Result<()> {
    let verification_id = Uuid::new_v4();
    let token = auth
        .secrets
        .token(Purpose::EmailVerification, verification_id);
    let ttl = ChronoDuration::seconds(
        i64::try_from(auth.settings.email_verification_ttl_secs).unwrap_or(86_400),
    );
    repo::insert_verification(
        conn,
        verification_id,
        user_id,
        email,
        &secrets::hash(&token),
        Utc::now() + ttl,
    )
    .await?;
    crate::jobs::enqueue(conn, jobs, &SendEmailVerification { verification_id }, None).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The `token` of the link in the verification email.
    #[schema(value_type = String)]
    pub token: SecretString,
}

#[utoipa::path(post, path = "/api/v1/auth/email/verify", tag = "auth", security(("bearer" = [])),
    request_body = VerifyEmailRequest,
    responses(
        (status = 204, description = "The email is verified; linking to the customer's billing and CRM records has started"),
        (status = 400, description = "`invalid-verification-token`: the token is unknown, used, expired, replaced by a newer link, or another account's", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 409, description = "`email-already-verified`: nothing to do", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    body: web::Json<VerifyEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.token.expose_secret();
    let client = client_info(&req);
    let mut tx = state.db.begin().await?;
    let verified = if token.is_empty() || token.len() > 128 {
        None
    } else {
        repo::consume_verification(&mut tx, &secrets::hash(token), user.user_id).await?
    };
    if verified.is_none() {
        return Err(match repo::is_verified(&mut tx, user.user_id).await? {
            Some(true) => AuthError::AlreadyVerified,
            _ => AuthError::InvalidVerificationToken,
        }
        .into());
    }
    finish_verification(tx, &state, &user, &client, "link").await
}

const RESEND_ANSWER: Accepted = Accepted {
    status: "accepted",
    message: "A new verification link is on its way; earlier links no longer work.",
};

#[utoipa::path(post, path = "/api/v1/auth/email/verify/resend", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 202, description = "A new link is on its way; earlier links are void", body = Accepted),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 409, description = "`email-already-verified`: nothing to resend", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 429, response = crate::errors::responses::TooManyRequests)
    ))]
pub async fn resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    let client = client_info(&req);
    auth.throttle(
        Action::ResendVerification,
        Some(&user.user_id.to_string()),
        client.limit_key.as_deref(),
    )
    .await?;
    let mut tx = state.db.begin().await?;
    if repo::is_verified_locked(&mut tx, user.user_id).await? != Some(false) {
        return Err(AuthError::AlreadyVerified.into());
    }
    let row = repo::user_by_id(&mut tx, user.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    repo::void_verifications(&mut tx, user.user_id).await?;
    issue_verification(
        &mut tx,
        auth,
        &state.settings.jobs,
        user.user_id,
        &row.email,
    )
    .await?;
    repo::audit(
        &mut tx,
        AuditEvent::new("email_verification_resent", &client)
            .user(user.user_id)
            .actor(user.user_id)
            .session(user.session_id),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Accepted().json(RESEND_ANSWER))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhmcsProofRequest {
    /// The password of the WHMCS (billing) account with this account's email.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[utoipa::path(post, path = "/api/v1/auth/email/verify/whmcs", tag = "auth", security(("bearer" = [])),
    request_body = WhmcsProofRequest,
    responses(
        (status = 204, description = "WHMCS accepted the password for this email: the email is verified and linking has started"),
        (status = 401, description = "`invalid-credentials`: WHMCS did not accept the password for this email, or its account needs a second factor (use the emailed link); `unauthorized`: not signed in", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email-already-verified`: nothing to do", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 429, response = crate::errors::responses::TooManyRequests),
        (status = 502, response = crate::errors::responses::BillingError),
        (status = 503, response = crate::errors::responses::BillingUnavailable)
    ))]
pub async fn verify_with_whmcs(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    body: web::Json<WhmcsProofRequest>,
) -> Result<HttpResponse, ApiError> {
    let auth = &state.auth;
    let client = client_info(&req);
    let password = body.password.expose_secret();
    if password.is_empty() || password.chars().count() > 1024 {
        return Err(AuthError::WrongWhmcsPassword.into());
    }
    auth.throttle(
        Action::WhmcsProof,
        Some(&user.user_id.to_string()),
        client.limit_key.as_deref(),
    )
    .await?;
    let mut conn = state.db.acquire().await?;
    let row = repo::user_by_id(&mut conn, user.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if repo::is_verified(&mut conn, user.user_id).await? != Some(false) {
        return Err(AuthError::AlreadyVerified.into());
    }
    drop(conn);
    // Only the account's own address is ever checked: the caller cannot choose which WHMCS user to prove.
    let proved =
        crate::customers::whmcs_login_proves(&state.customers, &row.email, &body.password).await?;
    let mut tx = state.db.begin().await?;
    if !proved {
        repo::audit(
            &mut tx,
            AuditEvent::new("email_verification_failed", &client)
                .user(user.user_id)
                .actor(user.user_id)
                .session(user.session_id)
                .details(json!({ "method": "whmcs_login" })),
        )
        .await?;
        tx.commit().await?;
        return Err(AuthError::WrongWhmcsPassword.into());
    }
    // The address must still be the one WHMCS vouched for, and unverified: a concurrent proof verifies once.
    if !repo::verify_unverified(&mut tx, user.user_id, &row.email).await? {
        return Err(AuthError::AlreadyVerified.into());
    }
    finish_verification(tx, &state, &user, &client, "whmcs_login").await
}

/// Once the address is proven (by `method`): earlier links are void, linking starts, and it is audited, all in
/// the caller's transaction.
async fn finish_verification(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    state: &AppState,
    user: &AuthUser,
    client: &ClientInfo,
    method: &str,
) -> Result<HttpResponse, ApiError> {
    repo::void_verifications(&mut tx, user.user_id).await?;
    crate::customers::on_verified(&mut tx, &state.settings.jobs, user.user_id).await?;
    repo::audit(
        &mut tx,
        AuditEvent::new("email_verified", client)
            .user(user.user_id)
            .actor(user.user_id)
            .session(user.session_id)
            .details(json!({ "method": method })),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
