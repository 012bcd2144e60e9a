//! Customers and staff: registration, login, sessions with refresh-token rotation and reuse detection,
//! passwords, staff administration, and the extractors every other context authorises with.
//!
//! This module is the context's published interface: the extractors, the account types, what other
//! contexts may read about an account ([`account`]), creating a user directly ([`create_user`], for the
//! seed and tests), the routes and the jobs. Everything else stays inside.

pub mod erasure;
mod error;
mod extractors;
mod keys;
mod limiter;
mod model;
mod passwords;
mod privacy;
mod repo;
mod reset_email;
mod reset_request;
mod retention;
mod routes;
mod secrets;
mod service;
mod verify_email;

#[cfg(test)]
mod proptests;

use actix_web::web;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use error::AuthError;
pub use extractors::{Admin, AuthUser, Customer, Staff};
pub use model::{Role, User, UserKind};
pub use passwords::Passwords;
pub use privacy::{export as privacy_export, reauthenticate};
pub use repo::NewUser;
pub use routes::session::{LoginRequest, RegisterRequest};
pub use service::{AuthService, TokenResponse};

use std::sync::Arc;

use crate::http::resource;
use crate::jobs::Runner;

/// What other contexts may know about an account: who it is and how to address them. No password hash,
/// no roles, no sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

impl From<repo::UserRow> for AccountSummary {
    fn from(row: repo::UserRow) -> Self {
        Self {
            id: row.id,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
        }
    }
}

/// The PostgreSQL channel auth notifies when a session ends (`session:<id>`) or a user is disabled
/// (`user:<id>`), for responses that outlive a request's session check (the order status stream).
pub const SESSIONS_CHANNEL: &str = "auth_sessions";

/// When the session will end by itself (its expiry) if it still stands (not revoked or expired, its user
/// not disabled); `None` when it has ended already.
pub async fn session_ends_at(
    pool: &PgPool,
    session_id: Uuid,
    user_id: Uuid,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, sqlx::Error> {
    repo::session_ends_at(pool, session_id, user_id).await
}

/// The account with this id; `None` when it is gone.
pub async fn account(pool: &PgPool, user_id: Uuid) -> Result<Option<AccountSummary>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let row = repo::user_by_id(&mut conn, user_id).await?;
    Ok(row.map(AccountSummary::from))
}

/// A staff account's roles, brand and stores, for contexts that check who may be given work (clienteling
/// assignments); `None` when the account is gone, disabled or not staff.
pub async fn active_staff(pool: &PgPool, user_id: Uuid) -> Result<Option<StaffScope>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    active_staff_on(&mut conn, user_id).await
}

