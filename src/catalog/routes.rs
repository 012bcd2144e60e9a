//! The catalog over HTTP: the product list and detail for signed-in customers, and the on-demand refresh for
//! admins.
//!
//! Ordering is by family, then name, then sku (a total order). The cursor is the (family, name, sku) of the
//! last item of a page, base64url-encoded: the next page starts after it, so pages stay consistent even when
//! the catalog is refreshed between two requests. When Salesforce is failing and the last good snapshot is
//! served, bodies say `"stale": true` and responses carry `X-Catalog-Stale: true`.

use actix_web::{HttpResponse, HttpResponseBuilder, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use super::domain::{BillingCycle, CatalogProduct, SimDetails};
use super::refresh_now;
use super::snapshot::{self, Served};
use crate::auth::{Admin, Customer};
use crate::errors::{ApiError, FieldError, field_errors, rule};
use crate::money::Money;
use crate::state::AppState;
use crate::types::{Listing, Pagination, PathId, Sku};

/// Set to `true` on responses served from the last good snapshot while Salesforce is failing.
pub const STALE_HEADER: &str = "x-catalog-stale";
const MAX_FAMILY_LENGTH: usize = 80;
const MAX_CURSOR_LENGTH: usize = 1024;

/// A catalog product as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductView {
    /// The product's stable identifier, e.g. `SIM-DATA-20GB`.
    pub sku: String,
    pub name: String,
    /// Product family, e.g. `SIM`, `Internet`, `Options`, `Services`.
    pub family: String,
    pub description: Option<String>,
    /// Price per billing cycle, from the portal's price book.
    pub price: Money,
    pub billing_cycle: BillingCycle,
    /// Present on SIM products.
    pub sim: Option<SimDetails>,
}

impl From<&CatalogProduct> for ProductView {
    fn from(product: &CatalogProduct) -> Self {
        Self {
            sku: product.sku.clone(),
            name: product.name.clone(),
            family: product.family.clone(),
            description: product.description.clone(),
            price: product.price.clone(),
            billing_cycle: product.billing_cycle,
            sim: product.sim.clone(),
        }
    }
}

/// One page of the catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    pub items: Vec<ProductView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// `true` when Salesforce could not be read and the last good catalog is shown.
    pub stale: bool,
    /// When the catalog shown was read from Salesforce.
    pub fetched_at: DateTime<Utc>,
}

/// One catalog product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDetail {
    #[serde(flatten)]
    pub product: ProductView,
    /// `true` when Salesforce could not be read and the last good catalog is shown.
    pub stale: bool,
    /// When the catalog shown was read from Salesforce.
    pub fetched_at: DateTime<Utc>,
}

/// What an on-demand refresh read.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResult {
    /// Products now in the catalog.
    pub product_count: usize,
    /// When the catalog was read from Salesforce.
    pub fetched_at: DateTime<Utc>,
}

/// The product list's pagination: 50 a page by default.
pub struct Products;

