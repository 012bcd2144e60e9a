//! Client accounts: login check, sign-up, profile, single sign-on into the WHMCS client area.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::{WhmcsClient, param, raw};
use crate::integrations::ProviderError;
use crate::telemetry::redact;

/// Which client GetClientsDetails looks up. `Debug` masks the e-mail address.
#[derive(Clone, Copy)]
pub enum ClientRef<'a> {
    Id(u64),
    Email(&'a str),
}

impl fmt::Debug for ClientRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientRef::Id(id) => f.debug_tuple("Id").field(id).finish(),
            ClientRef::Email(email) => f.debug_tuple("Email").field(&redact::email(email)).finish(),
        }
    }
}

/// AddClient. `country` is ISO 3166-1 alpha-2; `extra` carries any other AddClient parameter as is. The
/// fields stay plain `String`s for the callers that fill them; `Debug` shows none of the personal ones.
#[derive(Clone)]
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

impl fmt::Debug for NewClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extra: Vec<&str> = self.extra.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("NewClient")
            .field("email", &redact::email(&self.email))
            .field("country", &self.country)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("extra", &extra)
            .finish_non_exhaustive()
    }
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

    /// `CloseClient`: the client's status becomes Closed and WHMCS cancels their products and unpaid
    /// invoices. Answers `{"result":"success","clientid":"1"}`.
    pub async fn close_client(&self, client_id: u64) -> Result<raw::UpdatedClient, ProviderError> {
        self.call("CloseClient", &[param("clientid", client_id)])
            .await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_new_client_shows_none_of_its_personal_data() {
        let client = NewClient {
            firstname: "Kenji".into(),
            lastname: "Sato".into(),
            email: "kenji@example.com".into(),
            address1: "7-8-9 Sakae".into(),
            city: "Naka-ku".into(),
            state: "Aichi".into(),
            postcode: "460-0008".into(),
            country: "JP".into(),
            phonenumber: "+819011112222".into(),
            password: Some(SecretString::from("kenji-password-1")),
            extra: vec![("customfields".into(), "base64-of-the-crm-ids".into())],
        };
        let printed = format!("{client:?} {:?}", ClientRef::Email(&client.email));
        for value in [
            "Kenji",
            "Sato",
            "kenji@",
            "Sakae",
            "Naka-ku",
            "Aichi",
            "460-0008",
            "9011112222",
            "kenji-password-1",
            "base64-of-the-crm-ids",
        ] {
            assert!(!printed.contains(value), "{value:?} in {printed}");
        }
        assert!(printed.contains("k***@example.com"), "{printed}");
        assert_eq!(format!("{:?}", ClientRef::Id(7)), "Id(7)");
    }
}
