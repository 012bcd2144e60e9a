//! The book's lists: `GET …/clienteling/clients` (search and filters), `GET …/clienteling/book` (the caller's
//! clients) and `GET …/clienteling/stores/{store}/book` (a store's), all one query through the scope.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::client::ClientCard;
use super::repo::{self, Filters};
use super::scope::Scope;
use crate::brands::{Clienteling, InBrand, is_slug};
use crate::errors::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;
use crate::types::{Listing, Pagination};

pub struct Clients;

impl Listing for Clients {
    const DEFAULT_LIMIT: u16 = 20;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BookQuery {
    /// Part of a name, email, phone or tag, misspellings tolerated; 1–100 characters.
    pub q: Option<String>,
    /// Only clients with this tag (exact).
    pub tag: Option<String>,
    /// Only clients of this tier (exact).
    pub tier: Option<String>,
    /// Only the book of this store.
    pub store: Option<String>,
    /// `true`: only the clients assigned to the caller.
    #[param(value_type = Option<bool>)]
    pub mine: Option<String>,
    /// Only clients not contacted in this many days (1–3650), or never.
    #[param(value_type = Option<u16>, minimum = 1, maximum = 3650)]
    pub not_contacted_days: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Clients>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingClientPage)]
pub struct ClientPage {
    pub items: Vec<ClientCard>,
    pub next_cursor: Option<String>,
}

fn text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value?.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "invalid",
            format!("1–{max} characters, without control characters."),
        ));
        return None;
    }
    Some(value.to_owned())
}

fn filters(query: &BookQuery) -> Result<Filters, ApiError> {
    let mut errors = crate::errors::field_errors([query.page.validate()]);
    let q = text("q", query.q.as_deref(), 100, &mut errors).map(|q| q.to_lowercase());
    let tag = text("tag", query.tag.as_deref(), 40, &mut errors);
    let tier = text("tier", query.tier.as_deref(), 40, &mut errors);
    let store = text("store", query.store.as_deref(), 40, &mut errors);
    if store.as_deref().is_some_and(|store| !is_slug(store)) {
        errors.push(FieldError::new("store", "invalid", "A store code."));
    }
    let mine = match query.mine.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            errors.push(FieldError::new("mine", "invalid", "true or false."));
            false
        }
    };
    let not_contacted_days = match query.not_contacted_days.as_deref() {
        None => None,
        Some(days) => match days.parse::<i32>() {
            Ok(days) if (1..=3650).contains(&days) => Some(days),
            _ => {
                errors.push(FieldError::new(
                    "not_contacted_days",
                    "out_of_range",
                    "A whole number of days, 1–3650.",
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let before = match &query.page.cursor {
        Some(cursor) => Some(
            URL_SAFE_NO_PAD
                .decode(cursor.as_str())
                .ok()
                .and_then(|raw| Uuid::from_slice(&raw).ok())
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::InvalidQueryParameter)
                        .with_detail("The cursor is not valid.")
                })?,
        ),
        None => None,
    };
    Ok(Filters {
        q,
        tag,
        tier,
        store,
        mine,
        not_contacted_days,
        before,
    })
}

async fn page(
    state: &AppState,
    in_brand: &InBrand<Clienteling>,
    filters: Filters,
    limit: u16,
) -> Result<HttpResponse, ApiError> {
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, in_brand).await?;
    let limit = i64::from(limit);
    let mut items = repo::list(&mut tx, &scope, &filters, limit + 1).await?;
    tx.commit().await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items
            .last()
            .map(|last| URL_SAFE_NO_PAD.encode(last.id.as_bytes()))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(ClientPage { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/clients", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), BookQuery, Pagination<Clients>),
    responses(
        (status = 200, description = "The clients within the caller's reach matching the filters, newest first", body = ClientPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn list_clients(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    query: web::Query<BookQuery>,
) -> Result<HttpResponse, ApiError> {
    let filters = filters(&query)?;
    page(&state, &in_brand, filters, query.page.size()).await
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/book", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), BookQuery, Pagination<Clients>),
    responses(
        (status = 200, description = "The clients assigned to the caller (primary or secondary), newest first", body = ClientPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn my_book(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    query: web::Query<BookQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut filters = filters(&query)?;
    filters.mine = true;
    page(&state, &in_brand, filters, query.page.size()).await
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/stores/{store}/book", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("store" = String, Path, description = "Store code"), BookQuery, Pagination<Clients>),
    responses(
        (status = 200, description = "The store's book, newest first", body = ClientPage),
        (status = 400, description = "A malformed query string or cursor", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or a store the caller does not work in", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn store_book(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    query: web::Query<BookQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = path.1.clone();
    let mut filters = filters(&query)?;
    {
        let mut conn = state.db.acquire().await?;
        let scope = Scope::of(&mut conn, &in_brand).await?;
        let known = is_slug(&store)
            && crate::brands::missing_stores(
                &mut *conn,
                &in_brand.brand.slug,
                std::slice::from_ref(&store),
            )
            .await?
            .is_empty();
        if !known || !scope.covers_store(&store) {
            return Err(ApiError::not_found().with_detail("No such store in your reach."));
        }
    }
    if filters.store.as_ref().is_some_and(|other| *other != store) {
        return Err(ApiError::validation(vec![FieldError::new(
            "store",
            "conflict",
            "The path names the store already.",
        )]));
    }
    filters.store = Some(store);
    page(&state, &in_brand, filters, query.page.size()).await
}
