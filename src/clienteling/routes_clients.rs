//! `…/clienteling/clients`: create (resolve-or-create the CRM profile), read, update, and the book's
//! search. A client outside the caller's scope answers 404, like one that does not exist.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::client::{Client, CreateClient, Preferences, UpdateClient, check_dates, check_notes};
use super::repo::{self, LayerChange, NewClient};
use super::scope::Scope;
use crate::auth::Role;
use crate::brands::{Clienteling, InBrand, is_slug};
use crate::crm::events::Change;
use crate::crm::identifiers::Identifier;
use crate::crm::profile::{self, Attributes};
use crate::crm::resolve::{ResolveError, ResolveInput, resolve};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::outbox::{self, NewEvent};
use crate::state::AppState;

pub fn client_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such client in your book.")
}

/// A path's client id; anything that is not a UUID names no client.
pub fn client_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| client_not_found())
}

pub fn client_path(brand: &str, id: Uuid) -> String {
    format!("/api/v1/brands/{brand}/clienteling/clients/{id}")
}

/// The client in full, if the scope reaches them.
pub async fn load(
    conn: &mut PgConnection,
    scope: &Scope,
    id: Uuid,
    lock: bool,
) -> Result<Option<Client>, sqlx::Error> {
    let Some(layer) = repo::visible(conn, scope, id, lock).await? else {
        return Ok(None);
    };
    let Some(profile) = profile::load(conn, scope.brand_id, layer.profile_id).await? else {
        return Ok(None);
    };
    let advisors = repo::assignments(conn, scope.brand_id, layer.profile_id, false).await?;
    Ok(Some(Client {
        id: layer.profile_id,
        store: layer.store_code,
        profile,
        preferences: serde_json::from_value(layer.preferences).unwrap_or_default(),
        important_dates: serde_json::from_value(layer.important_dates).unwrap_or_default(),
        notes: layer.notes,
        advisors,
        last_contacted_at: layer.last_contacted_at,
        created_at: layer.created_at,
        updated_at: layer.updated_at,
    }))
}

/// A store code the caller may file a client under: a store of the brand within their scope.
async fn check_store(
    conn: &mut PgConnection,
    in_brand: &InBrand<Clienteling>,
    scope: &Scope,
    code: &str,
    errors: &mut Vec<FieldError>,
) -> Result<(), sqlx::Error> {
    let known = is_slug(code)
        && crate::brands::missing_stores(&mut *conn, &in_brand.brand.slug, &[code.to_owned()])
            .await?
            .is_empty();
    if !known || !scope.covers_store(code) {
        errors.push(FieldError::new(
            "store",
            "not_your_store",
            "A store of the brand you work in.",
        ));
    }
    Ok(())
}

fn check_layer(
    preferences: Option<&Preferences>,
    dates: Option<&[super::client::ImportantDate]>,
    notes: Option<&str>,
    errors: &mut Vec<FieldError>,
) {
    if let Some(preferences) = preferences {
        preferences.check(errors);
    }
    if let Some(dates) = dates {
        check_dates(dates, errors);
    }
    check_notes(notes, errors);
}

fn identifiers_of(attributes: &Attributes, errors: &mut Vec<FieldError>) -> Vec<Identifier> {
    let mut identifiers = Vec::new();
    for (kind, value) in [("email", &attributes.email), ("phone", &attributes.phone)] {
        let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        match Identifier::parse(kind, value) {
            Ok(identifier) => identifiers.push(identifier),
            Err(error) => {
                if !errors
                    .iter()
                    .any(|e| e.field == format!("attributes.{kind}"))
                {
                    errors.push(FieldError::new(
                        format!("attributes.{kind}"),
                        error.code(),
                        error.to_string(),
                    ));
                }
            }
        }
    }
    identifiers
}

