//! The OpenAPI document, generated from the handlers' annotations. `docs/openapi.json` is its committed copy.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::auth::openapi as auth;
use crate::errors::{ErrorCode, FieldError, Problem};
use crate::health;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Concierge API",
        description = "Backend-for-frontend of the customer portal, clienteling back end and CRM engine. \
                       Every error is an RFC 9457 problem document (`application/problem+json`)."
    ),
    paths(
        health::live, health::ready, crate::operations::metrics, crate::operations::problem_type,
        auth::register, auth::login, auth::refresh, auth::logout, auth::logout_all, auth::sessions,
        auth::revoke_session, auth::me, auth::jwks, auth::change, auth::forgot, auth::reset,
        auth::create_staff, auth::list_users, auth::update_staff,
    ),
    components(schemas(
        Problem, FieldError, ErrorCode,
        crate::auth::User, crate::auth::Role, crate::auth::UserKind, crate::auth::TokenResponse,
        auth::RegisterRequest, auth::LoginRequest, auth::RefreshRequest, auth::SessionView,
        auth::ChangePasswordRequest, auth::ForgotPasswordRequest, auth::ResetPasswordRequest, auth::Accepted,
        auth::CreateStaffRequest, auth::UpdateStaffRequest, auth::UserPage,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, readiness, metrics and API description"),
        (name = "auth", description = "Registration, sign-in, sessions with refresh-token rotation, passwords"),
        (name = "admin", description = "Staff accounts (admins only)")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    for part in [
        crate::customers::ApiDoc::openapi(),
        crate::billing::ApiDoc::openapi(),
        crate::catalog::ApiDoc::openapi(),
        crate::orders::ApiDoc::openapi(),
        crate::support::ApiDoc::openapi(),
        crate::subscriptions::ApiDoc::openapi(),
    ] {
        document.merge(part);
    }
    document
}

pub fn to_pretty_json() -> anyhow::Result<String> {
    Ok(document().to_pretty_json()?)
}
