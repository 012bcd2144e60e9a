//! Who is calling. Handlers take one of these as an argument, so a route cannot forget to authenticate:
//! `AuthUser` (anyone signed in), `Customer`, `Staff` (with role and scope checks), `Admin`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use uuid::Uuid;

use super::AuthError;
use super::model::{Role, UserKind};
use super::repo;
use super::service::ClientInfo;
use crate::errors::ApiError;
use crate::http::client_ip::{client_ip, limit_bucket};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub kind: UserKind,
    pub roles: Vec<Role>,
    pub brand_id: Option<String>,
    pub store_ids: Vec<String>,
}

impl AuthUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

fn unauthorized(detail: &'static str) -> ApiError {
    AuthError::Unauthenticated(detail).into()
}

fn forbidden() -> ApiError {
    AuthError::NotAllowed.into()
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn authenticate(req: HttpRequest) -> Result<AuthUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("AppState missing")))?;
    let token = bearer(&req)
        .ok_or_else(|| unauthorized("Send an access token as `Authorization: Bearer …`."))?;
    let claims = state.auth.keys.verify(&token).map_err(|error| {
        tracing::debug!(%error, "access token rejected");
        unauthorized("The access token is invalid or expired.")
    })?;
    // Checked on every request so a revoked session or a disabled user is locked out at once. Kind, roles,
    // brand and stores come from the database too, not the claims: a demotion or a scope change applies on
    // the next request rather than when the access token expires.
    let check = repo::check_session(&state.db, claims.sid, claims.sub)
        .await?
        .ok_or_else(|| unauthorized("The session has ended."))?;
    if check.revoked || check.disabled {
        return Err(unauthorized("The session has ended."));
    }
    Ok(AuthUser {
        user_id: claims.sub,
        session_id: claims.sid,
        kind: if check.kind == "staff" {
            UserKind::Staff
        } else {
            UserKind::Customer
        },
        roles: check
            .roles
            .iter()
            .filter_map(|role| Role::parse(role))
            .collect(),
        brand_id: check.brand_id,
        store_ids: check.store_ids,
    })
}

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// Authenticates, then lets `admit` decide whether this kind of user may pass.
fn admitted<T: 'static>(
    req: &HttpRequest,
    admit: fn(AuthUser) -> Result<T, ApiError>,
) -> Extracting<T> {
    let req = req.clone();
    Box::pin(async move { admit(authenticate(req).await?) })
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

/// A signed-in customer (portal user).
#[derive(Debug, Clone)]
pub struct Customer(pub AuthUser);

impl FromRequest for Customer {
    type Error = ApiError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        admitted(req, |user| {
            if user.kind == UserKind::Customer {
                Ok(Customer(user))
            } else {
                Err(forbidden())
            }
        })
    }
}

/// A signed-in staff member (client advisor, manager, marketer, admin).
#[derive(Debug, Clone)]
pub struct Staff(pub AuthUser);

impl Staff {
    /// 403 unless the staff member holds one of `roles` (admins hold every role's rights).
    pub fn require_any(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.0.has_role(Role::Admin) || roles.iter().any(|role| self.0.has_role(*role)) {
            Ok(())
        } else {
            Err(forbidden())
        }
    }

    /// Brand scope: a staff member sees only their brand's data (admins without a brand see all).
    pub fn can_access_brand(&self, brand_id: &str) -> bool {
        match &self.0.brand_id {
            Some(own) => own == brand_id,
            None => self.0.has_role(Role::Admin),
        }
    }

    /// Store scope: managers and admins see every store of their brand; others only their own stores.
    pub fn can_access_store(&self, brand_id: &str, store_id: &str) -> bool {
        self.can_access_brand(brand_id)
            && (self.0.has_role(Role::Admin)
                || self.0.has_role(Role::Manager)
                || self.0.store_ids.iter().any(|own| own == store_id))
    }
}

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        admitted(req, |user| {
            if user.kind == UserKind::Staff {
                Ok(Staff(user))
            } else {
                Err(forbidden())
            }
        })
    }
}

/// A signed-in admin.
#[derive(Debug, Clone)]
pub struct Admin(pub AuthUser);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        admitted(req, |user| {
            if user.kind == UserKind::Staff && user.has_role(Role::Admin) {
                Ok(Admin(user))
            } else {
                Err(forbidden())
            }
        })
    }
}

/// The client address (the right-most `X-Forwarded-For` entry that is not a trusted proxy, or the peer;
/// see [`crate::http::client_ip`]) and agent.
pub fn client_info(req: &HttpRequest) -> ClientInfo {
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.settings.server.trusted_proxies.as_slice())
        .unwrap_or_default();
    let ip = client_ip(req, trusted);
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| agent.chars().take(256).collect());
    ClientInfo {
        ip: ip.map(|ip| ip.to_string()),
        limit_key: ip.map(limit_bucket),
        user_agent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(roles: &[Role], brand: Option<&str>, stores: &[&str]) -> Staff {
        Staff(AuthUser {
            user_id: Uuid::nil(),
            session_id: Uuid::nil(),
            kind: UserKind::Staff,
            roles: roles.to_vec(),
            brand_id: brand.map(str::to_owned),
            store_ids: stores.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    #[test]
    fn an_advisor_reaches_only_their_brand_and_stores() {
        let advisor = staff(&[Role::ClientAdvisor], Some("maison"), &["paris-1"]);
        assert!(advisor.can_access_store("maison", "paris-1"));
        assert!(!advisor.can_access_store("maison", "tokyo-1"));
        assert!(!advisor.can_access_brand("other-house"));
        assert!(advisor.require_any(&[Role::ClientAdvisor]).is_ok());
        assert!(advisor.require_any(&[Role::Marketer]).is_err());
    }

    #[test]
    fn a_manager_reaches_every_store_of_the_brand_and_an_admin_every_role() {
        let manager = staff(&[Role::Manager], Some("maison"), &[]);
        assert!(manager.can_access_store("maison", "tokyo-1"));
        assert!(!manager.can_access_store("other-house", "tokyo-1"));
        let admin = staff(&[Role::Admin], None, &[]);
        assert!(admin.can_access_brand("any"));
        assert!(admin.require_any(&[Role::Marketer]).is_ok());
    }
}
