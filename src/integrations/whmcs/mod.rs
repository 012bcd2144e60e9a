//! WHMCS API transport. Every call is `POST {base_url}/includes/api.php`, form-encoded, with `action`,
//! `responsetype=json` and the API credentials (`identifier`, `secret`, and `accesskey` where the install
//! uses one instead of an IP allow-list). [`WhmcsClient::call`] is generic over the caller's raw type;
//! typed wrappers for the actions Concierge uses return the shared raw types of [`raw`].
//!
//! Retries apply to transient failures only (5xx, 408, 429, timeouts, broken connections), never to an error
//! WHMCS answered. Some actions are not idempotent at WHMCS (AddOrder, CapturePayment): a retry after a
//! response was lost would order or charge twice. [`WhmcsClient::call_once`] sends those exactly once; on a
//! transient failure the caller must check the state (GetOrders, GetInvoice) before trying again.

mod billing;
mod charges;
mod classify;
mod clients;
pub mod de;
mod orders;
pub mod raw;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

pub use billing::{InvoiceQuery, InvoiceStatus};
pub use charges::{CreatedInvoice, NewInvoice, NewInvoiceLine, ProductUpgrade, UpgradeQuote};
pub use classify::error_code;
pub use clients::{ClientRef, NewClient, SsoRequest};
pub use orders::{ClientProductsQuery, NewOrder, OrderItem, OrdersQuery, ProductsQuery};

use crate::config::ProviderSettings;
use crate::integrations::{ProviderClient, ProviderError};
use crate::telemetry::redact;

const SYSTEM: &str = "whmcs";

/// Parameters the client sets itself; a caller's parameter of the same name is dropped.
const RESERVED_PARAMS: [&str; 5] = [
    "action",
    "responsetype",
    "identifier",
    "secret",
    "accesskey",
];

/// Actions named in metrics as themselves; any other is counted as `other` so labels stay bounded.
const KNOWN_ACTIONS: [&str; 17] = [
    "ValidateLogin",
    "AddClient",
    "GetClientsDetails",
    "UpdateClient",
    "GetInvoices",
    "GetInvoice",
    "GetPayMethods",
    "CapturePayment",
    "CreateInvoice",
    "UpdateInvoice",
    "UpgradeProduct",
    "CreateSsoToken",
    "GetClientsProducts",
    "GetProducts",
    "AddOrder",
    "AcceptOrder",
    "GetOrders",
];

#[derive(Clone)]
pub struct WhmcsClient {
    endpoint: String,
    identifier: String,
    secret: SecretString,
    access_key: Option<SecretString>,
    retrying: ProviderClient,
    /// The same transport with retries off, for actions that must not be repeated blindly.
    once: ProviderClient,
}

impl std::fmt::Debug for WhmcsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhmcsClient")
            .field("endpoint", &self.endpoint)
            .field("identifier", &self.identifier)
            .finish_non_exhaustive()
    }
}

impl WhmcsClient {
    pub fn new(providers: &ProviderSettings) -> anyhow::Result<Self> {
        let settings = &providers.whmcs;
        let retrying = ProviderClient::new(SYSTEM, providers)?;
        Ok(Self {
            endpoint: format!(
                "{}/includes/api.php",
                settings.base_url.trim_end_matches('/')
            ),
            identifier: settings.identifier.clone(),
            secret: settings.secret.clone(),
            access_key: settings.access_key.clone(),
            once: retrying.without_retries(),
            retrying,
        })
    }

    /// Calls `action` with `params` (see [`param`] and [`indexed`]) and reads the answer as `T`, retrying
    /// transient failures.
    pub async fn call<T: DeserializeOwned>(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<T, ProviderError> {
        self.send(&self.retrying, action, params).await
    }

    /// Like [`WhmcsClient::call`] but sent exactly once, for actions WHMCS does not de-duplicate (AddOrder,
    /// CapturePayment). An `Unavailable` error then means "outcome unknown": look before repeating.
    pub async fn call_once<T: DeserializeOwned>(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<T, ProviderError> {
        self.send(&self.once, action, params).await
    }

    #[tracing::instrument(name = "whmcs.call", skip_all, fields(action = %action))]
    async fn send<T: DeserializeOwned>(
        &self,
        transport: &ProviderClient,
        action: &str,
        params: &[(String, String)],
    ) -> Result<T, ProviderError> {
        let operation = KNOWN_ACTIONS
            .iter()
            .find(|known| **known == action)
            .copied()
            .unwrap_or("other");
        let build = |http: &reqwest::Client| {
            let mut form: Vec<(&str, &str)> = vec![
                ("action", action),
                ("responsetype", "json"),
                ("identifier", &self.identifier),
                ("secret", self.secret.expose_secret()),
            ];
            if let Some(access_key) = &self.access_key {
                form.push(("accesskey", access_key.expose_secret()));
            }
            form.extend(
                params
                    .iter()
                    .filter(|(name, _)| !RESERVED_PARAMS.contains(&name.as_str()))
                    .map(|(name, value)| (name.as_str(), value.as_str())),
            );
            http.post(&self.endpoint).form(&form)
        };
        let result = transport
            .execute(operation, build, classify::classify)
            .await
            .and_then(|response| response.json::<T>(SYSTEM));
        result.inspect_err(|error| {
            tracing::debug!(error = %redact::scrub(&error.to_string()), "WHMCS call failed");
        })
    }
}

/// One form parameter.
pub fn param(name: &str, value: impl ToString) -> (String, String) {
    (name.to_owned(), value.to_string())
}

/// An array parameter the way WHMCS (PHP) reads it: `indexed("pid", &[185, 242])` gives `pid[0]=185` and
/// `pid[1]=242`.
pub fn indexed<V: ToString>(name: &str, values: &[V]) -> Vec<(String, String)> {
    values
        .iter()
        .enumerate()
        .map(|(index, value)| (format!("{name}[{index}]"), value.to_string()))
        .collect()
}