async fn record(
    conn: &mut PgConnection,
    topic: &'static str,
    in_brand: &InBrand<Clienteling>,
    id: Uuid,
) -> Result<(), ApiError> {
    outbox::record(
        conn,
        NewEvent {
            topic,
            aggregate_type: "clienteling_client",
            aggregate_id: id.to_string(),
            payload: json!({
                "client_id": id,
                "brand": in_brand.brand.slug,
                "actor": in_brand.actor(),
            }),
        },
    )
    .await?;
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/clients", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug")),
    request_body = CreateClient,
    responses(
        (status = 201, description = "The client, with `Location`. Their email or phone may have led to an existing CRM profile of the brand, which becomes the client", body = Client),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`client-exists`: the person is already a client of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn create_client(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    body: web::Json<CreateClient>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let brand_id = in_brand.brand.id;
    let mut errors = body.attributes.check("attributes.");
    let named = [&body.attributes.first_name, &body.attributes.last_name]
        .iter()
        .any(|name| name.as_deref().is_some_and(|n| !n.trim().is_empty()));
    if !named {
        errors.push(FieldError::new(
            "attributes.first_name",
            "required",
            "A first or last name.",
        ));
    }
    check_layer(
        body.preferences.as_ref(),
        body.important_dates.as_deref(),
        body.notes.as_deref(),
        &mut errors,
    );
    let identifiers = identifiers_of(&body.attributes, &mut errors);
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, &in_brand).await?;
    check_store(&mut tx, &in_brand, &scope, &body.store, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let resolution = resolve(
        &mut tx,
        brand_id,
        &ResolveInput {
            identifiers: &identifiers,
            attributes: &body.attributes,
            at: Utc::now(),
            source: "clienteling",
        },
    )
    .await
    .map_err(|error| match error {
        ResolveError::Erased(erased) => ApiError::validation(
            erased
                .iter()
                .map(|identifier| {
                    crate::crm::erased_field(format!("attributes.{}", identifier.kind))
                })
                .collect(),
        ),
        ResolveError::Db(error) => error.into(),
    })?;
    let id = resolution.profile_id;
    // The CRM's segments and scores follow the resolution's merge or attributes, in this transaction.
    state
        .crm
        .hooks()
        .resolved(&mut tx, brand_id, &resolution, true)
        .await
        .map_err(anyhow::Error::from)?;
    let held = repo::holder(&mut tx, brand_id, id).await?;
    let inserted = held.is_none()
        && repo::insert(
            &mut tx,
            NewClient {
                brand_id,
                profile_id: id,
                store_code: &body.store,
                preferences: serde_json::to_value(body.preferences.unwrap_or_default())
                    .map_err(ApiError::internal)?,
                important_dates: serde_json::to_value(body.important_dates.unwrap_or_default())
                    .map_err(ApiError::internal)?,
                notes: body.notes.as_deref().unwrap_or_default(),
                created_by: in_brand.user.user_id,
            },
        )
        .await?;
    if !inserted {
        // Nothing of this request stays: the profile's attributes are not overwritten by a duplicate.
        let existing = held.unwrap_or(id);
        let reachable = repo::visible(&mut tx, &scope, existing, false)
            .await?
            .is_some();
        tx.rollback().await?;
        let detail = if reachable {
            format!("This person is already your client {existing}.")
        } else {
            "This person is already a client of another book of the brand; ask a manager to assign them to you."
                .to_owned()
        };
        return Err(ApiError::new(ErrorCode::ClientExists).with_detail(detail));
    }
    if in_brand.user.has_role(Role::ClientAdvisor) {
        repo::assign(
            &mut tx,
            brand_id,
            id,
            in_brand.user.user_id,
            "primary",
            in_brand.user.user_id,
        )
        .await?;
    }
    let profile = profile::load(&mut tx, brand_id, id)
        .await?
        .ok_or_else(client_not_found)?;
    repo::refresh_card(&mut tx, brand_id, id, &profile).await?;
    record(&mut tx, "clienteling.client.created", &in_brand, id).await?;
    let client = load(&mut tx, &scope, id, false)
        .await?
        .ok_or_else(client_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, client_path(&in_brand.brand.slug, id)))
        .json(client))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/clients/{id}", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Client (CRM profile) id")),
    responses(
        (status = 200, description = "The client", body = Client),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such client in the caller's book", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_client(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path.1)?;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    let client = load(&mut conn, &scope, id, false)
        .await?
        .ok_or_else(client_not_found)?;
    Ok(HttpResponse::Ok().json(client))
}

#[utoipa::path(patch, path = "/api/v1/brands/{brand}/clienteling/clients/{id}", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Client (CRM profile) id")),
    request_body = UpdateClient,
    responses(
        (status = 200, description = "The updated client", body = Client),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such client in the caller's book", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`client-erased`: the client's data was erased", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn update_client(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    body: web::Json<UpdateClient>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path.1)?;
    let body = body.into_inner();
    let brand_id = in_brand.brand.id;
    let mut errors = body
        .attributes
        .as_ref()
        .map(|attributes| attributes.check("attributes."))
        .unwrap_or_default();
    check_layer(
        body.preferences.as_ref(),
        body.important_dates.as_deref(),
        body.notes.as_deref(),
        &mut errors,
    );
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, &in_brand).await?;
    let current = repo::visible(&mut tx, &scope, id, true)
        .await?
        .ok_or_else(client_not_found)?
        .writable()?;
    if let Some(store) = &body.store
        && *store != current.store_code
    {
        check_store(&mut tx, &in_brand, &scope, store, &mut errors).await?;
        if !scope.covers_store(&current.store_code) {
            errors.push(FieldError::new(
                "store",
                "not_your_store",
                "Only someone who works in the client's store may move them to another.",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if let Some(attributes) = &body.attributes {
        // The client's profile may have been merged into another since (the card shows the survivor): the
        // change belongs to the survivor, not to the absorbed row nobody reads any more.
        let live = profile::current_id(&mut tx, brand_id, current.profile_id)
            .await?
            .ok_or_else(client_not_found)?;
        profile::apply_attributes(&mut tx, brand_id, live, attributes, Utc::now()).await?;
        // The CRM's segments over these attributes follow at once, in this transaction.
        state
            .crm
            .hooks()
            .profiles_changed(&mut tx, brand_id, &[live], Change::Attributes)
            .await
            .map_err(anyhow::Error::from)?;
    }
    repo::update_layer(
        &mut tx,
        brand_id,
        id,
        LayerChange {
            store_code: body.store.as_deref(),
            preferences: body
                .preferences
                .map(serde_json::to_value)
                .transpose()
                .map_err(ApiError::internal)?,
            important_dates: body
                .important_dates
                .map(serde_json::to_value)
                .transpose()
                .map_err(ApiError::internal)?,
            notes: body.notes.as_deref(),
        },
    )
    .await?;
    let profile = profile::load(&mut tx, brand_id, current.profile_id)
        .await?
        .ok_or_else(client_not_found)?;
    repo::refresh_card(&mut tx, brand_id, id, &profile).await?;
    record(&mut tx, "clienteling.client.updated", &in_brand, id).await?;
    // Both stores are within reach, so the client still is.
    let client = load(&mut tx, &scope, id, false)
        .await?
        .ok_or_else(client_not_found)?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(client))
}
