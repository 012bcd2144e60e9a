//! Proving ownership of an address with the WHMCS account that has it: WHMCS `ValidateLogin` (`email`,
//! `password2`) accepts the password for that email's WHMCS user. A user with two-factor sign-in is not
//! proved by the password alone and is sent to the email link instead.

use secrecy::SecretString;

use super::{CustomerError, Customers};
use crate::integrations::ProviderError;

/// Whether the WHMCS user with this email has this password (and no second factor). A wrong password is
/// `Ok(false)`; WHMCS being down or answering nonsense is an error.
pub async fn whmcs_login_proves(
    customers: &Customers,
    email: &str,
    password: &SecretString,
) -> Result<bool, CustomerError> {
    match customers.whmcs.validate_login(email, password).await {
        Ok(validated) => Ok(!validated.two_factor_enabled),
        Err(ProviderError::Rejected { code, .. }) if code == "email_or_password_invalid" => {
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
}