impl Listing for Products {
    const DEFAULT_LIMIT: u16 = 50;
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[serde(deny_unknown_fields)]
pub struct ListProductsQuery {
    /// Only this product family (case-insensitive), e.g. `SIM`.
    #[param(min_length = 1, max_length = 80)]
    #[validate(custom(function = "product_family"))]
    pub family: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: Pagination<Products>,
}

/// 1–80 printable characters once trimmed.
fn product_family(value: &str) -> Result<(), ValidationError> {
    let family = value.trim();
    if family.is_empty() {
        Err(rule(
            "required",
            "Name a product family, or leave the parameter out.",
        ))
    } else if family.chars().count() > MAX_FAMILY_LENGTH || family.chars().any(char::is_control) {
        Err(rule(
            "invalid",
            format!("A product family is at most {MAX_FAMILY_LENGTH} printable characters."),
        ))
    } else {
        Ok(())
    }
}

/// Where a page starts: after the product with this sort key.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor(String, String, String);

impl Cursor {
    fn after(product: &CatalogProduct) -> Self {
        Cursor(
            product.family.clone(),
            product.name.clone(),
            product.sku.clone(),
        )
    }

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(text: &str) -> Option<Self> {
        if text.len() > MAX_CURSOR_LENGTH {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn key(&self) -> (&str, &str, &str) {
        (&self.0, &self.1, &self.2)
    }
}

struct ListRequest {
    family: Option<String>,
    limit: usize,
    after: Option<Cursor>,
}

/// The query's field rules, then the cursor (this list's own encoding); every error is reported at once.
fn validate(query: ListProductsQuery) -> Result<ListRequest, ApiError> {
    let mut errors = field_errors([query.validate(), query.page.validate()]);
    let family = query.family.map(|family| family.trim().to_owned());
    let after = match &query.page.cursor {
        None => None,
        Some(text) => {
            let cursor = Cursor::decode(text.as_str());
            if cursor.is_none() {
                errors.push(FieldError::new(
                    "cursor",
                    "invalid",
                    "Pass the `next_cursor` of a previous page unchanged.",
                ));
            }
            cursor
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(ListRequest {
        family,
        limit: usize::from(query.page.size()),
        after,
    })
}

fn respond(served: &Served) -> HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    if served.stale {
        response.insert_header((STALE_HEADER, "true"));
    }
    response
}

#[utoipa::path(get, path = "/api/v1/catalog/products", tag = "catalog", security(("bearer" = [])),
    params(ListProductsQuery, Pagination<Products>),
    responses(
        (status = 200, description = "Active portal products ordered by family, name and sku. \
            `X-Catalog-Stale: true` (and `stale` in the body) when Salesforce is failing and the last good \
            catalog is shown.", body = ProductPage),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, response = crate::errors::responses::NotACustomer),
        (status = 422, description = "Invalid `limit`, `family` or `cursor`", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 502, description = "Salesforce answered with an error and no catalog was ever cached", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Salesforce is unavailable and no catalog was ever cached", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn list_products(
    state: web::Data<AppState>,
    _customer: Customer,
    query: web::Query<ListProductsQuery>,
) -> Result<HttpResponse, ApiError> {
    let request = validate(query.into_inner())?;
    let served = snapshot::current(&state.catalog).await?;
    let mut matching = served
        .snapshot
        .products
        .iter()
        .filter(|product| {
            request
                .family
                .as_deref()
                .is_none_or(|family| product.family.eq_ignore_ascii_case(family))
        })
        .filter(|product| {
            request
                .after
                .as_ref()
                .is_none_or(|after| product.sort_key() > after.key())
        });
    let page: Vec<&CatalogProduct> = matching.by_ref().take(request.limit).collect();
    let next_cursor = match (page.last(), matching.next()) {
        (Some(last), Some(_)) => Some(Cursor::after(last).encode()),
        _ => None,
    };
    Ok(respond(&served).json(ProductPage {
        items: page.into_iter().map(ProductView::from).collect(),
        next_cursor,
        stale: served.stale,
        fetched_at: served.snapshot.fetched_at,
    }))
}

#[utoipa::path(get, path = "/api/v1/catalog/products/{sku}", tag = "catalog", security(("bearer" = [])),
    params(("sku" = String, Path, min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "Product sku, e.g. `SIM-DATA-20GB`")),
    responses(
        (status = 200, description = "The product. `X-Catalog-Stale: true` (and `stale` in the body) when \
            Salesforce is failing and the last good catalog is shown.", body = ProductDetail),
        (status = 400, description = "Not a sku", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 404, description = "No active portal product has this sku", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Salesforce is unavailable and no catalog was ever cached", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn get_product(
    state: web::Data<AppState>,
    _customer: Customer,
    sku: PathId<Sku>,
) -> Result<HttpResponse, ApiError> {
    let sku = sku.get()?;
    let served = snapshot::current(&state.catalog).await?;
    let product = served
        .snapshot
        .find(sku.as_str())
        .ok_or_else(|| ApiError::not_found().with_detail("No catalog product has this sku."))?;
    Ok(respond(&served).json(ProductDetail {
        product: ProductView::from(product),
        stale: served.stale,
        fetched_at: served.snapshot.fetched_at,
    }))
}

#[utoipa::path(post, path = "/api/v1/admin/catalog/sync", tag = "catalog", security(("bearer" = [])),
    responses(
        (status = 200, description = "The catalog was read from Salesforce and cached", body = SyncResult),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, response = crate::errors::responses::AdminsOnly),
        (status = 502, description = "Salesforce answered with an error; the cached catalog is unchanged", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Salesforce is unavailable; the cached catalog is unchanged", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn sync(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, ApiError> {
    let snapshot = refresh_now(&state.catalog).await?;
    tracing::info!(
        admin = %admin.0.user_id,
        products = snapshot.products.len(),
        "catalog refreshed on demand"
    );
    Ok(HttpResponse::Ok().json(SyncResult {
        product_count: snapshot.products.len(),
        fetched_at: snapshot.fetched_at,
    }))
}
