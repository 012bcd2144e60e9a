//! Who may act in a brand: the extractor every `/api/v1/brands/{brand}/…` handler takes, so a handler
//! cannot forget the brand check. `InBrand<Marketing>` admits the brand's marketers and every admin;
//! other staff of the brand get 403, anyone of another brand (and any unknown brand) 404, so a brand's
//! existence is not revealed to outsiders.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::cache;
use super::domain::{Brand, is_slug};
use crate::auth::{AuthError, AuthUser, Role, Staff};
use crate::errors::ApiError;
use crate::state::AppState;

/// The roles an [`InBrand`] admits (admins always pass).
pub trait BrandRoles {
    const ROLES: &'static [Role];
}

/// The CRM and marketing API: marketers.
pub struct Marketing;

impl BrandRoles for Marketing {
    const ROLES: &'static [Role] = &[Role::Marketer];
}

/// The clienteling API: client advisors and managers (their store scope is checked by the queries).
pub struct Clienteling;

impl BrandRoles for Clienteling {
    const ROLES: &'static [Role] = &[Role::ClientAdvisor, Role::Manager];
}

/// A staff member acting in the brand named by the path's `{brand}`.
pub struct InBrand<R: BrandRoles> {
    pub brand: Brand,
    pub user: AuthUser,
    roles: PhantomData<R>,
}

impl<R: BrandRoles> InBrand<R> {
    pub fn is_admin(&self) -> bool {
        self.user.has_role(Role::Admin)
    }

    /// A short description of who acted, for ledgers and histories.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user.user_id)
    }
}

pub fn brand_not_found() -> ApiError {
    ApiError::not_found().with_detail("No such brand.")
}

/// Whether `user` belongs to the brand `slug` (admins belong to every brand).
pub fn belongs(user: &AuthUser, slug: &str) -> bool {
    user.has_role(Role::Admin) || user.brand_id.as_deref() == Some(slug)
}

impl<R: BrandRoles + 'static> FromRequest for InBrand<R> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let staff = Staff::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let Staff(user) = staff.await?;
            let slug = req.match_info().get("brand").unwrap_or_default().to_owned();
            if !is_slug(&slug) || !belongs(&user, &slug) {
                return Err(brand_not_found());
            }
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("AppState missing")))?;
            let brand = cache::brand_by_slug(&state.db, &slug)
                .await?
                .ok_or_else(brand_not_found)?;
            let admitted =
                user.has_role(Role::Admin) || R::ROLES.iter().any(|role| user.has_role(*role));
            if !admitted {
                return Err(AuthError::NotAllowed.into());
            }
            Ok(InBrand {
                brand,
                user,
                roles: PhantomData,
            })
        })
    }
}