/// [`active_staff`] on the caller's connection (or transaction): a handler that already holds a connection
/// must not wait for a second one, or a burst of such requests holds the whole pool while each waits.
pub async fn active_staff_on(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Option<StaffScope>, sqlx::Error> {
    let row = repo::user_by_id(conn, user_id).await?;
    Ok(row
        .filter(|row| row.kind == "staff" && row.disabled_at.is_none())
        .map(|row| StaffScope {
            roles: row.roles,
            brand_id: row.brand_id,
            store_ids: row.store_ids,
        }))
}

/// The active staff of the brand (slug) with `role` (`manager`, `client_advisor`) working in `store`, oldest
/// account first: who clienteling hands a client's work to when the client has no advisor.
pub async fn staff_of_store(
    pool: &PgPool,
    brand: &str,
    store: &str,
    role: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    staff_of_store_on(&mut conn, brand, store, role).await
}

/// [`staff_of_store`] on the caller's connection (or transaction), for the same reason as
/// [`active_staff_on`].
pub async fn staff_of_store_on(
    conn: &mut PgConnection,
    brand: &str,
    store: &str,
    role: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    repo::staff_of_store(conn, brand, store, role).await
}

/// See [`active_staff`].
#[derive(Debug, Clone)]
pub struct StaffScope {
    pub roles: Vec<String>,
    pub brand_id: Option<String>,
    pub store_ids: Vec<String>,
}

/// The account with this (normalised) email; `None` when there is none.
pub async fn account_by_email(
    pool: &PgPool,
    email: &str,
) -> Result<Option<AccountSummary>, sqlx::Error> {
    Ok(repo::user_by_email(pool, email)
        .await?
        .map(AccountSummary::from))
}

/// The account's email if the account proved control of it (verification link, or created by an operator);
/// `None` while unverified or when the account is gone. What linking to customer records is keyed on.
pub async fn verified_email(pool: &PgPool, user_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    repo::verified_email(pool, user_id).await
}

/// Creates a user directly, without the registration flow (the seed's demo users, tests' staff), with the
/// email verified: whoever runs this vouches for the address. `None` when the email is taken.
pub async fn create_user(
    conn: &mut PgConnection,
    user: NewUser<'_>,
) -> Result<Option<User>, sqlx::Error> {
    let Some(row) = repo::insert_user(conn, user).await? else {
        return Ok(None);
    };
    repo::mark_verified(conn, row.id).await?;
    Ok(Some(row.to_user()))
}

/// Registers this context's jobs: issuing a password reset and its email, the verification link, the
/// "someone tried to register with your address" notice, and the nightly prune of ended sessions, expired
/// links and old audit rows.
pub fn jobs(runner: Runner, auth: &Arc<AuthService>) -> anyhow::Result<Runner> {
    let issuing = Arc::clone(auth);
    let mailer = Arc::clone(auth);
    let (verify, notice) = (Arc::clone(auth), Arc::clone(auth));
    let pruner = Arc::clone(auth);
    runner
        .register(move |job, ctx| {
            reset_request::issue_password_reset(Arc::clone(&issuing), job, ctx)
        })
        .register(move |job, ctx| reset_email::send_password_reset(Arc::clone(&mailer), job, ctx))
        .register(move |job, ctx| verify_email::send_verification(Arc::clone(&verify), job, ctx))
        .register(move |job, ctx| {
            verify_email::send_registration_notice(Arc::clone(&notice), job, ctx)
        })
        .register(move |job, ctx| retention::prune(Arc::clone(&pruner), job, ctx))
        .schedule("auth-retention", &auth.settings.retention_cron, |tick| {
            retention::PruneAuthRecords {
                scheduled_for: tick,
            }
        })
}

/// Runs the nightly prune now (operators, tests); the counts of what went.
pub async fn prune_records(auth: &AuthService) -> Result<PrunedRecords, sqlx::Error> {
    repo::prune(&auth.db, &auth.retention()).await
}

pub use repo::Pruned as PrunedRecords;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use routes::{admin, email, password, session};
    cfg.service(resource("/auth/register").route(web::post().to(session::register)))
        .service(resource("/auth/login").route(web::post().to(session::login)))
        .service(resource("/auth/refresh").route(web::post().to(session::refresh)))
        .service(resource("/auth/logout").route(web::post().to(session::logout)))
        .service(resource("/auth/logout-all").route(web::post().to(session::logout_all)))
        .service(resource("/auth/sessions").route(web::get().to(session::sessions)))
        .service(resource("/auth/sessions/{id}").route(web::delete().to(session::revoke_session)))
        .service(resource("/auth/me").route(web::get().to(session::me)))
        .service(resource("/auth/password/change").route(web::post().to(password::change)))
        .service(resource("/auth/password/forgot").route(web::post().to(password::forgot)))
        .service(resource("/auth/password/reset").route(web::post().to(password::reset)))
        .service(resource("/auth/email/verify").route(web::post().to(email::verify)))
        .service(resource("/auth/email/verify/resend").route(web::post().to(email::resend)))
        .service(
            resource("/auth/email/verify/whmcs").route(web::post().to(email::verify_with_whmcs)),
        )
        .service(
            resource("/admin/users")
                .route(web::post().to(admin::create_staff))
                .route(web::get().to(admin::list_users)),
        )
        .service(resource("/admin/users/{id}").route(web::patch().to(admin::update_staff)));
}

/// Mounted at the root.
pub fn well_known(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/.well-known/jwks.json").route(web::get().to(routes::session::jwks)));
}

pub mod openapi {
    pub use super::routes::admin::{
        __path_create_staff, __path_list_users, __path_update_staff, CreateStaffRequest,
        UpdateStaffRequest, UserPage,
    };
    pub use super::routes::email::{
        __path_resend, __path_verify, __path_verify_with_whmcs, VerifyEmailRequest,
        WhmcsProofRequest,
    };
    pub use super::routes::password::{
        __path_change, __path_forgot, __path_reset, Accepted, ChangePasswordRequest,
        ForgotPasswordRequest, ResetPasswordRequest,
    };
    pub use super::routes::session::{
        __path_jwks, __path_login, __path_logout, __path_logout_all, __path_me, __path_refresh,
        __path_register, __path_revoke_session, __path_sessions, LoginRequest, RefreshRequest,
        RegisterRequest, SessionView,
    };
}
