//! Adding and removing a profile's identifiers by hand: `POST …/crm/profiles/{id}/identifiers` and
//! `DELETE …/crm/profiles/{id}/identifiers/{kind}/{value}`.
//!
//! An identifier another profile holds is a 409 `identifier-taken` naming that profile — never a silent
//! move: bringing two profiles together is a merge (`POST …/crm/merges`). The unique key on
//! `(brand_id, kind, value)` decides between concurrent adds of one identifier: exactly one commits, the
//! other waits for it and then finds the identifier taken.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::identifiers::{Identifier, IdentifierError, IdentifierInput};
use super::profile::{self, Profile};
use super::resolve::lock_identifiers;
use super::routes_profiles::{
    lock_live, profile_id, profile_not_found, profile_path, record_updated,
};
use crate::brands::{InBrand, Marketing};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;

fn field_error(error: &IdentifierError) -> FieldError {
    let field = match error {
        IdentifierError::UnknownKind => "kind",
        IdentifierError::InvalidValue(_) => "value",
    };
    FieldError::new(field, error.code(), error.to_string())
}

async fn holder(
    conn: &mut PgConnection,
    brand_id: Uuid,
    identifier: &Identifier,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT profile_id FROM crm_identifiers WHERE brand_id = $1 AND kind = $2 AND value = $3",
        brand_id,
        identifier.kind,
        identifier.value
    )
    .fetch_optional(conn)
    .await
}

fn taken(other: Uuid) -> ApiError {
    ApiError::new(ErrorCode::IdentifierTaken).with_detail(format!(
        "Profile {other} holds this identifier; merge the two profiles to bring them together."
    ))
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/crm/profiles/{id}/identifiers", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id")),
    request_body = IdentifierInput,
    responses(
        (status = 201, description = "Added (normalised); the profile", body = Profile),
        (status = 200, description = "The profile held it already; the profile", body = Profile),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such profile in it", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`identifier-taken`: another profile of the brand holds it (named in the detail); `identifier-limit`: the profile holds the most of this kind it may; `profile-merged`; `profile-erased`: the person was erased", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation-failed`: a bad kind or value, or (`erased`) an erased person's identifier; `identifier-blocked`: a placeholder value", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn add_identifier(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String)>,
    body: web::Json<IdentifierInput>,
) -> Result<HttpResponse, ApiError> {
    let id = profile_id(&path.1)?;
    let identifier = Identifier::parse(&body.kind, &body.value)
        .map_err(|error| ApiError::validation(vec![field_error(&error)]))?;
    if state.crm.policy().is_blocked(&identifier) {
        return Err(ApiError::new(ErrorCode::IdentifierBlocked)
            .with_detail("This value is a placeholder (blocked in `[crm.identity]`)."));
    }
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    // The identifier's lock first, as resolve takes it: a batch of events that read its holder keeps it.
    lock_identifiers(&mut tx, brand_id, std::slice::from_ref(&identifier)).await?;
    lock_live(&mut tx, brand_id, id).await?;
    let policy = state.crm.policy();
    if !super::suppression::suppressed(
        &mut tx,
        policy.suppression(),
        brand_id,
        std::slice::from_ref(&identifier),
    )
    .await?
    .is_empty()
    {
        return Err(ApiError::validation(vec![super::erased_field(
            "value".to_owned(),
        )]));
    }
    let created = match holder(&mut tx, brand_id, &identifier).await? {
        Some(owner) if owner == id => false,
        Some(other) => return Err(taken(other)),
        None => {
            let max = state.crm.policy().max_per_kind(&identifier.kind);
            let held = sqlx::query_scalar!(
                r#"SELECT count(*) AS "count!" FROM crm_identifiers
                   WHERE brand_id = $1 AND profile_id = $2 AND kind = $3"#,
                brand_id,
                id,
                identifier.kind
            )
            .fetch_one(&mut *tx)
            .await?;
            if held >= i64::from(max) {
                return Err(
                    ApiError::new(ErrorCode::IdentifierLimit).with_detail(format!(
                        "A profile holds at most {max} identifiers of kind `{}`.",
                        identifier.kind
                    )),
                );
            }
            let inserted = sqlx::query_scalar!(
                "INSERT INTO crm_identifiers (brand_id, kind, value, profile_id, source)
                 VALUES ($1, $2, $3, $4, 'api')
                 ON CONFLICT (brand_id, kind, value) DO NOTHING
                 RETURNING profile_id",
                brand_id,
                identifier.kind,
                identifier.value,
                id
            )
            .fetch_optional(&mut *tx)
            .await?;
            if inserted.is_none() {
                // A concurrent add committed first: its profile holds it now.
                return Err(match holder(&mut tx, brand_id, &identifier).await? {
                    Some(other) => taken(other),
                    None => ApiError::new(ErrorCode::Conflict)
                        .with_detail("The identifier changed hands meanwhile; retry."),
                });
            }
            record_updated(
                &mut tx,
                &in_brand,
                id,
                &["identifiers".to_owned()],
                json!({ "identifiers_added": [identifier] }),
            )
            .await?;
            true
        }
    };
    tx.commit().await?;
    let mut conn = state.crm.db().acquire().await?;
    let profile = profile::load(&mut conn, brand_id, id)
        .await?
        .ok_or_else(profile_not_found)?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header((header::LOCATION, profile_path(&in_brand.brand.slug, id)))
        .json(profile))
}

#[utoipa::path(delete, path = "/api/v1/brands/{brand}/crm/profiles/{id}/identifiers/{kind}/{value}", tag = "crm", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Profile id"),
        ("kind" = String, Path, description = "Identifier kind"), ("value" = String, Path, description = "Identifier value (normalised before the look-up; URL-encode it)")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a marketer of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand or profile, or the profile does not hold this identifier", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`profile-merged`; `profile-erased`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn remove_identifier(
    state: web::Data<AppState>,
    in_brand: InBrand<Marketing>,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, raw_id, kind, value) = path.into_inner();
    let id = profile_id(&raw_id)?;
    let identifier = Identifier::parse(&kind, &value)
        .map_err(|error| ApiError::validation(vec![field_error(&error)]))?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.crm.db().begin().await?;
    // The identifier's lock first, as resolve takes it: a batch of events that read its holder keeps it.
    lock_identifiers(&mut tx, brand_id, std::slice::from_ref(&identifier)).await?;
    lock_live(&mut tx, brand_id, id).await?;
    let removed = sqlx::query!(
        "DELETE FROM crm_identifiers
         WHERE brand_id = $1 AND profile_id = $2 AND kind = $3 AND value = $4",
        brand_id,
        id,
        identifier.kind,
        identifier.value
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if removed == 0 {
        return Err(ApiError::not_found().with_detail("The profile does not hold this identifier."));
    }
    record_updated(
        &mut tx,
        &in_brand,
        id,
        &["identifiers".to_owned()],
        json!({ "identifiers_removed": [identifier] }),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    use crate::http::resource;
    cfg.service(
        resource("/brands/{brand}/crm/profiles/{id}/identifiers")
            .route(web::post().to(add_identifier)),
    )
    .service(
        resource("/brands/{brand}/crm/profiles/{id}/identifiers/{kind}/{value}")
            .route(web::delete().to(remove_identifier)),
    );
}
