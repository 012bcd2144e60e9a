//! Customers and staff: registration, login, sessions with refresh-token rotation and reuse detection,
//! passwords, staff administration, and the extractors every other context authorises with.

mod error;
pub mod extractors;
mod handlers;
pub mod jobs;
pub mod keys;
mod limiter;
pub mod model;
pub mod passwords;
pub mod secrets;
pub mod service;
pub mod store;

use actix_web::web;

pub use error::AuthError;
pub use extractors::{Admin, AuthUser, Customer, Staff};
pub use handlers::session::{LoginRequest, RegisterRequest};
pub use model::{Role, User, UserKind};
pub use service::AuthService;

use crate::routes::resource;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use handlers::{admin, password, session};
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
        .service(
            resource("/admin/users")
                .route(web::post().to(admin::create_staff))
                .route(web::get().to(admin::list_users)),
        )
        .service(resource("/admin/users/{id}").route(web::patch().to(admin::update_staff)));
}

/// Mounted at the root.
pub fn well_known(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/.well-known/jwks.json").route(web::get().to(handlers::session::jwks)));
}

pub mod openapi {
    pub use super::handlers::admin::{
        __path_create_staff, __path_list_users, __path_update_staff, CreateStaffRequest,
        UpdateStaffRequest, UserPage,
    };
    pub use super::handlers::password::{
        __path_change, __path_forgot, __path_reset, Accepted, ChangePasswordRequest,
        ForgotPasswordRequest, ResetPasswordRequest,
    };
    pub use super::handlers::session::{
        __path_jwks, __path_login, __path_logout, __path_logout_all, __path_me, __path_refresh,
        __path_register, __path_revoke_session, __path_sessions, LoginRequest, RefreshRequest,
        RegisterRequest, SessionView,
    };
}
