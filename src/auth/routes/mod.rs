pub mod admin;
pub mod email;
pub mod password;
pub mod session;

use actix_web::HttpResponse;
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};

use super::service::AuthService;
use crate::auth::AuthError;
use validator::ValidationError;

use secrecy::{ExposeSecret, SecretString};

use crate::auth::passwords::check_policy;
use crate::errors::{FieldError, required_text};
use crate::types::Email;

/// The refresh cookie is only ever sent to the auth routes.
pub const COOKIE_PATH: &str = "/api/v1/auth";

pub fn refresh_cookie(auth: &AuthService, token: &str) -> Cookie<'static> {
    Cookie::build(auth.settings.refresh_cookie_name.clone(), token.to_owned())
        .path(COOKIE_PATH)
        .http_only(true)
        // Always: browsers treat http://localhost as a secure context, so development needs no exception.
        .secure(true)
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

/// The `validator` rule for a person's name: 1–100 characters once trimmed.
pub fn name(value: &str) -> Result<(), ValidationError> {
    required_text(value, 100)
}

/// The checks every new account's credentials pass (register and staff creation): the request's own field
/// errors, the password policy (which knows the email), then the parsed email.
pub fn new_account(
    mut errors: Vec<FieldError>,
    email: &str,
    password: &SecretString,
) -> Result<Email, AuthError> {
    if let Err(error) = check_policy(
        "password",
        password.expose_secret(),
        Some(&Email::normalize(email)),
    ) {
        errors.push(error);
    }
    validation(errors)?;
    Email::parse(email).map_err(|error| AuthError::Invalid(vec![error.at("email")]))
}

pub fn validation(errors: Vec<FieldError>) -> Result<(), AuthError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AuthError::Invalid(errors))
    }
}
