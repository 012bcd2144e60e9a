pub mod admin;
pub mod password;
pub mod session;

use actix_web::HttpResponse;
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};

use super::service::AuthService;
use crate::auth::AuthError;
use crate::errors::FieldError;

/// The refresh cookie is only ever sent to the auth routes.
pub const COOKIE_PATH: &str = "/api/v1/auth";

pub fn refresh_cookie(auth: &AuthService, token: &str) -> Cookie<'static> {
    Cookie::build(auth.settings.refresh_cookie_name.clone(), token.to_owned())
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(auth.settings.cookie_secure)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(
            i64::try_from(auth.settings.refresh_absolute_lifetime_secs).unwrap_or(0),
        ))
        .finish()
}

pub fn clear_refresh_cookie(auth: &AuthService, response: &mut HttpResponse) {
    let mut cookie = refresh_cookie(auth, "");
    cookie.make_removal();
    let _ = response.add_cookie(&cookie);
}

pub fn require_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    let length = value.trim().chars().count();
    if length == 0 {
        errors.push(FieldError::new(
            field,
            "required",
            "This field is required.",
        ));
    } else if length > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("Use at most {max} characters."),
        ));
    }
}

pub fn validation(errors: Vec<FieldError>) -> Result<(), AuthError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AuthError::Invalid(errors))
    }
}
