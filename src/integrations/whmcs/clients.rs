//! Client accounts: login check, sign-up, profile, single sign-on into the WHMCS client area.

use secrecy::{ExposeSecret, SecretString};

use super::{WhmcsClient, param, raw};
use crate::integrations::ProviderError;

/// Which client GetClientsDetails looks up.
#[derive(Debug, Clone, Copy)]
pub enum ClientRef<'a> {
    Id(u64),
    Email(&'a str),
}

/// AddClient. `country` is ISO 3166-1 alpha-2; `extra` carries any other AddClient parameter as is.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    pub address1: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub phonenumber: String,
    pub password: Option<SecretString>,
    pub extra: Vec<(String, String)>,
}

/// CreateSsoToken: where to land (`clientarea:invoices`, `clientarea:product_details` with a service…).
#[derive(Debug, Clone)]
pub struct SsoRequest {
    pub client_id: u64,
    pub destination: Option<String>,
    pub service_id: Option<u64>,
}

impl WhmcsClient {
    /// "Email or Password Invalid" comes back as `Rejected` with code `email_or_password_invalid`.
    pub async fn validate_login(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<raw::ValidatedLogin, ProviderError> {
        let params = [
            param("email", email),
            param("password2", password.expose_secret()),
        ];
        self.call("ValidateLogin", &params).await
    }

    /// Retried like any read: a repeat after a lost answer fails as "A user already exists with that email
    /// address" rather than creating a second client, and the caller can then look the client up by e-mail.
    pub async fn add_client(&self, client: &NewClient) -> Result<raw::AddedClient, ProviderError> {
        let mut params = vec![
            param("firstname", &client.firstname),
            param("lastname", &client.lastname),
            param("email", &client.email),
            param("address1", &client.address1),
            param("city", &client.city),
            param("state", &client.state),
            param("postcode", &client.postcode),
            param("country", &client.country),
            param("phonenumber", &client.phonenumber),
        ];
        if let Some(password) = &client.password {
            params.push(param("password2", password.expose_secret()));
        }
        params.extend(client.extra.iter().cloned());
        self.call("AddClient", &params).await
    }

    pub async fn get_clients_details(
        &self,
        client: ClientRef<'_>,
        with_stats: bool,
    ) -> Result<raw::ClientDetails, ProviderError> {
        let mut params = vec![match client {
            ClientRef::Id(id) => param("clientid", id),
            ClientRef::Email(email) => param("email", email),
        }];
        if with_stats {
            params.push(param("stats", "true"));
        }
        self.call("GetClientsDetails", &params).await
    }

    /// `fields` are UpdateClient parameters as WHMCS names them (`firstname`, `address1`, `password2`…).
    pub async fn update_client(
        &self,
        client_id: u64,
        fields: &[(String, String)],
    ) -> Result<raw::UpdatedClient, ProviderError> {
        let mut params = vec![param("clientid", client_id)];
        params.extend(
            fields
                .iter()
                .filter(|(name, _)| name != "clientid")
                .cloned(),
        );
        self.call("UpdateClient", &params).await
    }

    /// The token is valid for about a minute and for one use: hand the redirect URL to the browser at once.
    pub async fn create_sso_token(
        &self,
        request: &SsoRequest,
    ) -> Result<raw::SsoToken, ProviderError> {
        let mut params = vec![param("client_id", request.client_id)];
        if let Some(destination) = &request.destination {
            params.push(param("destination", destination));
        }
        if let Some(service_id) = request.service_id {
            params.push(param("service_id", service_id));
        }
        self.call("CreateSsoToken", &params).await
    }
}
