//! `GET /me` and `PATCH /me`: the signed-in customer's profile, merged from their WHMCS client and
//! Salesforce Contact (precedence in [`super::domain`]), and changes to it written to both systems.

use actix_web::{HttpResponse, web};
use serde_json::Value;
use utoipa::ToSchema;
use validator::Validate;

use super::domain::{
    PortalAccount, Profile, ProfileSystem, ProfileUpdate, UnavailableSource, UpdateStatus,
};
use super::links::{LinkLookupError, links_for};
use super::{CustomerError, Customers};
use super::{repo, salesforce, service, validation, whmcs};
use crate::auth::{self, Customer};
use crate::errors::ApiError;
use crate::integrations::ProviderError;
use crate::state::AppState;
use crate::telemetry::redact::scrub;

/// `PATCH /me`. Every field is optional; send only what changes. Unknown fields are refused.
// The body is read as JSON first (`validation::profile_change`), so a wrong type or an unknown field is a
// field error like any other; the rules are derived here.
// `serde(deny_unknown_fields)` only tells the schema (`additionalProperties: false`): the body is read by hand.
// None of the fields may be `null`, and at least one must be sent.
#[derive(Debug, Default, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateProfileRequest {
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    #[validate(custom(function = "validation::name"))]
    pub(super) first_name: Option<String>,
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    #[validate(custom(function = "validation::name"))]
    pub(super) last_name: Option<String>,
    /// E.164: `+` then 8 to 15 digits.
    #[schema(
        example = "+819012345678",
        pattern = "^\\+[1-9][0-9]{7,14}$",
        nullable = false
    )]
    #[validate(custom(function = "validation::phone"))]
    pub(super) phone: Option<String>,
    /// Replaces the whole address.
    #[schema(nullable = false)]
    #[validate(nested)]
    pub(super) address: Option<AddressInput>,
}

#[derive(Debug, Default, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    #[schema(min_length = 1, max_length = 100)]
    #[validate(custom(function = "validation::line"))]
    pub(super) line1: String,
    #[schema(max_length = 100)]
    #[validate(custom(function = "validation::optional_line"))]
    pub(super) line2: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    #[validate(custom(function = "validation::line"))]
    pub(super) city: String,
    #[schema(max_length = 100)]
    #[validate(custom(function = "validation::optional_line"))]
    pub(super) state: Option<String>,
    /// Checked against the country's format (JP `123-4567`, FR 5 digits, US `12345` or `12345-6789`…).
    #[schema(example = "150-0001", min_length = 1, max_length = 20)]
    #[validate(custom(function = "validation::postcode_text"))]
    pub(super) postcode: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "JP", pattern = "^[A-Za-z]{2}$")]
    #[validate(custom(function = "validation::country"))]
    pub(super) country: String,
}

async fn portal_account(
    customers: &Customers,
    user_id: uuid::Uuid,
) -> Result<PortalAccount, CustomerError> {
    let user = auth::account(&customers.db, user_id)
        .await?
        .ok_or(CustomerError::AccountGone)?;
    Ok(PortalAccount {
        user_id,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
    })
}

/// The customer's profile. While their billing and CRM records are still being set up it holds what the
/// portal account knows, with `link_status: "linking"`. When one of WHMCS or Salesforce cannot be read the
/// answer is still a 200 with what the other has: `unavailable` names the system and the fields it is the
/// first source of. Only when both cannot be read is it a 503 (or 502), since nothing but the portal account
/// would be left.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "customers", security(("bearer" = [])),
    responses(
        (status = 200, description = "The merged profile; `unavailable` lists a system that could not be read and its fields", body = Profile),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, response = crate::errors::responses::NotACustomer),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 502, description = "Neither WHMCS nor Salesforce could be read, and neither is merely down", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Both WHMCS and Salesforce cannot be read, at least one being down; see Retry-After", body = crate::errors::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %customer.0.user_id))]
pub async fn get_me(
    state: web::Data<AppState>,
    customer: Customer,
) -> Result<web::Json<Profile>, ApiError> {
    let user_id = customer.0.user_id;
    let account = portal_account(&state.customers, user_id).await?;
    let links = match links_for(&state.db, user_id).await {
        Ok(links) => links,
        Err(LinkLookupError::Linking) => return Ok(web::Json(Profile::from_portal(account))),
        Err(error) => return Err(CustomerError::from(error).into()),
    };
    // Read before the systems: a change seen finished here was applied before they are read, so the profile
    // never shows old values without the change that replaces them.
    let pending_update = repo::latest_unfinished(&state.db, user_id).await?;
    let (billing, contact) = tokio::join!(
        whmcs::fetch(&state.customers.whmcs, links.whmcs_client_id),
        salesforce::fetch(
            &state.customers.salesforce,
            &links.salesforce_account_id,
            &links.salesforce_contact_id
        ),
    );
    let (billing, contact) = match (billing, contact) {
        // Nothing left but the portal account: say so rather than pass it off as the profile.
        (Err(billing), Err(contact)) => {
            let (shown, other) = if !billing.is_transient() && contact.is_transient() {
                (contact, billing)
            } else {
                (billing, contact)
            };
            tracing::warn!(system = other.system(), error = %scrub(&other.to_string()), "provider call failed");
            return Err(CustomerError::from(shown).into());
        }
        (billing, contact) => (billing, contact),
    };
    let mut unavailable = Vec::new();
    let billing = readable(ProfileSystem::Whmcs, billing, &mut unavailable);
    let contact = readable(ProfileSystem::Salesforce, contact, &mut unavailable);
    let mut profile = Profile::merge(account, billing, contact);
    profile.unavailable = unavailable;
    profile.pending_update = pending_update;
    Ok(web::Json(profile))
}

/// A system's view, or its entry in the profile's `unavailable` list.
fn readable<T>(
    system: ProfileSystem,
    result: Result<T, ProviderError>,
    unavailable: &mut Vec<UnavailableSource>,
) -> Option<T> {
    match result {
        Ok(view) => Some(view),
        Err(error) => {
            tracing::warn!(system = error.system(), error = %scrub(&error.to_string()), "provider call failed; answering a partial profile");
            unavailable.push(UnavailableSource::new(system, error.is_transient()));
            None
        }
    }
}

/// Changes the profile in WHMCS and Salesforce. 200 when both have the change; 202 when a system could not
/// be reached and a background job is retrying it (the next `GET /me` shows the result); 422 with field
/// errors when the body is invalid, in which case nothing is changed anywhere.
#[utoipa::path(
    patch, path = "/api/v1/me", tag = "customers", security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, description = "Both systems have the change", body = ProfileUpdate),
        (status = 202, description = "Accepted; a system is being retried (`status: pending`)", body = ProfileUpdate),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, response = crate::errors::responses::NotACustomer),
        (status = 409, response = crate::errors::responses::AccountLinking),
        (status = 422, response = crate::errors::responses::ValidationFailed),
        (status = 502, description = "A system refused the change; the detail says which systems have it", body = crate::errors::Problem, content_type = "application/problem+json")
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %customer.0.user_id))]
pub async fn update_me(
    state: web::Data<AppState>,
    customer: Customer,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let change = validation::profile_change(&body).map_err(ApiError::validation)?;
    let update = service::update_profile(&state.customers, customer.0.user_id, change).await?;
    match update.status {
        UpdateStatus::Applied => Ok(HttpResponse::Ok().json(update)),
        UpdateStatus::Pending => Ok(HttpResponse::Accepted().json(update)),
        UpdateStatus::Failed => Err(CustomerError::Refused(update.systems).into()),
    }
}
