//! The OpenAPI document, generated from the handlers' annotations. `docs/openapi.json` is its committed copy.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::auth::openapi as auth;
use crate::errors::{ErrorCode, FieldError, Problem, responses};
use crate::health;

mod contract;

pub use contract::methods;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Concierge API",
        description = "Backend-for-frontend of the customer portal, clienteling back end and CRM engine. \
                       Every error is an RFC 9457 problem document (`application/problem+json`)."
    ),
    paths(
        health::live, health::ready, crate::operations::problem_type,
        auth::register, auth::login, auth::refresh, auth::logout, auth::logout_all, auth::sessions,
        auth::revoke_session, auth::me, auth::jwks, auth::change, auth::forgot, auth::reset, auth::verify, auth::resend, auth::verify_with_whmcs,
        auth::create_staff, auth::list_users, auth::update_staff,
    ),
    components(
        responses(
            responses::Unauthorized, responses::NotACustomer, responses::AdminsOnly, responses::AccountLinking,
            responses::LimitOutOfRange, responses::ValidationFailed, responses::IdempotencyKeyReused,
            responses::ProviderError, responses::ProviderUnavailable, responses::BillingError,
            responses::BillingUnavailable, responses::SalesforceError, responses::SalesforceUnavailable,
            responses::EmailTaken, responses::WeakPassword, responses::TooManyRequests, responses::InvalidOrderId, responses::OrderNotFound,
            responses::InvalidSubscriptionId, responses::SubscriptionNotFound, responses::InvoiceNotFound,
        ),
        schemas(
            Problem, FieldError, ErrorCode,
            crate::auth::User, crate::auth::Role, crate::auth::UserKind, crate::auth::TokenResponse,
            auth::RegisterRequest, auth::LoginRequest, auth::RefreshRequest, auth::SessionView,
            auth::ChangePasswordRequest, auth::ForgotPasswordRequest, auth::ResetPasswordRequest, auth::Accepted, auth::VerifyEmailRequest, auth::WhmcsProofRequest,
            auth::CreateStaffRequest, auth::UpdateStaffRequest, auth::UserPage,
        ),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, readiness and API description"),
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

/// The parts of the document, each named: the operational and auth routes, then one per context. They are
/// merged in this order; on a schema name two parts share, the first part's schema wins (which is why a test
/// keeps schema names unique).
pub fn parts() -> Vec<(&'static str, utoipa::openapi::OpenApi)> {
    vec![
        ("operations and auth", ApiDoc::openapi()),
        ("brands", crate::brands::ApiDoc::openapi()),
        ("customers", crate::customers::ApiDoc::openapi()),
        ("billing", crate::billing::ApiDoc::openapi()),
        ("catalog", crate::catalog::ApiDoc::openapi()),
        ("orders", crate::orders::ApiDoc::openapi()),
        ("support", crate::support::ApiDoc::openapi()),
        ("subscriptions", crate::subscriptions::ApiDoc::openapi()),
        ("crm", crate::crm::ApiDoc::openapi()),
        ("social", crate::social::ApiDoc::openapi()),
        ("clienteling", crate::clienteling::ApiDoc::openapi()),
        (
            "clienteling appointments",
            crate::clienteling::appointments::ApiDoc::openapi(),
        ),
        (
            "clienteling catalogue",
            crate::clienteling::catalogue::ApiDoc::openapi(),
        ),
        (
            "clienteling tasks",
            crate::clienteling::tasks::ApiDoc::openapi(),
        ),
        (
            "clienteling outreach",
            crate::clienteling::outreach::ApiDoc::openapi(),
        ),
        (
            "clienteling 360",
            crate::clienteling::view360::ApiDoc::openapi(),
        ),
        (
            "clienteling dashboard",
            crate::clienteling::dashboard::ApiDoc::openapi(),
        ),
        ("privacy", crate::privacy::ApiDoc::openapi()),
        ("brand events", crate::brand_events::ApiDoc::openapi()),
    ]
}

pub fn document() -> utoipa::openapi::OpenApi {
    let mut parts = parts().into_iter().map(|(_, part)| part);
    let mut document = parts.next().unwrap_or_else(ApiDoc::openapi);
    for part in parts {
        document.merge(part);
    }
    contract::apply(&mut document);
    document
}

pub fn to_pretty_json() -> anyhow::Result<String> {
    Ok(document().to_pretty_json()?)
}
